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

    var c0 = vec4<f32>(0.0);
    var c1 = vec4<f32>(0.0);
    var c2 = vec4<f32>(0.0);
    var c3 = vec4<f32>(0.0);
    for (var k = ks.x + t * 4u; k < k_end; k += LANES * 4u) {
        var a0: vec4<f32>; var a1: vec4<f32>; var a2: vec4<f32>; var a3: vec4<f32>;
        if (!TRANS_A) {
            a0 = a_along_k(i, k, k_end);
            a1 = a_along_k(i + 1u, k, k_end);
            a2 = a_along_k(i + 2u, k, k_end);
            a3 = a_along_k(i + 3u, k, k_end);
        } else {
            let m0 = a_along_m(i, k, k_end);
            let m1 = a_along_m(i, k + 1u, k_end);
            let m2 = a_along_m(i, k + 2u, k_end);
            let m3 = a_along_m(i, k + 3u, k_end);
            a0 = vec4<f32>(m0.x, m1.x, m2.x, m3.x);
            a1 = vec4<f32>(m0.y, m1.y, m2.y, m3.y);
            a2 = vec4<f32>(m0.z, m1.z, m2.z, m3.z);
            a3 = vec4<f32>(m0.w, m1.w, m2.w, m3.w);
        }
        var b0: vec4<f32>; var b1: vec4<f32>; var b2: vec4<f32>; var b3: vec4<f32>;
        if (!TRANS_B) {
            b0 = b_along_n(k, j, k_end);
            b1 = b_along_n(k + 1u, j, k_end);
            b2 = b_along_n(k + 2u, j, k_end);
            b3 = b_along_n(k + 3u, j, k_end);
        } else {
            let n0 = b_along_k(k, j, k_end);
            let n1 = b_along_k(k, j + 1u, k_end);
            let n2 = b_along_k(k, j + 2u, k_end);
            let n3 = b_along_k(k, j + 3u, k_end);
            b0 = vec4<f32>(n0.x, n1.x, n2.x, n3.x);
            b1 = vec4<f32>(n0.y, n1.y, n2.y, n3.y);
            b2 = vec4<f32>(n0.z, n1.z, n2.z, n3.z);
            b3 = vec4<f32>(n0.w, n1.w, n2.w, n3.w);
        }
        c0 += quad_fma(a0, b0, b1, b2, b3);
        c1 += quad_fma(a1, b0, b1, b2, b3);
        c2 += quad_fma(a2, b0, b1, b2, b3);
        c3 += quad_fma(a3, b0, b1, b2, b3);
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
