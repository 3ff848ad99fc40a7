// matmul.wgsl: the shared-memory tiled variant of the matrix product (see matmul_common.wgsl
// for what every variant computes, its uniform, bindings, loads and epilogue).
// A workgroup of 16×16 invocations computes a 64×64 tile of out, each invocation a 4×4 block
// held in registers; K advances 16 at a time through workgroup-shared tiles, which every
// operand element reaches once per workgroup instead of once per invocation.
// Dispatch: (ceil(N / 64), ceil(M / 64), layers).

const TILE_M: u32 = 64u;
const TILE_N: u32 = 64u;
const TILE_K: u32 = 16u;

// tile_a[kk * TILE_M + i] = op(A)[row0 + i, k0 + kk]; tile_b[kk * TILE_N + j] = op(B)[k0 + kk, col0 + j]
var<workgroup> tile_a: array<f32, 1024>;
var<workgroup> tile_b: array<f32, 1024>;

@compute @workgroup_size(16, 16, 1)
fn matmul(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let row0 = wid.y * TILE_M;
    let col0 = wid.x * TILE_N;
    let t = lid.y * 16u + lid.x;
    let ks = k_range(wid.z);
    let k_end = ks.y;

    var acc0 = vec4<f32>(0.0);
    var acc1 = vec4<f32>(0.0);
    var acc2 = vec4<f32>(0.0);
    var acc3 = vec4<f32>(0.0);

    for (var k0 = ks.x; k0 < k_end; k0 += TILE_K) {
        // A tile: 64 rows × 16 k, one vec4 per invocation along A's contiguous dimension.
        if (!TRANS_A) {
            let i = t / 4u;
            let kk = (t % 4u) * 4u;
            let v = a_along_k(row0 + i, k0 + kk, k_end);
            tile_a[kk * TILE_M + i] = v.x;
            tile_a[(kk + 1u) * TILE_M + i] = v.y;
            tile_a[(kk + 2u) * TILE_M + i] = v.z;
            tile_a[(kk + 3u) * TILE_M + i] = v.w;
        } else {
            let kk = t / 16u;
            let i = (t % 16u) * 4u;
            let v = a_along_m(row0 + i, k0 + kk, k_end);
            let at = kk * TILE_M + i;
            tile_a[at] = v.x;
            tile_a[at + 1u] = v.y;
            tile_a[at + 2u] = v.z;
            tile_a[at + 3u] = v.w;
        }
        // B tile: 16 k × 64 columns.
        if (!TRANS_B) {
            let kk = t / 16u;
            let j = (t % 16u) * 4u;
            let v = b_along_n(k0 + kk, col0 + j, k_end);
            let at = kk * TILE_N + j;
            tile_b[at] = v.x;
            tile_b[at + 1u] = v.y;
            tile_b[at + 2u] = v.z;
            tile_b[at + 3u] = v.w;
        } else {
            let j = t / 4u;
            let kk = (t % 4u) * 4u;
            let v = b_along_k(k0 + kk, col0 + j, k_end);
            tile_b[kk * TILE_N + j] = v.x;
            tile_b[(kk + 1u) * TILE_N + j] = v.y;
            tile_b[(kk + 2u) * TILE_N + j] = v.z;
            tile_b[(kk + 3u) * TILE_N + j] = v.w;
        }
        workgroupBarrier();

        for (var kk = 0u; kk < TILE_K; kk++) {
            let ab = kk * TILE_M + lid.y * 4u;
            let bb = kk * TILE_N + lid.x * 4u;
            let av = vec4<f32>(tile_a[ab], tile_a[ab + 1u], tile_a[ab + 2u], tile_a[ab + 3u]);
            let bv = vec4<f32>(tile_b[bb], tile_b[bb + 1u], tile_b[bb + 2u], tile_b[bb + 3u]);
            acc0 += av.x * bv;
            acc1 += av.y * bv;
            acc2 += av.z * bv;
            acc3 += av.w * bv;
        }
        workgroupBarrier();
    }

    let i = row0 + lid.y * 4u;
    let j = col0 + lid.x * 4u;
    var block = array<vec4<f32>, 4>(acc0, acc1, acc2, acc3);
    for (var r = 0u; r < 4u; r++) {
        finish4(wid.z, i + r, j, block[r]);
    }
}
