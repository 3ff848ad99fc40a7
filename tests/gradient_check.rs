//! Finite-difference gradient checks on the CPU backend (DESIGN.md §6, layer 3).
//!
//! The analytic gradients come from the backend's own operations, wired exactly as a training
//! step wires them; the numeric ones from central differences of a scalar objective that is
//! recomputed by re-running the backend's forward pass on perturbed inputs. The two are
//! independent: a wrong derivative, a wrong transpose flag or a wrong loss scale shows up as a
//! mismatch.
//!
//! Dense layer, shapes: x [B, IN], W [IN, OUT], b [OUT], dy [B, OUT];
//! L = Σ dy ⊙ act(x·W + b), so dL/dy = dy and the backward pass gives dx, dW, db.
//! Losses: L = Σᵢ row_lossᵢ / B (row_lossᵢ = wᵢ·ℓᵢ), whose gradient `LossOp` writes.

mod common;

use common::{Rng, Tolerance, max_rel_error};
use wgtrain::backend::{ActivationBackwardOp, Backend, CpuBackend, LossOp, MatmulOp, SoftmaxOp};
use wgtrain::nn::{ALL_ACTIVATIONS, Activation, Loss};

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
// Dense layer
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

/// y = act(x·W + b) through the backend's fused matmul epilogue; returns (y, z).
fn dense_forward(cpu: &mut CpuBackend, act: Activation, x: &[f32], w: &[f32], b: &[f32]) -> (Vec<f32>, Vec<f32>) {
    let xt = cpu.upload(B, IN, x).unwrap();
    let wt = cpu.upload(IN, OUT, w).unwrap();
    let bt = cpu.upload(1, OUT, b).unwrap();
    let y = cpu.zeros(B, OUT).unwrap();
    let z = cpu.zeros(B, OUT).unwrap();
    cpu.matmul(&MatmulOp::new(xt, wt, y).epilogue(Some(bt), act, Some(z)))
        .unwrap();
    let out = (cpu.read(y).unwrap(), cpu.read(z).unwrap());
    for t in [xt, wt, bt, y, z] {
        cpu.free(t).unwrap();
    }
    out
}

/// L = Σ dy ⊙ y, summed in f64 so the sum adds no rounding of its own.
fn dense_objective(cpu: &mut CpuBackend, act: Activation, case: &DenseCase, x: &[f32], w: &[f32], b: &[f32]) -> f64 {
    let (y, _) = dense_forward(cpu, act, x, w, b);
    y.iter().zip(&case.dy).map(|(&y, &g)| f64::from(y) * f64::from(g)).sum()
}

/// The backward pass as a training step runs it: forward keeping z, then
/// `activation_backward` (dz = dy ⊙ act′(z), db = Σ_rows dz), dx = dz·Wᵀ and dW = xᵀ·dz
/// through the matmul's transpose flags. `backward_act` is normally `act`; the self-test
/// passes a different one to prove a wrong derivative is caught. With `skip_dz` (linear
/// only) dz is not materialized and dy feeds the products directly.
fn dense_backward(
    cpu: &mut CpuBackend,
    act: Activation,
    backward_act: Activation,
    case: &DenseCase,
    skip_dz: bool,
) -> DenseGrads {
    let x = cpu.upload(B, IN, &case.x).unwrap();
    let w = cpu.upload(IN, OUT, &case.w).unwrap();
    let b = cpu.upload(1, OUT, &case.b).unwrap();
    let dy = cpu.upload(B, OUT, &case.dy).unwrap();
    let y = cpu.zeros(B, OUT).unwrap();
    let z = cpu.zeros(B, OUT).unwrap();
    cpu.matmul(&MatmulOp::new(x, w, y).epilogue(Some(b), act, Some(z)))
        .unwrap();

    let db = cpu.zeros(1, OUT).unwrap();
    let dz = if skip_dz {
        cpu.activation_backward(&ActivationBackwardOp::new(dy, z, backward_act).db(db))
            .unwrap();
        dy
    } else {
        let dz = cpu.zeros(B, OUT).unwrap();
        cpu.activation_backward(&ActivationBackwardOp::new(dy, z, backward_act).dz(dz).db(db))
            .unwrap();
        dz
    };
    let dx = cpu.zeros(B, IN).unwrap();
    cpu.matmul(&MatmulOp::new(dz, w, dx).transposed(false, true)).unwrap();
    let dw = cpu.zeros(IN, OUT).unwrap();
    cpu.matmul(&MatmulOp::new(x, dz, dw).transposed(true, false)).unwrap();
    DenseGrads {
        dx: cpu.read(dx).unwrap(),
        dw: cpu.read(dw).unwrap(),
        db: cpu.read(db).unwrap(),
    }
}

/// Numeric dx, dW, db for one case.
fn dense_numeric(cpu: &mut CpuBackend, act: Activation, case: &DenseCase) -> DenseGrads {
    let (x, w, b) = (&case.x, &case.w, &case.b);
    DenseGrads {
        dx: numeric_gradient(x, DENSE_H, |p| dense_objective(cpu, act, case, p, w, b)),
        dw: numeric_gradient(w, DENSE_H, |p| dense_objective(cpu, act, case, x, p, b)),
        db: numeric_gradient(b, DENSE_H, |p| dense_objective(cpu, act, case, x, w, p)),
    }
}

fn label(act: Activation) -> String {
    format!("{act:?}")
}

/// Every activation, three random draws each: dx, dW and db match central differences.
#[test]
fn dense_gradients_match_finite_differences_for_every_activation() {
    let mut cpu = CpuBackend::new();
    for (a, &act) in ALL_ACTIVATIONS.iter().enumerate() {
        let mut worst = 0.0f32;
        for seed in 0..3 {
            let mut rng = Rng::new(100 + 10 * a as u64 + seed);
            let case = dense_case(&mut rng);
            let analytic = dense_backward(&mut cpu, act, act, &case, false);
            let numeric = dense_numeric(&mut cpu, act, &case);
            let name = label(act);
            worst = worst
                .max(assert_gradient(
                    &format!("{name} dx (seed {seed})"),
                    &analytic.dx,
                    &numeric.dx,
                ))
                .max(assert_gradient(
                    &format!("{name} dW (seed {seed})"),
                    &analytic.dw,
                    &numeric.dw,
                ))
                .max(assert_gradient(
                    &format!("{name} db (seed {seed})"),
                    &analytic.db,
                    &numeric.db,
                ));
        }
        println!("dense {:<32} largest relative error {worst:.2e}", label(act));
    }
}

/// The linear shortcut a training step may take (no dz tensor: dy feeds the products and
/// db = Σ dy) gives the same, correct gradients.
#[test]
fn dense_linear_without_dz_matches_finite_differences() {
    let mut cpu = CpuBackend::new();
    let mut rng = Rng::new(7);
    let case = dense_case(&mut rng);
    let act = Activation::Linear;
    let analytic = dense_backward(&mut cpu, act, act, &case, true);
    let numeric = dense_numeric(&mut cpu, act, &case);
    assert_gradient("linear dx (no dz)", &analytic.dx, &numeric.dx);
    assert_gradient("linear dW (no dz)", &analytic.dw, &numeric.dw);
    assert_gradient("linear db (no dz)", &analytic.db, &numeric.db);
}

/// Leaky relu and elu with non-default α: α must reach both the forward and the derivative.
#[test]
fn dense_gradients_with_non_default_alpha() {
    let mut cpu = CpuBackend::new();
    for (i, act) in [
        Activation::LeakyRelu { alpha: 0.01 },
        Activation::LeakyRelu { alpha: 0.7 },
        Activation::Elu { alpha: 0.5 },
        Activation::Elu { alpha: 2.0 },
    ]
    .into_iter()
    .enumerate()
    {
        let mut rng = Rng::new(900 + i as u64);
        let case = dense_case(&mut rng);
        let analytic = dense_backward(&mut cpu, act, act, &case, false);
        let numeric = dense_numeric(&mut cpu, act, &case);
        let name = label(act);
        assert_gradient(&format!("{name} dx"), &analytic.dx, &numeric.dx);
        assert_gradient(&format!("{name} dW"), &analytic.dw, &numeric.dw);
        assert_gradient(&format!("{name} db"), &analytic.db, &numeric.db);
    }
}

/// The checker can fail: a wrong derivative (tanh forward, sigmoid′ backward), one element
/// 5% off and a sign flip are all rejected, while the right gradients pass.
#[test]
fn checker_rejects_wrong_gradients() {
    let mut cpu = CpuBackend::new();
    let mut rng = Rng::new(42);
    let case = dense_case(&mut rng);
    let act = Activation::Tanh;
    let numeric = dense_numeric(&mut cpu, act, &case);

    let right = dense_backward(&mut cpu, act, act, &case, false);
    assert!(compare("right dW", &right.dw, &numeric.dw, TOL).is_ok());

    let wrong_derivative = dense_backward(&mut cpu, act, Activation::Sigmoid, &case, false);
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
#[test]
fn loss_gradients_match_finite_differences_for_every_loss() {
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
#[test]
fn checker_rejects_unscaled_loss_gradient() {
    let mut cpu = CpuBackend::new();
    let cases = loss_cases();
    let case = &cases[0];
    let (_, grad) = run_loss(&mut cpu, case, &case.pred, true);
    let numeric = numeric_gradient(&case.pred, LOSS_H, |p| mean_loss(&mut cpu, case, p));
    let unscaled: Vec<f32> = grad.unwrap().iter().map(|g| g * ROWS as f32).collect();
    assert!(compare(&case.name, &unscaled, &numeric, TOL).is_err());
}

/// softmax_backward against central differences of L = Σ dy ⊙ softmax(z).
#[test]
fn softmax_backward_matches_finite_differences() {
    use wgtrain::backend::{Backend, CpuBackend, SoftmaxBackwardOp};
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
