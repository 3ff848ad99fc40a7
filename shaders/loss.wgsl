// loss.wgsl: per-row loss wᵢ·ℓᵢ and the gradient of the batch-mean loss, in one pass.
// Shapes: pred, grad: [rows, cols]; targets: [rows, cols], or [rows, 1] class_index indices for the
// sparse kinds; weights, row_loss: [rows]. Element offsets come in the uniform.
// Bindings: 0 uniform Params; 1 pred (read); 2 targets (read); 3 weights (read);
//   4 row_loss (read_write); 5 grad (read_write).
// kind: the prelude's LOSS_* codes (`Loss::code`): mse, mae, bce, bce from logits, cce, cce
// from logits (softmax fused), sparse cce, sparse cce from logits. Probability forms clip to
// [ε, 1 − ε] with ε = 1e-7 as Keras does (zero gradient where the clip is active), and cce
// first divides each row by its sum. grad = wᵢ·dℓᵢ/dpred / rows (Keras's
// sum_over_batch_size). flags: LOSS_FLAG_WEIGHTS has weights, LOSS_FLAG_GRAD write grad.
// One invocation per row. Dispatch: 2-D over ceil(rows / 64) groups (see softmax.wgsl).

struct Params {
    rows: u32,
    cols: u32,
    kind: u32,
    flags: u32,
    pred_off: u32,
    target_off: u32,
    weight_off: u32,
    row_loss_off: u32,
    grad_off: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> pred: array<f32>;
@group(0) @binding(2) var<storage, read> targets: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read_write> row_loss: array<f32>;
@group(0) @binding(5) var<storage, read_write> grad: array<f32>;

const EPS: f32 = 1e-7;

fn sigmoid_of(z: f32) -> f32 {
    if (z >= 0.0) {
        return 1.0 / (1.0 + exp(-z));
    }
    let e = exp(z);
    return e / (1.0 + e);
}

// Target of column j in row `row`: stored, or one-hot from the class_index index for sparse kinds.
fn target_at(row: u32, j: u32) -> f32 {
    if (p.kind == LOSS_SPARSE_CCE || p.kind == LOSS_SPARSE_CCE_LOGITS) {
        let class_index = u32(max(round(targets[p.target_off + row]), 0.0));
        return select(0.0, 1.0, j == class_index);
    }
    return targets[p.target_off + row * p.cols + j];
}

fn put_grad(e: u32, g: f32, scale: f32) {
    if ((p.flags & LOSS_FLAG_GRAD) != 0u) {
        grad[p.grad_off + e] = g * scale;
    }
}

@compute @workgroup_size(64, 1, 1)
fn loss(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
    let row = gid.y * groups.x * 64u + gid.x;
    if (row >= p.rows) {
        return;
    }
    var w = 1.0;
    if ((p.flags & LOSS_FLAG_WEIGHTS) != 0u) {
        w = weights[p.weight_off + row];
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
    row_loss[p.row_loss_off + row] = w * l;
}
