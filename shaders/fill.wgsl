// fill.wgsl: out[i] = value for i < n (resets accumulators and optimizer state).
// Shapes: out: [n]. Bindings: 0 uniform Params; 1 out (read_write).
// Dispatch: 2-D over ceil(n / 64) groups (see softmax.wgsl).

struct Params {
    n: u32,
    out_off: u32,
    value: f32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn fill(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let i = gid.y * groups.x * 64u + gid.x;
    if (i < p.n) {
        out[p.out_off + i] = p.value;
    }
}
