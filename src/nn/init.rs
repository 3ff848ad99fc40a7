//! Weight initializers with Keras's formulas, drawn on the host from a seeded generator so that
//! the same seed gives identical initial weights on every backend.
//! fan_in, fan_out: the kernel's [inputs, units].
//! - glorot_uniform: U(−l, l), l = √(6 / (fan_in + fan_out)) (Keras's Dense default);
//! - glorot_normal: truncated normal (±2σ), σ = √(2 / (fan_in + fan_out)) / 0.8796…;
//! - he_uniform: l = √(6 / fan_in); he_normal: σ = √(2 / fan_in) / 0.8796…;
//! - zeros, ones, constant(c).

/// The engine's seeded generator ([`crate::rng`]), used here to draw initial weights.
pub use crate::rng::SeededRng;

/// Divides the target deviation so a normal truncated at ±2σ has the wanted deviation.
const TRUNCATION_CORRECTION: f64 = 0.879_625_661_034_239_8;

/// A weight initializer.
///
/// ```
/// use wgtrain::nn::init::{Initializer, SeededRng};
/// let w = Initializer::GlorotUniform.sample(3, 4, &mut SeededRng::new(1));
/// assert_eq!(w.len(), 12);
/// assert!(w.iter().all(|v| v.abs() <= (6.0f32 / 7.0).sqrt()));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// Glorot (Xavier) uniform.
    GlorotUniform,
    /// Glorot (Xavier) truncated normal.
    GlorotNormal,
    /// He uniform.
    HeUniform,
    /// He truncated normal.
    HeNormal,
    /// All zeros.
    Zeros,
    /// All ones.
    Ones,
    /// Every value c.
    Constant(f32),
}

impl Initializer {
    /// Keras's name.
    pub fn name(&self) -> &'static str {
        match self {
            Initializer::GlorotUniform => "glorot_uniform",
            Initializer::GlorotNormal => "glorot_normal",
            Initializer::HeUniform => "he_uniform",
            Initializer::HeNormal => "he_normal",
            Initializer::Zeros => "zeros",
            Initializer::Ones => "ones",
            Initializer::Constant(_) => "constant",
        }
    }

    /// fan_in × fan_out values (row-major [fan_in, fan_out]); a bias uses fan_in = 1.
    pub fn sample(&self, fan_in: usize, fan_out: usize, rng: &mut SeededRng) -> Vec<f32> {
        let mut out = Vec::with_capacity(fan_in * fan_out);
        self.sample_into(fan_in, fan_out, rng, &mut out);
        out
    }

    /// [`Initializer::sample`] appended to `out` (which the caller may have reserved, so a
    /// model too large for memory fails there with an error instead of here).
    pub fn sample_into(&self, fan_in: usize, fan_out: usize, rng: &mut SeededRng, out: &mut Vec<f32>) {
        let n = fan_in * fan_out;
        let (fi, fo) = (fan_in.max(1) as f64, fan_out.max(1) as f64);
        let truncated_normal = |sigma: f64, rng: &mut SeededRng| loop {
            let z = rng.next_normal();
            if z.abs() <= 2.0 {
                break (z * sigma) as f32;
            }
        };
        match *self {
            Initializer::GlorotUniform | Initializer::HeUniform => {
                let limit = if *self == Initializer::GlorotUniform {
                    (6.0 / (fi + fo)).sqrt()
                } else {
                    (6.0 / fi).sqrt()
                };
                out.extend((0..n).map(|_| ((rng.next_f64() * 2.0 - 1.0) * limit) as f32));
            }
            Initializer::GlorotNormal | Initializer::HeNormal => {
                let base = if *self == Initializer::GlorotNormal {
                    (2.0 / (fi + fo)).sqrt()
                } else {
                    (2.0 / fi).sqrt()
                };
                let sigma = base / TRUNCATION_CORRECTION;
                out.extend((0..n).map(|_| truncated_normal(sigma, rng)));
            }
            Initializer::Zeros => out.resize(out.len() + n, 0.0),
            Initializer::Ones => out.resize(out.len() + n, 1.0),
            Initializer::Constant(c) => out.resize(out.len() + n, c),
        }
    }
}
