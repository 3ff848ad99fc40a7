//! Inverted dropout with a counter-based mask: element i of the batch at optimizer step `step`
//! is kept when u(seed, step, i) ≥ rate, and kept values are scaled by 1 / (1 − rate), so
//! evaluation needs no rescaling. u comes from a stateless hash, so the GPU generates masks
//! without uploads and both backends draw exactly the same ones (`shaders/dropout.wgsl`).

/// Wellons' "lowbias32" integer hash.
pub fn lowbias32(v: u32) -> u32 {
    let mut h = v;
    h ^= h >> 16;
    h = h.wrapping_mul(0x7feb_352d);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846c_a68b);
    h ^= h >> 16;
    h
}

/// Whether element `index` is kept at `step` with drop probability `rate`.
///
/// ```
/// use wgtrain::nn::dropout::dropout_keep;
/// let kept = (0..10_000).filter(|&i| dropout_keep(7, 1, i, 0.25)).count();
/// assert!((7_200..7_800).contains(&kept));
/// ```
pub fn dropout_keep(seed: u32, step: u32, index: u32, rate: f32) -> bool {
    let h = lowbias32(index ^ lowbias32(step ^ lowbias32(seed)));
    let u = (h >> 8) as f32 / 16_777_216.0;
    u >= rate
}
