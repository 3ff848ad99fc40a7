//! Operation descriptions shared by both backends, with the shape checks they have in common,
//! so that both backends reject exactly the same mistakes with the same messages.
//!
//! Shape letters: A is [M, K] (stored [K, M] when `trans_a`), B is [K, N] (stored [N, K] when
//! `trans_b`), out and z are [M, N], bias is [N].

use super::tensor::Tensor;
use crate::nn::{Accuracy, Activation, Loss};
use crate::{Error, Result};

/// out = act(op(A)·op(B) + bias); z (optional) receives the pre-activation op(A)·op(B) + bias.
#[derive(Clone, Copy, Debug)]
pub struct MatmulOp {
    /// Left operand.
    pub a: Tensor,
    /// Use Aᵀ (A stored [K, M]).
    pub trans_a: bool,
    /// Right operand.
    pub b: Tensor,
    /// Use Bᵀ (B stored [N, K]).
    pub trans_b: bool,
    /// Bias added to every row, [N] (any shape with N elements).
    pub bias: Option<Tensor>,
    /// Activation applied in the epilogue.
    pub activation: Activation,
    /// Where to keep the pre-activation values, [M, N].
    pub z: Option<Tensor>,
    /// Result, [M, N].
    pub out: Tensor,
}

impl MatmulOp {
    /// A plain product out = A·B.
    pub fn new(a: Tensor, b: Tensor, out: Tensor) -> Self {
        MatmulOp {
            a,
            trans_a: false,
            b,
            trans_b: false,
            bias: None,
            activation: Activation::Linear,
            z: None,
            out,
        }
    }

    /// Sets the transpose flags.
    pub fn transposed(mut self, trans_a: bool, trans_b: bool) -> Self {
        self.trans_a = trans_a;
        self.trans_b = trans_b;
        self
    }

    /// Adds the fused bias + activation epilogue.
    pub fn epilogue(mut self, bias: Option<Tensor>, activation: Activation, z: Option<Tensor>) -> Self {
        self.bias = bias;
        self.activation = activation;
        self.z = z;
        self
    }

    /// Checks the shapes and returns (M, K, N).
    pub fn dims(&self) -> Result<(usize, usize, usize)> {
        let (m, k) = if self.trans_a {
            (self.a.cols, self.a.rows)
        } else {
            (self.a.rows, self.a.cols)
        };
        let (k2, n) = if self.trans_b {
            (self.b.cols, self.b.rows)
        } else {
            (self.b.rows, self.b.cols)
        };
        let shape_err = |detail: String| Err(Error::Shape { op: "matmul", detail });
        if k != k2 {
            return shape_err(format!(
                "inner dimensions differ: op(A) is [{m}, {k}] and op(B) is [{k2}, {n}] (A {}, B {})",
                describe(&self.a, self.trans_a),
                describe(&self.b, self.trans_b)
            ));
        }
        if (self.out.rows, self.out.cols) != (m, n) {
            return shape_err(format!(
                "out is [{}, {}] but the product is [{m}, {n}]",
                self.out.rows, self.out.cols
            ));
        }
        if let Some(z) = self.z
            && (z.rows, z.cols) != (m, n)
        {
            return shape_err(format!("z is [{}, {}] but the product is [{m}, {n}]", z.rows, z.cols));
        }
        if let Some(bias) = self.bias
            && bias.len() != n
        {
            return shape_err(format!(
                "bias has {} elements but the product has {n} columns",
                bias.len()
            ));
        }
        if !self.activation.is_elementwise() {
            return Err(Error::InvalidArgument {
                what: "matmul activation",
                detail: "softmax is row-wise: run the product linear, then `softmax`".into(),
            });
        }
        let mut inputs = vec![self.a, self.b];
        inputs.extend(self.bias);
        let mut outputs = vec![self.out];
        outputs.extend(self.z);
        distinct_storages("matmul", &inputs, &outputs)?;
        Ok((m, k, n))
    }
}

fn describe(t: &Tensor, trans: bool) -> String {
    format!("[{}, {}]{}", t.rows, t.cols, if trans { " transposed" } else { "" })
}

/// An output may not share storage with any other operand: the GPU cannot bind one buffer as
/// both input and output of a dispatch, and the CPU backend follows the same rule. Inputs may
/// share storage with each other (a kernel and its bias in one parameter buffer).
pub fn distinct_storages(op: &'static str, inputs: &[Tensor], outputs: &[Tensor]) -> Result<()> {
    for (i, out) in outputs.iter().enumerate() {
        let clash = inputs.iter().chain(&outputs[..i]).any(|t| t.storage == out.storage);
        if clash {
            return Err(Error::InvalidArgument {
                what: "operands",
                detail: format!(
                    "{op}: an output shares storage {} with another operand; use separate tensors",
                    out.storage
                ),
            });
        }
    }
    Ok(())
}

/// Checks that `t` is [rows, cols].
pub fn expect_shape(op: &'static str, name: &str, t: &Tensor, rows: usize, cols: usize) -> Result<()> {
    if (t.rows, t.cols) != (rows, cols) {
        return Err(Error::Shape {
            op,
            detail: format!("{name} is [{}, {}] but [{rows}, {cols}] is needed", t.rows, t.cols),
        });
    }
    Ok(())
}

/// Checks the operands of `activation_backward`.
pub fn check_activation_backward(
    dy: &Tensor,
    z: &Tensor,
    activation: Activation,
    dz: Option<&Tensor>,
    db: Option<&Tensor>,
) -> Result<()> {
    const OP: &str = "activation_backward";
    if !activation.is_elementwise() {
        return Err(Error::InvalidArgument {
            what: "activation_backward",
            detail: "softmax is row-wise: use `softmax_backward` (or fuse it with cross-entropy)".into(),
        });
    }
    expect_shape(OP, "z", z, dy.rows, dy.cols)?;
    if let Some(dz) = dz {
        expect_shape(OP, "dz", dz, dy.rows, dy.cols)?;
    } else if activation != Activation::Linear {
        return Err(Error::InvalidArgument {
            what: "activation_backward",
            detail: format!("{} needs a dz output; only linear can skip it", activation.name()),
        });
    }
    if let Some(db) = db
        && db.len() != dy.cols
    {
        return Err(Error::Shape {
            op: OP,
            detail: format!("db has {} elements, dy has {} columns", db.len(), dy.cols),
        });
    }
    let mut inputs = vec![*dy];
    if activation != Activation::Linear {
        inputs.push(*z);
    }
    let outputs: Vec<Tensor> = dz.into_iter().chain(db).copied().collect();
    distinct_storages(OP, &inputs, &outputs)
}

/// A loss evaluation: per-row losses and (optionally) the gradient of the batch-mean loss.
#[derive(Clone, Copy, Debug)]
pub struct LossOp {
    /// The loss.
    pub loss: Loss,
    /// Predictions (probabilities or logits), [B, C].
    pub pred: Tensor,
    /// Targets: [B, C], or [B, 1] class indices for sparse cross-entropy.
    pub target: Tensor,
    /// Optional per-row sample weights, [B] (any shape with B elements).
    pub weights: Option<Tensor>,
    /// Receives wᵢ·ℓᵢ per row, [B] (any shape with B elements).
    pub row_loss: Tensor,
    /// Receives d(mean loss)/d pred, [B, C].
    pub grad: Option<Tensor>,
}

impl LossOp {
    /// Checks the shapes.
    pub fn check(&self) -> Result<()> {
        const OP: &str = "loss";
        let (b, c) = (self.pred.rows, self.pred.cols);
        if b == 0 || c == 0 {
            return Err(Error::Shape {
                op: OP,
                detail: format!("pred is [{b}, {c}]: empty"),
            });
        }
        let target_cols = if self.loss.sparse_targets() { 1 } else { c };
        expect_shape(OP, "target", &self.target, b, target_cols)?;
        if self.row_loss.len() != b {
            return Err(Error::Shape {
                op: OP,
                detail: format!("row_loss has {} elements for {b} rows", self.row_loss.len()),
            });
        }
        if let Some(w) = self.weights
            && w.len() != b
        {
            return Err(Error::Shape {
                op: OP,
                detail: format!("weights have {} elements for {b} rows", w.len()),
            });
        }
        if let Some(g) = self.grad {
            expect_shape(OP, "grad", &g, b, c)?;
        }
        let mut inputs = vec![self.pred, self.target];
        inputs.extend(self.weights);
        let mut outputs = vec![self.row_loss];
        outputs.extend(self.grad);
        distinct_storages(OP, &inputs, &outputs)
    }
}

/// Slots of the metric accumulator written by `accumulate_metrics` (f32 each).
pub mod metric_slot {
    /// Σ wᵢ·ℓᵢ over the rows seen.
    pub const LOSS_SUM: usize = 0;
    /// Number of rows seen.
    pub const SAMPLES: usize = 1;
    /// Σ per-row accuracy (a row's mean over its outputs for binary accuracy).
    pub const CORRECT: usize = 2;
    /// Binary: outputs predicted positive that are positive.
    pub const TRUE_POS: usize = 3;
    /// Binary: outputs predicted positive that are negative.
    pub const FALSE_POS: usize = 4;
    /// Binary: outputs predicted negative that are positive.
    pub const FALSE_NEG: usize = 5;
    /// Σ |pred − target| over all outputs (not for sparse targets).
    pub const ABS_ERR: usize = 6;
    /// Σ (pred − target)² over all outputs (not for sparse targets).
    pub const SQ_ERR: usize = 7;
    /// Number of outputs seen (rows × cols).
    pub const VALUES: usize = 8;
    /// Number of rows whose loss was NaN or infinite.
    pub const NON_FINITE: usize = 9;
    /// Length of the accumulator.
    pub const COUNT: usize = 12;
}

/// Accumulates one batch's loss and metrics into an accumulator of `metric_slot::COUNT`.
#[derive(Clone, Copy, Debug)]
pub struct MetricsOp {
    /// Accuracy to count, if the task has one.
    pub accuracy: Option<Accuracy>,
    /// Predictions, [B, C].
    pub pred: Tensor,
    /// Targets, [B, C] or [B, 1] for sparse.
    pub target: Tensor,
    /// Per-row losses from the loss op, [B].
    pub row_loss: Tensor,
    /// The accumulator, `metric_slot::COUNT` elements, added to (not overwritten).
    pub acc: Tensor,
}

impl MetricsOp {
    /// Checks the shapes.
    pub fn check(&self) -> Result<()> {
        const OP: &str = "accumulate_metrics";
        let (b, c) = (self.pred.rows, self.pred.cols);
        let sparse = self.accuracy == Some(Accuracy::SparseCategorical);
        expect_shape(OP, "target", &self.target, b, if sparse { 1 } else { c })?;
        if self.row_loss.len() != b {
            return Err(Error::Shape {
                op: OP,
                detail: format!("row_loss has {} elements for {b} rows", self.row_loss.len()),
            });
        }
        if self.acc.len() != metric_slot::COUNT {
            return Err(Error::Shape {
                op: OP,
                detail: format!(
                    "the accumulator has {} elements, {} are needed",
                    self.acc.len(),
                    metric_slot::COUNT
                ),
            });
        }
        distinct_storages(OP, &[self.pred, self.target, self.row_loss], &[self.acc])
    }
}
