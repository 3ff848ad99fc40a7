// matmul_subgroup.wgsl: the subgroup variant of the matrix product, built only where the
// adapter has SUBGROUP with subgroups of at least 8 invocations (see matmul_common.wgsl for
// what every variant computes). A workgroup of 64 invocations computes a 64×64 tile of out as
// 8 groups of 8 neighbouring invocations; a group owns 8 rows and each of its invocations 8
// columns of them. Per k quad each invocation loads ONE quad of A (its own row) and the 8
// quads of B for its columns, and takes the group's other 7 rows from its neighbours through
// subgroup shuffles instead of loading them: an eighth of the A traffic of the blocked kernel,
// with no shared memory and no barrier. It needs a group's invocations to be consecutive
// lanes of one subgroup (lane = local index mod 8), as adapters lay them out; the autotune
// checks every variant's result before it may be chosen.
// Dispatch: (ceil(N / 64), ceil(M / 64), layers).

@compute @workgroup_size(64, 1, 1)
fn matmul_subgroup(
    @builtin(local_invocation_index) t: u32,
    @builtin(subgroup_invocation_id) lane_id: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let lane = t % 8u;
    let rows = wid.y * 64u + (t / 8u) * 8u;
    let i = rows + lane;
    let j = wid.x * 64u + lane * 8u;
    // The subgroup lane holding row `rows + r` is group_lane + r.
    let group_lane = lane_id & ~7u;
    let ks = k_range(wid.z);
    let k_end = ks.y;

    // c<r><c>: rows rows + r, columns j + 4c .. j + 4c + 4.
    var c00 = vec4<f32>(0.0); var c01 = vec4<f32>(0.0);
    var c10 = vec4<f32>(0.0); var c11 = vec4<f32>(0.0);
    var c20 = vec4<f32>(0.0); var c21 = vec4<f32>(0.0);
    var c30 = vec4<f32>(0.0); var c31 = vec4<f32>(0.0);
    var c40 = vec4<f32>(0.0); var c41 = vec4<f32>(0.0);
    var c50 = vec4<f32>(0.0); var c51 = vec4<f32>(0.0);
    var c60 = vec4<f32>(0.0); var c61 = vec4<f32>(0.0);
    var c70 = vec4<f32>(0.0); var c71 = vec4<f32>(0.0);

    for (var k = ks.x; k < k_end; k += 4u) {
        // This invocation's row: op(A)[i, k .. k + 4].
        let mine = a_along_k(i, k, k_end);
        let bq = b_quads8(k, j, k_end);
        let a0 = subgroupShuffle(mine, group_lane);
        c00 += quad_fma(a0, bq.b00, bq.b10, bq.b20, bq.b30); c01 += quad_fma(a0, bq.b01, bq.b11, bq.b21, bq.b31);
        let a1 = subgroupShuffle(mine, group_lane + 1u);
        c10 += quad_fma(a1, bq.b00, bq.b10, bq.b20, bq.b30); c11 += quad_fma(a1, bq.b01, bq.b11, bq.b21, bq.b31);
        let a2 = subgroupShuffle(mine, group_lane + 2u);
        c20 += quad_fma(a2, bq.b00, bq.b10, bq.b20, bq.b30); c21 += quad_fma(a2, bq.b01, bq.b11, bq.b21, bq.b31);
        let a3 = subgroupShuffle(mine, group_lane + 3u);
        c30 += quad_fma(a3, bq.b00, bq.b10, bq.b20, bq.b30); c31 += quad_fma(a3, bq.b01, bq.b11, bq.b21, bq.b31);
        let a4 = subgroupShuffle(mine, group_lane + 4u);
        c40 += quad_fma(a4, bq.b00, bq.b10, bq.b20, bq.b30); c41 += quad_fma(a4, bq.b01, bq.b11, bq.b21, bq.b31);
        let a5 = subgroupShuffle(mine, group_lane + 5u);
        c50 += quad_fma(a5, bq.b00, bq.b10, bq.b20, bq.b30); c51 += quad_fma(a5, bq.b01, bq.b11, bq.b21, bq.b31);
        let a6 = subgroupShuffle(mine, group_lane + 6u);
        c60 += quad_fma(a6, bq.b00, bq.b10, bq.b20, bq.b30); c61 += quad_fma(a6, bq.b01, bq.b11, bq.b21, bq.b31);
        let a7 = subgroupShuffle(mine, group_lane + 7u);
        c70 += quad_fma(a7, bq.b00, bq.b10, bq.b20, bq.b30); c71 += quad_fma(a7, bq.b01, bq.b11, bq.b21, bq.b31);
    }

    // The epilogue loops over the block: one copy of its code instead of 64, which keeps
    // the compile short on drivers that inline every call.
    var block = array<vec4<f32>, 16>(c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71);
    for (var e = 0u; e < 16u; e++) {
        finish4(wid.z, rows + e / 2u, j + (e % 2u) * 4u, block[e]);
    }
}
