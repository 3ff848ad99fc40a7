// optimizer_step.wgsl: one optimizer step over a flat parameter vector, one invocation per
// element, so every parameter of a model is updated in a single dispatch.
// Shapes: param, grad, s0, s1, s2: [n] (element offsets in the uniform).
// Bindings: 0 uniform Params; 1 param (read_write); 2 grad (read); 3..5 state bindings s0..s2
//   (read_write; unused ones are bound to a dummy).
// kind: OPT_SGD, OPT_ADAM (Adam/AdamW) or OPT_RMSPROP. Which state binding holds which slot
// (m, v, velocity …) is the prelude's SLOT_* constants (`OptimizerSlot::binding` in
// src/nn/optimizer_slots.rs); the kernel reaches the state only through them.
// Formulas: src/nn/optimizer.rs (Keras 3's). Hyper-parameters and the step's bias-corrected
// step size (alpha_t, computed on the host from the step count) come in the uniform, never in
// the shader text. flags: OPT_FLAG_NESTEROV, OPT_FLAG_MOMENTUM (momentum on),
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
    lr: f32,
    alpha_t: f32,
    beta_1: f32,
    beta_2: f32,
    epsilon: f32,
    momentum: f32,
    weight_decay: f32,
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

@compute @workgroup_size(64, 1, 1)
fn optimizer_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i >= p.n) {
        return;
    }
    let pi = p.param_off + i;
    let g = grad[p.grad_off + i];
    var x = param[pi];
    if (has(OPT_FLAG_WEIGHT_DECAY)) {
        x -= x * p.weight_decay * p.lr;
    }
    switch p.kind {
        case OPT_SGD: {
            if (!has(OPT_FLAG_MOMENTUM)) {
                x -= p.lr * g;
            } else {
                let m = p.momentum * state(SLOT_SGD_MOMENTUM, i) - p.lr * g;
                set_state(SLOT_SGD_MOMENTUM, i, m);
                if (has(OPT_FLAG_NESTEROV)) {
                    x += p.momentum * m - p.lr * g;
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
            x -= p.alpha_t * m / (sqrt(v) + p.epsilon);
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
            let increment = p.lr * g / sqrt(denom);
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
