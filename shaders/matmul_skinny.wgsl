// matmul_skinny.wgsl: the skinny variant of the matrix product, for products with few outputs
// and a long K — the weight gradient of a narrow layer, whose K is the batch (see
// matmul_common.wgsl for what every variant computes). A workgroup of 64 invocations computes
// a 4×4 block of out and splits the layer's K between its invocations: invocation t sums the
// k quads t, t + 64, t + 128, … of the slice into a 4×4 register block, then the workgroup
// adds the 64 blocks in shared memory in six halving steps. The tiled and blocked kernels
// would run such a product on a handful of workgroups with most invocations idle; here all of
// them work on K.
// Dispatch: (ceil(N / 4), ceil(M / 4), layers).

const LANES: u32 = 64u;

// partial[t * 4 + r] = invocation t's sums for row r of the block.
var<workgroup> partial: array<vec4<f32>, 256>;

@compute @workgroup_size(64, 1, 1)
fn matmul_skinny(@builtin(local_invocation_index) t: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let i = wid.y * 4u;
    let j = wid.x * 4u;
    let ks = k_range(wid.z);
    let k_end = ks.y;
    // Where the block's rows live (with A_INDEXED an index read each), once for all k.
    let rows = a_rows4_of(i, ks.x, k_end);

    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k = ks.x + t * 4u; k < k_end; k += LANES * 4u) {
        let aq = a_quads4(rows, a_cols4_of(k, k_end), i, k, k_end);
        let bq = b_quads4(k, j, k_end);
        c0 += quad_fma(aq.a0, bq.b0, bq.b1, bq.b2, bq.b3);
        c1 += quad_fma(aq.a1, bq.b0, bq.b1, bq.b2, bq.b3);
        c2 += quad_fma(aq.a2, bq.b0, bq.b1, bq.b2, bq.b3);
        c3 += quad_fma(aq.a3, bq.b0, bq.b1, bq.b2, bq.b3);
    }

    partial[t * 4u] = c0;
    partial[t * 4u + 1u] = c1;
    partial[t * 4u + 2u] = c2;
    partial[t * 4u + 3u] = c3;
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride /= 2u) {
        if (t < stride) {
            let o = (t + stride) * 4u;
            partial[t * 4u] += partial[o];
            partial[t * 4u + 1u] += partial[o + 1u];
            partial[t * 4u + 2u] += partial[o + 2u];
            partial[t * 4u + 3u] += partial[o + 3u];
        }
        workgroupBarrier();
    }
    if (t < 4u) {
        finish4(wid.z, i + t, j, partial[t]);
    }
}
