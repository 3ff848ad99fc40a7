// activation_backward.wgsl: dz = dy ⊙ act′(z), and the bias gradient db = Σ_rows dz as a
// column reduction over the batch, in the same pass.
// Shapes: dy, z, dz: [rows, cols]; db: [cols]. Element offsets come in the uniform.
// Bindings: 0 uniform Params; 1 dy (read); 2 z (read); 3 dz (read_write); 4 db (read_write).
// flags: ACT_BWD_FLAG_DZ write dz (off for a linear activation, where dz = dy);
// ACT_BWD_FLAG_DB write db (constants of the generated prelude).
// A workgroup of 16×16 owns 16 columns; its 16 row lanes stride over the rows and their
// partial sums are reduced in workgroup memory, so no atomics are needed.
// Dispatch: (ceil(cols / 16), 1, 1).

struct Params {
    rows: u32,
    cols: u32,
    dy_off: u32,
    z_off: u32,
    dz_off: u32,
    db_off: u32,
    act: u32,
    alpha: f32,
    flags: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> db: array<f32>;

var<workgroup> partial: array<f32, 256>;

@compute @workgroup_size(16, 16, 1)
fn activation_backward(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let col = wid.x * 16u + lid.x;
    let write_dz = (p.flags & ACT_BWD_FLAG_DZ) != 0u;
    var sum = 0.0;
    if (col < p.cols) {
        for (var row = lid.y; row < p.rows; row += 16u) {
            let e = row * p.cols + col;
            var g = dy[p.dy_off + e];
            if (write_dz) {
                g *= activate_derivative(p.act, p.alpha, z[p.z_off + e]);
                dz[p.dz_off + e] = g;
            }
            sum += g;
        }
    }
    if ((p.flags & ACT_BWD_FLAG_DB) == 0u) {
        return;
    }
    let slot = lid.y * 16u + lid.x;
    partial[slot] = sum;
    workgroupBarrier();
    for (var stride = 8u; stride > 0u; stride >>= 1u) {
        if (lid.y < stride) {
            partial[slot] += partial[slot + stride * 16u];
        }
        workgroupBarrier();
    }
    if (lid.y == 0u && col < p.cols) {
        db[p.db_off + col] = partial[lid.x];
    }
}
