// accumulate_metrics.wgsl: adds one batch's loss sum and metric counts to an accumulator that
// stays on the device, so an epoch needs one small read-back.
// Shapes: pred: [rows, cols]; targets: [rows, cols], or [rows, 1] class_index indices (sparse);
// row_loss: [rows]; acc: 12 f32 slots (`metric_slot` in src/backend/ops.rs):
//   0 loss sum, 1 samples, 2 correct, 3 true pos, 4 false pos, 5 false neg, 6 Σ|p − t|,
//   7 Σ(p − t)², 8 values seen, 9 rows with a non-finite loss, 10–11 unused.
// Bindings: 0 uniform Params; 1 pred (read); 2 targets (read); 3 row_loss (read);
//   4 acc (read_write).
// accuracy: 0 none, 1 binary (pred > threshold against a 0/1 target, averaged over the row's
// outputs), 2 categorical (argmax against argmax), 3 sparse (argmax against the index).
// One workgroup of 256 invocations strides over the rows and reduces in workgroup memory;
// being alone, it can read-modify-write the accumulator without atomics.
// Dispatch: (1, 1, 1).

struct Params {
    rows: u32,
    cols: u32,
    accuracy: u32,
    threshold: f32,
    pred_off: u32,
    target_off: u32,
    row_loss_off: u32,
    acc_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read> row_loss: array<f32>;
@group(0) @binding(4) var<storage, read_write> acc: array<f32>;

const SLOTS: u32 = 10u;
const LANES: u32 = 256u;
var<workgroup> partial: array<f32, 2560>;

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
fn accumulate_metrics(@builtin(local_invocation_id) lid: vec3<u32>) {
    var s: array<f32, 10>;
    for (var q = 0u; q < SLOTS; q++) {
        s[q] = 0.0;
    }
    for (var row = lid.x; row < p.rows; row += LANES) {
        let l = row_loss[p.row_loss_off + row];
        s[0] += l;
        s[1] += 1.0;
        if (!is_finite_bits(l)) {
            s[9] += 1.0;
        }
        let base = row * p.cols;
        if (p.accuracy == 3u) {
            let class_index = round(targets[p.target_off + row]);
            if (f32(argmax_pred(base)) == class_index) {
                s[2] += 1.0;
            }
            continue;
        }
        s[8] += f32(p.cols);
        var hits = 0.0;
        var best_t = 0u;
        for (var j = 0u; j < p.cols; j++) {
            let x = pred[p.pred_off + base + j];
            let t = targets[p.target_off + base + j];
            let d = x - t;
            s[6] += abs(d);
            s[7] += d * d;
            if (t > targets[p.target_off + base + best_t]) {
                best_t = j;
            }
            if (p.accuracy == 1u) {
                let pp = x > p.threshold;
                let tp = t > 0.5;
                if (select(0.0, 1.0, pp) == t) {
                    hits += 1.0;
                }
                if (pp && tp) {
                    s[3] += 1.0;
                }
                if (pp && !tp) {
                    s[4] += 1.0;
                }
                if (!pp && tp) {
                    s[5] += 1.0;
                }
            }
        }
        if (p.accuracy == 1u) {
            s[2] += hits / f32(p.cols);
        } else if (p.accuracy == 2u && argmax_pred(base) == best_t) {
            s[2] += 1.0;
        }
    }
    for (var q = 0u; q < SLOTS; q++) {
        partial[q * LANES + lid.x] = s[q];
    }
    workgroupBarrier();
    for (var stride = LANES / 2u; stride > 0u; stride >>= 1u) {
        if (lid.x < stride) {
            for (var q = 0u; q < SLOTS; q++) {
                partial[q * LANES + lid.x] += partial[q * LANES + lid.x + stride];
            }
        }
        workgroupBarrier();
    }
    if (lid.x < SLOTS) {
        acc[p.acc_off + lid.x] += partial[lid.x * LANES];
    }
}
