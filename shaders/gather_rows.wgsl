// gather_rows.wgsl: out[i, :] = src[indices[first + i] − row_base, :], the shuffled mini-batch
// of a data set resident on the device. src holds rows row_base .. row_base + src_rows of the
// set (a set larger than one binding is split into chunks, one dispatch each); rows whose
// index falls outside the chunk are zeroed when zero_outside = 1, else left untouched.
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
    row_base: u32,
    zero_outside: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
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
    // Wrapping subtraction: indices below the chunk become huge and fall outside too.
    let r = indices[p.idx_off + p.first + i] - p.row_base;
    if (r < p.src_rows) {
        out[p.out_off + e] = src[p.src_off + r * p.cols + j];
    } else if (p.zero_outside == 1u) {
        out[p.out_off + e] = 0.0;
    }
}
