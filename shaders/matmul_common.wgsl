// matmul_common.wgsl: what every matrix-product variant shares (matmul.wgsl, the shared-memory
// tiled kernel; matmul_blocked.wgsl, register blocks without shared memory; matmul_skinny.wgsl,
// K split across a workgroup's invocations; matmul_subgroup.wgsl, B shared through subgroup
// rotations): the uniform, the bindings, the operand loads and the epilogue. A variant only
// decides who computes which outputs over which k; every one computes
//   out = act(op(A)·op(B) + bias), optional z = op(A)·op(B) + bias,
// over one slice of the inner dimension per workgroup layer (split-K), so no invocation loops
// over all of K.
// Shapes (row-major, element offsets into each buffer come in the uniform):
//   op(A): [M, K]; its first a_rows rows come from A, stored [a_rows, K], or [K, a_rows] when
//     trans_a = 1; rows a_rows .. M are all ones (a_rows = M - 1 appends the ones row that
//     puts the column sums of op(B), a bias gradient, under the product; a_rows = 0 makes the
//     product the column sums alone)
//   op(B): [K, N]; B stored [K, N], or [N, K] when trans_b = 1
//   bias: [N]; out, z: [M, N]
//   A's stored rows (op(A)'s rows, or K when trans_a) are A's own rows, or with A_INDEXED
//   rows indices[index_off + r] − row_base of A (a resident data chunk of a_src_rows rows,
//   read through the epoch's permutation: the first layer's x·W and xᵀ·dz need no gather);
//   a row outside A reads as zeros. One helper, a_row, holds the mapping.
// Bindings: 0 uniform Params; 1 A (read, vec4 view); 2 B (read, vec4 view); 3 bias (read);
//   4 out (read_write, vec4 view); 5 z (read_write, vec4 view; read with MATMUL_FLAG_DERIV);
//   6 indices (read, u32). A scalar of out or z is written as its vec4's component, a single
//   scalar store.
// MATMUL_FLAG_DERIV: the epilogue is out = v ⊙ act′(z) (z read, no bias or activation): a
//   hidden layer's dz = (dz_next·Wᵀ) ⊙ act′(z) in the dx product.
// Split-K: workgroup layer w (workgroup_id.z) sums k in [k_base + w·k_chunk, min(that +
// k_chunk, K)). With MATMUL_FLAG_PARTIAL it writes the raw sums to out[w·M·N + i·N + j] (the
// partial-sum scratch that matmul_reduce adds up and finishes); without it (a single layer
// holding all of K) it applies the epilogue itself. The host keeps k_chunk small enough that
// every invocation's loop count stays far below lavapipe's limit (src/backend/gpu/bounds.rs).
// Specialization: the transpose form and whether each operand allows vec4 loads are
// pipeline-overridable constants, so each pipeline holds only the load path its products take
// (a branch on a uniform costs both sides on adapters that run branches under a mask). The
// host builds one pipeline per combination on first use (`product.rs`) and sets them from the
// same facts as the uniform's trans flags. A_VEC4: A's offset and the stride of its
// contiguous dimension (K, or a_rows when transposed) are multiples of 4; B_VEC4 likewise (N,
// or K when transposed). Where it is false, four branch-free scalar loads take its place, so
// every shape is correct. No load helper loops, so a variant's loop count is its own k loop.

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
    a_indexed: u32,  // 1: A's stored rows go through indices (the kernel reads A_INDEXED)
    index_off: u32,  // element offset of the first index used
    row_base: u32,   // the whole set's row number of A's first row
    a_src_rows: u32, // rows of A as stored (a row at or past it reads as zeros)
}

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override A_VEC4: bool = false;
override B_VEC4: bool = false;
override A_INDEXED: bool = false;
// The epilogue's form (MATMUL_FLAG_* bits of p.flags) and activation code (p.act), as
// pipeline constants too: an adapter that runs every branch under a mask would otherwise
// evaluate every activation and every flag's work for every output (on lavapipe that cost
// more than a 1024-deep product's loads). The uniform carries the same values.
override EPILOGUE: u32 = 0u;
override ACT: u32 = 0u;
// N, out's offset and (where the epilogue touches it) z's are multiples of 4: finish4 stores
// a whole vec4 of out (and z) instead of four scalars.
override OUT_VEC4: bool = false;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> z: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read> indices: array<u32>;

// The k range of workgroup layer `layer`.
fn k_range(layer: u32) -> vec2<u32> {
    let k_begin = p.k_base + layer * p.k_chunk;
    return vec2<u32>(k_begin, min(k_begin + p.k_chunk, p.k));
}

// The row of A holding stored row r (used only where `valid`): r itself, or through the
// index. An index below row_base wraps past a_src_rows, so one comparison rejects both ends.
fn a_row(r: u32, valid: bool) -> u32 {
    if (A_INDEXED) {
        return indices[select(0u, p.index_off + r, valid)] - p.row_base;
    }
    return r;
}

// op(A)[i, k]: A's stored rows, then the ones rows; zero past M or past the layer's k_end.
// Branch-free: an element out of range reads element 0 (every buffer holds at least one
// vec4, `GpuBackend::alloc`), then is replaced, so no read leaves its buffer and adapters that
// run both sides of a branch (lavapipe runs every branch under a mask) pay nothing extra.
fn op_a(i: u32, k: u32, k_end: u32) -> f32 {
    let inside = i < p.m && k < k_end;
    let ar = a_row(select(i, k, TRANS_A), inside && i < p.a_rows);
    let stored = inside && i < p.a_rows && ar < p.a_src_rows;
    let e = select(0u, select(p.a_off + ar * p.k + k, p.a_off + ar * p.a_rows + i, TRANS_A), stored);
    return select(select(0.0, 1.0, inside && i >= p.a_rows), a[e >> 2u][e & 3u], stored);
}

// op(B)[k, j]; zero past N or past k_end.
fn op_b(k: u32, j: u32, k_end: u32) -> f32 {
    let inside = j < p.n && k < k_end;
    let e = select(0u, select(p.b_off + k * p.n + j, p.b_off + j * p.k + k, TRANS_B), inside);
    return select(0.0, b[e >> 2u][e & 3u], inside);
}

// The ones rows of op(A) among rows i .. i+4 at k (the lanes past a_rows and before M).
fn ones_rows4(i: u32, k: u32, k_end: u32) -> vec4<f32> {
    let rows = vec4<u32>(i) + vec4<u32>(0u, 1u, 2u, 3u);
    let ones = (rows >= vec4<u32>(p.a_rows)) & (rows < vec4<u32>(p.m)) & vec4<bool>(k < k_end);
    return select(vec4<f32>(0.0), vec4<f32>(1.0), ones);
}

// Where op(A)'s row i lives when A is not transposed: its stored row (through the index with
// A_INDEXED) and whether it is stored, for a k range k_begin .. k_end (an empty range reads
// no index). It does not depend on k, so kernels resolve it once before their k loop
// instead of reading the index at every k quad.
struct ARow {
    ar: u32,
    stored: bool,
}

fn a_row_of(i: u32, k_begin: u32, k_end: u32) -> ARow {
    if (TRANS_A) {
        return ARow(0u, false);
    }
    let valid = i < p.a_rows && k_begin < k_end;
    let ar = a_row(i, valid);
    return ARow(ar, valid && ar < p.a_src_rows);
}

// op(A)[i, k .. k+4] (k a multiple of 4) for row i resolved as `row`: one vec4 when A is not
// transposed and A_VEC4 (then K and k_end are multiples of 4 too, so the quad is all in or all
// out of the layer's range).
fn a_along_k_at(row: ARow, i: u32, k: u32, k_end: u32) -> vec4<f32> {
    if (!TRANS_A && A_VEC4) {
        let stored = row.stored && k < k_end;
        let v = a[select(0u, (p.a_off + row.ar * p.k + k) >> 2u, stored)];
        let ones = select(0.0, 1.0, i >= p.a_rows && i < p.m && k < k_end);
        return select(vec4<f32>(ones), v, stored);
    }
    return vec4<f32>(op_a(i, k, k_end), op_a(i, k + 1u, k_end), op_a(i, k + 2u, k_end), op_a(i, k + 3u, k_end));
}

fn a_along_k(i: u32, k: u32, k_end: u32) -> vec4<f32> {
    return a_along_k_at(a_row_of(i, k, k_end), i, k, k_end);
}

// Where op(A)'s column k lives when A is transposed (A's stored row k, through the index with
// A_INDEXED), resolved once per k for all the rows a kernel reads there.
fn a_krow_of(k: u32, k_end: u32) -> ARow {
    if (!TRANS_A) {
        return ARow(0u, false);
    }
    let valid = k < k_end && p.a_rows > 0u;
    let ar = a_row(k, valid);
    return ARow(ar, valid && ar < p.a_src_rows);
}

// op(A)[i .. i+4, k] (i a multiple of 4) with column k resolved as `col`: one vec4 when A is
// transposed and A_VEC4 (a_rows is then a multiple of 4, so rows i .. i+4 are all stored or
// all past a_rows).
fn a_along_m_at(col: ARow, i: u32, k: u32, k_end: u32) -> vec4<f32> {
    if (TRANS_A && A_VEC4) {
        let stored = i < p.a_rows && col.stored;
        let v = a[select(0u, (p.a_off + col.ar * p.a_rows + i) >> 2u, stored)];
        return select(ones_rows4(i, k, k_end), v, vec4<bool>(stored));
    }
    return vec4<f32>(op_a(i, k, k_end), op_a(i + 1u, k, k_end), op_a(i + 2u, k, k_end), op_a(i + 3u, k, k_end));
}

fn a_along_m(i: u32, k: u32, k_end: u32) -> vec4<f32> {
    return a_along_m_at(a_krow_of(k, k_end), i, k, k_end);
}

// Four rows i .. i+4 of op(A) resolved by a_row_of over k_begin .. k_end, or four columns
// k .. k+4 by a_krow_of.
struct ARows4 {
    r0: ARow,
    r1: ARow,
    r2: ARow,
    r3: ARow,
}

fn a_rows4_of(i: u32, k_begin: u32, k_end: u32) -> ARows4 {
    return ARows4(a_row_of(i, k_begin, k_end), a_row_of(i + 1u, k_begin, k_end), a_row_of(i + 2u, k_begin, k_end), a_row_of(i + 3u, k_begin, k_end));
}

fn a_cols4_of(k: u32, k_end: u32) -> ARows4 {
    return ARows4(a_krow_of(k, k_end), a_krow_of(k + 1u, k_end), a_krow_of(k + 2u, k_end), a_krow_of(k + 3u, k_end));
}

// op(A)[i + v, k .. k + 4] for v < 4 as a<v> (i and k multiples of 4): from the rows
// a_rows4_of resolved when A is not transposed, or along M at the columns a_cols4_of(k,
// k_end) and transposed in registers when it is.
struct AQuads4 {
    a0: vec4<f32>,
    a1: vec4<f32>,
    a2: vec4<f32>,
    a3: vec4<f32>,
}

fn a_quads4(rows: ARows4, cols: ARows4, i: u32, k: u32, k_end: u32) -> AQuads4 {
    if (!TRANS_A) {
        return AQuads4(
            a_along_k_at(rows.r0, i, k, k_end),
            a_along_k_at(rows.r1, i + 1u, k, k_end),
            a_along_k_at(rows.r2, i + 2u, k, k_end),
            a_along_k_at(rows.r3, i + 3u, k, k_end),
        );
    }
    let l0 = a_along_m_at(cols.r0, i, k, k_end);
    let l1 = a_along_m_at(cols.r1, i, k + 1u, k_end);
    let l2 = a_along_m_at(cols.r2, i, k + 2u, k_end);
    let l3 = a_along_m_at(cols.r3, i, k + 3u, k_end);
    return AQuads4(
        vec4<f32>(l0.x, l1.x, l2.x, l3.x),
        vec4<f32>(l0.y, l1.y, l2.y, l3.y),
        vec4<f32>(l0.z, l1.z, l2.z, l3.z),
        vec4<f32>(l0.w, l1.w, l2.w, l3.w),
    );
}

// op(B)[k, j .. j+4] (j a multiple of 4): one vec4 when B is not transposed and B_VEC4.
fn b_along_n(k: u32, j: u32, k_end: u32) -> vec4<f32> {
    if (!TRANS_B && B_VEC4) {
        let inside = j < p.n && k < k_end;
        return select(vec4<f32>(0.0), b[select(0u, (p.b_off + k * p.n + j) >> 2u, inside)], inside);
    }
    return vec4<f32>(op_b(k, j, k_end), op_b(k, j + 1u, k_end), op_b(k, j + 2u, k_end), op_b(k, j + 3u, k_end));
}

// op(B)[k .. k+4, j] (k a multiple of 4): one vec4 when B is transposed and B_VEC4.
fn b_along_k(k: u32, j: u32, k_end: u32) -> vec4<f32> {
    if (TRANS_B && B_VEC4) {
        let inside = j < p.n && k < k_end;
        return select(vec4<f32>(0.0), b[select(0u, (p.b_off + j * p.k + k) >> 2u, inside)], inside);
    }
    return vec4<f32>(op_b(k, j, k_end), op_b(k + 1u, j, k_end), op_b(k + 2u, j, k_end), op_b(k + 3u, j, k_end));
}

// op(B)[k + q, j .. j + 4] for q < 4 as b<q>: the B side of one k quad of a 4-column block.
struct BQuads4 {
    b0: vec4<f32>,
    b1: vec4<f32>,
    b2: vec4<f32>,
    b3: vec4<f32>,
}

fn b_quads4(k: u32, j: u32, k_end: u32) -> BQuads4 {
    if (!TRANS_B) {
        return BQuads4(b_along_n(k, j, k_end), b_along_n(k + 1u, j, k_end), b_along_n(k + 2u, j, k_end), b_along_n(k + 3u, j, k_end));
    }
    // Stored transposed: load along K and transpose in registers.
    let t0 = b_along_k(k, j, k_end);
    let t1 = b_along_k(k, j + 1u, k_end);
    let t2 = b_along_k(k, j + 2u, k_end);
    let t3 = b_along_k(k, j + 3u, k_end);
    return BQuads4(
        vec4<f32>(t0.x, t1.x, t2.x, t3.x),
        vec4<f32>(t0.y, t1.y, t2.y, t3.y),
        vec4<f32>(t0.z, t1.z, t2.z, t3.z),
        vec4<f32>(t0.w, t1.w, t2.w, t3.w),
    );
}

// op(B)[k + q, j + 4c .. j + 4c + 4] for q < 4, c < 2 as b<q><c>: the B side of one k quad
// of an 8-column block (the blocked kernel).
struct BQuads8 {
    b00: vec4<f32>, b01: vec4<f32>,
    b10: vec4<f32>, b11: vec4<f32>,
    b20: vec4<f32>, b21: vec4<f32>,
    b30: vec4<f32>, b31: vec4<f32>,
}

fn b_quads8(k: u32, j: u32, k_end: u32) -> BQuads8 {
    let l = b_quads4(k, j, k_end);
    let r = b_quads4(k, j + 4u, k_end);
    return BQuads8(l.b0, r.b0, l.b1, r.b1, l.b2, r.b2, l.b3, r.b3);
}

// Σ_q a[q] · b_q: one k quad's contribution to four outputs of a row.
fn quad_fma(av: vec4<f32>, b0: vec4<f32>, b1: vec4<f32>, b2: vec4<f32>, b3: vec4<f32>) -> vec4<f32> {
    return av.x * b0 + av.y * b1 + av.z * b2 + av.w * b3;
}

// The epilogue's last step on a sum v (bias added): act(v), or with MATMUL_FLAG_DERIV
// v · act′(zv), zv being z read there.
fn activated(v: f32, zv: f32) -> f32 {
    var r: f32;
    if ((EPILOGUE & MATMUL_FLAG_DERIV) != 0u) {
        r = v * activate_derivative(ACT, p.alpha, zv);
    } else {
        r = activate(ACT, p.alpha, v);
    }
    return r;
}

// The epilogue of out[i, j] from workgroup layer `layer`: the raw partial sum, or bias, z and
// the activation, as EPILOGUE and ACT say. Outside [M, N] it writes nothing.
fn finish(layer: u32, i: u32, j: u32, sum: f32) {
    // No early returns here or in finish4: inlined into a kernel's epilogue loops they cost
    // some compilers seconds (lavapipe's, for the subgroup kernel's 256 outputs).
    if (i < p.m && j < p.n) {
        let e = i * p.n + j;
        if ((EPILOGUE & MATMUL_FLAG_PARTIAL) != 0u) {
            let o = p.out_off + layer * p.m * p.n + e;
            out[o >> 2u][o & 3u] = sum;
        } else {
            var v = sum;
            if ((EPILOGUE & MATMUL_FLAG_BIAS) != 0u) {
                v += bias[p.bias_off + j];
            }
            let ze = p.z_off + e;
            var zv = 0.0;
            if ((EPILOGUE & MATMUL_FLAG_Z) != 0u) {
                z[ze >> 2u][ze & 3u] = v;
            }
            if ((EPILOGUE & MATMUL_FLAG_DERIV) != 0u) {
                zv = z[ze >> 2u][ze & 3u];
            }
            let o = p.out_off + e;
            out[o >> 2u][o & 3u] = activated(v, zv);
        }
    }
}

// The epilogue of out[i, j .. j+4] (j a multiple of 4): with OUT_VEC4 one vec4 store (N is a
// multiple of 4, so the four columns are all inside or all past it), else four scalar ones
// (a loop, so the code appears once).
fn finish4(layer: u32, i: u32, j: u32, sums: vec4<f32>) {
    if (!OUT_VEC4) {
        for (var q = 0u; q < 4u; q++) {
            finish(layer, i, j + q, sums[q]);
        }
    } else if (i < p.m && j < p.n) {
        let e = i * p.n + j;
        if ((EPILOGUE & MATMUL_FLAG_PARTIAL) != 0u) {
            out[(p.out_off + layer * p.m * p.n + e) >> 2u] = sums;
        } else {
            var v = sums;
            if ((EPILOGUE & MATMUL_FLAG_BIAS) != 0u) {
                let bj = p.bias_off + j;
                v += vec4<f32>(bias[bj], bias[bj + 1u], bias[bj + 2u], bias[bj + 3u]);
            }
            let ze = (p.z_off + e) >> 2u;
            var zv = vec4<f32>(0.0);
            if ((EPILOGUE & MATMUL_FLAG_Z) != 0u) {
                z[ze] = v;
            }
            if ((EPILOGUE & MATMUL_FLAG_DERIV) != 0u) {
                zv = z[ze];
            }
            out[(p.out_off + e) >> 2u] = vec4<f32>(activated(v.x, zv.x), activated(v.y, zv.y), activated(v.z, zv.z), activated(v.w, zv.w));
        }
    }
}
