//! Finite-difference gradient checks on both backends (DESIGN.md §6, layer 3).
//!
//! The analytic gradients come from the compiled layers' own backward passes (and, for whole
//! models, from a real training step through the executor); the numeric ones from central
//! differences of a scalar objective recomputed by the same forward pass on perturbed inputs.
//! The two are independent: a wrong derivative, a wrong transpose flag or a wrong loss scale
//! shows up as a mismatch.
//!
//! Dense layer, shapes: x [B, IN], W [IN, OUT], b [OUT], dy [B, OUT];
//! L = Σ dy ⊙ act(x·W + b), so dL/dy = dy and the backward pass gives dx, dW, db.
//! Losses: L = Σᵢ row_lossᵢ / B (row_lossᵢ = wᵢ·ℓᵢ), whose gradient `LossOp` writes.

use wgtrain::backend::{Backend, CpuBackend, LossOp, SoftmaxBackwardOp, SoftmaxOp, Tensor};
use wgtrain::model::{Dense, LayerPosition, LayerSpec, LayerStep, StepContext};
use wgtrain::nn::{ALL_ACTIVATIONS, Activation, Loss};

use crate::common::harness::TestDevice;
use crate::common::{Rng, Tolerance, max_rel_error};

const B: usize = 5;
const IN: usize = 4;
const OUT: usize = 3;

/// f32 central differences: the step is large enough that rounding in the objective
/// (≈1e-7 relative) stays far below the tolerance, small enough that truncation (h²·f‴/6)
/// does too.
const DENSE_H: f32 = 1e-2;
/// Losses have larger third derivatives near p = 0.05 (bce: 2/p³), hence a smaller step.
const LOSS_H: f32 = 1e-3;
/// How close analytic and numeric gradients must be.
const TOL: Tolerance = Tolerance::new(2e-2, 2e-3);
/// Pre-activations closer than this to 0 are resampled: relu, leaky_relu and elu have a kink
/// (or a jump in a higher derivative) there, and a perturbation of `DENSE_H` must not cross it
/// (|Δz| ≤ h·max(|x|, |W|, 1) = h, since x and W are drawn from [-1, 1]).
const KINK_MARGIN: f32 = 0.05;

/// Compares an analytic gradient with a numeric one. Returns the largest relative error when
/// every element is within `tol`, otherwise a description of the mismatch.
fn compare(what: &str, analytic: &[f32], numeric: &[f32], tol: Tolerance) -> Result<f32, String> {
    assert_eq!(analytic.len(), numeric.len(), "{what}: lengths differ");
    let bad: Vec<usize> = (0..analytic.len())
        .filter(|&i| !tol.accepts(analytic[i], numeric[i]) || !analytic[i].is_finite())
        .collect();
    match bad.first() {
        None => Ok(max_rel_error(analytic, numeric, 1e-2)),
        Some(&i) => Err(format!(
            "{what}: {} of {} gradient elements disagree beyond {tol:?}; first at index {i}: \
             analytic {} numeric {}",
            bad.len(),
            analytic.len(),
            analytic[i],
            numeric[i]
        )),
    }
}

#[track_caller]
fn assert_gradient(what: &str, analytic: &[f32], numeric: &[f32]) -> f32 {
    compare(what, analytic, numeric, TOL).unwrap_or_else(|e| panic!("{e}"))
}

/// Central difference of `objective` with respect to every element of `params`. The step
/// is measured as (p + h) − (p − h) in f32, so the rounding of p ± h does not bias the slope.
fn numeric_gradient(params: &[f32], h: f32, mut objective: impl FnMut(&[f32]) -> f64) -> Vec<f32> {
    let mut p = params.to_vec();
    (0..p.len())
        .map(|i| {
            let (plus, minus) = (params[i] + h, params[i] - h);
            p[i] = plus;
            let up = objective(&p);
            p[i] = minus;
            let down = objective(&p);
            p[i] = params[i];
            ((up - down) / f64::from(plus - minus)) as f32
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Dense layer, through its own forward / backward (the compiled layer a model runs)
// ---------------------------------------------------------------------------------------------

struct DenseCase {
    x: Vec<f32>,
    w: Vec<f32>,
    b: Vec<f32>,
    dy: Vec<f32>,
}

struct DenseGrads {
    dx: Vec<f32>,
    dw: Vec<f32>,
    db: Vec<f32>,
}

/// The pre-activation z = x·W + b computed on the host in f64, only to pick inputs.
fn host_z(x: &[f32], w: &[f32], b: &[f32]) -> Vec<f64> {
    let mut z = vec![0.0; B * OUT];
    for i in 0..B {
        for j in 0..OUT {
            z[i * OUT + j] = f64::from(b[j])
                + (0..IN)
                    .map(|k| f64::from(x[i * IN + k]) * f64::from(w[k * OUT + j]))
                    .sum::<f64>();
        }
    }
    z
}

/// Random inputs whose pre-activations all keep `KINK_MARGIN` away from 0.
fn dense_case(rng: &mut Rng) -> DenseCase {
    for _ in 0..10_000 {
        let x = rng.vec(B * IN, -1.0, 1.0);
        let w = rng.vec(IN * OUT, -1.0, 1.0);
        let b = rng.vec(OUT, -0.5, 0.5);
        if host_z(&x, &w, &b).iter().all(|z| z.abs() > f64::from(KINK_MARGIN)) {
            let dy = rng.vec(B * OUT, -1.0, 1.0);
            return DenseCase { x, w, b, dy };
        }
    }
    panic!("could not draw pre-activations away from 0 in 10 000 tries");
}

/// A compiled Dense layer (not the first of its model, so it computes dx) on `backend`, with
/// its parameters (W then b, the flat layout) and plan buffers at batch size B.
struct DenseUnderTest {
    layer: Box<dyn LayerStep>,
    params: Tensor,
    grads: Tensor,
}

impl DenseUnderTest {
    fn new(backend: &mut dyn Backend, act: Activation, w: &[f32], b: &[f32]) -> Self {
        let mut layer = Dense::new(OUT, act).compile(LayerPosition {
            index: 1,
            input_width: IN,
            first: false,
            parameter_offset: 0,
            seed: 0,
            softmax_in_head: false,
        });
        let flat: Vec<f32> = w.iter().chain(b).copied().collect();
        assert_eq!(layer.parameter_count(), flat.len());
        let params = backend.upload(1, flat.len(), &flat).unwrap();
        let grads = backend.zeros(1, flat.len()).unwrap();
        let buffers: Vec<Tensor> = layer
            .buffer_shapes(B)
            .into_iter()
            .map(|(r, c)| backend.zeros(r, c).unwrap())
            .collect();
        layer.bind_buffers(&buffers);
        DenseUnderTest { layer, params, grads }
    }

    fn context<'a>(&self, backend: &'a mut dyn Backend) -> StepContext<'a> {
        StepContext {
            backend,
            params: self.params,
            grads: self.grads,
            rows: B,
            training_step: Some(1),
        }
    }

    /// Replaces the parameters (W then b).
    fn set_parameters(&mut self, backend: &mut dyn Backend, w: &[f32], b: &[f32]) {
        let flat: Vec<f32> = w.iter().chain(b).copied().collect();
        backend.write(self.params, &flat).unwrap();
    }

    /// The layer's forward output for x.
    fn forward(&mut self, backend: &mut dyn Backend, x: &[f32]) -> Vec<f32> {
        let xt = backend.upload(B, IN, x).unwrap();
        let mut ctx = self.context(backend);
        let y = self.layer.forward(&mut ctx, xt).unwrap();
        let out = backend.read(y).unwrap();
        backend.free(xt).unwrap();
        out
    }

    /// The layer's forward then backward from dy: (dx, dW, db).
    fn backward(&mut self, backend: &mut dyn Backend, x: &[f32], dy: &[f32]) -> DenseGrads {
        let (xt, dyt) = (backend.upload(B, IN, x).unwrap(), backend.upload(B, OUT, dy).unwrap());
        let mut ctx = self.context(backend);
        self.layer.forward(&mut ctx, xt).unwrap();
        let dx = self
            .layer
            .backward(&mut ctx, dyt)
            .unwrap()
            .expect("a non-first layer gives dx");
        let grads = backend.read(self.grads).unwrap();
        let (dw, db) = grads.split_at(IN * OUT);
        DenseGrads {
            dx: backend.read(dx).unwrap(),
            dw: dw.to_vec(),
            db: db.to_vec(),
        }
    }
}

/// L = Σ dy ⊙ layer(x; W, b), summed in f64 so the sum adds no rounding of its own.
fn dense_objective(
    backend: &mut dyn Backend,
    layer: &mut DenseUnderTest,
    dy: &[f32],
    x: &[f32],
    w: &[f32],
    b: &[f32],
) -> f64 {
    layer.set_parameters(backend, w, b);
    let y = layer.forward(backend, x);
    y.iter().zip(dy).map(|(&y, &g)| f64::from(y) * f64::from(g)).sum()
}

/// The layer's own backward pass for one case.
fn dense_analytic(backend: &mut dyn Backend, act: Activation, case: &DenseCase) -> DenseGrads {
    DenseUnderTest::new(backend, act, &case.w, &case.b).backward(backend, &case.x, &case.dy)
}

/// Numeric dx, dW, db for one case (every objective evaluated by the layer's forward pass).
fn dense_numeric(backend: &mut dyn Backend, act: Activation, case: &DenseCase) -> DenseGrads {
    let (x, w, b, dy) = (&case.x, &case.w, &case.b, &case.dy);
    let mut layer = DenseUnderTest::new(backend, act, w, b);
    let l = &mut layer;
    DenseGrads {
        dx: numeric_gradient(x, DENSE_H, |p| dense_objective(backend, l, dy, p, w, b)),
        dw: numeric_gradient(w, DENSE_H, |p| dense_objective(backend, l, dy, x, p, b)),
        db: numeric_gradient(b, DENSE_H, |p| dense_objective(backend, l, dy, x, w, p)),
    }
}

fn label(act: Activation) -> String {
    format!("{act:?}")
}

fn check_dense(device: TestDevice, acts: &[Activation], seeds: u64, seed_base: u64) {
    let mut backend = device.backend();
    let backend = backend.as_mut();
    for (a, &act) in acts.iter().enumerate() {
        let mut worst = 0.0f32;
        for seed in 0..seeds {
            let mut rng = Rng::new(seed_base + 10 * a as u64 + seed);
            let case = dense_case(&mut rng);
            let analytic = dense_analytic(backend, act, &case);
            let numeric = dense_numeric(backend, act, &case);
            let name = format!("{device:?} {}", label(act));
            for (what, got, want) in [
                ("dx", &analytic.dx, &numeric.dx),
                ("dW", &analytic.dw, &numeric.dw),
                ("db", &analytic.db, &numeric.db),
            ] {
                worst = worst.max(assert_gradient(&format!("{name} {what} (seed {seed})"), got, want));
            }
        }
        println!("dense {:<32} largest relative error {worst:.2e}", label(act));
    }
}

/// Every activation (softmax included: the layer's own row softmax and its backward), three
/// random draws each: the layer's dx, dW and db match central differences of its forward.
pub fn dense_gradients_match_finite_differences_for_every_activation(device: TestDevice) {
    check_dense(device, &ALL_ACTIVATIONS, 3, 100);
    check_dense(device, &[Activation::Softmax], 3, 700);
}

/// Leaky relu and elu with non-default α: α must reach both the forward and the derivative.
pub fn dense_gradients_with_non_default_alpha(device: TestDevice) {
    let acts = [
        Activation::LeakyRelu { alpha: 0.01 },
        Activation::LeakyRelu { alpha: 0.7 },
        Activation::Elu { alpha: 0.5 },
        Activation::Elu { alpha: 2.0 },
    ];
    check_dense(device, &acts, 1, 900);
}

/// The checker can fail: a wrong derivative (a tanh layer's gradients against a sigmoid
/// layer's numeric ones), one element 5% off and a sign flip are all rejected, while the
/// right gradients pass.
pub fn checker_rejects_wrong_gradients() {
    let mut backend = TestDevice::Cpu.backend();
    let backend = backend.as_mut();
    let mut rng = Rng::new(42);
    let case = dense_case(&mut rng);
    let numeric = dense_numeric(backend, Activation::Tanh, &case);

    let right = dense_analytic(backend, Activation::Tanh, &case);
    assert!(compare("right dW", &right.dw, &numeric.dw, TOL).is_ok());

    let wrong_derivative = dense_analytic(backend, Activation::Sigmoid, &case);
    let verdict = compare("sigmoid′ for tanh", &wrong_derivative.dw, &numeric.dw, TOL);
    assert!(verdict.is_err(), "a wrong activation derivative was accepted");
    assert!(verdict.unwrap_err().contains("disagree"));

    let largest = (0..right.dx.len())
        .max_by(|&i, &j| right.dx[i].abs().total_cmp(&right.dx[j].abs()))
        .unwrap();
    let mut off_by_5_percent = right.dx.clone();
    off_by_5_percent[largest] *= 1.05;
    assert!(
        compare("dx 5% off", &off_by_5_percent, &numeric.dx, TOL).is_err(),
        "a gradient 5% off in one element was accepted"
    );

    let flipped: Vec<f32> = right.db.iter().map(|v| -v).collect();
    assert!(compare("db negated", &flipped, &numeric.db, TOL).is_err());
}

// ---------------------------------------------------------------------------------------------
// Losses
// ---------------------------------------------------------------------------------------------

const ROWS: usize = 4;
const COLS: usize = 3;

struct LossCase {
    name: String,
    loss: Loss,
    pred: Vec<f32>,
    target: Vec<f32>,
    weights: Option<Vec<f32>>,
}

/// Which targets to draw for a loss that takes one target per output.
#[derive(Clone, Copy, Debug)]
enum Targets {
    /// Uniform in [-1, 1] (regression).
    Real,
    /// Each element 0 or 1 (binary).
    Binary,
    /// Each element in [0, 1] (soft binary labels).
    SoftBinary,
    /// One 1 per row.
    OneHot,
    /// Rows of positive values summing to 1 (label smoothing, distillation).
    Soft,
}

/// A row of probabilities summing to 1, every one inside (0.05, 0.95).
fn probability_row(rng: &mut Rng) -> Vec<f32> {
    loop {
        let raw = rng.vec(COLS, 0.05, 0.95);
        let sum: f32 = raw.iter().sum();
        let row: Vec<f32> = raw.iter().map(|v| v / sum).collect();
        if row.iter().all(|&p| p > 0.05 && p < 0.95) {
            return row;
        }
    }
}

fn targets(rng: &mut Rng, kind: Targets) -> Vec<f32> {
    let mut t = Vec::with_capacity(ROWS * COLS);
    for _ in 0..ROWS {
        match kind {
            Targets::Real => t.extend(rng.vec(COLS, -1.0, 1.0)),
            Targets::Binary => t.extend((0..COLS).map(|_| rng.below(2) as f32)),
            Targets::SoftBinary => t.extend(rng.vec(COLS, 0.0, 1.0)),
            Targets::OneHot => {
                let hot = rng.below(COLS);
                t.extend((0..COLS).map(|j| f32::from(u8::from(j == hot))));
            }
            Targets::Soft => t.extend(probability_row(rng)),
        }
    }
    t
}

/// Predictions valid for `loss`: logits in [-3, 3], probabilities inside (0.05, 0.95) (rows
/// normalized for the categorical forms), and for mae at least 0.05 away from the target so
/// a perturbation never crosses the |p − t| kink.
fn predictions(rng: &mut Rng, loss: Loss, target: &[f32]) -> Vec<f32> {
    match loss {
        Loss::MeanSquaredError => rng.vec(ROWS * COLS, -1.0, 1.0),
        Loss::MeanAbsoluteError => target
            .iter()
            .map(|&t| {
                loop {
                    let p = rng.uniform(-1.0, 1.0);
                    if (p - t).abs() > 0.05 {
                        break p;
                    }
                }
            })
            .collect(),
        Loss::BinaryCrossentropy { from_logits: false } => rng.vec(ROWS * COLS, 0.05, 0.95),
        Loss::CategoricalCrossentropy { from_logits: false }
        | Loss::SparseCategoricalCrossentropy { from_logits: false } => {
            (0..ROWS).flat_map(|_| probability_row(rng)).collect()
        }
        Loss::BinaryCrossentropy { from_logits: true }
        | Loss::CategoricalCrossentropy { from_logits: true }
        | Loss::SparseCategoricalCrossentropy { from_logits: true } => rng.vec(ROWS * COLS, -3.0, 3.0),
    }
}

/// Every loss kind with every kind of target it accepts, each without and with sample weights.
fn loss_cases() -> Vec<LossCase> {
    let dense_kinds: [(Loss, Targets); 10] = [
        (Loss::MeanSquaredError, Targets::Real),
        (Loss::MeanAbsoluteError, Targets::Real),
        (Loss::BinaryCrossentropy { from_logits: false }, Targets::Binary),
        (Loss::BinaryCrossentropy { from_logits: false }, Targets::SoftBinary),
        (Loss::BinaryCrossentropy { from_logits: true }, Targets::Binary),
        (Loss::BinaryCrossentropy { from_logits: true }, Targets::SoftBinary),
        (Loss::CategoricalCrossentropy { from_logits: false }, Targets::OneHot),
        (Loss::CategoricalCrossentropy { from_logits: false }, Targets::Soft),
        (Loss::CategoricalCrossentropy { from_logits: true }, Targets::OneHot),
        (Loss::CategoricalCrossentropy { from_logits: true }, Targets::Soft),
    ];
    let mut rng = Rng::new(2024);
    let mut cases = Vec::new();
    for weighted in [false, true] {
        let mut draw = |loss: Loss, targets_name: String, target: Vec<f32>, rng: &mut Rng| {
            let pred = predictions(rng, loss, &target);
            let weights = weighted.then(|| rng.vec(ROWS, 0.2, 2.0));
            let suffix = if weighted { " / weighted" } else { "" };
            cases.push(LossCase {
                name: format!("{loss:?} / {targets_name}{suffix}"),
                loss,
                pred,
                target,
                weights,
            });
        };
        for &(loss, kind) in &dense_kinds {
            let target = targets(&mut rng, kind);
            draw(loss, format!("{kind:?} targets"), target, &mut rng);
        }
        for from_logits in [false, true] {
            // Class indices travel as f32 values in a [B, 1] tensor.
            let target: Vec<f32> = (0..ROWS).map(|_| rng.below(COLS) as f32).collect();
            let loss = Loss::SparseCategoricalCrossentropy { from_logits };
            draw(loss, "class indices".to_string(), target, &mut rng);
        }
    }
    cases
}

/// Runs the loss op on `pred`; returns the per-row losses and, when asked, the gradient.
fn run_loss(cpu: &mut CpuBackend, case: &LossCase, pred: &[f32], with_grad: bool) -> (Vec<f32>, Option<Vec<f32>>) {
    let target_cols = if case.loss.sparse_targets() { 1 } else { COLS };
    let p = cpu.upload(ROWS, COLS, pred).unwrap();
    let t = cpu.upload(ROWS, target_cols, &case.target).unwrap();
    let w = case.weights.as_ref().map(|w| cpu.upload(ROWS, 1, w).unwrap());
    let row_loss = cpu.zeros(ROWS, 1).unwrap();
    let grad = with_grad.then(|| cpu.zeros(ROWS, COLS).unwrap());
    cpu.loss(&LossOp {
        loss: case.loss,
        pred: p,
        target: t,
        weights: w,
        row_loss,
        grad,
        target_rows: None,
    })
    .unwrap();
    let rows = cpu.read(row_loss).unwrap();
    let g = grad.map(|g| cpu.read(g).unwrap());
    for x in [Some(p), Some(t), w, Some(row_loss), grad].into_iter().flatten() {
        cpu.free(x).unwrap();
    }
    (rows, g)
}

/// The batch-mean loss Σᵢ wᵢ·ℓᵢ / B, summed in f64.
fn mean_loss(cpu: &mut CpuBackend, case: &LossCase, pred: &[f32]) -> f64 {
    let (rows, _) = run_loss(cpu, case, pred, false);
    rows.iter().map(|&l| f64::from(l)).sum::<f64>() / ROWS as f64
}

/// Every loss kind (mse, mae, bce, bce from logits, cce, cce from logits, sparse cce, sparse
/// cce from logits), with hard and soft targets, without and with sample weights:
/// d(mean loss)/d pred from `LossOp` equals central differences of Σ row_loss / B.
pub fn loss_gradients_match_finite_differences_for_every_loss() {
    let mut cpu = CpuBackend::new();
    let cases = loss_cases();
    assert_eq!(
        cases.len(),
        24,
        "12 loss/target combinations × {{unweighted, weighted}}"
    );
    for case in &cases {
        let (rows, grad) = run_loss(&mut cpu, case, &case.pred, true);
        assert!(
            rows.iter().all(|l| l.is_finite()),
            "{}: non-finite row loss {rows:?}",
            case.name
        );
        let analytic = grad.expect("asked for the gradient");
        let numeric = numeric_gradient(&case.pred, LOSS_H, |p| mean_loss(&mut cpu, case, p));
        let worst = assert_gradient(&case.name, &analytic, &numeric);
        println!("loss {:<80} largest relative error {worst:.2e}", case.name);
    }
}

/// The checker rejects a loss gradient that forgets the 1/B of the batch mean.
pub fn checker_rejects_unscaled_loss_gradient() {
    let mut cpu = CpuBackend::new();
    let cases = loss_cases();
    let case = &cases[0];
    let (_, grad) = run_loss(&mut cpu, case, &case.pred, true);
    let numeric = numeric_gradient(&case.pred, LOSS_H, |p| mean_loss(&mut cpu, case, p));
    let unscaled: Vec<f32> = grad.unwrap().iter().map(|g| g * ROWS as f32).collect();
    assert!(compare(&case.name, &unscaled, &numeric, TOL).is_err());
}

/// softmax_backward against central differences of L = Σ dy ⊙ softmax(z).
pub fn softmax_backward_matches_finite_differences() {
    use wgtrain::backend::{Backend, CpuBackend};
    let mut b = CpuBackend::new();
    let (rows, cols) = (3, 5);
    let z: Vec<f32> = (0..rows * cols).map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.4).collect();
    let dy: Vec<f32> = (0..rows * cols).map(|i| ((i * 3 % 7) as f32 - 3.0) * 0.3).collect();
    let loss = |b: &mut CpuBackend, z: &[f32]| -> f64 {
        let (zt, y) = (b.upload(rows, cols, z).unwrap(), b.zeros(rows, cols).unwrap());
        b.softmax(&SoftmaxOp::new(zt, y)).unwrap();
        b.read(y).unwrap().iter().zip(&dy).map(|(a, g)| f64::from(a * g)).sum()
    };
    let (zt, y, dyt, dz) = (
        b.upload(rows, cols, &z).unwrap(),
        b.zeros(rows, cols).unwrap(),
        b.upload(rows, cols, &dy).unwrap(),
        b.zeros(rows, cols).unwrap(),
    );
    b.softmax(&SoftmaxOp::new(zt, y)).unwrap();
    b.softmax_backward(&SoftmaxBackwardOp::new(y, dyt, dz)).unwrap();
    let analytic = b.read(dz).unwrap();
    let h = 1e-2f32;
    for i in 0..z.len() {
        let (mut up, mut down) = (z.clone(), z.clone());
        up[i] += h;
        down[i] -= h;
        let numeric = (loss(&mut b, &up) - loss(&mut b, &down)) / (2.0 * f64::from(h));
        assert!(
            (numeric - f64::from(analytic[i])).abs() < 2e-3,
            "element {i}: numeric {numeric}, analytic {}",
            analytic[i]
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Whole models, through a real training step
// ---------------------------------------------------------------------------------------------

/// The gradients of one real `fit` step (executor, layers, loss head) against central
/// differences of the model's own `evaluate` loss at the same weights, for a softmax output
/// fused with sparse cross-entropy, a sigmoid output with binary cross-entropy, and a linear
/// output with mean squared error.
pub fn model_gradients_match_finite_differences(device: TestDevice) {
    use ndarray::Array2;
    use wgtrain::model::{FitOptions, Sequential};
    use wgtrain::nn::Optimizer;

    let rows = 6;
    let mut rng = Rng::new(77);
    let x = Array2::from_shape_vec((rows, 3), rng.vec(rows * 3, -1.0, 1.0)).unwrap();
    let cases = [
        (
            Activation::Softmax,
            3,
            Loss::SparseCategoricalCrossentropy { from_logits: false },
        ),
        (Activation::Sigmoid, 1, Loss::BinaryCrossentropy { from_logits: false }),
        (Activation::Linear, 2, Loss::MeanSquaredError),
    ];
    for (out_act, outputs, loss) in cases {
        let y: Vec<f32> = match loss {
            Loss::SparseCategoricalCrossentropy { .. } => (0..rows).map(|i| (i % outputs) as f32).collect(),
            Loss::BinaryCrossentropy { .. } => (0..rows).map(|i| (i % 2) as f32).collect(),
            _ => rng.vec(rows * outputs, -1.0, 1.0),
        };
        let y = Array2::from_shape_vec((rows, y.len() / rows), y).unwrap();
        let mut model = Sequential::new(3)
            .seed(5)
            .add(Dense::new(4, Activation::Tanh))
            .add(Dense::new(outputs, out_act))
            .compile(loss, Optimizer::sgd().with_learning_rate(1e-3), &[], device.device())
            .unwrap();
        let start = model.weights().unwrap();
        model
            .fit(x.view(), y.view(), FitOptions::new(1, rows).shuffle(false))
            .unwrap();
        let analytic: Vec<f32> = model
            .gradients()
            .unwrap()
            .into_iter()
            .flat_map(|(k, b)| k.into_iter().chain(b.into_iter().flatten()))
            .collect();
        let flat: Vec<f32> = start
            .iter()
            .flat_map(|(k, b)| k.iter().chain(b.iter().flatten()).copied())
            .collect();
        let numeric = numeric_gradient(&flat, DENSE_H, |p| {
            let mut at = 0;
            let weights: Vec<_> = start
                .iter()
                .map(|(k, b)| {
                    let k2 = p[at..at + k.len()].to_vec();
                    at += k.len();
                    let b2 = b.as_ref().map(|b| {
                        let v = p[at..at + b.len()].to_vec();
                        at += b.len();
                        v
                    });
                    (k2, b2)
                })
                .collect();
            model.set_weights(&weights).unwrap();
            f64::from(model.evaluate(x.view(), y.view(), rows).unwrap()["loss"])
        });
        let worst = assert_gradient(
            &format!("{device:?} {} model gradients", loss.name()),
            &analytic,
            &numeric,
        );
        println!("model with {} largest relative error {worst:.2e}", loss.name());
    }
}
