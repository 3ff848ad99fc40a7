//! GPU against CPU where an unsplit kernel loops past lavapipe's limit.

use ndarray::Array2;
use wgtrain::Error;
use wgtrain::backend::gpu::bounds::MAX_ROW_COLUMNS;
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, IndexedRows, MatmulOp, MetricsOp, SoftmaxOp, Tensor, metric_slot,
};
use wgtrain::model::{Dense, Device, FitOptions, Metric, Sequential};
use wgtrain::nn::{Accuracy, Activation, Loss, Optimizer};

use crate::common::harness::gpu_backend;
use crate::common::{Rng, Tolerance, assert_close};

/// Uploads the same values to both backends.
fn both(cpu: &mut CpuBackend, gpu: &mut dyn Backend, rows: usize, cols: usize, data: &[f32]) -> (Tensor, Tensor) {
    (
        cpu.upload(rows, cols, data).unwrap(),
        gpu.upload(rows, cols, data).unwrap(),
    )
}

pub fn products_with_k_100000_match_the_cpu() {
    const K: usize = 100_000;
    let mut rng = Rng::new(12);
    let mut cpu = CpuBackend::new();
    let mut gpu = gpu_backend();
    // (rows of op(A), columns, trans_a, trans_b, ones row, epilogue)
    let cases = [
        (3, 10, false, false, false, false),
        (2, 10, true, false, true, false), // dW and db of a 2 → 10 layer over 100 000 rows
        (5, 7, false, true, false, true),
        (70, 66, true, true, false, true), // more than one output tile
    ];
    for (m, n, trans_a, trans_b, ones, epilogue) in cases {
        let (ar, ac) = if trans_a { (K, m) } else { (m, K) };
        let (br, bc) = if trans_b { (n, K) } else { (K, n) };
        let (a_c, a_g) = both(&mut cpu, &mut gpu, ar, ac, &rng.vec(ar * ac, -1.0, 1.0));
        let (b_c, b_g) = both(&mut cpu, &mut gpu, br, bc, &rng.vec(br * bc, -1.0, 1.0));
        let (bias_c, bias_g) = both(&mut cpu, &mut gpu, 1, n, &rng.vec(n, -1.0, 1.0));
        let rows = m + usize::from(ones);
        let run = |be: &mut dyn Backend, a, b, bias| {
            let (out, z) = (be.zeros(rows, n).unwrap(), be.zeros(rows, n).unwrap());
            let mut op = MatmulOp::new(a, b, out).transposed(trans_a, trans_b).ones_row(ones);
            if epilogue {
                op = op.epilogue(Some(bias), Activation::Relu, Some(z));
            }
            be.matmul(&op).unwrap();
            (be.read(out).unwrap(), be.read(z).unwrap())
        };
        let (out_c, z_c) = run(&mut cpu, a_c, b_c, bias_c);
        let (out_g, z_g) = run(&mut gpu, a_g, b_g, bias_g);
        // Sums of 100 000 products of values in [-1, 1] are about ±100: f32 sums agree to ~1e-4.
        let tol = Tolerance::new(1e-3, 2e-2);
        let what = format!("[{m}, {K}]·[{K}, {n}] trans ({trans_a}, {trans_b}) ones {ones}");
        assert_close(&format!("{what}: out"), &out_g, &out_c, tol);
        if epilogue {
            assert_close(&format!("{what}: z"), &z_g, &z_c, tol);
        }
        if ones {
            // The ones row holds the column sums of op(B), about ±300 here.
            assert!(
                out_c[m * n..].iter().any(|v| v.abs() > 1.0),
                "{what}: a real column sum"
            );
        }
    }
}

/// The layered step's folded products where K is 100 000, so they take the split-K path
/// (partial sums, then `matmul_reduce` with the epilogue): A's stored rows through an index
/// (the K index of a whole-batch dW of a first layer, with its ones row; and op(A)'s rows of
/// x·W over 100 000 inputs), and the derivative epilogue of a dx product.
pub fn indexed_and_derivative_products_with_k_100000_match_the_cpu() {
    const K: usize = 100_000;
    let mut rng = Rng::new(13);
    let mut cpu = CpuBackend::new();
    let mut gpu = gpu_backend();
    let tol = Tolerance::new(1e-3, 2e-2);
    // dW and db of a 2 → 10 first layer over 100 000 shuffled rows of a chunk starting at
    // whole-set row 5 (the permutation reversed, so no row is where it was).
    let src_rows = K + 3;
    let order: Vec<u32> = (0..K as u32).rev().map(|i| i + 5).collect();
    let (x_c, x_g) = both(&mut cpu, &mut gpu, src_rows, 2, &rng.vec(src_rows * 2, -1.0, 1.0));
    let (dz_c, dz_g) = both(&mut cpu, &mut gpu, K, 10, &rng.vec(K * 10, -1.0, 1.0));
    let dw = |be: &mut dyn Backend, x: Tensor, dz: Tensor| {
        let order = be.upload_u32(&order).unwrap();
        let out = be.zeros(3, 10).unwrap();
        let rows = IndexedRows::new(order, 0, K).row_base(5);
        be.matmul(
            &MatmulOp::new(x, dz, out)
                .transposed(true, false)
                .ones_row(true)
                .a_rows_through(rows),
        )
        .unwrap();
        be.read(out).unwrap()
    };
    let (dw_c, dw_g) = (dw(&mut cpu, x_c, dz_c), dw(&mut gpu, x_g, dz_g));
    assert_close("[dW; db] through the permutation, K = 100 000", &dw_g, &dw_c, tol);
    // x·W with 100 000 inputs, 3 rows picked from a chunk of 5.
    let (xw_c, xw_g) = both(&mut cpu, &mut gpu, 5, K, &rng.vec(5 * K, -1.0, 1.0));
    let (w_c, w_g) = both(&mut cpu, &mut gpu, K, 4, &rng.vec(K * 4, -1.0, 1.0));
    let forward = |be: &mut dyn Backend, x: Tensor, w: Tensor| {
        let picks = be.upload_u32(&[4, 0, 2]).unwrap();
        let (y, z) = (be.zeros(3, 4).unwrap(), be.zeros(3, 4).unwrap());
        let op = MatmulOp::new(x, w, y)
            .epilogue(None, Activation::Tanh, Some(z))
            .a_rows_through(IndexedRows::new(picks, 0, 3));
        be.matmul(&op).unwrap();
        (be.read(y).unwrap(), be.read(z).unwrap())
    };
    let ((y_c, z_c), (y_g, z_g)) = (forward(&mut cpu, xw_c, w_c), forward(&mut gpu, xw_g, w_g));
    assert_close("x·W through an index, K = 100 000: y", &y_g, &y_c, tol);
    assert_close("x·W through an index, K = 100 000: z", &z_g, &z_c, tol);
    // dz = (dy·Wᵀ) ⊙ relu′(z) with dy [5, K], W [7, K]: the derivative in matmul_reduce.
    let (dy_c, dy_g) = both(&mut cpu, &mut gpu, 5, K, &rng.vec(5 * K, -1.0, 1.0));
    let (wt_c, wt_g) = both(&mut cpu, &mut gpu, 7, K, &rng.vec(7 * K, -1.0, 1.0));
    let (zz_c, zz_g) = both(&mut cpu, &mut gpu, 5, 7, &rng.vec(35, -1.0, 1.0));
    let dx = |be: &mut dyn Backend, dy: Tensor, w: Tensor, z: Tensor| {
        let out = be.zeros(5, 7).unwrap();
        be.matmul(
            &MatmulOp::new(dy, w, out)
                .transposed(false, true)
                .derivative((Activation::Relu, z)),
        )
        .unwrap();
        be.read(out).unwrap()
    };
    let (dx_c, dx_g) = (dx(&mut cpu, dy_c, wt_c, zz_c), dx(&mut gpu, dy_g, wt_g, zz_g));
    assert_close("dz through relu′ in the epilogue, K = 100 000", &dx_g, &dx_c, tol);
    assert!(
        dx_c.contains(&0.0) && dx_c.iter().any(|v| v.abs() > 1.0),
        "both sides of the kink"
    );
}

pub fn bias_gradient_over_300000_rows_matches_the_cpu() {
    const ROWS: usize = 300_000;
    let mut rng = Rng::new(5);
    let mut cpu = CpuBackend::new();
    let mut gpu = gpu_backend();
    let (dy_c, dy_g) = both(&mut cpu, &mut gpu, ROWS, 3, &rng.vec(ROWS * 3, -1.0, 1.0));
    let (z_c, z_g) = both(&mut cpu, &mut gpu, ROWS, 3, &rng.vec(ROWS * 3, -2.0, 2.0));
    for activation in [Activation::Linear, Activation::Tanh] {
        let run = |be: &mut dyn Backend, dy, z| {
            let (dz, db) = (be.zeros(ROWS, 3).unwrap(), be.zeros(1, 3).unwrap());
            let dz_out = (activation != Activation::Linear).then_some(dz);
            be.activation_backward(&ActivationBackwardOp::new(dy, z, activation).dz(dz_out).db(db))
                .unwrap();
            be.read(db).unwrap()
        };
        let (db_c, db_g) = (run(&mut cpu, dy_c, z_c), run(&mut gpu, dy_g, z_g));
        assert_close(&format!("{activation:?} db"), &db_g, &db_c, Tolerance::new(1e-3, 5e-2));
    }
}

pub fn metrics_over_two_million_rows_match_the_cpu() {
    const ROWS: usize = 2_100_000;
    let mut rng = Rng::new(8);
    let mut cpu = CpuBackend::new();
    let mut gpu = gpu_backend();
    let pred = rng.vec(ROWS, 0.0, 1.0);
    let targets: Vec<f32> = (0..ROWS).map(|i| (i % 3 == 0) as u8 as f32).collect();
    let row_loss = rng.vec(ROWS, 0.0, 2.0);
    let (p_c, p_g) = both(&mut cpu, &mut gpu, ROWS, 1, &pred);
    let (t_c, t_g) = both(&mut cpu, &mut gpu, ROWS, 1, &targets);
    let (l_c, l_g) = both(&mut cpu, &mut gpu, ROWS, 1, &row_loss);
    let run = |be: &mut dyn Backend, p, t, l| {
        let acc = be.zeros(1, metric_slot::COUNT).unwrap();
        let op = MetricsOp::new(p, t, l, acc).accuracy(Accuracy::Binary { threshold: 0.5 });
        // Twice: the second adds to the first.
        be.accumulate_metrics(&op).unwrap();
        be.accumulate_metrics(&op).unwrap();
        be.read(acc).unwrap()
    };
    let (acc_c, acc_g) = (run(&mut cpu, p_c, t_c, l_c), run(&mut gpu, p_g, t_g, l_g));
    assert_eq!(
        acc_g[metric_slot::SAMPLES],
        2.0 * ROWS as f32,
        "every row counted, twice"
    );
    assert_close("metric sums", &acc_g, &acc_c, Tolerance::new(1e-4, 1e-3));
}

pub fn a_dispatch_over_the_loop_budget_is_a_typed_error() {
    let mut gpu = gpu_backend();
    let cols = MAX_ROW_COLUMNS + 1;
    let z = gpu.zeros(2, cols).unwrap();
    let out = gpu.zeros(2, cols).unwrap();
    let err = gpu.softmax(&SoftmaxOp::new(z, out)).unwrap_err();
    assert!(matches!(err, Error::LimitExceeded { .. }), "got {err:?}");
    assert!(err.to_string().contains(&cols.to_string()), "{err}");
}

pub fn whole_batch_training_on_100000_rows_matches_the_cpu_and_allocates_nothing_per_epoch() {
    const ROWS: usize = 100_000;
    let mut rng = Rng::new(3);
    let x = Array2::from_shape_vec((ROWS, 2), rng.vec(ROWS * 2, -1.0, 1.0)).unwrap();
    let y = x.map_axis(ndarray::Axis(1), |r| if r[0] * r[1] > 0.0 { 1.0f32 } else { 0.0 });
    let y = y.insert_axis(ndarray::Axis(1));
    let model = |device| {
        Sequential::new(2)
            .seed(4)
            .add(Dense::new(10, Activation::Relu))
            .add(Dense::new(1, Activation::Sigmoid))
            .compile(
                Loss::BinaryCrossentropy { from_logits: false },
                Optimizer::adam().with_learning_rate(0.05),
                &[Metric::Accuracy],
                device,
            )
            .unwrap()
    };
    let (mut cpu, mut gpu) = (model(Device::Cpu), model(Device::Gpu(Default::default())));
    let options = || FitOptions::new(3, ROWS).seed(1).shuffle(false);
    let hc = cpu.fit(x.view(), y.view(), options()).unwrap();
    let hg = gpu.fit(x.view(), y.view(), options()).unwrap();
    let (lc, lg) = (hc.get("loss").unwrap(), hg.get("loss").unwrap());
    println!("loss per epoch: cpu {lc:?}, gpu {lg:?}");
    assert_close("loss per epoch", lg, lc, Tolerance::new(1e-4, 1e-5));
    assert_close(
        "accuracy per epoch",
        hg.get("accuracy").unwrap(),
        hc.get("accuracy").unwrap(),
        Tolerance::new(1e-4, 1e-5),
    );
    let flat = |m: &mut wgtrain::model::Model| crate::common::flatten_weights(m.weights().unwrap());
    assert_close(
        "weights after 3 steps",
        &flat(&mut gpu),
        &flat(&mut cpu),
        Tolerance::new(1e-3, 1e-5),
    );
    // Later epochs allocate nothing: the split-K scratch was sized by the first step.
    let one = {
        let before = gpu.counters();
        gpu.fit(x.view(), y.view(), FitOptions::new(1, ROWS)).unwrap();
        gpu.counters().since(&before)
    };
    let three = {
        let before = gpu.counters();
        gpu.fit(x.view(), y.view(), FitOptions::new(3, ROWS)).unwrap();
        gpu.counters().since(&before)
    };
    assert_eq!(
        one.buffer_allocations, three.buffer_allocations,
        "epochs allocate nothing"
    );
    println!(
        "GPU dispatches per whole-batch step: {}",
        (three.dispatches - one.dispatches) / 2
    );
}
