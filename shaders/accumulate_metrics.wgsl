// accumulate_metrics.wgsl: adds one batch's loss sum and metric counts to an accumulator that
// stays on the device, so an epoch needs one small read-back.
// Shapes: pred: [rows, cols]; targets: [rows, cols], or [rows, 1] class_index indices (sparse);
// row_loss: [rows]; acc: METRIC_COUNT f32 slots, the first METRIC_SLOTS_USED named by the
//   prelude's METRIC_* constants (`MetricSlot` in src/backend/ops/metrics.rs): loss sum,
//   samples, correct, true pos, false pos, false neg, Σ|p − t|, Σ(p − t)², values seen, rows
//   with a non-finite loss.
// Bindings: 0 uniform Params; 1 pred (read); 2 targets (read); 3 row_loss (read);
//   4 acc (read_write).
// accuracy: ACC_NONE, ACC_BINARY (pred > threshold against a 0/1 target, averaged over the
// row's outputs), ACC_CATEGORICAL (argmax against argmax), ACC_SPARSE_CATEGORICAL (argmax
// against the index).
// Workgroup g of 256 invocations takes rows [g·rows_per_group, (g + 1)·rows_per_group), its
// lanes striding over them, and reduces in workgroup memory. A single workgroup adds its sums
// to the accumulator itself (being alone, without atomics); with METRICS_FLAG_PARTIAL each
// workgroup writes its sums to acc[g·METRIC_COUNT ..] of a scratch buffer instead, and
// sum_partials adds them to the accumulator. The host bounds rows_per_group so no invocation
// loops too long (src/backend/gpu/bounds.rs).
// Dispatch: (groups, 1, 1).

struct Params {
    rows: u32,
    cols: u32,
    accuracy: u32,
    threshold: f32,
    pred_off: u32,
    target_off: u32,
    row_loss_off: u32,
    acc_off: u32,
    rows_per_group: u32,
    flags: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read> row_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> acc: array<f32>;

const LANES: u32 = 256u;
var<workgroup> partial: array<f32, METRIC_SLOTS_USED * LANES>;

// NaN and ±inf have an all-ones exponent; checked on the bits because compilers may assume
// floats are finite and fold `x != x` away.
fn is_finite_bits(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn argmax_pred(base: u32) -> u32 {
    var best = 0u;
    for (var j = 1u; j < p.cols; j++) {
        if (pred[p.pred_off + base + j] > pred[p.pred_off + base + best]) {
            best = j;
        }
    }
    return best;
}

@compute @workgroup_size(256, 1, 1)
fn accumulate_metrics(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    var s: array<f32, METRIC_SLOTS_USED>;
    for (var q = 0u; q < METRIC_SLOTS_USED; q++) {
        s[q] = 0.0;
    }
    let first = wid.x * p.rows_per_group;
    let end = min(first + p.rows_per_group, p.rows);
    for (var row = first + lid.x; row < end; row += LANES) {
        let l = row_loss[p.row_loss_off + row];
        s[METRIC_LOSS_SUM] += l;
        s[METRIC_SAMPLES] += 1.0;
        if (!is_finite_bits(l)) {
            s[METRIC_NON_FINITE] += 1.0;
        }
        let base = row * p.cols;
        if (p.accuracy == ACC_SPARSE_CATEGORICAL) {
            let class_index = round(targets[p.target_off + row]);
            if (f32(argmax_pred(base)) == class_index) {
                s[METRIC_CORRECT] += 1.0;
            }
            continue;
        }
        s[METRIC_VALUES] += f32(p.cols);
        var hits = 0.0;
        var best_t = 0u;
        for (var j = 0u; j < p.cols; j++) {
            let x = pred[p.pred_off + base + j];
            let t = targets[p.target_off + base + j];
            let d = x - t;
            s[METRIC_ABS_ERR] += abs(d);
            s[METRIC_SQ_ERR] += d * d;
            if (t > targets[p.target_off + base + best_t]) {
                best_t = j;
            }
            if (p.accuracy == ACC_BINARY) {
                let pp = x > p.threshold;
                let tp = t > 0.5;
                if (select(0.0, 1.0, pp) == t) {
                    hits += 1.0;
                }
                if (pp && tp) {
                    s[METRIC_TRUE_POS] += 1.0;
                }
                if (pp && !tp) {
                    s[METRIC_FALSE_POS] += 1.0;
                }
                if (!pp && tp) {
                    s[METRIC_FALSE_NEG] += 1.0;
                }
            }
        }
        if (p.accuracy == ACC_BINARY) {
            s[METRIC_CORRECT] += hits / f32(p.cols);
        } else if (p.accuracy == ACC_CATEGORICAL && argmax_pred(base) == best_t) {
            s[METRIC_CORRECT] += 1.0;
        }
    }
    for (var q = 0u; q < METRIC_SLOTS_USED; q++) {
        partial[q * LANES + lid.x] = s[q];
    }
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lid.x < stride) {
            for (var q = 0u; q < METRIC_SLOTS_USED; q++) {
                partial[q * LANES + lid.x] += partial[q * LANES + lid.x + stride];
            }
        }
        workgroupBarrier();
    }
    if (lid.x < METRIC_SLOTS_USED) {
        if ((p.flags & METRICS_FLAG_PARTIAL) != 0u) {
            acc[p.acc_off + wid.x * METRIC_COUNT + lid.x] = partial[lid.x * LANES];
        } else {
            acc[p.acc_off + lid.x] += partial[lid.x * LANES];
        }
    }
}
