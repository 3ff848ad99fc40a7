//! Activation functions applied elementwise after a Dense layer: y = act(z), and their
//! derivatives act′(z). These scalar functions are the readable reference that the CPU backend
//! uses and that `shaders/activation.wgsl` mirrors.
//!
//! Formulas follow Keras 3: leaky_relu(z) = z ≥ 0 ? z : α·z (Keras default α = 0.2);
//! elu(z) = z > 0 ? z : α·(eᶻ − 1) (α = 1); gelu exact = ½·z·erfc(−z/√2), gelu tanh =
//! ½·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))).

use std::f64::consts::{FRAC_2_SQRT_PI, SQRT_2};

/// An activation function.
///
/// ```
/// use wgtrain::nn::Activation;
/// assert_eq!(Activation::Relu.apply(-2.0), 0.0);
/// assert!((Activation::Sigmoid.apply(0.0) - 0.5).abs() < 1e-7);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// y = z.
    Linear,
    /// y = max(z, 0).
    Relu,
    /// y = z for z ≥ 0, α·z otherwise.
    LeakyRelu {
        /// Slope for negative inputs (Keras default 0.2).
        alpha: f32,
    },
    /// y = 1 / (1 + e⁻ᶻ).
    Sigmoid,
    /// y = tanh(z).
    Tanh,
    /// Gaussian error linear unit.
    Gelu {
        /// Use the tanh approximation instead of the exact erf form (Keras default: exact).
        approximate: bool,
    },
    /// y = z for z > 0, α·(eᶻ − 1) otherwise.
    Elu {
        /// Scale of the negative part (Keras default 1.0).
        alpha: f32,
    },
    /// Row-wise softmax. Not elementwise: a Dense layer applies it with the backend's
    /// `softmax` after a linear product (and cross-entropy losses fuse it), so the elementwise
    /// functions below treat it as linear and the matmul epilogue refuses it.
    Softmax,
}

/// Every activation once, with Keras's default parameters (handy for tests and docs).
pub const ALL_ACTIVATIONS: [Activation; 8] = [
    Activation::Linear,
    Activation::Relu,
    Activation::LeakyRelu { alpha: 0.2 },
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu { approximate: false },
    Activation::Gelu { approximate: true },
    Activation::Elu { alpha: 1.0 },
];

impl Activation {
    /// The code the shaders switch on (see `shaders/activation.wgsl`).
    pub fn code(self) -> u32 {
        match self {
            Activation::Linear => 0,
            Activation::Relu => 1,
            Activation::LeakyRelu { .. } => 2,
            Activation::Sigmoid => 3,
            Activation::Tanh => 4,
            Activation::Gelu { approximate: false } => 5,
            Activation::Gelu { approximate: true } => 6,
            Activation::Elu { .. } => 7,
            Activation::Softmax => 8,
        }
    }

    /// The activation's parameter (α), 0 for those without one.
    pub fn alpha(self) -> f32 {
        match self {
            Activation::LeakyRelu { alpha } | Activation::Elu { alpha } => alpha,
            _ => 0.0,
        }
    }

    /// True for activations applied to each element alone (all but softmax).
    pub fn is_elementwise(self) -> bool {
        self != Activation::Softmax
    }

    /// Parses a Keras activation name: `relu`, `leaky_relu`, `sigmoid`, `tanh`, `gelu`,
    /// `gelu_tanh`, `elu`, `softmax`, `linear` (Keras's default parameters).
    pub fn from_name(name: &str) -> Option<Activation> {
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "linear" | "none" => Activation::Linear,
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu { alpha: 0.2 },
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "gelu" => Activation::Gelu { approximate: false },
            "gelu_tanh" => Activation::Gelu { approximate: true },
            "elu" => Activation::Elu { alpha: 1.0 },
            "softmax" => Activation::Softmax,
            _ => return None,
        })
    }

    /// The Keras name of this activation (`"relu"`, `"gelu"` …).
    pub fn name(self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu { .. } => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Gelu { .. } => "gelu",
            Activation::Elu { .. } => "elu",
            Activation::Softmax => "softmax",
        }
    }

    /// y = act(z).
    pub fn apply(self, z: f32) -> f32 {
        match self {
            Activation::Linear | Activation::Softmax => z,
            Activation::Relu => z.max(0.0),
            Activation::LeakyRelu { alpha } => {
                if z >= 0.0 {
                    z
                } else {
                    alpha * z
                }
            }
            Activation::Sigmoid => sigmoid(z),
            Activation::Tanh => z.tanh(),
            Activation::Gelu { approximate: false } => {
                let z64 = f64::from(z);
                (0.5 * z64 * erfc(-z64 / SQRT_2)) as f32
            }
            Activation::Gelu { approximate: true } => {
                let z64 = f64::from(z);
                let inner = GELU_TANH_SCALE * (z64 + 0.044715 * z64 * z64 * z64);
                (0.5 * z64 * (1.0 + inner.tanh())) as f32
            }
            Activation::Elu { alpha } => {
                if z > 0.0 {
                    z
                } else {
                    alpha * z.exp_m1()
                }
            }
        }
    }

    /// act′(z), the derivative at the pre-activation value z. At a kink (relu at 0) the
    /// derivative of the left side is used, as JAX does.
    pub fn derivative(self, z: f32) -> f32 {
        match self {
            Activation::Linear | Activation::Softmax => 1.0,
            Activation::Relu => {
                if z > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Activation::LeakyRelu { alpha } => {
                if z >= 0.0 {
                    1.0
                } else {
                    alpha
                }
            }
            Activation::Sigmoid => {
                let s = sigmoid(z);
                s * (1.0 - s)
            }
            Activation::Tanh => {
                let t = z.tanh();
                1.0 - t * t
            }
            Activation::Gelu { approximate: false } => {
                let z64 = f64::from(z);
                let cdf = 0.5 * erfc(-z64 / SQRT_2);
                let pdf = (-0.5 * z64 * z64).exp() * FRAC_2_SQRT_PI / (2.0 * SQRT_2);
                (cdf + z64 * pdf) as f32
            }
            Activation::Gelu { approximate: true } => {
                let z64 = f64::from(z);
                let inner = GELU_TANH_SCALE * (z64 + 0.044715 * z64 * z64 * z64);
                let t = inner.tanh();
                let dinner = GELU_TANH_SCALE * (1.0 + 3.0 * 0.044715 * z64 * z64);
                (0.5 * (1.0 + t) + 0.5 * z64 * (1.0 - t * t) * dinner) as f32
            }
            Activation::Elu { alpha } => {
                if z > 0.0 {
                    1.0
                } else {
                    alpha * z.exp()
                }
            }
        }
    }
}

/// √(2/π), the scale inside the tanh approximation of gelu.
const GELU_TANH_SCALE: f64 = 0.797_884_560_802_865_4;

/// Numerically stable logistic function.
pub fn sigmoid(z: f32) -> f32 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Complementary error function with small relative error everywhere (a Chebyshev fit,
/// fractional error below 1.2e-7), so that gelu stays accurate for large negative inputs
/// where 1 + erf(x) would cancel. The shader uses the same fit in f32.
pub fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98 + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let r = t * poly.exp();
    if x >= 0.0 { r } else { 2.0 - r }
}
