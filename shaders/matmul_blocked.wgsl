// matmul_blocked.wgsl: the register-blocked variant of the matrix product, without shared
// memory or barriers (see matmul_common.wgsl for what every variant computes). A workgroup of
// 8×8 invocations computes a 64×64 tile of out, each invocation an 8×8 block held in 16 vec4
// registers; per k quad it loads 8 quads of A and 8 of B and does 64 vec4 multiply-adds.
// Neighbouring invocations read the same A rows or B columns, which caches (or, on lavapipe,
// uniform loads) serve; on adapters where workgroup memory is slow or its barriers costly
// this beats the tiled kernel. The block is written out, not looped over, so that the
// accumulators stay in registers.
// Dispatch: (ceil(N / 64), ceil(M / 64), layers).

@compute @workgroup_size(8, 8, 1)
fn matmul_blocked(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let i = wid.y * 64u + lid.y * 8u;
    let j = wid.x * 64u + lid.x * 8u;
    let ks = k_range(wid.z);
    let k_end = ks.y;
    // Where the rows live (with A_INDEXED an index read each), once instead of per k quad.
    let lo_rows = a_rows4_of(i, ks.x, k_end);
    let hi_rows = a_rows4_of(i + 4u, ks.x, k_end);

    // c<r><c>: rows i + r, columns j + 4c .. j + 4c + 4.
    var c00 = vec4<f32>(0.0); var c01 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0); var c11 = vec4<f32>(0.0);
    var c20 = vec4<f32>(0.0); var c21 = vec4<f32>(0.0);
    var c30 = vec4<f32>(0.0); var c31 = vec4<f32>(0.0);
    var c40 = vec4<f32>(0.0); var c41 = vec4<f32>(0.0);
    var c50 = vec4<f32>(0.0); var c51 = vec4<f32>(0.0);
    var c60 = vec4<f32>(0.0); var c61 = vec4<f32>(0.0);
    var c70 = vec4<f32>(0.0); var c71 = vec4<f32>(0.0);

    for (var k = ks.x; k < k_end; k += 4u) {
        // al.a<r> = op(A)[i + r, k .. k + 4], ah.a<r> = op(A)[i + 4 + r, k .. k + 4].
        let at_k = a_cols4_of(k, k_end);
        let al = a_quads4(lo_rows, at_k, i, k, k_end);
        let ah = a_quads4(hi_rows, at_k, i + 4u, k, k_end);
        let a0 = al.a0; let a1 = al.a1; let a2 = al.a2; let a3 = al.a3;
        let a4 = ah.a0; let a5 = ah.a1; let a6 = ah.a2; let a7 = ah.a3;
        let bq = b_quads8(k, j, k_end);
        c00 += quad_fma(a0, bq.b00, bq.b10, bq.b20, bq.b30); c01 += quad_fma(a0, bq.b01, bq.b11, bq.b21, bq.b31);
        c10 += quad_fma(a1, bq.b00, bq.b10, bq.b20, bq.b30); c11 += quad_fma(a1, bq.b01, bq.b11, bq.b21, bq.b31);
        c20 += quad_fma(a2, bq.b00, bq.b10, bq.b20, bq.b30); c21 += quad_fma(a2, bq.b01, bq.b11, bq.b21, bq.b31);
        c30 += quad_fma(a3, bq.b00, bq.b10, bq.b20, bq.b30); c31 += quad_fma(a3, bq.b01, bq.b11, bq.b21, bq.b31);
        c40 += quad_fma(a4, bq.b00, bq.b10, bq.b20, bq.b30); c41 += quad_fma(a4, bq.b01, bq.b11, bq.b21, bq.b31);
        c50 += quad_fma(a5, bq.b00, bq.b10, bq.b20, bq.b30); c51 += quad_fma(a5, bq.b01, bq.b11, bq.b21, bq.b31);
        c60 += quad_fma(a6, bq.b00, bq.b10, bq.b20, bq.b30); c61 += quad_fma(a6, bq.b01, bq.b11, bq.b21, bq.b31);
        c70 += quad_fma(a7, bq.b00, bq.b10, bq.b20, bq.b30); c71 += quad_fma(a7, bq.b01, bq.b11, bq.b21, bq.b31);
    }

    // The epilogue loops over the block: one copy of its code instead of 64, which keeps
    // the compile short on drivers that inline every call.
    var block = array<vec4<f32>, 16>(c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71);
    for (var e = 0u; e < 16u; e++) {
        finish4(wid.z, i + e / 2u, j + (e % 2u) * 4u, block[e]);
    }
}
