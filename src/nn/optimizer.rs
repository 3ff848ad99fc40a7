//! Optimizers with Keras 3's defaults and update formulas, applied to a flat parameter vector
//! p with gradient g. Step t counts from 1. Weight decay, when set, is decoupled and comes
//! first, as Keras applies it: p ← p − lr·wd·p.
//! - SGD: m ← μ·m − lr·g; p ← p + m (Nesterov: p ← p + μ·m − lr·g); μ = 0: p ← p − lr·g.
//! - Adam / AdamW: m ← m + (g − m)(1 − β₁); v ← v + (g² − v)(1 − β₂);
//!   p ← p − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε).
//! - RMSprop: v ← ρ·v + (1 − ρ)·g²; (centered: a ← ρ·a + (1 − ρ)·g, d = v − a² + ε, else
//!   d = v + ε); Δ = lr·g/√d; with momentum μ > 0: s ← μ·s + Δ, p ← p − s; else p ← p − Δ.
//!
//! lr is the learning rate of step t: a constant, or a [`LearningRateSchedule`] evaluated at
//! t − 1 (Keras evaluates it at `iterations`, the updates made before this one), by the update
//! itself on both backends. The decoupled weight decay uses the same scheduled lr, as Keras's.
//!
//! `update` below is the readable reference the CPU backend runs; `shaders/optimizer_step.wgsl`
//! mirrors it. Which state slot is which lives in `optimizer_slots.rs`.

use super::optimizer_slots::OptimizerSlot;
use super::schedule::LearningRateSchedule;
use crate::{Error, Result};

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
        /// Learning rate, constant or scheduled (Keras default 0.01).
        learning_rate: LearningRateSchedule,
        /// Momentum μ (default 0).
        momentum: f32,
        /// Nesterov momentum.
        nesterov: bool,
        /// Decoupled weight decay (default none).
        weight_decay: Option<f32>,
    },
    /// Adam; AdamW is Adam with `weight_decay` set.
    Adam {
        /// Learning rate, constant or scheduled (default 1e-3).
        learning_rate: LearningRateSchedule,
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
        /// Learning rate, constant or scheduled (default 1e-3).
        learning_rate: LearningRateSchedule,
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
            learning_rate: LearningRateSchedule::Constant(0.01),
            momentum: 0.0,
            nesterov: false,
            weight_decay: None,
        }
    }

    /// Adam with Keras's defaults (lr 1e-3, β 0.9/0.999, ε 1e-7).
    pub fn adam() -> Self {
        Optimizer::Adam {
            learning_rate: LearningRateSchedule::Constant(1e-3),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: None,
        }
    }

    /// AdamW with Keras's defaults (Adam's, plus weight decay 0.004).
    pub fn adamw() -> Self {
        Optimizer::Adam {
            learning_rate: LearningRateSchedule::Constant(1e-3),
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
            weight_decay: Some(0.004),
        }
    }

    /// RMSprop with Keras's defaults (lr 1e-3, ρ 0.9, ε 1e-7).
    pub fn rmsprop() -> Self {
        Optimizer::RmsProp {
            learning_rate: LearningRateSchedule::Constant(1e-3),
            rho: 0.9,
            momentum: 0.0,
            epsilon: 1e-7,
            centered: false,
            weight_decay: None,
        }
    }

    /// The learning rate of the first step: the constant rate, or a schedule's initial value
    /// (see [`Self::learning_rate_at`] for any step).
    pub fn learning_rate(&self) -> f32 {
        self.learning_rate_schedule().value_at(0)
    }

    /// The learning rate as given: a constant or a schedule.
    pub fn learning_rate_schedule(&self) -> LearningRateSchedule {
        match *self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. } => learning_rate,
        }
    }

    /// True when the learning rate follows a schedule rather than a constant.
    pub fn is_scheduled(&self) -> bool {
        !self.learning_rate_schedule().is_constant()
    }

    /// The learning rate step `step` (from 1) uses: the schedule at Keras's `iterations`
    /// = step − 1. The same f32 formula the optimizer kernel computes on the device (whose
    /// step is a u32: later steps count as step `u32::MAX`, here too).
    pub fn learning_rate_at(&self, step: u64) -> f32 {
        let step = step.clamp(1, u64::from(u32::MAX));
        self.learning_rate_schedule().value_at(step - 1)
    }

    /// The same optimizer with a constant learning rate (replacing any schedule).
    pub fn with_learning_rate(self, lr: f32) -> Self {
        self.with_schedule(LearningRateSchedule::Constant(lr))
    }

    /// The same optimizer with its learning rate following `schedule`.
    ///
    /// ```
    /// use wgtrain::nn::{LearningRateSchedule, Optimizer};
    /// let adam = Optimizer::adam().with_schedule(LearningRateSchedule::exponential_decay(1e-3, 100, 0.5));
    /// assert_eq!(adam.learning_rate_at(1), 1e-3);
    /// assert!((adam.learning_rate_at(101) - 5e-4).abs() < 1e-10);
    /// ```
    pub fn with_schedule(mut self, schedule: LearningRateSchedule) -> Self {
        match &mut self {
            Optimizer::Sgd { learning_rate, .. }
            | Optimizer::Adam { learning_rate, .. }
            | Optimizer::RmsProp { learning_rate, .. } => *learning_rate = schedule,
        }
        self
    }

    /// Sets a constant learning rate from the next step on (what ReduceLROnPlateau does).
    /// Errors, as Keras does, when the learning rate follows a schedule: the schedule decides
    /// every step's rate, so there is no rate to set.
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        if self.is_scheduled() {
            return Err(Error::InvalidArgument {
                what: "learning rate change",
                detail: format!(
                    "this optimizer's learning rate follows a schedule ({}), so it cannot be set \
                     (Keras refuses it too); use a constant learning rate to change it during training",
                    self.learning_rate_schedule()
                ),
            });
        }
        *self = self.with_learning_rate(lr);
        Ok(())
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

    /// Checks hyper-parameters (and the learning-rate schedule's) are in range.
    pub fn validate(&self) -> Result<()> {
        let bad = |detail: String| {
            Err(Error::InvalidArgument {
                what: "optimizer",
                detail,
            })
        };
        match self.learning_rate_schedule() {
            LearningRateSchedule::Constant(lr) if !(lr.is_finite() && lr >= 0.0) => {
                return bad(format!("learning rate must be a finite number ≥ 0, got {lr}"));
            }
            schedule => schedule.validate()?,
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

    /// Adam's bias-correction terms of step t (from 1): (√(1 − β₂ᵗ), 1 − β₁ᵗ), in f32 as Keras
    /// computes them (the powers are exact at small t, where 1 − βᵗ cancels). They do not
    /// depend on the learning rate; the host passes them to the kernel with the step.
    pub fn adam_bias_correction(&self, step: u64) -> (f32, f32) {
        match *self {
            Optimizer::Adam { beta_1, beta_2, .. } => {
                let t = step as f32;
                ((1.0 - beta_2.powf(t)).sqrt(), 1.0 - beta_1.powf(t))
            }
            _ => (1.0, 1.0),
        }
    }

    /// Adam's bias-corrected step size for step t (from 1): lr_t · √(1 − β₂ᵗ) / (1 − β₁ᵗ) in
    /// Keras's order of operations, lr_t the scheduled rate. Other optimizers: lr_t.
    pub fn adam_step_size(&self, step: u64) -> f32 {
        let (sqrt_bias_2, bias_1) = self.adam_bias_correction(step);
        self.learning_rate_at(step) * sqrt_bias_2 / bias_1
    }

    /// Applies step `step` (from 1) to parameters `p` with gradients `g` and state `slots`
    /// (each the length of `p`, `self.slots()` of them). The CPU reference.
    pub fn update(&self, step: u64, p: &mut [f32], g: &[f32], slots: &mut [&mut [f32]]) {
        let lr = self.learning_rate_at(step);
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
