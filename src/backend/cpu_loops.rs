//! The CPU backend's inner loops, kept apart from the bookkeeping of `cpu.rs`: tiny products,
//! the activation epilogue and derivative, and the per-batch metric sums (the reference of
//! `shaders/loss.wgsl`).

use ndarray::ArrayView2;

use super::metric_slot;
use crate::nn::{Accuracy, Activation};

/// Sums of one batch for the metric accumulator (see `metric_slot`), in f64.
pub(super) fn metric_sums(
    accuracy: Option<Accuracy>,
    pred: &[f32],
    target: &[f32],
    row_loss: &[f32],
    b: usize,
    c: usize,
) -> [f64; metric_slot::COUNT] {
    let mut sums = [0.0f64; metric_slot::COUNT];
    for i in 0..b {
        let p = &pred[i * c..(i + 1) * c];
        let l = row_loss[i];
        sums[metric_slot::LOSS_SUM] += f64::from(l);
        sums[metric_slot::SAMPLES] += 1.0;
        sums[metric_slot::NON_FINITE] += f64::from(u8::from(!l.is_finite()));
        if accuracy == Some(Accuracy::SparseCategorical) {
            sums[metric_slot::CORRECT] += f64::from(u8::from(argmax(p) as f32 == target[i].round()));
            continue;
        }
        let t = &target[i * c..(i + 1) * c];
        sums[metric_slot::VALUES] += c as f64;
        for j in 0..c {
            let d = p[j] - t[j];
            sums[metric_slot::ABS_ERR] += f64::from(d.abs());
            sums[metric_slot::SQ_ERR] += f64::from(d * d);
        }
        match accuracy {
            Some(Accuracy::Binary { threshold }) => {
                let mut hits = 0.0;
                for j in 0..c {
                    let (pp, tp) = (p[j] > threshold, t[j] > 0.5);
                    hits += f64::from(u8::from(f32::from(u8::from(pp)) == t[j]));
                    sums[metric_slot::TRUE_POS] += f64::from(u8::from(pp && tp));
                    sums[metric_slot::FALSE_POS] += f64::from(u8::from(pp && !tp));
                    sums[metric_slot::FALSE_NEG] += f64::from(u8::from(!pp && tp));
                }
                sums[metric_slot::CORRECT] += hits / c as f64;
            }
            Some(Accuracy::Categorical) => {
                sums[metric_slot::CORRECT] += f64::from(u8::from(argmax(p) == argmax(t)));
            }
            _ => {}
        }
    }
    sums
}

/// out = a·b for small products, row by row (out: [m, n] row-major).
pub(super) fn small_product(a: &ArrayView2<f32>, b: &ArrayView2<f32>, out: &mut [f32]) {
    let n = b.ncols();
    out.fill(0.0);
    for (row, a_row) in out.chunks_exact_mut(n.max(1)).zip(a.rows()) {
        for (&a_ip, b_row) in a_row.iter().zip(b.rows()) {
            for (o, &b_pj) in row.iter_mut().zip(b_row) {
                *o += a_ip * b_pj;
            }
        }
    }
}

/// values = act(values), with the match outside the loop so the common activations run as
/// tight loops the compiler vectorizes (the formulas are those of `Activation::apply`).
pub(super) fn apply_activation(activation: Activation, values: &mut [f32]) {
    match activation {
        Activation::Linear | Activation::Softmax => {}
        Activation::Relu => values.iter_mut().for_each(|v| *v = Activation::Relu.apply(*v)),
        other => values.iter_mut().for_each(|v| *v = other.apply(*v)),
    }
}

/// dz = dy ⊙ act′(z), specialized like [`apply_activation`].
pub(super) fn multiply_derivative(activation: Activation, dy: &[f32], z: &[f32], dz: &mut [f32]) {
    let lanes = dz.iter_mut().zip(dy).zip(z);
    match activation {
        // Relu′ as in `Activation::derivative` (0 at the kink), inline so the loop vectorizes.
        Activation::Relu => lanes.for_each(|((o, &g), &zv)| *o = g * if zv > 0.0 { 1.0 } else { 0.0 }),
        other => lanes.for_each(|((o, &g), &zv)| *o = g * other.derivative(zv)),
    }
}

/// values = values ⊙ act′(z), in place (a derivative epilogue), specialized like
/// [`multiply_derivative`].
pub(super) fn scale_by_derivative(activation: Activation, values: &mut [f32], z: &[f32]) {
    let lanes = values.iter_mut().zip(z);
    match activation {
        Activation::Relu => lanes.for_each(|(v, &zv)| *v *= if zv > 0.0 { 1.0 } else { 0.0 }),
        other => lanes.for_each(|(v, &zv)| *v *= other.derivative(zv)),
    }
}

/// Index of the first largest value.
pub(super) fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}
