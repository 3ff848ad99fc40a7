//! The fused kernel's per-row WGSL functions: `score_row` (one row's metrics, loss and the
//! gradient of the batch-mean loss, as `loss.wgsl` computes them) and the dropout keep-mask of
//! `dropout.wgsl`. The per-parameter update is `optimizer_step.wgsl`'s own `update`, which
//! `wgsl.rs` takes from that file. `wgsl.rs` lays out the step around them.

use super::design::Design;
use super::wgsl::f;
use crate::nn::Accuracy;

/// Per-row loss, gradient and metrics (what loss.wgsl computes for one row).
pub(crate) fn score_row(design: &Design, pred: usize, grad: usize) -> String {
    let c = design.outputs;
    let tw = design.target_width;
    let (acc, threshold) = match design.accuracy {
        Accuracy::Binary { threshold } => (design.accuracy.code(), threshold),
        a => (a.code(), 0.5),
    };
    format!(
        r#"
const C: u32 = {c}u;
const TW: u32 = {tw}u;
const LOSS_KIND: u32 = {loss}u;
const ACCURACY: u32 = {acc}u;
const THRESHOLD: f32 = {threshold};
const SOFTMAX_IN_HEAD: bool = {softmax};
const EPS: f32 = 1e-7;

fn is_finite_bits(x: f32) -> bool {{
    return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u;
}}

fn target_at(src: u32, j: u32) -> f32 {{
    if (LOSS_KIND == LOSS_SPARSE_CCE || LOSS_KIND == LOSS_SPARSE_CCE_LOGITS) {{
        let class_index = u32(max(round(data_y[src]), 0.0));
        return select(0.0, 1.0, j == class_index);
    }}
    return data_y[src * TW + j];
}}

// The value metrics see: the probabilities when the head applies the softmax.
fn output_at(base: u32, j: u32, m: f32, sum_exp: f32) -> f32 {{
    if (SOFTMAX_IN_HEAD) {{
        return exp(mem[base + j] - m) / sum_exp;
    }}
    return mem[base + j];
}}

fn argmax_output(base: u32) -> u32 {{
    var best = 0u;
    for (var j = 1u; j < C; j++) {{
        if (mem[base + j] > mem[base + best]) {{
            best = j;
        }}
    }}
    return best;
}}

// Adds row b's output metrics (the loss's are added by score_row).
fn add_output_metrics(b: u32, src: u32) {{
    let base = {pred}u + b * C;
    if (ACCURACY == ACC_SPARSE_CATEGORICAL) {{
        let class_index = round(data_y[src]);
        if (f32(argmax_output(base)) == class_index) {{
            sums[METRIC_CORRECT] += 1.0;
        }}
        return;
    }}
    var m = 0.0;
    var sum_exp = 1.0;
    if (SOFTMAX_IN_HEAD) {{
        m = mem[base];
        for (var j = 1u; j < C; j++) {{
            m = max(m, mem[base + j]);
        }}
        sum_exp = 0.0;
        for (var j = 0u; j < C; j++) {{
            sum_exp += exp(mem[base + j] - m);
        }}
    }}
    sums[METRIC_VALUES] += f32(C);
    var hits = 0.0;
    var best_t = 0u;
    for (var j = 0u; j < C; j++) {{
        let x = output_at(base, j, m, sum_exp);
        let t = data_y[src * TW + j];
        let d = x - t;
        sums[METRIC_ABS_ERR] += abs(d);
        sums[METRIC_SQ_ERR] += d * d;
        if (t > data_y[src * TW + best_t]) {{
            best_t = j;
        }}
        if (ACCURACY == ACC_BINARY) {{
            let pp = x > THRESHOLD;
            let tp = t > 0.5;
            if (select(0.0, 1.0, pp) == t) {{
                hits += 1.0;
            }}
            if (pp && tp) {{
                sums[METRIC_TRUE_POS] += 1.0;
            }}
            if (pp && !tp) {{
                sums[METRIC_FALSE_POS] += 1.0;
            }}
            if (!pp && tp) {{
                sums[METRIC_FALSE_NEG] += 1.0;
            }}
        }}
    }}
    if (ACCURACY == ACC_BINARY) {{
        sums[METRIC_CORRECT] += hits / f32(C);
    }} else if (ACCURACY == ACC_CATEGORICAL && argmax_output(base) == best_t) {{
        sums[METRIC_CORRECT] += 1.0;
    }}
}}

// Row b's metrics, then its loss (weighted) and the gradient of the batch-mean loss written
// over the prediction (loss.wgsl; every value of the row is read before its gradient is
// written), then the loss's sums.
fn score_row(b: u32, src: u32, rows: u32) {{
    add_output_metrics(b, src);
    let base = {pred}u + b * C;
    let out = {grad}u + b * C;
    var w = 1.0;
    if (run.weighted != 0u) {{
        w = data_w[src];
    }}
    let inv_cols = 1.0 / f32(C);
    let scale = w / f32(rows);
    var l = 0.0;
    switch LOSS_KIND {{
        case LOSS_MSE, LOSS_MAE, LOSS_BCE, LOSS_BCE_LOGITS: {{
            for (var j = 0u; j < C; j++) {{
                let x = mem[base + j];
                let t = target_at(src, j);
                var g = 0.0;
                if (LOSS_KIND == LOSS_MSE) {{
                    let d = x - t;
                    l += d * d;
                    g = 2.0 * d;
                }} else if (LOSS_KIND == LOSS_MAE) {{
                    let d = x - t;
                    l += abs(d);
                    g = sign(d);
                }} else if (LOSS_KIND == LOSS_BCE) {{
                    let c = clamp(x, EPS, 1.0 - EPS);
                    l -= t * log(c) + (1.0 - t) * log(1.0 - c);
                    if (x > EPS && x < 1.0 - EPS) {{
                        g = -t / c + (1.0 - t) / (1.0 - c);
                    }}
                }} else {{
                    l += max(x, 0.0) - x * t + log(1.0 + exp(-abs(x)));
                    g = sigmoid_stable(x) - t;
                }}
                mem[out + j] = g * inv_cols * scale;
            }}
            l *= inv_cols;
        }}
        case LOSS_CCE_LOGITS, LOSS_SPARSE_CCE_LOGITS: {{
            var m = mem[base];
            for (var j = 1u; j < C; j++) {{
                m = max(m, mem[base + j]);
            }}
            var sum_exp = 0.0;
            var t_sum = 0.0;
            var tz = 0.0;
            for (var j = 0u; j < C; j++) {{
                let x = mem[base + j];
                let t = target_at(src, j);
                sum_exp += exp(x - m);
                t_sum += t;
                tz += t * x;
            }}
            l = (m + log(sum_exp)) * t_sum - tz;
            for (var j = 0u; j < C; j++) {{
                let x = mem[base + j];
                mem[out + j] = (exp(x - m) / sum_exp * t_sum - target_at(src, j)) * scale;
            }}
        }}
        default: {{
            var s = 0.0;
            for (var j = 0u; j < C; j++) {{
                s += mem[base + j];
            }}
            var g_dot_q = 0.0;
            for (var j = 0u; j < C; j++) {{
                let q = mem[base + j] / s;
                let t = target_at(src, j);
                let c = clamp(q, EPS, 1.0 - EPS);
                l -= t * log(c);
                if (q > EPS && q < 1.0 - EPS) {{
                    g_dot_q += -t / c * q;
                }}
            }}
            for (var j = 0u; j < C; j++) {{
                let q = mem[base + j] / s;
                let t = target_at(src, j);
                let c = clamp(q, EPS, 1.0 - EPS);
                var g = 0.0;
                if (q > EPS && q < 1.0 - EPS) {{
                    g = -t / c;
                }}
                mem[out + j] = (g - g_dot_q) / s * scale;
            }}
        }}
    }}
    let wl = w * l;
    sums[METRIC_LOSS_SUM] += wl;
    sums[METRIC_SAMPLES] += 1.0;
    if (!is_finite_bits(wl)) {{
        sums[METRIC_NON_FINITE] += 1.0;
    }}
}}
"#,
        loss = design.loss.code(),
        threshold = f(threshold),
        softmax = design.softmax_fused,
    )
}

/// dropout.wgsl's keep-mask, for the fused kernel's dropout stages.
pub(crate) const DROPOUT_MASK: &str = r#"
fn lowbias32(v: u32) -> u32 {
    var h = v;
    h ^= h >> 16u;
    h *= 0x7feb352du;
    h ^= h >> 15u;
    h *= 0x846ca68bu;
    h ^= h >> 16u;
    return h;
}

// dropout.wgsl's keep-mask of element i at step t: 1 kept, 0 dropped.
fn keep(seed: u32, t: u32, i: u32, rate: f32) -> f32 {
    let h = lowbias32(i ^ lowbias32(t ^ lowbias32(seed)));
    let u = f32(h >> 8u) / 16777216.0;
    return select(0.0, 1.0, u >= rate);
}
"#;
