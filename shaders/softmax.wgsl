// softmax.wgsl: numerically stable row softmax, out[i, j] = e^(z_ij − m_i) / Σ_k e^(z_ik − m_i)
// with m_i the row maximum (so inputs of ±1000 neither overflow nor give NaN).
// Shapes: z, out: [rows, cols]. Bindings: 0 uniform Params; 1 z (read); 2 out (read_write).
// One invocation per row. Dispatch: 2-D, (min(groups, 65535), ceil(groups / 65535), 1) with
// groups = ceil(rows / 64); the row index is rebuilt from both dimensions.

struct Params {
    rows: u32,
    cols: u32,
    z_off: u32,
    out_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64, 1, 1)
fn softmax(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.y * groups.x * 64u + gid.x;
    if (row >= p.rows) {
        return;
    }
    let base_in = p.z_off + row * p.cols;
    let base_out = p.out_off + row * p.cols;
    var m = z[base_in];
    for (var j = 1u; j < p.cols; j++) {
        m = max(m, z[base_in + j]);
    }
    var sum = 0.0;
    for (var j = 0u; j < p.cols; j++) {
        let e = exp(z[base_in + j] - m);
        out[base_out + j] = e;
        sum += e;
    }
    let inv = 1.0 / sum;
    for (var j = 0u; j < p.cols; j++) {
        out[base_out + j] *= inv;
    }
}
