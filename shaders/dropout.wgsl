// dropout.wgsl: inverted dropout with a counter-based mask, identical on every backend.
// Forward (mode DROPOUT_FORWARD): keep = u(seed, step, i) ≥ rate; mask[i] = keep ? 1 : 0;
//   out[i] = x[i]·mask[i] / (1 − rate). Backward (DROPOUT_BACKWARD): out[i] = x[i]·mask[i] / (1 − rate)
//   with the stored mask (x is then dy).
// u is the top 24 bits of a hash of (seed, step, i) over 2^24; the hash is Wellons'
// "lowbias32", mirrored by `dropout_keep` in src/nn/dropout.rs, so masks need no buffer
// upload and the CPU backend draws exactly the same ones.
// Shapes: x, mask, out: [n]. Bindings: 0 uniform Params; 1 x (read); 2 mask (read_write);
//   3 out (read_write). Dispatch: 2-D over ceil(n / 64) groups (see softmax.wgsl).

struct Params {
    n: u32,
    mode: u32,
    seed: u32,
    step: u32,
    rate: f32,
    x_off: u32,
    mask_off: u32,
    out_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> mask: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn lowbias32(v: u32) -> u32 {
    var h = v;
    h ^= h >> 16u;
    h *= 0x7feb352du;
    h ^= h >> 15u;
    h *= 0x846ca68bu;
    h ^= h >> 16u;
    return h;
}

@compute @workgroup_size(64, 1, 1)
fn dropout(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i >= p.n) {
        return;
    }
    var m = 0.0;
    if (p.mode == DROPOUT_FORWARD) {
        let h = lowbias32(i ^ lowbias32(p.step ^ lowbias32(p.seed)));
        let u = f32(h >> 8u) / 16777216.0;
        m = select(0.0, 1.0, u >= p.rate);
        mask[p.mask_off + i] = m;
    } else {
        m = mask[p.mask_off + i];
    }
    out[p.out_off + i] = x[p.x_off + i] * m / (1.0 - p.rate);
}
