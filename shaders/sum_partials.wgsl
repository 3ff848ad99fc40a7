// sum_partials.wgsl: dst[j] += Σ_g src[g·stride + j] for j < width: adds the per-workgroup
// partial sums a split reduction wrote (loss.wgsl with LOSS_FLAG_PARTIAL) to
// their accumulator.
// Shapes: src: [count, stride] (stride ≥ width); dst: [width].
// Bindings: 0 uniform Params; 1 src (read); 2 dst (read_write).
// One invocation per column, looping over the count partials (the host bounds count,
// src/backend/gpu/bounds.rs). Dispatch: (ceil(width / 64), 1, 1).

struct Params {
    width: u32,
    count: u32,
    stride: u32,
    src_off: u32,
    dst_off: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> dst: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn sum_partials(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if (j >= p.width) {
        return;
    }
    var v = 0.0;
    for (var g = 0u; g < p.count; g++) {
        v += src[p.src_off + g * p.stride + j];
    }
    dst[p.dst_off + j] += v;
}
