// gather_rows.wgsl: out[i, :] = src[indices[first + i], :], the shuffled mini-batch of a data
// set resident on the device; an index past the end of src gives a zero row.
// Shapes: src: [src_rows, cols]; indices: u32 [≥ first + rows]; out: [rows, cols].
// Bindings: 0 uniform Params; 1 src (read); 2 indices (read, u32); 3 out (read_write).
// One invocation per output element. Dispatch: 2-D over ceil(rows · cols / 64) groups.

struct Params {
    rows: u32,
    cols: u32,
    src_rows: u32,
    first: u32,
    src_off: u32,
    idx_off: u32,
    out_off: u32,
    _pad0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> indices: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn gather_rows(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let e = gid.y * groups.x * 64u + gid.x;
    if (e >= p.rows * p.cols) {
        return;
    }
    let i = e / p.cols;
    let j = e % p.cols;
    let r = indices[p.idx_off + p.first + i];
    var v = 0.0;
    if (r < p.src_rows) {
        v = src[p.src_off + r * p.cols + j];
    }
    out[p.out_off + e] = v;
}
