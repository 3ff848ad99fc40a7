//! Learning-rate schedules with Keras 3's definitions (`keras.optimizers.schedules`), evaluated
//! per step inside the optimizer update on both backends: the CPU backend calls
//! [`LearningRateSchedule::value_at`], and `shaders/optimizer_step.wgsl` computes the same f32
//! formula from the schedule's parameters (carried in the optimizer's uniform) and the step, so
//! the host never computes or uploads a per-step learning rate.
//!
//! Steps are Keras's: `iterations`, the number of updates made before this one (0 at the first
//! update; the optimizer's own step t counts from 1, so it evaluates the schedule at t − 1).
//! With s = iterations, all in f32 as Keras computes them (dtype of the initial rate):
//! - ExponentialDecay: lr₀ · rate^(s / decay_steps); staircase: ⌊s / decay_steps⌋. The power is
//!   taken as 2^(p · log₂ rate), log₂ rate computed once in f64, so a GPU's approximate `log2`
//!   near 1 never enters it.
//! - InverseTimeDecay: lr₀ / (1 + rate · s / decay_steps) (staircase: ⌊s / decay_steps⌋).
//! - PolynomialDecay: s' = min(s, d) (cycle: d ← d · max(1, ⌈s / d⌉), s' = s);
//!   (lr₀ − end) · (1 − s'/d)^power + end.
//! - CosineDecay: s' = min(s, d); c = ½(1 + cos(π s'/d)); lr₀ · ((1 − α)c + α). With warmup
//!   (target T over W steps): s' = min(s, d + W); s' < W: (T − lr₀)(s'/W) + lr₀, else the cosine
//!   decay of s' − W from T.
//! - PiecewiseConstantDecay: `values[i]` where `boundaries[i−1] < s ≤ boundaries[i]`
//!   (`values[0]` for `s ≤ boundaries[0]`, the last value past the last boundary); at most [`MAX_BOUNDARIES`]
//!   boundaries, so the whole schedule fits the optimizer's fixed-size uniform.

use std::fmt;

use crate::{Error, Result};

/// The most boundaries a [`LearningRateSchedule::PiecewiseConstantDecay`] may have (the
/// optimizer kernel's uniform holds them in fixed-size arrays).
pub const MAX_BOUNDARIES: usize = 16;

/// A learning rate: a constant, or a function of the step as Keras's schedules define it.
///
/// ```
/// use wgtrain::nn::LearningRateSchedule;
/// let s = LearningRateSchedule::exponential_decay(0.1, 10, 0.5);
/// assert_eq!(s.value_at(0), 0.1);
/// assert!((s.value_at(10) - 0.05).abs() < 1e-8);
/// let p = LearningRateSchedule::piecewise_constant_decay(&[2], &[1.0, 0.5]).unwrap();
/// assert_eq!((p.value_at(2), p.value_at(3)), (1.0, 0.5));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LearningRateSchedule {
    /// The same rate at every step (what a plain number means in Keras).
    Constant(f32),
    /// `keras.optimizers.schedules.ExponentialDecay`.
    ExponentialDecay {
        /// The rate at step 0.
        initial_learning_rate: f32,
        /// Steps over which the rate is multiplied by `decay_rate` once (> 0).
        decay_steps: u32,
        /// The factor per `decay_steps` (> 0).
        decay_rate: f32,
        /// Decay in whole periods (⌊s / decay_steps⌋) rather than continuously.
        staircase: bool,
    },
    /// `keras.optimizers.schedules.InverseTimeDecay`.
    InverseTimeDecay {
        /// The rate at step 0.
        initial_learning_rate: f32,
        /// The time scale of the decay (> 0).
        decay_steps: u32,
        /// The decay rate (≥ 0).
        decay_rate: f32,
        /// Decay in whole periods.
        staircase: bool,
    },
    /// `keras.optimizers.schedules.PolynomialDecay`.
    PolynomialDecay {
        /// The rate at step 0.
        initial_learning_rate: f32,
        /// Steps to reach `end_learning_rate` (> 0).
        decay_steps: u32,
        /// The rate reached after `decay_steps` (Keras default 1e-4).
        end_learning_rate: f32,
        /// The polynomial's power (> 0; Keras default 1).
        power: f32,
        /// Restart the decay every `decay_steps` multiple instead of holding the end rate.
        cycle: bool,
    },
    /// `keras.optimizers.schedules.CosineDecay`, with its optional linear warmup.
    CosineDecay {
        /// The rate at step 0 (the warmup's start when there is one).
        initial_learning_rate: f32,
        /// Steps of the cosine decay (> 0), after the warmup.
        decay_steps: u32,
        /// The final rate as a fraction of the decay's start (≥ 0; Keras default 0).
        alpha: f32,
        /// Linear warmup before the decay (Keras's `warmup_target`, `warmup_steps`).
        warmup: Option<Warmup>,
    },
    /// `keras.optimizers.schedules.PiecewiseConstantDecay`.
    PiecewiseConstantDecay(PiecewiseConstant),
}

/// The linear warmup of a [`LearningRateSchedule::CosineDecay`]: from the initial rate to
/// `target` over `steps` steps, then the cosine decay starts from `target`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Warmup {
    /// The rate reached at the end of the warmup (Keras's `warmup_target`).
    pub target: f32,
    /// Steps of warmup (Keras's `warmup_steps`; 0 starts the decay from `target` at once).
    pub steps: u32,
}

/// Boundaries and values of a piecewise constant schedule, in fixed-size arrays so the
/// schedule (and the optimizer holding it) stays `Copy` and fits the kernel's uniform. Built
/// by [`LearningRateSchedule::piecewise_constant_decay`], which checks them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PiecewiseConstant {
    len: usize,
    boundaries: [u32; MAX_BOUNDARIES],
    values: [f32; MAX_BOUNDARIES + 1],
}

impl PiecewiseConstant {
    /// The boundaries (strictly increasing steps).
    pub fn boundaries(&self) -> &[u32] {
        &self.boundaries[..self.len]
    }

    /// The values, one more than the boundaries.
    pub fn values(&self) -> &[f32] {
        &self.values[..=self.len]
    }

    /// The value for step `s`: the first interval (boundaries[i−1], boundaries[i]] holding it.
    fn value_at(&self, s: u32) -> f32 {
        let i = self.boundaries().iter().filter(|&&b| s > b).count();
        self.values[i]
    }
}

impl From<f32> for LearningRateSchedule {
    fn from(lr: f32) -> Self {
        LearningRateSchedule::Constant(lr)
    }
}

/// The invalid-schedule error.
fn invalid(detail: String) -> Error {
    Error::InvalidArgument {
        what: "learning-rate schedule",
        detail,
    }
}

/// A learning rate must be a finite number ≥ 0.
fn check_rate(name: &str, x: f32) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(invalid(format!("{name} must be a finite number ≥ 0, got {x}")))
    }
}

/// `s / decay_steps`, floored when `staircase`.
fn progress(s: f32, decay_steps: u32, staircase: bool) -> f32 {
    let p = s / decay_steps as f32;
    if staircase { p.floor() } else { p }
}

/// ½(1 + cos(π·x)) scaled into [α, 1]: Keras's cosine decay factor, in Keras's order.
fn cosine_factor(x: f32, alpha: f32) -> f32 {
    let cosine = 0.5 * (1.0 + (std::f32::consts::PI * x).cos());
    (1.0 - alpha) * cosine + alpha
}

/// `base^power` for base in [0, 1] and power > 0 (0 at base 0; exact at power 1).
fn unit_pow(base: f32, power: f32) -> f32 {
    if base <= 0.0 {
        0.0
    } else if power == 1.0 {
        base
    } else {
        base.powf(power)
    }
}

/// log₂ of an ExponentialDecay rate, computed in f64 so its f32 value is correctly rounded;
/// the kernel receives this number rather than taking its own (approximate) `log2`.
pub(crate) fn log2_decay_rate(decay_rate: f32) -> f32 {
    f64::from(decay_rate).log2() as f32
}

impl LearningRateSchedule {
    /// Keras's `ExponentialDecay(initial_learning_rate, decay_steps, decay_rate)` (not
    /// staircase; see [`Self::with_staircase`]).
    pub fn exponential_decay(initial_learning_rate: f32, decay_steps: u32, decay_rate: f32) -> Self {
        LearningRateSchedule::ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Keras's `InverseTimeDecay(initial_learning_rate, decay_steps, decay_rate)` (not
    /// staircase; see [`Self::with_staircase`]).
    pub fn inverse_time_decay(initial_learning_rate: f32, decay_steps: u32, decay_rate: f32) -> Self {
        LearningRateSchedule::InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase: false,
        }
    }

    /// Keras's `PolynomialDecay(initial_learning_rate, decay_steps, end_learning_rate, power)`
    /// (not cycling; see [`Self::with_cycle`]).
    pub fn polynomial_decay(initial_learning_rate: f32, decay_steps: u32, end_learning_rate: f32, power: f32) -> Self {
        LearningRateSchedule::PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate,
            power,
            cycle: false,
        }
    }

    /// Keras's `CosineDecay(initial_learning_rate, decay_steps, alpha)` without warmup (see
    /// [`Self::with_warmup`]).
    pub fn cosine_decay(initial_learning_rate: f32, decay_steps: u32, alpha: f32) -> Self {
        LearningRateSchedule::CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha,
            warmup: None,
        }
    }

    /// Keras's `PiecewiseConstantDecay(boundaries, values)`. Errors when `values` is not one
    /// longer than `boundaries`, when there are no or more than [`MAX_BOUNDARIES`] boundaries,
    /// when they do not strictly increase, or when a value is not a finite number ≥ 0.
    pub fn piecewise_constant_decay(boundaries: &[u32], values: &[f32]) -> Result<Self> {
        if values.len() != boundaries.len() + 1 {
            return Err(invalid(format!(
                "PiecewiseConstantDecay needs one more value than boundaries, got {} boundaries and {} values",
                boundaries.len(),
                values.len()
            )));
        }
        if boundaries.is_empty() || boundaries.len() > MAX_BOUNDARIES {
            return Err(invalid(format!(
                "PiecewiseConstantDecay takes 1 to {MAX_BOUNDARIES} boundaries (the optimizer kernel's \
                 uniform holds at most {MAX_BOUNDARIES}), got {}",
                boundaries.len()
            )));
        }
        let mut pc = PiecewiseConstant {
            len: boundaries.len(),
            boundaries: [0; MAX_BOUNDARIES],
            values: [0.0; MAX_BOUNDARIES + 1],
        };
        pc.boundaries[..boundaries.len()].copy_from_slice(boundaries);
        pc.values[..values.len()].copy_from_slice(values);
        let schedule = LearningRateSchedule::PiecewiseConstantDecay(pc);
        schedule.validate()?;
        Ok(schedule)
    }

    /// The same schedule with `staircase` set (ExponentialDecay and InverseTimeDecay; other
    /// schedules are returned unchanged).
    pub fn with_staircase(mut self, on: bool) -> Self {
        if let LearningRateSchedule::ExponentialDecay { staircase, .. }
        | LearningRateSchedule::InverseTimeDecay { staircase, .. } = &mut self
        {
            *staircase = on;
        }
        self
    }

    /// The same schedule with `cycle` set (PolynomialDecay; other schedules are returned
    /// unchanged).
    pub fn with_cycle(mut self, on: bool) -> Self {
        if let LearningRateSchedule::PolynomialDecay { cycle, .. } = &mut self {
            *cycle = on;
        }
        self
    }

    /// The same schedule with a linear warmup to `target` over `steps` steps before its
    /// decay (CosineDecay, Keras's `warmup_target` and `warmup_steps`; other schedules are
    /// returned unchanged).
    pub fn with_warmup(mut self, target: f32, steps: u32) -> Self {
        if let LearningRateSchedule::CosineDecay { warmup, .. } = &mut self {
            *warmup = Some(Warmup { target, steps });
        }
        self
    }

    /// True for a constant rate.
    pub fn is_constant(&self) -> bool {
        matches!(self, LearningRateSchedule::Constant(_))
    }

    /// Keras's class name (`Constant` for a plain rate).
    pub fn name(&self) -> &'static str {
        match self {
            LearningRateSchedule::Constant(_) => "Constant",
            LearningRateSchedule::ExponentialDecay { .. } => "ExponentialDecay",
            LearningRateSchedule::InverseTimeDecay { .. } => "InverseTimeDecay",
            LearningRateSchedule::PolynomialDecay { .. } => "PolynomialDecay",
            LearningRateSchedule::CosineDecay { .. } => "CosineDecay",
            LearningRateSchedule::PiecewiseConstantDecay(_) => "PiecewiseConstantDecay",
        }
    }

    /// The rate of the update made after `iterations` earlier updates: Keras's
    /// `schedule(optimizer.iterations)`, in f32 as Keras and the optimizer kernel compute it.
    /// Steps past `u32::MAX` count as `u32::MAX` (the kernel's step is a u32).
    pub fn value_at(&self, iterations: u64) -> f32 {
        let step = iterations.min(u64::from(u32::MAX)) as u32;
        let s = step as f32;
        match *self {
            LearningRateSchedule::Constant(lr) => lr,
            LearningRateSchedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => {
                let p = progress(s, decay_steps, staircase);
                initial_learning_rate * (p * log2_decay_rate(decay_rate)).exp2()
            }
            LearningRateSchedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => initial_learning_rate / (1.0 + decay_rate * progress(s, decay_steps, staircase)),
            LearningRateSchedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => {
                let d = decay_steps as f32;
                let (s, d) = if cycle {
                    let periods = if s == 0.0 { 1.0 } else { (s / d).ceil() };
                    (s, d * periods)
                } else {
                    (s.min(d), d)
                };
                (initial_learning_rate - end_learning_rate) * unit_pow(1.0 - s / d, power) + end_learning_rate
            }
            LearningRateSchedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup,
            } => {
                let d = decay_steps as f32;
                match warmup {
                    None => initial_learning_rate * cosine_factor(s.min(d) / d, alpha),
                    Some(Warmup { target, steps }) => {
                        let w = steps as f32;
                        let s = s.min(d + w);
                        if s < w {
                            (target - initial_learning_rate) * (s / w) + initial_learning_rate
                        } else {
                            target * cosine_factor((s - w) / d, alpha)
                        }
                    }
                }
            }
            LearningRateSchedule::PiecewiseConstantDecay(pc) => pc.value_at(step),
        }
    }

    /// Checks the parameters: rates finite and ≥ 0, `decay_steps` > 0, ExponentialDecay's
    /// rate > 0, PolynomialDecay's power > 0, boundaries strictly increasing.
    pub fn validate(&self) -> Result<()> {
        let positive_steps = |decay_steps: u32| {
            if decay_steps == 0 {
                Err(invalid(format!("{}'s decay_steps must be > 0, got 0", self.name())))
            } else {
                Ok(())
            }
        };
        match *self {
            LearningRateSchedule::Constant(lr) => check_rate("the learning rate", lr),
            LearningRateSchedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                ..
            } => {
                check_rate("ExponentialDecay's initial_learning_rate", initial_learning_rate)?;
                positive_steps(decay_steps)?;
                if decay_rate.is_finite() && decay_rate > 0.0 {
                    Ok(())
                } else {
                    Err(invalid(format!(
                        "ExponentialDecay's decay_rate must be a finite number > 0, got {decay_rate}"
                    )))
                }
            }
            LearningRateSchedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                ..
            } => {
                check_rate("InverseTimeDecay's initial_learning_rate", initial_learning_rate)?;
                positive_steps(decay_steps)?;
                check_rate("InverseTimeDecay's decay_rate", decay_rate)
            }
            LearningRateSchedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                ..
            } => {
                check_rate("PolynomialDecay's initial_learning_rate", initial_learning_rate)?;
                positive_steps(decay_steps)?;
                check_rate("PolynomialDecay's end_learning_rate", end_learning_rate)?;
                if power.is_finite() && power > 0.0 {
                    Ok(())
                } else {
                    Err(invalid(format!(
                        "PolynomialDecay's power must be a finite number > 0, got {power}"
                    )))
                }
            }
            LearningRateSchedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup,
            } => {
                check_rate("CosineDecay's initial_learning_rate", initial_learning_rate)?;
                positive_steps(decay_steps)?;
                check_rate("CosineDecay's alpha", alpha)?;
                match warmup {
                    Some(w) => check_rate("CosineDecay's warmup_target", w.target),
                    None => Ok(()),
                }
            }
            LearningRateSchedule::PiecewiseConstantDecay(pc) => {
                if let Some(w) = pc.boundaries().windows(2).find(|w| w[0] >= w[1]) {
                    return Err(invalid(format!(
                        "PiecewiseConstantDecay's boundaries must strictly increase, got {} then {}",
                        w[0], w[1]
                    )));
                }
                pc.values()
                    .iter()
                    .try_for_each(|&v| check_rate("every PiecewiseConstantDecay value", v))
            }
        }
    }
}

impl fmt::Display for LearningRateSchedule {
    /// A plain rate prints as its number; a schedule as its Keras name and parameters.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            LearningRateSchedule::Constant(lr) => write!(f, "{lr}"),
            LearningRateSchedule::ExponentialDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            }
            | LearningRateSchedule::InverseTimeDecay {
                initial_learning_rate,
                decay_steps,
                decay_rate,
                staircase,
            } => write!(
                f,
                "{}({initial_learning_rate}, decay_steps {decay_steps}, decay_rate {decay_rate}{})",
                self.name(),
                if staircase { ", staircase" } else { "" }
            ),
            LearningRateSchedule::PolynomialDecay {
                initial_learning_rate,
                decay_steps,
                end_learning_rate,
                power,
                cycle,
            } => write!(
                f,
                "PolynomialDecay({initial_learning_rate}, decay_steps {decay_steps}, end {end_learning_rate}, \
                 power {power}{})",
                if cycle { ", cycle" } else { "" }
            ),
            LearningRateSchedule::CosineDecay {
                initial_learning_rate,
                decay_steps,
                alpha,
                warmup,
            } => {
                write!(
                    f,
                    "CosineDecay({initial_learning_rate}, decay_steps {decay_steps}, alpha {alpha}"
                )?;
                if let Some(w) = warmup {
                    write!(f, ", warmup to {} over {} steps", w.target, w.steps)?;
                }
                write!(f, ")")
            }
            LearningRateSchedule::PiecewiseConstantDecay(pc) => write!(
                f,
                "PiecewiseConstantDecay(boundaries {:?}, values {:?})",
                pc.boundaries(),
                pc.values()
            ),
        }
    }
}
