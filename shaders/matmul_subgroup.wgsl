// matmul_subgroup.wgsl: the subgroup variant of the matrix product, built only where the
// adapter has SUBGROUP with subgroups of at least 8 invocations (see matmul_common.wgsl for
// what every variant computes). B is shared through subgroup rotations, so no operand element
// is loaded twice within a group and there is no shared memory or barrier.
//
// A workgroup of 64 invocations is 8 groups of 8 neighbouring invocations, 2 (rows) × 4
// (columns); a group computes a 64 × 32 block of out. Per k quad, lane l of a group loads
// the A quads of its own 8 rows (block rows 4l .. 4l+4 and 32 + 4l .. 32 + 4l + 4) and the B
// quads (k .. k+4) of block columns 4l .. 4l+4. At rotation s it takes lane (l + s) mod 8's B
// quads through subgroupShuffle, so over the 8 rotations it multiplies its rows by all 32
// columns: per k quad 8 + 4 vec4 loads and 28 shuffles feed 1024 multiply-adds, where a
// register block of the same size without sharing loads 40. It needs a group's invocations to
// be consecutive lanes of one subgroup (lane = local index mod 8), as adapters lay them out;
// the autotune checks every variant's result before it may be chosen.
// Dispatch: (ceil(N / 128), ceil(M / 128), layers).

// The 8 rotations of a group's B quads: r<s> holds lane (l + s) mod 8's.
struct Rotations {
    r0: BQuads4, r1: BQuads4, r2: BQuads4, r3: BQuads4,
    r4: BQuads4, r5: BQuads4, r6: BQuads4, r7: BQuads4,
}

fn shuffled(q: BQuads4, src_lane: u32) -> BQuads4 {
    return BQuads4(subgroupShuffle(q.b0, src_lane), subgroupShuffle(q.b1, src_lane), subgroupShuffle(q.b2, src_lane), subgroupShuffle(q.b3, src_lane));
}

// `group_base` is the subgroup lane of the group's first invocation.
fn rotations(mine: BQuads4, lane: u32, group_base: u32) -> Rotations {
    return Rotations(
        mine,
        shuffled(mine, group_base | ((lane + 1u) & 7u)),
        shuffled(mine, group_base | ((lane + 2u) & 7u)),
        shuffled(mine, group_base | ((lane + 3u) & 7u)),
        shuffled(mine, group_base | ((lane + 4u) & 7u)),
        shuffled(mine, group_base | ((lane + 5u) & 7u)),
        shuffled(mine, group_base | ((lane + 6u) & 7u)),
        shuffled(mine, group_base | ((lane + 7u) & 7u)),
    );
}

// One row's outputs: s<s> are its 4 columns from rotation s.
struct RowSums {
    s0: vec4<f32>, s1: vec4<f32>, s2: vec4<f32>, s3: vec4<f32>,
    s4: vec4<f32>, s5: vec4<f32>, s6: vec4<f32>, s7: vec4<f32>,
}

// acc plus one k quad of the row (av = op(A)[row, k .. k + 4]) times every rotation.
fn row_step(acc: RowSums, av: vec4<f32>, r: Rotations) -> RowSums {
    return RowSums(
        acc.s0 + quad_fma(av, r.r0.b0, r.r0.b1, r.r0.b2, r.r0.b3),
        acc.s1 + quad_fma(av, r.r1.b0, r.r1.b1, r.r1.b2, r.r1.b3),
        acc.s2 + quad_fma(av, r.r2.b0, r.r2.b1, r.r2.b2, r.r2.b3),
        acc.s3 + quad_fma(av, r.r3.b0, r.r3.b1, r.r3.b2, r.r3.b3),
        acc.s4 + quad_fma(av, r.r4.b0, r.r4.b1, r.r4.b2, r.r4.b3),
        acc.s5 + quad_fma(av, r.r5.b0, r.r5.b1, r.r5.b2, r.r5.b3),
        acc.s6 + quad_fma(av, r.r6.b0, r.r6.b1, r.r6.b2, r.r6.b3),
        acc.s7 + quad_fma(av, r.r7.b0, r.r7.b1, r.r7.b2, r.r7.b3),
    );
}

@compute @workgroup_size(64, 1, 1)
fn matmul_subgroup(
    @builtin(local_invocation_index) t: u32,
    @builtin(subgroup_invocation_id) lane_id: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
) {
    let lane = t % 8u;
    let group = t / 8u;
    // This lane's rows: lo .. lo + 4 and hi .. hi + 4; the group's columns: cols .. cols + 32.
    let lo = wid.y * 128u + (group / 4u) * 64u + 4u * lane;
    let hi = lo + 32u;
    let cols = wid.x * 128u + (group % 4u) * 32u;
    let group_base = lane_id & ~7u;
    let ks = k_range(wid.z);
    let k_end = ks.y;
    // Where the rows live (with A_INDEXED an index read each), once instead of per k quad.
    let lo_rows = a_rows4_of(lo, ks.x, k_end);
    let hi_rows = a_rows4_of(hi, ks.x, k_end);

    var acc0: RowSums; var acc1: RowSums; var acc2: RowSums; var acc3: RowSums;
    var acc4: RowSums; var acc5: RowSums; var acc6: RowSums; var acc7: RowSums;
    for (var k = ks.x; k < k_end; k += 4u) {
        let rot = rotations(b_quads4(k, cols + 4u * lane, k_end), lane, group_base);
        let at_k = a_cols4_of(k, k_end);
        let al = a_quads4(lo_rows, at_k, lo, k, k_end);
        let ah = a_quads4(hi_rows, at_k, hi, k, k_end);
        acc0 = row_step(acc0, al.a0, rot);
        acc1 = row_step(acc1, al.a1, rot);
        acc2 = row_step(acc2, al.a2, rot);
        acc3 = row_step(acc3, al.a3, rot);
        acc4 = row_step(acc4, ah.a0, rot);
        acc5 = row_step(acc5, ah.a1, rot);
        acc6 = row_step(acc6, ah.a2, rot);
        acc7 = row_step(acc7, ah.a3, rot);
    }

    // The epilogue loops over the block: one copy of its code instead of 64, which keeps the
    // compile short on drivers that inline every call.
    var block = array<RowSums, 8>(acc0, acc1, acc2, acc3, acc4, acc5, acc6, acc7);
    for (var r = 0u; r < 8u; r++) {
        let row = select(lo, hi - 4u, r >= 4u) + r;
        let sums = block[r];
        let by_rotation = array<vec4<f32>, 8>(sums.s0, sums.s1, sums.s2, sums.s3, sums.s4, sums.s5, sums.s6, sums.s7);
        for (var s = 0u; s < 8u; s++) {
            finish4(wid.z, row, cols + 4u * ((lane + s) & 7u), by_rotation[s]);
        }
    }
}
