// optimizer_step.wgsl: one optimizer step over a flat parameter vector, one invocation per
// element, so every parameter of a model is updated in a single dispatch.
// Shapes: param, grad, s0, s1, s2: [n] (element offsets in the uniform).
// Bindings: 0 uniform Params; 1 param (read_write); 2 grad (read); 3..5 state slots
//   (read_write; unused ones are bound to a dummy).
// kind: 0 SGD (s0 = momentum buffer), 1 Adam/AdamW (s0 = m, s1 = v), 2 RMSprop (s0 = velocity,
// s1 = momentum buffer, s2 = average gradient). Formulas: src/nn/optimizer.rs (Keras 3's).
// flags: bit 0 nesterov, bit 1 momentum on, bit 2 centered, bit 3 weight decay on.
// The learning rate of step t (from 1) is computed here from the schedule's parameters and t
// (Keras evaluates its schedule at iterations = t - 1; formulas: src/nn/schedule.rs), so a
// schedule costs no host work per step. Adam's bias-correction terms of t (sqrt(1 - beta_2^t),
// 1 - beta_1^t) come in the uniform from the host, computed as Keras does: a GPU's pow is too
// coarse where 1 - beta^t cancels.
// Dispatch: 2-D over ceil(n / 64) groups (see softmax.wgsl).

// Schedule kind: 0 constant, 1 ExponentialDecay, 2 InverseTimeDecay, 3 PolynomialDecay,
// 4 CosineDecay, 5 PiecewiseConstantDecay. flags: bit 0 staircase, bit 1 cycle, bit 2 warmup.
// Uniform arrays step by 16 bytes, so boundaries and values are packed four to a vec4.
struct Schedule {
    kind: u32,
    flags: u32,
    boundary_count: u32,
    initial: f32,
    decay_steps: f32,
    decay_rate: f32,
    log2_decay_rate: f32,
    end_learning_rate: f32,
    power: f32,
    alpha: f32,
    warmup_target: f32,
    warmup_steps: f32,
    boundaries: array<vec4<u32>, 4>,
    values: array<vec4<f32>, 5>,
}

struct Params {
    n: u32,
    kind: u32,
    flags: u32,
    step: u32,
    param_off: u32,
    grad_off: u32,
    s0_off: u32,
    s1_off: u32,
    s2_off: u32,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    momentum: f32,
    weight_decay: f32,
    sqrt_bias_2: f32,
    bias_1: f32,
    schedule: Schedule,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> s0: array<f32>;
@group(0) @binding(4) var<storage, read_write> s1: array<f32>;
@group(0) @binding(5) var<storage, read_write> s2: array<f32>;

const PI: f32 = 3.14159265358979;

// s / decay_steps, floored when staircase.
fn progress(s: f32) -> f32 {
    let q = s / p.schedule.decay_steps;
    if ((p.schedule.flags & 1u) != 0u) {
        return floor(q);
    }
    return q;
}

// Keras's cosine decay factor, 1/2 (1 + cos(pi x)) scaled into [alpha, 1].
fn cosine_factor(x: f32) -> f32 {
    let cosine = 0.5 * (1.0 + cos(PI * x));
    return (1.0 - p.schedule.alpha) * cosine + p.schedule.alpha;
}

// base^power for base in [0, 1] and power > 0: 0 at base 0 (where pow is undefined), exact at
// power 1.
fn unit_pow(base: f32, power: f32) -> f32 {
    if (base <= 0.0) {
        return 0.0;
    }
    if (power == 1.0) {
        return base;
    }
    return pow(base, power);
}

// The learning rate of the update made after `iterations` earlier updates (Keras's step).
fn scheduled_learning_rate(iterations: u32) -> f32 {
    let s = f32(iterations);
    var lr = p.schedule.initial;
    switch p.schedule.kind {
        case 1u: {
            lr = p.schedule.initial * exp2(progress(s) * p.schedule.log2_decay_rate);
        }
        case 2u: {
            lr = p.schedule.initial / (1.0 + p.schedule.decay_rate * progress(s));
        }
        case 3u: {
            var d = p.schedule.decay_steps;
            var t = s;
            if ((p.schedule.flags & 2u) != 0u) {
                var periods = 1.0;
                if (s != 0.0) {
                    periods = ceil(s / d);
                }
                d = d * periods;
            } else {
                t = min(s, d);
            }
            let end = p.schedule.end_learning_rate;
            lr = (p.schedule.initial - end) * unit_pow(1.0 - t / d, p.schedule.power) + end;
        }
        case 4u: {
            let d = p.schedule.decay_steps;
            if ((p.schedule.flags & 4u) == 0u) {
                lr = p.schedule.initial * cosine_factor(min(s, d) / d);
            } else {
                let w = p.schedule.warmup_steps;
                let peak = p.schedule.warmup_target;
                let t = min(s, d + w);
                if (t < w) {
                    lr = (peak - p.schedule.initial) * (t / w) + p.schedule.initial;
                } else {
                    lr = peak * cosine_factor((t - w) / d);
                }
            }
        }
        case 5u: {
            // values[i] for boundaries[i - 1] < s <= boundaries[i]; boundary_count <= 16.
            var i = 0u;
            for (var k = 0u; k < p.schedule.boundary_count; k++) {
                if (iterations > p.schedule.boundaries[k / 4u][k % 4u]) {
                    i += 1u;
                }
            }
            lr = p.schedule.values[i / 4u][i % 4u];
        }
        default: {}
    }
    return lr;
}

@compute @workgroup_size(64, 1, 1)
fn optimizer_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i >= p.n) {
        return;
    }
    let pi = p.param_off + i;
    let g = grad[p.grad_off + i];
    var x = param[pi];
    let lr = scheduled_learning_rate(p.step - 1u);
    if ((p.flags & 8u) != 0u) {
        x -= x * p.weight_decay * lr;
    }
    switch p.kind {
        case 0u: {
            if ((p.flags & 2u) == 0u) {
                x -= lr * g;
            } else {
                let m = p.momentum * s0[p.s0_off + i] - lr * g;
                s0[p.s0_off + i] = m;
                if ((p.flags & 1u) != 0u) {
                    x += p.momentum * m - lr * g;
                } else {
                    x += m;
                }
            }
        }
        case 1u: {
            var m = s0[p.s0_off + i];
            var v = s1[p.s1_off + i];
            m += (g - m) * (1.0 - p.beta_1);
            v += (g * g - v) * (1.0 - p.beta_2);
            s0[p.s0_off + i] = m;
            s1[p.s1_off + i] = v;
            // Keras's alpha_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), in its order.
            let alpha_t = lr * p.sqrt_bias_2 / p.bias_1;
            x -= alpha_t * m / (sqrt(v) + p.epsilon);
        }
        default: {
            // RMSprop: beta_1 carries ρ.
            let rho = p.beta_1;
            let v = rho * s0[p.s0_off + i] + (1.0 - rho) * g * g;
            s0[p.s0_off + i] = v;
            var denom = v + p.epsilon;
            if ((p.flags & 4u) != 0u) {
                let a = rho * s2[p.s2_off + i] + (1.0 - rho) * g;
                s2[p.s2_off + i] = a;
                denom = v - a * a + p.epsilon;
            }
            let increment = lr * g / sqrt(denom);
            if ((p.flags & 2u) != 0u) {
                let s = p.momentum * s1[p.s1_off + i] + increment;
                s1[p.s1_off + i] = s;
                x -= s;
            } else {
                x -= increment;
            }
        }
    }
    param[pi] = x;
}
