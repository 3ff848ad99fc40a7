//! Trusted shaders (issue 12 item 3): a backend whose proven kernels are built without runtime
//! bounds checks computes exactly the bits of one built with them, for every kernel of the
//! table on shapes that are not tile or workgroup multiples (split-K products, views at odd
//! offsets, absent operands bound to dummies), and for whole training runs of the layered
//! executor. The results are also compared with the CPU, so the sequence being compared is
//! real work and not zeros on both sides.

use ndarray::Array2;
use wgtrain::backend::gpu::trust::ShaderChecks;
use wgtrain::backend::gpu::{AdapterChoice, GpuContext};
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, DropoutBackwardOp, DropoutOp, GatherRowsOp, GpuBackend, LossOp,
    MatmulOp, MetricsOp, OptimizerStepOp, ScoreOp, SoftmaxBackwardOp, SoftmaxOp, metric_slot,
};
use wgtrain::model::{Dense, Execution, FitOptions, Sequential};
use wgtrain::nn::{Accuracy, Activation, Loss, Optimizer};

use crate::common::{Rng, Tolerance, assert_close, flatten_weights};

fn backend(checks: ShaderChecks) -> GpuBackend {
    let ctx = GpuContext::new(&AdapterChoice::Auto).expect("a GPU adapter");
    GpuBackend::from_context_with(ctx, checks).expect("a GPU backend")
}

/// Asserts two runs gave the same bits, naming the first output and index that differ.
#[track_caller]
fn assert_same_bits(what: &str, checked: &[Vec<f32>], trusted: &[Vec<f32>]) {
    assert_eq!(checked.len(), trusted.len());
    for (i, (c, t)) in checked.iter().zip(trusted).enumerate() {
        assert_eq!(c.len(), t.len(), "{what}: output {i} lengths differ");
        if let Some(j) = (0..c.len()).find(|&j| c[j].to_bits() != t[j].to_bits()) {
            panic!(
                "{what}: output {i} differs at index {j}: checked {} trusted {}",
                c[j], t[j]
            );
        }
    }
}

/// Every kernel of the table once or more, on odd shapes; returns every output read back.
fn every_kernel(be: &mut dyn Backend) -> Vec<Vec<f32>> {
    let mut rng = Rng::new(12);
    let mut outputs = Vec::new();
    // Products: every transpose form with the fused bias + activation epilogue and z, A as a
    // view at an odd offset (no vec4 alignment), then a split-K product (K past one
    // workgroup layer: matmul partial sums and matmul_reduce) and a bias gradient (ones row).
    let (m, k, n) = (37, 53, 29);
    let a_store = be.upload(1, m * k + 3, &rng.vec(m * k + 3, -1.0, 1.0)).unwrap();
    let a = a_store.view(3, m, k).unwrap();
    let b = be.upload(k, n, &rng.vec(k * n, -1.0, 1.0)).unwrap();
    let bias = be.upload(1, n, &rng.vec(n, -0.5, 0.5)).unwrap();
    for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
        let a_t = if ta { a.reshape(k, m).unwrap() } else { a };
        let b_t = if tb { b.reshape(n, k).unwrap() } else { b };
        let (out, z) = (be.zeros(m, n).unwrap(), be.zeros(m, n).unwrap());
        let op = MatmulOp::new(a_t, b_t, out)
            .transposed(ta, tb)
            .epilogue(Some(bias), Activation::Relu, Some(z));
        be.matmul(&op).unwrap();
        outputs.push(be.read(out).unwrap());
        outputs.push(be.read(z).unwrap());
    }
    let long_k = 9_001;
    let x = be.upload(3, long_k, &rng.vec(3 * long_k, -1.0, 1.0)).unwrap();
    let w = be.upload(long_k, 5, &rng.vec(long_k * 5, -1.0, 1.0)).unwrap();
    let y = be.zeros(3, 5).unwrap();
    be.matmul(&MatmulOp::new(x, w, y).epilogue(Some(bias.view(0, 1, 5).unwrap()), Activation::Tanh, None))
        .unwrap();
    outputs.push(be.read(y).unwrap());

    // Activation gradient with the bias gradient; softmax forward and backward.
    let (r, c) = (19, 7);
    let dy = be.upload(r, c, &rng.vec(r * c, -1.0, 1.0)).unwrap();
    let z = be.upload(r, c, &rng.vec(r * c, -2.0, 2.0)).unwrap();
    let (dz, db) = (be.zeros(r, c).unwrap(), be.zeros(1, c).unwrap());
    be.activation_backward(
        &ActivationBackwardOp::new(dy, z, Activation::Gelu { approximate: false })
            .dz(dz)
            .db(db),
    )
    .unwrap();
    outputs.push(be.read(dz).unwrap());
    outputs.push(be.read(db).unwrap());
    let probs = be.zeros(r, c).unwrap();
    be.softmax(&SoftmaxOp::new(z, probs)).unwrap();
    let dsoft = be.zeros(r, c).unwrap();
    be.softmax_backward(&SoftmaxBackwardOp::new(probs, dy, dsoft)).unwrap();
    outputs.push(be.read(probs).unwrap());
    outputs.push(be.read(dsoft).unwrap());

    // The loss head: sparse cross-entropy from logits with the metrics in one pass (a batch
    // over one head workgroup's rows, so the partial sums and sum_partials run), then a dense
    // loss with weights and its derivative, and the metrics alone.
    let rows = 4_099;
    let logits = be.upload(rows, 3, &rng.vec(rows * 3, -3.0, 3.0)).unwrap();
    let labels: Vec<f32> = (0..rows).map(|_| rng.below(3) as f32).collect();
    let labels = be.upload(rows, 1, &labels).unwrap();
    let (row_loss, grad) = (be.zeros(rows, 1).unwrap(), be.zeros(rows, 3).unwrap());
    let acc = be.zeros(1, metric_slot::COUNT).unwrap();
    let output = be.zeros(rows, 3).unwrap();
    be.softmax(&SoftmaxOp::new(logits, output)).unwrap();
    let sparse = Loss::SparseCategoricalCrossentropy { from_logits: true };
    let score = ScoreOp::new(LossOp::new(sparse, logits, labels, row_loss).grad(grad), output, acc)
        .accuracy(Accuracy::SparseCategorical);
    be.score(&score).unwrap();
    outputs.extend([row_loss, grad, acc].map(|t| be.read(t).unwrap()));
    let pred = be.upload(r, c, &rng.vec(r * c, 0.01, 0.99)).unwrap();
    let target: Vec<f32> = (0..r * c).map(|_| rng.below(2) as f32).collect();
    let target = be.upload(r, c, &target).unwrap();
    let weights = be.upload(r, 1, &rng.vec(r, 0.5, 2.0)).unwrap();
    let (row_loss, grad) = (be.zeros(r, 1).unwrap(), be.zeros(r, c).unwrap());
    let bce = LossOp::new(Loss::BinaryCrossentropy { from_logits: false }, pred, target, row_loss)
        .weights(weights)
        .grad(grad);
    let acc = be.zeros(1, metric_slot::COUNT).unwrap();
    let values = be.read(pred).unwrap();
    let shown = be.upload(r, c, &values).unwrap();
    be.score(&ScoreOp::new(bce, shown, acc).derivative(Activation::Sigmoid, z))
        .unwrap();
    be.accumulate_metrics(&MetricsOp::new(pred, target, row_loss, acc).accuracy(Accuracy::Binary { threshold: 0.5 }))
        .unwrap();
    outputs.extend([row_loss, grad, acc].map(|t| be.read(t).unwrap()));

    // Optimizers: Adam (two state slots) and centred RMSprop with momentum (three), two
    // steps each over an odd parameter count.
    let count = 1_001;
    let mut rms = Optimizer::rmsprop().with_momentum(0.3);
    if let Optimizer::RmsProp { centered, .. } = &mut rms {
        *centered = true;
    }
    for optimizer in [Optimizer::adam(), rms, Optimizer::sgd()] {
        let param = be.upload(1, count, &rng.vec(count, -1.0, 1.0)).unwrap();
        let grad = be.upload(1, count, &rng.vec(count, -1.0, 1.0)).unwrap();
        let slots: Vec<_> = (0..optimizer.slots()).map(|_| be.zeros(1, count).unwrap()).collect();
        for step in 1..=2 {
            be.optimizer_step(&OptimizerStepOp::new(&optimizer, step, param, grad).slots(&slots))
                .unwrap();
        }
        outputs.push(be.read(param).unwrap());
        for s in slots {
            outputs.push(be.read(s).unwrap());
        }
    }

    // The row gather (indices past the chunk zeroed), dropout both ways, fill.
    let src = be.upload(11, 5, &rng.vec(55, -1.0, 1.0)).unwrap();
    let idx: Vec<u32> = (0..9).map(|i| (i * 7 % 13) as u32).collect();
    let idx = be.upload_u32(&idx).unwrap();
    let gathered = be.zeros(7, 5).unwrap();
    be.gather_rows(&GatherRowsOp::new(src, idx, 2, gathered).chunk(0, true))
        .unwrap();
    outputs.push(be.read(gathered).unwrap());
    let (mask, dropped, back) = (
        be.zeros(r, c).unwrap(),
        be.zeros(r, c).unwrap(),
        be.zeros(r, c).unwrap(),
    );
    be.dropout(&DropoutOp::new(dy, mask, dropped, 0.3).seed(5, 2)).unwrap();
    be.dropout_backward(&DropoutBackwardOp::new(dy, mask, back, 0.3))
        .unwrap();
    outputs.extend([mask, dropped, back].map(|t| be.read(t).unwrap()));
    let filled = be.zeros(3, 67).unwrap();
    be.fill(filled.view(1, 1, 130).unwrap(), 0.25).unwrap();
    outputs.push(be.read(filled).unwrap());
    outputs
}

/// Each kernel of the table gives the same bits built trusted and built checked, with every
/// matmul variant the device has (forced on both, so the autotune cannot pick differently).
pub fn every_kernel_gives_the_same_bits_trusted_and_checked() {
    let mut checked = backend(ShaderChecks::Checked);
    let mut trusted = backend(ShaderChecks::Trusted);
    assert_eq!(checked.trusted_kernels().count(), 0);
    assert_eq!(
        trusted.trusted_kernels().count(),
        wgtrain::backend::gpu::kernels::Kernel::ALL.len()
    );
    let cpu = every_kernel(&mut CpuBackend::new());
    let variants = trusted.matmul_variants();
    assert!(!variants.is_empty());
    for variant in variants {
        checked.force_matmul_variant(Some(variant)).unwrap();
        trusted.force_matmul_variant(Some(variant)).unwrap();
        let (c, t) = (every_kernel(&mut checked), every_kernel(&mut trusted));
        assert_same_bits(&format!("every kernel, matmul {variant:?}"), &c, &t);
        // And it is the CPU's work, not agreement on nothing.
        for (i, (g, e)) in t.iter().zip(&cpu).enumerate() {
            let what = format!("output {i} against the CPU, matmul {variant:?}");
            assert_close(&what, g, e, Tolerance::new(1e-3, 2e-3));
        }
    }
}

/// The layered executor trains to the same weights trusted and checked.
pub fn layered_training_gives_the_same_weights_trusted_and_checked() {
    let mut rng = Rng::new(7);
    let (rows, inputs) = (203, 13);
    let x = Array2::from_shape_vec((rows, inputs), rng.vec(rows * inputs, -1.0, 1.0)).unwrap();
    let y = Array2::from_shape_fn((rows, 1), |(i, _)| (i % 5) as f32);
    let train = |backend: Box<dyn Backend>| {
        let mut model = Sequential::new(inputs)
            .add(Dense::new(17, Activation::Relu))
            .add(Dense::new(5, Activation::Softmax))
            .compile_on_with(
                Loss::SparseCategoricalCrossentropy { from_logits: false },
                Optimizer::adam(),
                &[],
                backend,
                Execution::Layered,
            )
            .unwrap();
        model.fit(x.view(), y.view(), FitOptions::new(3, 23)).unwrap();
        flatten_weights(model.weights().unwrap())
    };
    // One matmul variant on both, so the autotune cannot choose differently for the two.
    let forced = |checks| {
        let mut gpu = backend(checks);
        let variant = gpu.matmul_variants()[0];
        gpu.force_matmul_variant(Some(variant)).unwrap();
        Box::new(gpu)
    };
    let checked = train(forced(ShaderChecks::Checked));
    let trusted = train(forced(ShaderChecks::Trusted));
    assert_same_bits("layered training", std::slice::from_ref(&checked), &[trusted]);
    let cpu = train(Box::new(CpuBackend::new()));
    assert_close(
        "layered training against the CPU",
        &checked,
        &cpu,
        Tolerance::new(1e-3, 1e-4),
    );
}
