// loss.wgsl: the loss head's kernel: per-row loss wᵢ·ℓᵢ, the gradient of the batch-mean loss
// (optionally times the output layer's activation derivative, so it is dz rather than dy), and
// the batch's metric sums added to the accumulator, in one pass over the rows.
// Shapes: pred, output, z, grad: [rows, cols]; targets: [rows, cols], or [rows, 1] class
// indices for the sparse kinds (target_rows rows instead of rows with LOSS_FLAG_INDEXED);
// weights: [rows] (or [target_rows]); row_loss: [rows]; acc: METRIC_COUNT f32 slots (the
// prelude's METRIC_* constants, `MetricSlot` in src/backend/ops/metrics.rs).
// Bindings: 0 uniform Params; 1 pred (read: what the loss reads, logits when the softmax is
//   fused); 2 aux (read: what the metrics see, the probabilities then; with
//   LOSS_FLAG_DERIVATIVE the output layer's pre-activation z instead, and the metrics read
//   pred, which the host guarantees is then what they see); 3 targets (read); 4 weights
//   (read); 5 indices (read, u32: the epoch's permutation); 6 row_loss (read_write); 7 grad
//   (read_write); 8 acc (read_write). Eight storage bindings: WebGPU's default limit.
// flags: LOSS_FLAG_LOSS computes the loss (else row_loss is read: the metrics alone);
// LOSS_FLAG_GRAD writes grad; LOSS_FLAG_WEIGHTS has weights; LOSS_FLAG_DERIVATIVE multiplies
// grad by act′(z); LOSS_FLAG_METRICS accumulates the metrics; LOSS_FLAG_PARTIAL writes each
// workgroup's sums to acc[g·METRIC_COUNT ..] of a scratch for sum_partials instead;
// LOSS_FLAG_INDEXED reads batch row i's target and weight from stored row
// indices[index_off + i] − row_base of them (target_rows stored rows; a row outside reads as
// a zero target of weight 0), so a shuffled batch needs no gather of its targets.
// kind: the prelude's LOSS_* codes (`Loss::code`): mse, mae, bce, bce from logits, cce, cce
// from logits (softmax fused), sparse cce, sparse cce from logits. Probability forms clip to
// [ε, 1 − ε] with ε = 1e-7 as Keras does (zero gradient where the clip is active), and cce
// first divides each row by its sum. grad = wᵢ·dℓᵢ/dpred / rows (Keras's
// sum_over_batch_size).
// accuracy: ACC_NONE, ACC_BINARY (output > threshold against a 0/1 target, averaged over the
// row's outputs), ACC_CATEGORICAL (argmax against argmax), ACC_SPARSE_CATEGORICAL (argmax
// against the index).
// Workgroup g of 256 invocations takes rows [g·rows_per_group, (g + 1)·rows_per_group), its
// lanes striding over them, and reduces the metric sums in workgroup memory; a single
// workgroup adds them to the accumulator itself (alone, without atomics). The host bounds
// rows_per_group and cols so no invocation loops too long (src/backend/gpu/bounds.rs).
// Dispatch: (groups, 1, 1).

struct Params {
    rows: u32,
    cols: u32,
    kind: u32,
    flags: u32,
    pred_off: u32,
    output_off: u32,
    target_off: u32,
    weight_off: u32,
    z_off: u32,
    row_loss_off: u32,
    grad_off: u32,
    acc_off: u32,
    accuracy: u32,
    threshold: f32,
    act: u32,
    alpha: f32,
    rows_per_group: u32,
    index_off: u32,
    row_base: u32,
    target_rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> aux: array<f32>;
@group(0) @binding(3) var<storage, read> targets: array<f32>;
@group(0) @binding(4) var<storage, read> weights: array<f32>;
@group(0) @binding(5) var<storage, read> indices: array<u32>;
@group(0) @binding(6) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(7) var<storage, read_write> grad: array<f32>;
@group(0) @binding(8) var<storage, read_write> acc: array<f32>;

const EPS: f32 = 1e-7;
const LANES: u32 = 256u;
var<workgroup> partial: array<f32, METRIC_SLOTS_USED * LANES>;

fn sigmoid_of(z: f32) -> f32 {
    if (z >= 0.0) {
        return 1.0 / (1.0 + exp(-z));
    }
    let e = exp(z);
    return e / (1.0 + e);
}

// The stored row of the targets and weights for batch row `row`: itself, or through the
// index. An index below row_base wraps past target_rows, so one comparison rejects both ends.
fn target_row(row: u32) -> u32 {
    if ((p.flags & LOSS_FLAG_INDEXED) == 0u) {
        return row;
    }
    return indices[p.index_off + row] - p.row_base;
}

// Stored target value j of batch row `row` in rows `width` wide (zero for a row outside).
fn stored_target(row: u32, j: u32, width: u32) -> f32 {
    let r = target_row(row);
    if (r >= p.target_rows) {
        return 0.0;
    }
    return targets[p.target_off + r * width + j];
}

// Target of column j in row `row`: stored, or one-hot from the class index for sparse kinds.
fn target_at(row: u32, j: u32) -> f32 {
    if (p.kind == LOSS_SPARSE_CCE || p.kind == LOSS_SPARSE_CCE_LOGITS) {
        let class_index = u32(max(round(stored_target(row, 0u, 1u)), 0.0));
        return select(0.0, 1.0, j == class_index);
    }
    return stored_target(row, j, p.cols);
}

// Element e of what the metrics see: aux, or pred when aux holds z (LOSS_FLAG_DERIVATIVE).
fn output_at(e: u32) -> f32 {
    if ((p.flags & LOSS_FLAG_DERIVATIVE) != 0u) {
        return pred[p.pred_off + e];
    }
    return aux[p.output_off + e];
}

fn put_grad(e: u32, g: f32, scale: f32) {
    if ((p.flags & LOSS_FLAG_GRAD) != 0u) {
        var v = g * scale;
        if ((p.flags & LOSS_FLAG_DERIVATIVE) != 0u) {
            v *= activate_derivative(p.act, p.alpha, aux[p.z_off + e]);
        }
        grad[p.grad_off + e] = v;
    }
}

// The row's weighted loss wᵢ·ℓᵢ; writes the row's gradient.
fn score_row(row: u32) -> f32 {
    var w = 1.0;
    if ((p.flags & LOSS_FLAG_WEIGHTS) != 0u) {
        let r = target_row(row);
        w = 0.0;
        if (r < p.target_rows) {
            w = weights[p.weight_off + r];
        }
    }
    let base = row * p.cols;
    let inv_cols = 1.0 / f32(p.cols);
    // scale folds the sample weight and the batch mean into the gradient.
    let scale = w / f32(p.rows);
    var l = 0.0;
    switch p.kind {
        case LOSS_MSE, LOSS_MAE, LOSS_BCE, LOSS_BCE_LOGITS: {
            for (var j = 0u; j < p.cols; j++) {
                let x = pred[p.pred_off + base + j];
                let t = target_at(row, j);
                var g = 0.0;
                if (p.kind == LOSS_MSE) {
                    let d = x - t;
                    l += d * d;
                    g = 2.0 * d;
                } else if (p.kind == LOSS_MAE) {
                    let d = x - t;
                    l += abs(d);
                    g = sign(d);
                } else if (p.kind == LOSS_BCE) {
                    let c = clamp(x, EPS, 1.0 - EPS);
                    l -= t * log(c) + (1.0 - t) * log(1.0 - c);
                    if (x > EPS && x < 1.0 - EPS) {
                        g = -t / c + (1.0 - t) / (1.0 - c);
                    }
                } else {
                    l += max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
                    g = sigmoid_of(x) - t;
                }
                put_grad(base + j, g * inv_cols, scale);
            }
            l *= inv_cols;
        }
        case LOSS_CCE_LOGITS, LOSS_SPARSE_CCE_LOGITS: {
            // Fused softmax + cross-entropy on logits: ℓ = lse·Σt − Σ t·z, dℓ/dz = softmax·Σt − t.
            var m = pred[p.pred_off + base];
            for (var j = 1u; j < p.cols; j++) {
                m = max(m, pred[p.pred_off + base + j]);
            }
            var sum_exp = 0.0;
            var t_sum = 0.0;
            var tz = 0.0;
            for (var j = 0u; j < p.cols; j++) {
                let x = pred[p.pred_off + base + j];
                let t = target_at(row, j);
                sum_exp += exp(x - m);
                t_sum += t;
                tz += t * x;
            }
            l = (m + log(sum_exp)) * t_sum - tz;
            for (var j = 0u; j < p.cols; j++) {
                let x = pred[p.pred_off + base + j];
                put_grad(base + j, exp(x - m) / sum_exp * t_sum - target_at(row, j), scale);
            }
        }
        default: {
            // LOSS_CCE, LOSS_SPARSE_CCE: probability-form (sparse) cce: q = p / Σp, c = clip(q); ℓ = −Σ t·ln c;
            // g_j = dℓ/dq_j, dℓ/dp_k = (g_k − Σ_j g_j·q_j) / Σp.
            var s = 0.0;
            for (var j = 0u; j < p.cols; j++) {
                s += pred[p.pred_off + base + j];
            }
            var g_dot_q = 0.0;
            for (var j = 0u; j < p.cols; j++) {
                let q = pred[p.pred_off + base + j] / s;
                let t = target_at(row, j);
                let c = clamp(q, EPS, 1.0 - EPS);
                l -= t * log(c);
                if (q > EPS && q < 1.0 - EPS) {
                    g_dot_q += -t / c * q;
                }
            }
            for (var j = 0u; j < p.cols; j++) {
                let q = pred[p.pred_off + base + j] / s;
                let t = target_at(row, j);
                let c = clamp(q, EPS, 1.0 - EPS);
                var g = 0.0;
                if (q > EPS && q < 1.0 - EPS) {
                    g = -t / c;
                }
                put_grad(base + j, (g - g_dot_q) / s, scale);
            }
        }
    }
    return w * l;
}

// NaN and ±inf have an all-ones exponent; checked on the bits because compilers may assume
// floats are finite and fold `x != x` away.
fn is_finite_bits(x: f32) -> bool {
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}

fn argmax_output(base: u32) -> u32 {
    var best = 0u;
    for (var j = 1u; j < p.cols; j++) {
        if (output_at(base + j) > output_at(base + best)) {
            best = j;
        }
    }
    return best;
}

@compute @workgroup_size(256, 1, 1)
fn loss(@builtin(local_invocation_id) lid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let metrics = (p.flags & LOSS_FLAG_METRICS) != 0u;
    var s: array<f32, METRIC_SLOTS_USED>;
    for (var q = 0u; q < METRIC_SLOTS_USED; q++) {
        s[q] = 0.0;
    }
    let first = wid.x * p.rows_per_group;
    let end = min(first + p.rows_per_group, p.rows);
    for (var row = first + lid.x; row < end; row += LANES) {
        var l: f32;
        if ((p.flags & LOSS_FLAG_LOSS) != 0u) {
            l = score_row(row);
            row_loss[p.row_loss_off + row] = l;
        } else {
            l = row_loss[p.row_loss_off + row];
        }
        if (!metrics) {
            continue;
        }
        s[METRIC_LOSS_SUM] += l;
        s[METRIC_SAMPLES] += 1.0;
        if (!is_finite_bits(l)) {
            s[METRIC_NON_FINITE] += 1.0;
        }
        let base = row * p.cols;
        if (p.accuracy == ACC_SPARSE_CATEGORICAL) {
            let class_index = round(stored_target(row, 0u, 1u));
            if (f32(argmax_output(base)) == class_index) {
                s[METRIC_CORRECT] += 1.0;
            }
            continue;
        }
        s[METRIC_VALUES] += f32(p.cols);
        var hits = 0.0;
        var best_t = 0u;
        for (var j = 0u; j < p.cols; j++) {
            let x = output_at(base + j);
            let t = stored_target(row, j, p.cols);
            let d = x - t;
            s[METRIC_ABS_ERR] += abs(d);
            s[METRIC_SQ_ERR] += d * d;
            if (t > stored_target(row, best_t, p.cols)) {
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
        } else if (p.accuracy == ACC_CATEGORICAL && argmax_output(base) == best_t) {
            s[METRIC_CORRECT] += 1.0;
        }
    }
    if (!metrics) {
        return;
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
        if ((p.flags & LOSS_FLAG_PARTIAL) != 0u) {
            acc[p.acc_off + wid.x * METRIC_COUNT + lid.x] = partial[lid.x * LANES];
        } else {
            acc[p.acc_off + lid.x] += partial[lid.x * LANES];
        }
    }
}
