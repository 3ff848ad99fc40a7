// activation_backward.wgsl: dz = dy ⊙ act′(z), element-wise. (The bias gradient Σ_rows dz is a
// product with a ones row, computed by matmul.wgsl beside the weight gradient or alone, so it
// is split over the rows like any other reduction.)
// Shapes: dy, z, dz: [len] (any [rows, cols] view). Element offsets come in the uniform.
// Bindings: 0 uniform Params; 1 dy (read); 2 z (read); 3 dz (read_write).
// One invocation per element, no loop. Dispatch: 2-D over ceil(len / 64) groups (see
// softmax.wgsl).

struct Params {
    len: u32,
    dy_off: u32,
    z_off: u32,
    dz_off: u32,
    act: u32,
    alpha: f32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn activation_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.y * groups.x * 64u + gid.x;
    if (e >= p.len) {
        return;
    }
    dz[p.dz_off + e] = dy[p.dy_off + e] * activate_derivative(p.act, p.alpha, z[p.z_off + e]);
}
