// matmul.wgsl: out = act(op(A)·op(B) + bias), optional z = op(A)·op(B) + bias, over one slice
// of the inner dimension per workgroup layer (split-K), so no invocation loops over all of K.
// Shapes (row-major, element offsets into each buffer come in the uniform):
//   op(A): [M, K]; its first a_rows rows come from A, stored [a_rows, K], or [K, a_rows] when
//     trans_a = 1; rows a_rows .. M are all ones (a_rows = M - 1 appends the ones row that
//     puts the column sums of op(B), a bias gradient, under the product; a_rows = 0 makes the
//     product the column sums alone)
//   op(B): [K, N]; B stored [K, N], or [N, K] when trans_b = 1
//   bias: [N]; out, z: [M, N]
//   A's stored rows (op(A)'s rows, or K when trans_a) are A's own rows, or with a_indexed = 1
//   rows indices[index_off + r] − row_base of A (a resident data chunk of a_src_rows rows,
//   read through the epoch's permutation: the first layer's x·W and xᵀ·dz need no gather);
//   a row outside A reads as zeros. One helper, a_row, holds the mapping.
// Bindings: 0 uniform Params; 1 A (read, vec4 view); 2 B (read, vec4 view); 3 bias (read);
//   4 out (read_write); 5 z (read_write; read with MATMUL_FLAG_DERIV); 6 indices (read, u32).
// MATMUL_FLAG_DERIV: the epilogue is out = v ⊙ act′(z) (z read, no bias or activation): a
//   hidden layer's dz = (dz_next·Wᵀ) ⊙ act′(z) in the dx product.
// Split-K: workgroup layer w (workgroup_id.z) sums k in [k_base + w·k_chunk, min(that +
// k_chunk, K)). With MATMUL_FLAG_PARTIAL it writes the raw sums to out[w·M·N + i·N + j] (the
// partial-sum scratch that matmul_reduce adds up and finishes); without it (a single layer
// holding all of K) it applies the epilogue itself. The host keeps k_chunk small enough that
// every invocation's loop count stays far below lavapipe's limit (src/backend/gpu/bounds.rs).
// Tiling: a workgroup of 16×16 invocations computes a 64×64 tile of out, each invocation a
// 4×4 block held in registers; K advances 16 at a time through workgroup-shared tiles. Loads
// are one vec4 per invocation per operand when the contiguous dimension and the offset are
// multiples of 4, else bounds-checked scalar loads, so every shape is correct.
// Dispatch: (ceil(N / 64), ceil(M / 64), layers).

struct Params {
    m: u32,
    n: u32,
    k: u32,
    trans_a: u32,
    trans_b: u32,
    a_off: u32,
    b_off: u32,
    bias_off: u32,
    out_off: u32,
    z_off: u32,
    flags: u32,      // MATMUL_FLAG_BIAS: add bias; MATMUL_FLAG_Z: write z; MATMUL_FLAG_PARTIAL
    act: u32,
    alpha: f32,
    a_rows: u32,
    k_chunk: u32,
    k_base: u32,
    a_indexed: u32,  // 1: A's stored rows go through indices (a_row)
    index_off: u32,  // element offset of the first index used
    row_base: u32,   // the whole set's row number of A's first row
    a_src_rows: u32, // rows of A as stored (a row at or past it reads as zeros)
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@group(0) @binding(5) var<storage, read_write> z: array<f32>;
@group(0) @binding(6) var<storage, read> indices: array<u32>;

const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;

// tile_a[kk * TILE_M + i] = op(A)[row0 + i, k0 + kk]; tile_b[kk * TILE_N + j] = op(B)[k0 + kk, col0 + j]
var<workgroup> tile_a: array<f32, 1024>;
var<workgroup> tile_b: array<f32, 1024>;

// The row of A holding stored row r: r itself, or through the index. An index below row_base
// wraps past a_src_rows, so one comparison at the load site rejects both ends.
fn a_row(r: u32) -> u32 {
    if (p.a_indexed == 0u) {
        return r;
    }
    return indices[p.index_off + r] - p.row_base;
}

fn load_a(e: u32) -> f32 {
    return a[e >> 2u][e & 3u];
}

fn load_b(e: u32) -> f32 {
    return b[e >> 2u][e & 3u];
}

// Four consecutive elements of A starting at e; `count` of them are in bounds.
fn load_a4(e: u32, count: u32, aligned: bool) -> vec4<f32> {
    if (aligned && count >= 4u) {
        return a[e >> 2u];
    }
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < min(count, 4u); q++) {
        v[q] = load_a(e + q);
    }
    return v;
}

fn load_b4(e: u32, count: u32, aligned: bool) -> vec4<f32> {
    if (aligned && count >= 4u) {
        return b[e >> 2u];
    }
    var v = vec4<f32>(0.0);
    for (var q = 0u; q < min(count, 4u); q++) {
        v[q] = load_b(e + q);
    }
    return v;
}

// vec4 of ones for the first `count` lanes (the ones rows of op(A)).
fn ones4(count: u32) -> vec4<f32> {
    return select(vec4<f32>(0.0), vec4<f32>(1.0), vec4<u32>(0u, 1u, 2u, 3u) < vec4<u32>(count));
}

@compute @workgroup_size(16, 16, 1)
fn matmul(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row0 = wid.y * TILE_M;
    let col0 = wid.x * TILE_N;
    let t = lid.y * 16u + lid.x;
    let k_begin = p.k_base + wid.z * p.k_chunk;
    let k_end = min(k_begin + p.k_chunk, p.k);
    // vec4 loads need the offset and the stride of the contiguous dimension to be multiples of 4.
    let a_aligned = select((p.a_off | p.k) & 3u, (p.a_off | p.a_rows) & 3u, p.trans_a == 1u) == 0u;
    let b_aligned = select((p.b_off | p.n) & 3u, (p.b_off | p.k) & 3u, p.trans_b == 1u) == 0u;

    var acc: array<vec4<f32>, 4>;
    for (var r = 0u; r < 4u; r++) {
        acc[r] = vec4<f32>(0.0);
    }

    for (var k0 = k_begin; k0 < k_end; k0 += TILE_K) {
        // A tile: 64 rows × 16 k, one vec4 per invocation along A's contiguous dimension.
        if (p.trans_a == 0u) {
            let i = t / 4u;
            let kk = (t % 4u) * 4u;
            let gi = row0 + i;
            let gk = k0 + kk;
            var v = vec4<f32>(0.0);
            if (gi < p.a_rows && gk < k_end) {
                let ar = a_row(gi);
                if (ar < p.a_src_rows) {
                    v = load_a4(p.a_off + ar * p.k + gk, k_end - gk, a_aligned);
                }
            } else if (gi < p.m && gk < k_end) {
                v = ones4(k_end - gk);
            }
            for (var q = 0u; q < 4u; q++) {
                tile_a[(kk + q) * TILE_M + i] = v[q];
            }
        } else {
            let kk = t / 16u;
            let i = (t % 16u) * 4u;
            let gk = k0 + kk;
            let gi = row0 + i;
            var v = vec4<f32>(0.0);
            if (gk < k_end && gi < p.m) {
                let ar = a_row(gk);
                if (gi < p.a_rows && ar < p.a_src_rows) {
                    v = load_a4(p.a_off + ar * p.a_rows + gi, p.a_rows - gi, a_aligned);
                }
                // Lanes past the stored rows (and before M) are the ones rows.
                let stored = select(0u, p.a_rows - gi, gi < p.a_rows);
                let lane = vec4<u32>(0u, 1u, 2u, 3u);
                let ones = (lane >= vec4<u32>(stored)) & (lane < vec4<u32>(p.m - gi));
                v = select(v, vec4<f32>(1.0), ones);
            }
            for (var q = 0u; q < 4u; q++) {
                tile_a[kk * TILE_M + i + q] = v[q];
            }
        }
        // B tile: 16 k × 64 columns.
        if (p.trans_b == 0u) {
            let kk = t / 16u;
            let j = (t % 16u) * 4u;
            let gk = k0 + kk;
            let gj = col0 + j;
            var v = vec4<f32>(0.0);
            if (gk < k_end && gj < p.n) {
                v = load_b4(p.b_off + gk * p.n + gj, p.n - gj, b_aligned);
            }
            for (var q = 0u; q < 4u; q++) {
                tile_b[kk * TILE_N + j + q] = v[q];
            }
        } else {
            let j = t / 4u;
            let kk = (t % 4u) * 4u;
            let gj = col0 + j;
            let gk = k0 + kk;
            var v = vec4<f32>(0.0);
            if (gj < p.n && gk < k_end) {
                v = load_b4(p.b_off + gj * p.k + gk, k_end - gk, b_aligned);
            }
            for (var q = 0u; q < 4u; q++) {
                tile_b[(kk + q) * TILE_N + j] = v[q];
            }
        }
        workgroupBarrier();

        for (var kk = 0u; kk < TILE_K; kk++) {
            let ab = kk * TILE_M + lid.y * 4u;
            let bb = kk * TILE_N + lid.x * 4u;
            let av = vec4<f32>(tile_a[ab], tile_a[ab + 1u], tile_a[ab + 2u], tile_a[ab + 3u]);
            let bv = vec4<f32>(tile_b[bb], tile_b[bb + 1u], tile_b[bb + 2u], tile_b[bb + 3u]);
            acc[0] += av.x * bv;
            acc[1] += av.y * bv;
            acc[2] += av.z * bv;
            acc[3] += av.w * bv;
        }
        workgroupBarrier();
    }

    // Epilogue: raw partial sums, or bias, keep z, activation (or the derivative).
    let partial = (p.flags & MATMUL_FLAG_PARTIAL) != 0u;
    let has_bias = (p.flags & MATMUL_FLAG_BIAS) != 0u;
    let write_z = (p.flags & MATMUL_FLAG_Z) != 0u;
    let deriv = (p.flags & MATMUL_FLAG_DERIV) != 0u;
    let layer_off = p.out_off + wid.z * p.m * p.n;
    for (var r = 0u; r < 4u; r++) {
        let gi = row0 + lid.y * 4u + r;
        if (gi >= p.m) {
            break;
        }
        for (var c = 0u; c < 4u; c++) {
            let gj = col0 + lid.x * 4u + c;
            if (gj < p.n) {
                var v = acc[r][c];
                let e = gi * p.n + gj;
                if (partial) {
                    out[layer_off + e] = v;
                    continue;
                }
                if (has_bias) {
                    v += bias[p.bias_off + gj];
                }
                if (write_z) {
                    z[p.z_off + e] = v;
                }
                if (deriv) {
                    out[p.out_off + e] = v * activate_derivative(p.act, p.alpha, z[p.z_off + e]);
                } else {
                    out[p.out_off + e] = activate(p.act, p.alpha, v);
                }
            }
        }
    }
}
