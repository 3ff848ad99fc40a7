// matmul_reduce.wgsl: finishes a split-K product: out = act(Σ_w partial[w] (+ out) + bias),
// optional z = the pre-activation, for the `layers` partial sums matmul.wgsl wrote.
// Shapes: partial: [layers, M, N]; bias: [N]; out, z: [M, N] (len = M·N).
// Bindings: 0 uniform Params; 1 partial (read); 2 bias (read); 3 out (read_write);
//   4 z (read_write; read with MATMUL_FLAG_DERIV).
// flags: MATMUL_FLAG_BIAS, MATMUL_FLAG_Z, MATMUL_FLAG_DERIV (out = sum ⊙ act′(z), z read) as
// in matmul.wgsl; MATMUL_FLAG_ACCUMULATE adds the
// raw sums already in out (an earlier round of a product whose K needs several);
// MATMUL_FLAG_PARTIAL writes the raw sum to out and nothing else (a round before the last).
// One invocation per element, looping over the layers (the host bounds them,
// src/backend/gpu/bounds.rs). Dispatch: 2-D over ceil(len / 64) groups (see softmax.wgsl).

struct Params {
    len: u32,
    n: u32,
    layers: u32,
    flags: u32,
    act: u32,
    alpha: f32,
    partial_off: u32,
    bias_off: u32,
    out_off: u32,
    z_off: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<storage, read_write> z: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn matmul_reduce(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.y * groups.x * 64u + gid.x;
    if (e >= p.len) {
        return;
    }
    var v = 0.0;
    if ((p.flags & MATMUL_FLAG_ACCUMULATE) != 0u) {
        v = out[p.out_off + e];
    }
    for (var w = 0u; w < p.layers; w++) {
        v += partial[p.partial_off + w * p.len + e];
    }
    if ((p.flags & MATMUL_FLAG_PARTIAL) != 0u) {
        out[p.out_off + e] = v;
        return;
    }
    if ((p.flags & MATMUL_FLAG_BIAS) != 0u) {
        v += bias[p.bias_off + e % p.n];
    }
    if ((p.flags & MATMUL_FLAG_Z) != 0u) {
        z[p.z_off + e] = v;
    }
    if ((p.flags & MATMUL_FLAG_DERIV) != 0u) {
        out[p.out_off + e] = v * activate_derivative(p.act, p.alpha, z[p.z_off + e]);
    } else {
        out[p.out_off + e] = activate(p.act, p.alpha, v);
    }
}
