// activation.wgsl: activation functions shared by matmul.wgsl (forward epilogue) and
// activation_backward.wgsl. A library with no entry point: the shader table prepends it to
// those files. The codes are the prelude's ACT_* constants (`Activation::code` in
// src/nn/activation.rs): linear, relu, leaky_relu(alpha), sigmoid, tanh, gelu (erf),
// gelu_tanh, elu(alpha).

const SQRT_HALF: f32 = 0.70710678118654752;
const INV_SQRT_2PI: f32 = 0.39894228040143268;
const GELU_TANH_SCALE: f32 = 0.79788456080286536;

fn sigmoid_stable(z: f32) -> f32 {
    if (z >= 0.0) {
        return 1.0 / (1.0 + exp(-z));
    }
    let e = exp(z);
    return e / (1.0 + e);
}

// tanh through the stable sigmoid: some drivers return NaN from tanh() for large inputs.
fn tanh_stable(z: f32) -> f32 {
    let c = clamp(z, -20.0, 20.0);
    return 2.0 * sigmoid_stable(2.0 * c) - 1.0;
}

// erfc with small relative error everywhere (the same Chebyshev fit as the CPU reference).
fn erfc_fit(x: f32) -> f32 {
    let z = abs(x);
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277))))))));
    let r = t * exp(poly);
    if (x >= 0.0) {
        return r;
    }
    return 2.0 - r;
}

// e^z − 1 without cancellation near 0.
fn expm1_accurate(z: f32) -> f32 {
    if (abs(z) < 1e-2) {
        return z * (1.0 + z * (0.5 + z * (1.0 / 6.0 + z * (1.0 / 24.0))));
    }
    return exp(z) - 1.0;
}

fn activate(code: u32, alpha: f32, z: f32) -> f32 {
    switch code {
        case ACT_RELU: { return max(z, 0.0); }
        case ACT_LEAKY_RELU: { return select(alpha * z, z, z >= 0.0); }
        case ACT_SIGMOID: { return sigmoid_stable(z); }
        case ACT_TANH: { return tanh_stable(z); }
        case ACT_GELU: { return 0.5 * z * erfc_fit(-z * SQRT_HALF); }
        case ACT_GELU_TANH: {
            let inner = GELU_TANH_SCALE * (z + 0.044715 * z * z * z);
            return 0.5 * z * (1.0 + tanh_stable(inner));
        }
        case ACT_ELU: { return select(alpha * expm1_accurate(z), z, z > 0.0); }
        default: { return z; }
    }
}

fn activate_derivative(code: u32, alpha: f32, z: f32) -> f32 {
    switch code {
        case ACT_RELU: { return select(0.0, 1.0, z > 0.0); }
        case ACT_LEAKY_RELU: { return select(alpha, 1.0, z >= 0.0); }
        case ACT_SIGMOID: {
            let s = sigmoid_stable(z);
            return s * (1.0 - s);
        }
        case ACT_TANH: {
            let t = tanh_stable(z);
            return 1.0 - t * t;
        }
        case ACT_GELU: {
            let cdf = 0.5 * erfc_fit(-z * SQRT_HALF);
            let pdf = exp(-0.5 * z * z) * INV_SQRT_2PI;
            return cdf + z * pdf;
        }
        case ACT_GELU_TANH: {
            let inner = GELU_TANH_SCALE * (z + 0.044715 * z * z * z);
            let t = tanh_stable(inner);
            let dinner = GELU_TANH_SCALE * (1.0 + 3.0 * 0.044715 * z * z);
            return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * dinner;
        }
        case ACT_ELU: { return select(alpha * exp(z), 1.0, z > 0.0); }
        default: { return 1.0; }
    }
}
