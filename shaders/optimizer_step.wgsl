// optimizer_step.wgsl: one optimizer step over a flat parameter vector, one invocation per
// element, so every parameter of a model is updated in a single dispatch.
// Shapes: param, grad, s0, s1, s2: [n] (element offsets in the uniform).
// Bindings: 0 uniform Params; 1 param (read_write); 2 grad (read); 3..5 state slots
//   (read_write; unused ones are bound to a dummy).
// kind: 0 SGD (s0 = momentum buffer), 1 Adam/AdamW (s0 = m, s1 = v), 2 RMSprop (s0 = velocity,
// s1 = momentum buffer, s2 = average gradient). Formulas: src/nn/optimizer.rs (Keras 3's).
// Hyper-parameters and the step's bias-corrected step size (alpha_t, computed on the host
// from the step count) come in the uniform, never in the shader text.
// flags: bit 0 nesterov, bit 1 momentum on, bit 2 centered, bit 3 weight decay on.
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

@compute @workgroup_size(64, 1, 1)
fn optimizer_step(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i >= p.n) {
        return;
    }
    let pi = p.param_off + i;
    let g = grad[p.grad_off + i];
    var x = param[pi];
    if ((p.flags & 8u) != 0u) {
        x -= x * p.weight_decay * p.lr;
    }
    switch p.kind {
        case 0u: {
            if ((p.flags & 2u) == 0u) {
                x -= p.lr * g;
            } else {
                let m = p.momentum * s0[p.s0_off + i] - p.lr * g;
                s0[p.s0_off + i] = m;
                if ((p.flags & 1u) != 0u) {
                    x += p.momentum * m - p.lr * g;
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
            x -= p.alpha_t * m / (sqrt(v) + p.epsilon);
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
            let increment = p.lr * g / sqrt(denom);
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
