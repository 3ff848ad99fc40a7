// optimizer_step.wgsl: one optimizer step over a flat parameter vector, one invocation per
// element, so every parameter of a model is updated in a single dispatch.
// Shapes: param, grad, s0, s1, s2: [n] (element offsets in the uniform).
// Bindings: 0 uniform Params; 1 param (read_write); 2 grad (read); 3..5 state bindings s0..s2
//   (read_write; unused ones are bound to a dummy).
// kind: OPT_SGD, OPT_ADAM (Adam/AdamW) or OPT_RMSPROP. Which state binding holds which slot
// (m, v, velocity …) is the prelude's SLOT_* constants (`OptimizerSlot::binding` in
// src/nn/optimizer_slots.rs); the kernel reaches the state only through them.
// Formulas: src/nn/optimizer.rs (Keras 3's). Hyper-parameters come in the uniform, never in
// the shader text. The learning rate of step t (from 1) is computed here from the schedule's
// parameters (sched_*, kind SCHED_*, flags SCHED_FLAG_*) and t: Keras evaluates its schedule at
// iterations = t - 1 (formulas: src/nn/schedule.rs), so a schedule costs no host work per step.
// Adam's bias corrections of t (sqrt(1 - beta_2^t), 1 - beta_1^t) come from the host,
// computed as Keras does: a GPU's pow is too coarse where 1 - beta^t cancels.
// Uniform arrays step by 16 bytes, so boundaries and values are packed four to a vec4. flags: OPT_FLAG_NESTEROV, OPT_FLAG_MOMENTUM (momentum on),
// OPT_FLAG_CENTERED, OPT_FLAG_WEIGHT_DECAY.
// Dispatch: 2-D over ceil(n / 64) groups (see softmax.wgsl).

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
    sched_kind: u32,
    sched_flags: u32,
    sched_boundary_count: u32,
    sched_initial: f32,
    sched_decay_steps: f32,
    sched_decay_rate: f32,
    sched_log2_decay_rate: f32,
    sched_end_learning_rate: f32,
    sched_power: f32,
    sched_alpha: f32,
    sched_warmup_target: f32,
    sched_warmup_steps: f32,
    sched_boundaries: array<vec4<u32>, 4>,
    sched_values: array<vec4<f32>, 5>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> param: array<f32>;
@group(0) @binding(2) var<storage, read> grad: array<f32>;
@group(0) @binding(3) var<storage, read_write> s0: array<f32>;
@group(0) @binding(4) var<storage, read_write> s1: array<f32>;
@group(0) @binding(5) var<storage, read_write> s2: array<f32>;

// Element i of the state in binding `slot` (a SLOT_* constant).
fn state(slot: u32, i: u32) -> f32 {
    switch slot {
        case 0u: { return s0[p.s0_off + i]; }
        case 1u: { return s1[p.s1_off + i]; }
        default: { return s2[p.s2_off + i]; }
    }
}

fn set_state(slot: u32, i: u32, v: f32) {
    switch slot {
        case 0u: { s0[p.s0_off + i] = v; }
        case 1u: { s1[p.s1_off + i] = v; }
        default: { s2[p.s2_off + i] = v; }
    }
}

fn has(flag: u32) -> bool {
    return (p.flags & flag) != 0u;
}

fn schedule_has(flag: u32) -> bool {
    return (p.sched_flags & flag) != 0u;
}

const PI: f32 = 3.14159265358979;

// s / decay_steps, floored when staircase.
fn progress(s: f32) -> f32 {
    let q = s / p.sched_decay_steps;
    if (schedule_has(SCHED_FLAG_STAIRCASE)) {
        return floor(q);
    }
    return q;
}

// Keras's cosine decay factor, 1/2 (1 + cos(pi x)) scaled into [alpha, 1].
fn cosine_factor(x: f32) -> f32 {
    let cosine = 0.5 * (1.0 + cos(PI * x));
    return (1.0 - p.sched_alpha) * cosine + p.sched_alpha;
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
    let initial = p.sched_initial;
    switch p.sched_kind {
        case SCHED_EXPONENTIAL: {
            return initial * exp2(progress(s) * p.sched_log2_decay_rate);
        }
        case SCHED_INVERSE_TIME: {
            return initial / (1.0 + p.sched_decay_rate * progress(s));
        }
        case SCHED_POLYNOMIAL: {
            var d = p.sched_decay_steps;
            var t = s;
            if (schedule_has(SCHED_FLAG_CYCLE)) {
                var periods = 1.0;
                if (s != 0.0) {
                    periods = ceil(s / d);
                }
                d = d * periods;
            } else {
                t = min(s, d);
            }
            let end = p.sched_end_learning_rate;
            return (initial - end) * unit_pow(1.0 - t / d, p.sched_power) + end;
        }
        case SCHED_COSINE: {
            let d = p.sched_decay_steps;
            if (!schedule_has(SCHED_FLAG_WARMUP)) {
                return initial * cosine_factor(min(s, d) / d);
            }
            let w = p.sched_warmup_steps;
            let peak = p.sched_warmup_target;
            let t = min(s, d + w);
            if (t < w) {
                return (peak - initial) * (t / w) + initial;
            }
            return peak * cosine_factor((t - w) / d);
        }
        case SCHED_PIECEWISE: {
            // values[i] for boundaries[i - 1] < s <= boundaries[i]; at most 16 boundaries.
            var i = 0u;
            for (var k = 0u; k < min(p.sched_boundary_count, 16u); k++) {
                if (iterations > p.sched_boundaries[k / 4u][k % 4u]) {
                    i += 1u;
                }
            }
            return p.sched_values[i / 4u][i % 4u];
        }
        default: {
            // SCHED_CONSTANT.
            return initial;
        }
    }
}

// The update of parameter i with learning rate lr; bias = (sqrt(1 - beta_2^t), 1 - beta_1^t),
// Adam's bias corrections of step t. The fused training kernel takes this function (with the
// schedule above) from this file, so the two kernels update parameters the same way.
fn update(i: u32, lr: f32, bias: vec2<f32>) {
    let pi = p.param_off + i;
    let g = grad[p.grad_off + i];
    var x = param[pi];
    if (has(OPT_FLAG_WEIGHT_DECAY)) {
        x -= x * p.weight_decay * lr;
    }
    switch p.kind {
        case OPT_SGD: {
            if (!has(OPT_FLAG_MOMENTUM)) {
                x -= lr * g;
            } else {
                let m = p.momentum * state(SLOT_SGD_MOMENTUM, i) - lr * g;
                set_state(SLOT_SGD_MOMENTUM, i, m);
                if (has(OPT_FLAG_NESTEROV)) {
                    x += p.momentum * m - lr * g;
                } else {
                    x += m;
                }
            }
        }
        case OPT_ADAM: {
            var m = state(SLOT_ADAM_M, i);
            var v = state(SLOT_ADAM_V, i);
            m += (g - m) * (1.0 - p.beta_1);
            v += (g * g - v) * (1.0 - p.beta_2);
            set_state(SLOT_ADAM_M, i, m);
            set_state(SLOT_ADAM_V, i, v);
            // Keras's alpha_t = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t), in its order.
            let alpha_t = lr * bias.x / bias.y;
            x -= alpha_t * m / (sqrt(v) + p.epsilon);
        }
        default: {
            // OPT_RMSPROP: beta_1 carries ρ.
            let rho = p.beta_1;
            let v = rho * state(SLOT_RMS_VELOCITY, i) + (1.0 - rho) * g * g;
            set_state(SLOT_RMS_VELOCITY, i, v);
            var denom = v + p.epsilon;
            if (has(OPT_FLAG_CENTERED)) {
                let a = rho * state(SLOT_RMS_AVERAGE_GRADIENT, i) + (1.0 - rho) * g;
                set_state(SLOT_RMS_AVERAGE_GRADIENT, i, a);
                denom = v - a * a + p.epsilon;
            }
            let increment = lr * g / sqrt(denom);
            if (has(OPT_FLAG_MOMENTUM)) {
                let s = p.momentum * state(SLOT_RMS_MOMENTUM, i) + increment;
                set_state(SLOT_RMS_MOMENTUM, i, s);
                x -= s;
            } else {
                x -= increment;
            }
        }
    }
    param[pi] = x;
}

@compute @workgroup_size(64, 1, 1)
fn optimizer_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i >= p.n) {
        return;
    }
    update(i, scheduled_learning_rate(p.step - 1u), vec2<f32>(p.sqrt_bias_2, p.bias_1));
}
