//! Losses: the mean loss over a batch and its gradient with respect to the predictions, in
//! one pass. pred, target: [batch, cols] (sparse targets: [batch, 1] holding class indices).
//!
//! Reduction is Keras's `sum_over_batch_size`: L = (1/B)·Σᵢ wᵢ·ℓᵢ, where ℓᵢ is the per-sample
//! loss and wᵢ an optional sample weight (1 without weights). Per-sample losses (ε = 1e-7):
//! - mse: mean_j (p − t)²; mae: mean_j |p − t|;
//! - bce on probabilities: mean_j −[t·ln c + (1 − t)·ln(1 − c)], c = clip(p, ε, 1 − ε);
//! - bce from logits: mean_j max(z, 0) − z·t + ln(1 + e^−|z|);
//! - cce / sparse cce on probabilities: q = p / Σp, c = clip(q, ε, 1 − ε), −Σ_j t_j·ln c_j;
//! - cce / sparse cce from logits (softmax fused): logsumexp(z)·Σt − Σ_j t_j·z_j.
//!
//! This file is the readable reference used by the CPU backend; `shaders/loss.wgsl` mirrors it.

use super::activation::sigmoid;

/// Keras's clipping constant for probability-form cross-entropies.
pub const EPSILON: f32 = 1e-7;

/// A loss function.
///
/// ```
/// use wgtrain::nn::{Accuracy, Loss};
/// let bce = Loss::BinaryCrossentropy { from_logits: false };
/// assert_eq!(bce.accuracy(), Some(Accuracy::Binary { threshold: 0.5 }));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// Mean squared error.
    MeanSquaredError,
    /// Mean absolute error.
    MeanAbsoluteError,
    /// Binary cross-entropy; `from_logits` fuses the sigmoid.
    BinaryCrossentropy {
        /// Predictions are logits rather than probabilities.
        from_logits: bool,
    },
    /// Categorical cross-entropy with one-hot (or soft) targets; `from_logits` fuses softmax.
    CategoricalCrossentropy {
        /// Predictions are logits rather than probabilities.
        from_logits: bool,
    },
    /// Cross-entropy with integer class targets ([batch, 1]); `from_logits` fuses softmax.
    SparseCategoricalCrossentropy {
        /// Predictions are logits rather than probabilities.
        from_logits: bool,
    },
}

/// Which accuracy a loss implies, chosen as Keras does.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Accuracy {
    /// Each output compared with its 0/1 target after thresholding.
    Binary {
        /// Threshold on the prediction (0.5 on probabilities, 0 on logits).
        threshold: f32,
    },
    /// argmax(pred) == argmax(target).
    Categorical,
    /// argmax(pred) == target class index.
    SparseCategorical,
}

impl Accuracy {
    /// The code the metrics shader switches on.
    pub fn code(self) -> u32 {
        match self {
            Accuracy::Binary { .. } => 1,
            Accuracy::Categorical => 2,
            Accuracy::SparseCategorical => 3,
        }
    }
}

impl Loss {
    /// The code the loss shader switches on.
    pub fn code(self) -> u32 {
        match self {
            Loss::MeanSquaredError => 0,
            Loss::MeanAbsoluteError => 1,
            Loss::BinaryCrossentropy { from_logits: false } => 2,
            Loss::BinaryCrossentropy { from_logits: true } => 3,
            Loss::CategoricalCrossentropy { from_logits: false } => 4,
            Loss::CategoricalCrossentropy { from_logits: true } => 5,
            Loss::SparseCategoricalCrossentropy { from_logits: false } => 6,
            Loss::SparseCategoricalCrossentropy { from_logits: true } => 7,
        }
    }

    /// The Keras name of the loss.
    pub fn name(self) -> &'static str {
        match self {
            Loss::MeanSquaredError => "mean_squared_error",
            Loss::MeanAbsoluteError => "mean_absolute_error",
            Loss::BinaryCrossentropy { .. } => "binary_crossentropy",
            Loss::CategoricalCrossentropy { .. } => "categorical_crossentropy",
            Loss::SparseCategoricalCrossentropy { .. } => "sparse_categorical_crossentropy",
        }
    }

    /// True when targets are class indices ([batch, 1]) rather than one value per output.
    pub fn sparse_targets(self) -> bool {
        matches!(self, Loss::SparseCategoricalCrossentropy { .. })
    }

    /// The accuracy Keras pairs with this loss (`None` for regression losses).
    pub fn accuracy(self) -> Option<Accuracy> {
        match self {
            Loss::BinaryCrossentropy { from_logits } => Some(Accuracy::Binary {
                threshold: if from_logits { 0.0 } else { 0.5 },
            }),
            Loss::CategoricalCrossentropy { .. } => Some(Accuracy::Categorical),
            Loss::SparseCategoricalCrossentropy { .. } => Some(Accuracy::SparseCategorical),
            Loss::MeanSquaredError | Loss::MeanAbsoluteError => None,
        }
    }

    /// Per-sample loss ℓ of one row and, into `grad`, dℓ/dpred for that row (unscaled by the
    /// batch size and sample weight). `target` is the row's targets (one value for sparse).
    pub fn row(self, pred: &[f32], target: &[f32], grad: &mut [f32]) -> f32 {
        let cols = pred.len();
        let inv_cols = 1.0 / cols as f32;
        match self {
            Loss::MeanSquaredError => {
                let mut sum = 0.0;
                for j in 0..cols {
                    let d = pred[j] - target[j];
                    sum += d * d;
                    grad[j] = 2.0 * d * inv_cols;
                }
                sum * inv_cols
            }
            Loss::MeanAbsoluteError => {
                let mut sum = 0.0;
                for j in 0..cols {
                    let d = pred[j] - target[j];
                    sum += d.abs();
                    grad[j] = sign(d) * inv_cols;
                }
                sum * inv_cols
            }
            Loss::BinaryCrossentropy { from_logits: false } => {
                let mut sum = 0.0;
                for j in 0..cols {
                    let (t, c) = (target[j], pred[j].clamp(EPSILON, 1.0 - EPSILON));
                    sum += -(t * c.ln() + (1.0 - t) * (1.0 - c).ln());
                    let inside = pred[j] > EPSILON && pred[j] < 1.0 - EPSILON;
                    grad[j] = if inside {
                        (-t / c + (1.0 - t) / (1.0 - c)) * inv_cols
                    } else {
                        0.0
                    };
                }
                sum * inv_cols
            }
            Loss::BinaryCrossentropy { from_logits: true } => {
                let mut sum = 0.0;
                for j in 0..cols {
                    let (t, z) = (target[j], pred[j]);
                    sum += z.max(0.0) - z * t + (-z.abs()).exp().ln_1p();
                    grad[j] = (sigmoid(z) - t) * inv_cols;
                }
                sum * inv_cols
            }
            Loss::CategoricalCrossentropy { from_logits } => cross_entropy(pred, |j| target[j], from_logits, grad),
            Loss::SparseCategoricalCrossentropy { from_logits } => {
                let class = target[0].round() as i64;
                let one_hot = |j: usize| if j as i64 == class { 1.0 } else { 0.0 };
                cross_entropy(pred, one_hot, from_logits, grad)
            }
        }
    }
}

/// jnp.sign: 0 at 0.
fn sign(x: f32) -> f32 {
    if x > 0.0 {
        1.0
    } else if x < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Cross-entropy of one row against targets t(j), on probabilities (renormalised and clipped
/// as Keras does) or on logits (softmax fused, gradient softmax·Σt − t).
fn cross_entropy(pred: &[f32], t: impl Fn(usize) -> f32, from_logits: bool, grad: &mut [f32]) -> f32 {
    let cols = pred.len();
    if from_logits {
        let max = pred.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let sum_exp: f32 = pred.iter().map(|&z| (z - max).exp()).sum();
        let lse = max + sum_exp.ln();
        let (mut t_sum, mut tz) = (0.0, 0.0);
        for (j, &z) in pred.iter().enumerate() {
            t_sum += t(j);
            tz += t(j) * z;
        }
        for j in 0..cols {
            grad[j] = (pred[j] - max).exp() / sum_exp * t_sum - t(j);
        }
        lse * t_sum - tz
    } else {
        let s: f32 = pred.iter().sum();
        let mut loss = 0.0;
        // g_j = dℓ/dq_j (zero where the clip is active); then dℓ/dp_k = (g_k − Σ_j g_j·q_j)/s.
        let mut g_dot_q = 0.0;
        for j in 0..cols {
            let q = pred[j] / s;
            let c = q.clamp(EPSILON, 1.0 - EPSILON);
            loss -= t(j) * c.ln();
            let g = if q > EPSILON && q < 1.0 - EPSILON {
                -t(j) / c
            } else {
                0.0
            };
            grad[j] = g;
            g_dot_q += g * q;
        }
        for g in grad.iter_mut().take(cols) {
            *g = (*g - g_dot_q) / s;
        }
        loss
    }
}
