//! The split planners of `wgtrain::backend::gpu::bounds`, checked over the shapes plans accept.

use wgtrain::backend::gpu::bounds::{
    LOOP_BUDGET, LOOP_LIMIT, MATMUL_K_CHUNK, MAX_ROW_COLUMNS, matmul_loop_bound, matmul_split, metrics_split,
};

/// Values per binding: WebGPU's default 128 MiB, lavapipe's 128 MiB, and 2 GiB (the most a
/// binding can hold on the adapters wgpu exposes; 4-byte elements).
const BINDINGS: [u64; 3] = [
    wgpu::Limits::downlevel_defaults().max_storage_buffer_binding_size / 4,
    (128 << 20) / 4,
    (2 << 30) / 4,
];

/// Sizes around the tile, chunk and limit boundaries, up to the largest a binding holds.
fn sizes() -> Vec<u64> {
    let mut v = vec![
        1,
        2,
        3,
        10,
        15,
        16,
        17,
        63,
        64,
        65,
        127,
        128,
        255,
        256,
        784,
        1000,
        1024,
        4095,
        4096,
        4097,
        8192,
        38_000,
        65_535,
        65_536,
        100_000,
        1 << 20,
        3 << 20,
    ];
    v.extend((21..=29).map(|p| 1u64 << p));
    v
}

pub fn matmul_splits_stay_within_the_loop_budget_for_every_accepted_shape() {
    let mut checked = 0;
    for max in BINDINGS {
        for &m in &sizes() {
            for &n in &sizes() {
                for &k in &sizes() {
                    // A plan holds op(A), op(B) and out in one binding each.
                    if m * k > max || k * n > max || m * n > max {
                        continue;
                    }
                    let s = matmul_split(m as usize, k as usize, n as usize, max).unwrap();
                    let what = format!("[{m}, {k}]·[{k}, {n}] with {max} values per binding: {s:?}");
                    for bound in s.loop_bounds() {
                        assert!(bound <= LOOP_BUDGET, "{what}: a dispatch loops {bound} times");
                    }
                    assert!(
                        u64::from(s.k_chunk) * u64::from(s.total_layers) >= k,
                        "{what}: K not covered"
                    );
                    assert!(
                        u64::from(s.layers) * u64::from(s.rounds) >= u64::from(s.total_layers),
                        "{what}"
                    );
                    if !s.direct() {
                        assert!(s.k_chunk <= MATMUL_K_CHUNK && s.k_chunk.is_multiple_of(16), "{what}");
                        assert!(
                            s.scratch_len(m as usize, n as usize) as u64 <= max,
                            "{what}: the scratch exceeds a binding"
                        );
                        assert!(s.layers <= 65_535, "{what}: too many workgroup layers");
                    }
                    checked += 1;
                }
            }
        }
    }
    println!("{checked} product shapes checked");
}

pub fn metric_splits_stay_within_the_loop_budget_for_every_accepted_shape() {
    let cols = [1u64, 2, 3, 10, 100, 1000, MAX_ROW_COLUMNS as u64];
    for max in BINDINGS {
        for &rows in &sizes() {
            for &c in &cols {
                if rows * c > max {
                    continue;
                }
                let s = metrics_split(rows as usize, c as usize).unwrap();
                let what = format!("{rows} rows of {c} columns: {s:?}");
                for bound in s.loop_bounds(c as u32) {
                    assert!(bound <= LOOP_BUDGET, "{what}: a dispatch loops {bound} times");
                }
                assert!(
                    u64::from(s.rows_per_group) * u64::from(s.groups) >= rows,
                    "{what}: rows not covered"
                );
                assert!(s.groups <= 65_535, "{what}: too many workgroups");
            }
        }
    }
}

pub fn rows_wider_than_the_row_kernels_are_refused() {
    assert!(metrics_split(10, MAX_ROW_COLUMNS).is_ok());
    let err = metrics_split(10, MAX_ROW_COLUMNS + 1).unwrap_err();
    assert!(
        matches!(err, wgtrain::Error::LimitExceeded { .. }),
        "a typed limit error, not {err:?}"
    );
}

pub fn the_unsplit_product_would_pass_the_limit_where_it_was_seen_failing() {
    // The issue saw wrong products from K ≈ 38 000 with one workgroup summing all of K (the
    // kernel of then looped in its loads too); today's tiled kernel, the variant with the most
    // iterations, would pass the limit from K ≈ 61 700 (17 per 16 of K): the declared bound
    // must say so (else it undercounts), and the chunk must be far below.
    assert!(matmul_loop_bound(62_000) > LOOP_LIMIT);
    assert!(matmul_loop_bound(MATMUL_K_CHUNK) <= LOOP_BUDGET);
}
