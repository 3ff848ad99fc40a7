// softmax_backward.wgsl: gradient through a row softmax, dz = y ⊙ (dy − Σ_j dy_j·y_j), for a
// softmax output trained with a loss other than cross-entropy (cross-entropy is fused with
// softmax in loss.wgsl instead).
// Shapes: y, dy, dz: [rows, cols]. Bindings: 0 uniform Params; 1 y (read); 2 dy (read);
//   3 dz (read_write). One invocation per row; dispatch 2-D over ceil(rows / 64) groups.

struct Params {
    rows: u32,
    cols: u32,
    y_off: u32,
    dy_off: u32,
    dz_off: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> y: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn softmax_backward(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.y * groups.x * 64u + gid.x;
    if (row >= p.rows) {
        return;
    }
    let base = row * p.cols;
    var dot = 0.0;
    for (var j = 0u; j < p.cols; j++) {
        dot += dy[p.dy_off + base + j] * y[p.y_off + base + j];
    }
    for (var j = 0u; j < p.cols; j++) {
        dz[p.dz_off + base + j] = y[p.y_off + base + j] * (dy[p.dy_off + base + j] - dot);
    }
}
