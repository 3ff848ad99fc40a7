//! Loop bounds per invocation (DESIGN.md §3, "Bounded loops"). lavapipe silently ends a shader
//! loop once an invocation has run 65 535 loop iterations, so a kernel whose loop count grows
//! with a shape gives a wrong result past some size, with no error. Every kernel therefore
//! declares how many loop iterations one invocation runs at most, as a function of the
//! uniform it is dispatched with (`LoopBound`, counting every loop of its WGSL, the small
//! constant ones included), and the long reductions are split so that bound stays far below
//! the limit whatever the shape:
//!
//! - the matrix product's K is split across workgroup layers (split-K, [`matmul_split`]):
//!   each sums at most [`MATMUL_K_CHUNK`] of K into a partial-sum scratch, and
//!   `matmul_reduce` adds at most [`MAX_SPLIT_LAYERS`] of them (in several rounds beyond);
//! - the bias gradient Σ_rows dz is a product with a ones row, so it is split the same way;
//! - the loss head's kernel (loss, gradient and metric sums) is split across workgroups over
//!   the rows ([`metrics_split`]), whose partial metric sums `sum_partials` adds to the
//!   accumulator;
//! - the row kernels (softmax, loss, their gradients) loop over one row's columns, so a row
//!   may hold at most [`MAX_ROW_COLUMNS`] of them; wider rows are refused with a typed error.
//!
//! The backend refuses any dispatch whose declared bound exceeds [`LOOP_BUDGET`]
//! (`Error::LimitExceeded`), so a shape nobody planned for fails loudly instead of silently.
//! These functions are public so that tests can check them over every shape a plan can ask
//! for, without an adapter.

use super::params::*;
use crate::backend::ops::metric_slot;
use crate::{Error, Result};

/// Loop iterations after which lavapipe ends a loop without an error.
pub const LOOP_LIMIT: u64 = 65_535;

/// The most loop iterations one invocation of any kernel may run (a quarter of the limit, so
/// an off-by-a-few in a declared bound cannot matter).
pub const LOOP_BUDGET: u64 = LOOP_LIMIT / 4;

/// The most of K one workgroup layer of the matrix product sums (a multiple of the 16-wide
/// K tile, so every layer's first k keeps the operands' vec4 alignment).
pub const MATMUL_K_CHUNK: u32 = 4096;

/// The most partial layers one `matmul_reduce` adds (products needing more take rounds).
pub const MAX_SPLIT_LAYERS: u32 = 4096;

/// The widest row the row kernels (softmax, loss, metrics, softmax gradient) accept.
pub const MAX_ROW_COLUMNS: usize = ((LOOP_BUDGET - METRICS_FIXED_LOOPS - 2) / ROW_LOOPS) as usize;

/// Loops over a row's columns in the loss head's kernel: three for the loss (the
/// cross-entropies), one and an argmax for the metrics (softmax runs three).
const ROW_LOOPS: u64 = 5;

/// Rows one workgroup of the loss head's kernel takes at most, for parallelism (a bigger batch
/// is spread over more workgroups and one `sum_partials`).
const ROWS_PER_GROUP: u64 = 4096;

/// Workgroups the loss head's kernel is spread over for parallelism at most (more only when
/// the loop budget needs them).
const MAX_HEAD_GROUPS: u64 = 1024;

/// Lanes of the metrics kernel's workgroup.
const METRICS_LANES: u64 = 256;

/// The metrics kernel's loops that do not depend on the shape: clearing, storing and the
/// tree reduction of the slot sums.
const METRICS_FIXED_LOOPS: u64 = {
    let slots = metric_slot::USED as u64;
    slots + slots + 8 * (1 + slots)
};

/// Output tiles (64 × 64) under which a long K is split further, for parallelism: a product
/// with few tiles (a weight gradient of a narrow layer over a big batch) would otherwise run
/// on a handful of workgroups.
const PARALLEL_TILES: u64 = 32;

/// The least K a layer gets when a product is split for parallelism alone.
const MIN_LAYER_K: u64 = 1024;

/// The declared loop bound of one kernel's invocation, from the uniform it is dispatched with.
pub(crate) trait LoopBound {
    /// The most loop iterations one invocation runs.
    fn loop_bound(&self) -> u64;
}

/// Loop iterations of one matmul invocation summing `k_chunk` of K, in whichever variant
/// (`matmul_variants.rs`; the sum of the variants' counts, so it bounds each):
///
/// - tiled: per 16-wide K tile, the tile loop and the 16-step inner product; the epilogue's 4
///   rows of 4;
/// - blocked: one iteration per k quad; the epilogue's 16 quads of 4;
/// - subgroup: one iteration per k quad; the epilogue's 8 rows of 8 quads of 4;
/// - skinny: one iteration per 64 k quads, six halving steps, one quad of 4.
///
/// The loads have no loops (`matmul_common.wgsl`).
pub fn matmul_loop_bound(k_chunk: u32) -> u64 {
    let k = u64::from(k_chunk);
    let tiled = k.div_ceil(16) * (1 + 16) + 4 * (1 + 4);
    let blocked = k.div_ceil(4) + 16 * (1 + 4);
    let subgroup = k.div_ceil(4) + 8 * (1 + 8 * (1 + 4));
    let skinny = k.div_ceil(256) + 6 + 4;
    tiled + blocked + subgroup + skinny
}

/// Loop iterations of one invocation of the loss head's kernel over `rows_per_group` rows of
/// `cols` columns.
pub fn metrics_loop_bound(rows_per_group: u32, cols: u32) -> u64 {
    u64::from(rows_per_group).div_ceil(METRICS_LANES) * (ROW_LOOPS * u64::from(cols) + 2) + METRICS_FIXED_LOOPS
}

/// Loop iterations of one invocation of a row kernel over a row of `cols` columns.
pub fn row_loop_bound(cols: u32) -> u64 {
    ROW_LOOPS * u64::from(cols)
}

/// How a product of [m, k]·[k, n] is split over K.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulSplit {
    /// K summed per workgroup layer (a multiple of 16, at most [`MATMUL_K_CHUNK`]; all of K
    /// when `layers` is 1).
    pub k_chunk: u32,
    /// Workgroup layers per round (partial sums in the scratch: `layers · m · n` values).
    pub layers: u32,
    /// Rounds (each a matmul dispatch and a reduce; more than one only when the scratch or
    /// [`MAX_SPLIT_LAYERS`] cannot hold every layer at once).
    pub rounds: u32,
    /// Layers over all rounds.
    pub total_layers: u32,
}

impl MatmulSplit {
    /// Whether the product runs as one dispatch with its epilogue (no partial sums).
    pub fn direct(&self) -> bool {
        self.total_layers == 1
    }

    /// Scratch values the partial sums need (0 for a direct product).
    pub fn scratch_len(&self, m: usize, n: usize) -> usize {
        if self.direct() { 0 } else { self.layers as usize * m * n }
    }

    /// Dispatches the product records.
    pub fn dispatches(&self) -> u32 {
        if self.direct() { 1 } else { 2 * self.rounds }
    }

    /// The loop bound of each dispatch the product records.
    pub fn loop_bounds(&self) -> Vec<u64> {
        if self.direct() {
            return vec![matmul_loop_bound(self.k_chunk)];
        }
        (0..self.rounds)
            .flat_map(|_| [matmul_loop_bound(self.k_chunk), u64::from(self.layers)])
            .collect()
    }
}

fn limit(what: String, limit: &'static str, max: u64, requested: u64) -> Error {
    Error::LimitExceeded {
        what,
        limit,
        max,
        requested,
    }
}

/// The split of a product with op(A) [m, k] (ones rows included) and op(B) [k, n], when the
/// partial-sum scratch may hold `max_scratch` values.
pub fn matmul_split(m: usize, k: usize, n: usize, max_scratch: u64) -> Result<MatmulSplit> {
    let (m64, k64, n64) = (m as u64, k as u64, n as u64);
    let k32 = u32::try_from(k).map_err(|_| {
        limit(
            "a product's inner dimension".into(),
            "u32 element index",
            u32::MAX as u64,
            k64,
        )
    })?;
    let tiles = m64.div_ceil(64).max(1) * n64.div_ceil(64).max(1);
    let needed = k64.div_ceil(u64::from(MATMUL_K_CHUNK));
    let for_parallelism = if tiles < PARALLEL_TILES && k64 >= 2 * MIN_LAYER_K {
        PARALLEL_TILES.div_ceil(tiles).min(k64 / MIN_LAYER_K)
    } else {
        1
    };
    let wanted = needed.max(for_parallelism).max(1);
    if wanted == 1 {
        return Ok(MatmulSplit {
            k_chunk: k32,
            layers: 1,
            rounds: 1,
            total_layers: 1,
        });
    }
    let k_chunk = k64.div_ceil(wanted).div_ceil(16) * 16;
    let total = k64.div_ceil(k_chunk);
    let per_layer = (m64 * n64).max(1);
    let fit = (max_scratch / per_layer).min(u64::from(MAX_SPLIT_LAYERS));
    if fit == 0 {
        return Err(limit(
            format!("the partial sums of a [{m}, {k}]·[{k}, {n}] product"),
            "max_storage_buffer_binding_size",
            max_scratch * 4,
            per_layer * 4,
        ));
    }
    let layers = total.min(fit);
    Ok(MatmulSplit {
        k_chunk: k_chunk as u32,
        layers: layers as u32,
        rounds: total.div_ceil(layers) as u32,
        total_layers: total as u32,
    })
}

/// How the loss head's kernel (loss, gradient, metric sums) over `rows` rows is split across
/// workgroups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MetricsSplit {
    /// Rows each workgroup takes.
    pub rows_per_group: u32,
    /// Workgroups (1: the kernel adds to the accumulator itself; more: partial sums in the
    /// scratch, then `sum_partials`).
    pub groups: u32,
}

impl MetricsSplit {
    /// Scratch values the partial sums need (0 for a single workgroup).
    pub fn scratch_len(&self) -> usize {
        if self.groups == 1 {
            0
        } else {
            self.groups as usize * metric_slot::COUNT
        }
    }

    /// The loop bound of each dispatch.
    pub fn loop_bounds(&self, cols: u32) -> Vec<u64> {
        let metrics = metrics_loop_bound(self.rows_per_group, cols);
        if self.groups == 1 {
            vec![metrics]
        } else {
            vec![metrics, u64::from(self.groups)]
        }
    }
}

/// Refuses a row wider than the row kernels can loop over.
pub fn check_row_width(op: &str, cols: usize) -> Result<u32> {
    if cols > MAX_ROW_COLUMNS {
        return Err(limit(
            format!("{op} over rows of {cols} columns"),
            "columns per row of the GPU row kernels (bounded loops)",
            MAX_ROW_COLUMNS as u64,
            cols as u64,
        ));
    }
    Ok(cols as u32)
}

/// The split of the metric sums over `rows` rows of `cols` columns.
pub fn metrics_split(rows: usize, cols: usize) -> Result<MetricsSplit> {
    let cols = check_row_width("the metrics", cols)?;
    let per_lane = (LOOP_BUDGET - METRICS_FIXED_LOOPS) / (ROW_LOOPS * u64::from(cols) + 2);
    // The most rows a workgroup may take within the loop budget (a multiple of the lanes).
    let cap = (per_lane * METRICS_LANES).min(u64::from(u32::MAX) / METRICS_LANES * METRICS_LANES);
    let rows64 = rows as u64;
    let for_parallelism = rows64.div_ceil(ROWS_PER_GROUP).min(MAX_HEAD_GROUPS);
    let groups = for_parallelism.max(rows64.div_ceil(cap)).max(1);
    if groups > LOOP_BUDGET {
        return Err(limit(
            format!("the metrics of {rows} rows"),
            "metric partial sums (bounded loops)",
            LOOP_BUDGET,
            groups,
        ));
    }
    // Spread the rows evenly, so no workgroup is left with a sliver.
    let per_group = rows64.div_ceil(groups).div_ceil(METRICS_LANES).max(1) * METRICS_LANES;
    Ok(MetricsSplit {
        rows_per_group: per_group as u32,
        groups: rows64.div_ceil(per_group).max(1) as u32,
    })
}

impl LoopBound for MatmulParams {
    fn loop_bound(&self) -> u64 {
        matmul_loop_bound(self.k_chunk.min(self.k))
    }
}

impl LoopBound for MatmulReduceParams {
    fn loop_bound(&self) -> u64 {
        u64::from(self.layers)
    }
}

impl LoopBound for SumPartialsParams {
    fn loop_bound(&self) -> u64 {
        u64::from(self.count)
    }
}

impl LoopBound for SoftmaxParams {
    fn loop_bound(&self) -> u64 {
        row_loop_bound(self.cols)
    }
}

impl LoopBound for SoftmaxBackwardParams {
    fn loop_bound(&self) -> u64 {
        row_loop_bound(self.cols)
    }
}

impl LoopBound for LossParams {
    fn loop_bound(&self) -> u64 {
        metrics_loop_bound(self.rows_per_group, self.cols)
    }
}

impl LoopBound for OptimizerParams {
    /// The piecewise-constant schedule's search over its boundaries.
    fn loop_bound(&self) -> u64 {
        crate::nn::MAX_BOUNDARIES as u64
    }
}

/// Kernels without loops.
macro_rules! no_loops {
    ($($params:ty),*) => {$(
        impl LoopBound for $params {
            fn loop_bound(&self) -> u64 {
                0
            }
        }
    )*};
}

no_loops!(ActivationBackwardParams, GatherParams, FillParams, DropoutParams);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_products_run_direct() {
        let s = matmul_split(128, 784, 256, 1 << 25).unwrap();
        assert!(s.direct());
        assert_eq!(s.k_chunk, 784);
    }

    #[test]
    fn long_k_is_split_within_the_budget() {
        let s = matmul_split(3, 100_000, 10, 1 << 25).unwrap();
        assert!(!s.direct());
        assert!(u64::from(s.k_chunk) * u64::from(s.total_layers) >= 100_000);
        assert!(s.loop_bounds().iter().all(|&b| b <= LOOP_BUDGET));
    }

    #[test]
    fn a_small_scratch_takes_rounds() {
        let s = matmul_split(64, 1 << 24, 64, 64 * 64 * 3).unwrap();
        assert_eq!(s.layers, 3);
        assert_eq!(s.rounds, s.total_layers.div_ceil(3));
    }
}
