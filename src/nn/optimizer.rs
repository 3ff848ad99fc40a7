//! Optimizers with Keras 3's defaults and update formulas, applied to a flat parameter vector
//! p with gradient g. Step t counts from 1. Weight decay, when set, is decoupled and comes
//! first, as Keras applies it: p ← p − lr·wd·p.
//! - SGD: m ← μ·m − lr·g; p ← p + m (Nesterov: p ← p + μ·m − lr·g); μ = 0: p ← p − lr·g.
//! - Adam / AdamW: m ← m + (g − m)(1 − β₁); v ← v + (g² − v)(1 − β₂);
//!   p ← p − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε).
//! - RMSprop: v ← ρ·v + (1 − ρ)·g²; (centered: a ← ρ·a + (1 − ρ)·g, d = v − a² + ε, else
//!   d = v + ε); Δ = lr·g/√d; with momentum μ > 0: s ← μ·s + Δ, p ← p − s; else p ← p − Δ.
//!
//! `update` below is the readable reference the CPU backend runs; `shaders/optimizer_step.wgsl`
//! mirrors it. Which state slot is which lives in `optimizer_slots.rs`.

use super::optimizer_slots::OptimizerSlot;

/// True for a number above zero (false for NaN).
fn positive(x: f32) -> bool {
    x > 0.0
}

/// An optimizer and its hyper-parameters.
///
/// ```
/// use wgtrain::nn::Optimizer;
/// let adam = Optimizer::adam();
/// assert_eq!(adam.learning_rate(), 1e-3);
/// assert_eq!(adam.slots(), 2);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Optimizer {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum.
    Sgd {
        /// Learning rate (Keras default 0.01).
        learning_rate: f32,
        /// Momentum μ (default 0).
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
        /// Decoupled weight decay (default none).
        weight_decay: Option<f32>,
    },
    /// Adam; AdamW is Adam with `weight_decay` set.
    Adam {
        /// Learning rate (default 1e-3).
        learning_rate: f32,
        /// β₁ (default 0.9).
        beta_1: f32,
        /// β₂ (default 0.999).
        beta_2: f32,
        /// ε (default 1e-7).
        epsilon: f32,
        /// Decoupled weight decay (Adam: none; AdamW: 0.004).
        weight_decay: Option<f32>,
    },
    /// RMSprop.
    RmsProp {
        /// Learning rate (default 1e-3).
        learning_rate: f32,
        /// ρ (default 0.9).
        rho: f32,
        /// Momentum (default 0).
        momentum: f32,
        /// ε (default 1e-7).
        epsilon: f32,
        /// Centered variant.
        centered: bool,
        /// Decoupled weight decay (default none).
        weight_decay: Option<f32>,
    },
}

impl Optimizer {
    /// SGD with Keras's defaults (lr 0.01, no momentum).
    pub fn sgd() -> Self {
        Optimizer::Sgd {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
            weight_decay: None,
        }
    }

    /// Adam with Keras's defaults (lr 1e-3, β 0.9/0.999, ε 1e-7).
    pub fn adam() -> Self {
        Optimizer::Adam {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: None,
        }
    }

    /// AdamW with Keras's defaults (Adam's, plus weight decay 0.004).
    pub fn adamw() -> Self {
        Optimizer::Adam {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: Some(0.004),
        }
    }

    /// RMSprop with Keras's defaults (lr 1e-3, ρ 0.9, ε 1e-7).
    pub fn rmsprop() -> Self {
        Optimizer::RmsProp {
            learning_rate: 1e-3,
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            weight_decay: None,
        }
    }

    /// The learning rate.
    pub fn learning_rate(&self) -> f32 {
        match *self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. } => learning_rate,
        }
    }

    /// The same optimizer with another learning rate.
    pub fn with_learning_rate(mut self, lr: f32) -> Self {
        match &mut self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. } => *learning_rate = lr,
        }
        self
    }

    /// The same optimizer with another decoupled weight decay (None: off).
    pub fn with_weight_decay(mut self, wd: Option<f32>) -> Self {
        match &mut self {
            Optimizer::Sgd { weight_decay, .. }
            | Optimizer::Adam { weight_decay, .. }
            | Optimizer::RmsProp { weight_decay, .. } => *weight_decay = wd,
        }
        self
    }

    /// The same optimizer with another momentum (SGD and RMSprop; Adam has none).
    pub fn with_momentum(mut self, m: f32) -> Self {
        if let Optimizer::Sgd { momentum, .. } | Optimizer::RmsProp { momentum, .. } = &mut self {
            *momentum = m;
        }
        self
    }

    /// The short name: `sgd`, `adam`, `adamw` (Adam with weight decay) or `rmsprop`.
    pub fn name(&self) -> &'static str {
        match self {
            Optimizer::Sgd { .. } => "sgd",
            Optimizer::Adam {
                weight_decay: Some(_), ..
            } => "adamw",
            Optimizer::Adam { .. } => "adam",
            Optimizer::RmsProp { .. } => "rmsprop",
        }
    }

    /// The decoupled weight decay, if any.
    pub fn weight_decay(&self) -> Option<f32> {
        match *self {
            Optimizer::Sgd { weight_decay, .. }
            | Optimizer::Adam { weight_decay, .. }
            | Optimizer::RmsProp { weight_decay, .. } => weight_decay,
        }
    }

    /// How many state vectors of the parameters' size the optimizer keeps (0 to 3; see
    /// [`Optimizer::slot_layout`]).
    pub fn slots(&self) -> usize {
        self.slot_layout().len()
    }

    /// Names of the state slots in order (`m`, `v`, `momentum` …), for model files.
    pub fn slot_names(&self) -> Vec<&'static str> {
        self.slot_layout().iter().map(OptimizerSlot::name).collect()
    }

    /// Checks hyper-parameters are in range.
    pub fn validate(&self) -> crate::Result<()> {
        let bad = |detail: String| {
            Err(crate::Error::InvalidArgument {
                what: "optimizer",
                detail,
            })
        };
        let lr = self.learning_rate();
        if !(lr.is_finite() && lr >= 0.0) {
            return bad(format!("learning rate must be a finite number ≥ 0, got {lr}"));
        }
        if let Some(wd) = self.weight_decay()
            && !(wd.is_finite() && wd >= 0.0)
        {
            return bad(format!("weight decay must be a finite number ≥ 0, got {wd}"));
        }
        match *self {
            Optimizer::Sgd { momentum, .. } if !(0.0..1.0).contains(&momentum) => {
                bad(format!("SGD momentum must be in [0, 1), got {momentum}"))
            }
            Optimizer::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            } if !(0.0..1.0).contains(&beta_1) || !(0.0..1.0).contains(&beta_2) || !positive(epsilon) => bad(format!(
                "Adam needs β₁, β₂ in [0, 1) and ε > 0, got {beta_1}, {beta_2}, {epsilon}"
            )),
            Optimizer::RmsProp {
                rho, momentum, epsilon, ..
            } if !(0.0..1.0).contains(&rho) || !(0.0..1.0).contains(&momentum) || !positive(epsilon) => bad(format!(
                "RMSprop needs ρ, momentum in [0, 1) and ε > 0, got {rho}, {momentum}, {epsilon}"
            )),
            _ => Ok(()),
        }
    }

    /// Adam's bias-corrected step size for step t (from 1), computed in f32 as Keras does.
    /// The host computes it once per step and passes it to the kernel in the uniform.
    pub fn adam_step_size(&self, step: u64) -> f32 {
        match *self {
            Optimizer::Adam {
                learning_rate,
                beta_1,
                beta_2,
                ..
            } => {
                let t = step as f32;
                learning_rate * (1.0 - beta_2.powf(t)).sqrt() / (1.0 - beta_1.powf(t))
            }
            _ => self.learning_rate(),
        }
    }

    /// Applies step `step` (from 1) to parameters `p` with gradients `g` and state `slots`
    /// (each the length of `p`, `self.slots()` of them). The CPU reference.
    pub fn update(&self, step: u64, p: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        let lr = self.learning_rate();
        let mut state = self.slot_layout().by_binding(slots.iter_mut().map(|s| &mut **s));
        let kept = "the slot layout keeps this slot";
        if let Some(wd) = self.weight_decay() {
            for x in p.iter_mut() {
                *x -= *x * wd * lr;
            }
        }
        match *self {
            Optimizer::Sgd { momentum, nesterov, .. } => {
                if momentum == 0.0 {
                    for (x, &gi) in p.iter_mut().zip(g) {
                        *x -= lr * gi;
                    }
                } else {
                    let m = state.take(OptimizerSlot::SgdMomentum).expect(kept);
                    for i in 0..p.len() {
                        m[i] = momentum * m[i] - lr * g[i];
                        p[i] += if nesterov { momentum * m[i] - lr * g[i] } else { m[i] };
                    }
                }
            }
            Optimizer::Adam {
                beta_1,
                beta_2,
                epsilon,
                ..
            } => {
                let alpha = self.adam_step_size(step);
                let m = state.take(OptimizerSlot::AdamM).expect(kept);
                let v = state.take(OptimizerSlot::AdamV).expect(kept);
                for i in 0..p.len() {
                    m[i] += (g[i] - m[i]) * (1.0 - beta_1);
                    v[i] += (g[i] * g[i] - v[i]) * (1.0 - beta_2);
                    p[i] -= alpha * m[i] / (v[i].sqrt() + epsilon);
                }
            }
            Optimizer::RmsProp {
                rho, momentum, epsilon, ..
            } => {
                let v = state.take(OptimizerSlot::RmsVelocity).expect(kept);
                let mut mom = state.take(OptimizerSlot::RmsMomentum);
                let mut avg = state.take(OptimizerSlot::RmsAverageGradient);
                for i in 0..p.len() {
                    v[i] = rho * v[i] + (1.0 - rho) * g[i] * g[i];
                    let denom = match avg.as_deref_mut() {
                        Some(a) => {
                            a[i] = rho * a[i] + (1.0 - rho) * g[i];
                            v[i] - a[i] * a[i] + epsilon
                        }
                        None => v[i] + epsilon,
                    };
                    let increment = lr * g[i] / denom.sqrt();
                    match mom.as_deref_mut() {
                        Some(s) => {
                            s[i] = momentum * s[i] + increment;
                            p[i] -= s[i];
                        }
                        None => p[i] -= increment,
                    }
                }
            }
        }
    }
}
