//! Descriptors of the element- and row-wise operations: the activation derivative with the
//! bias gradient, row softmax and its gradient, inverted dropout and its gradient.
//!
//! Shape letters: B rows (the batch), N columns; every tensor is [B, N] except db, [N].

use super::{distinct_storages, expect_len, expect_shape};
use crate::backend::tensor::Tensor;
use crate::nn::Activation;
use crate::{Error, Result};

/// dz = dy ⊙ act′(z) (skipped when `dz` is None, allowed only for linear, where dz = dy), and
/// db = Σ_rows dz when `db` is given.
///
/// ```
/// use wgtrain::backend::{ActivationBackwardOp, Backend, CpuBackend};
/// use wgtrain::nn::Activation;
/// let mut cpu = CpuBackend::new();
/// let dy = cpu.upload(2, 1, &[1., 1.]).unwrap();
/// let z = cpu.upload(2, 1, &[-1., 1.]).unwrap();
/// let (dz, db) = (cpu.zeros(2, 1).unwrap(), cpu.zeros(1, 1).unwrap());
/// cpu.activation_backward(&ActivationBackwardOp::new(dy, z, Activation::Relu).dz(dz).db(db)).unwrap();
/// assert_eq!((cpu.read(dz).unwrap(), cpu.read(db).unwrap()), (vec![0., 1.], vec![1.]));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ActivationBackwardOp {
    /// Gradient with respect to the activation's output, [B, N].
    pub dy: Tensor,
    /// The pre-activation values, [B, N] (not read for linear).
    pub z: Tensor,
    /// The activation (element-wise: softmax has `softmax_backward`).
    pub activation: Activation,
    /// Receives the gradient with respect to z, [B, N].
    pub dz: Option<Tensor>,
    /// Receives the bias gradient Σ_rows dz, `[N]` (any shape with N elements).
    pub db: Option<Tensor>,
}

impl ActivationBackwardOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "activation_backward";

    /// The derivative of `activation` at `z` applied to `dy`; outputs are set with
    /// [`dz`](Self::dz) and [`db`](Self::db).
    pub fn new(dy: Tensor, z: Tensor, activation: Activation) -> Self {
        ActivationBackwardOp {
            dy,
            z,
            activation,
            dz: None,
            db: None,
        }
    }

    /// The bias gradient alone, db = Σ_rows dy (a linear layer, where dz = dy).
    pub fn bias_grad(dy: Tensor, db: Tensor) -> Self {
        Self::new(dy, dy, Activation::Linear).db(db)
    }

    /// Sets (or clears, with None) the dz output.
    pub fn dz(mut self, dz: impl Into<Option<Tensor>>) -> Self {
        self.dz = dz.into();
        self
    }

    /// Sets (or clears, with None) the db output.
    pub fn db(mut self, db: impl Into<Option<Tensor>>) -> Self {
        self.db = db.into();
        self
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [Some(self.dy), Some(self.z), self.dz, self.db].into_iter().flatten()
    }

    /// Checks the activation, the shapes and the storages.
    pub fn check(&self) -> Result<()> {
        const OP: &str = ActivationBackwardOp::NAME;
        let (dy, activation) = (&self.dy, self.activation);
        if !activation.is_elementwise() {
            return Err(Error::InvalidArgument {
                what: "activation_backward",
                detail: "softmax is row-wise: use `softmax_backward` (or fuse it with cross-entropy)".into(),
            });
        }
        expect_shape(OP, "z", &self.z, dy.rows, dy.cols)?;
        if let Some(dz) = &self.dz {
            expect_shape(OP, "dz", dz, dy.rows, dy.cols)?;
        } else if activation != Activation::Linear {
            return Err(Error::InvalidArgument {
                what: "activation_backward",
                detail: format!("{} needs a dz output; only linear can skip it", activation.name()),
            });
        }
        if let Some(db) = &self.db {
            expect_len(OP, "db", db, dy.cols, "one per column of dy")?;
        }
        // z is only read for a non-linear activation.
        let z = (activation != Activation::Linear).then_some(self.z);
        distinct_storages(OP, &[Some(self.dy), z], &[self.dz, self.db])
    }
}

/// Row-wise softmax, numerically stable: out[i, j] = e^(z_ij − max_i) / Σ_k e^(z_ik − max_i).
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, SoftmaxOp};
/// let mut cpu = CpuBackend::new();
/// let z = cpu.upload(1, 2, &[3., 3.]).unwrap();
/// let y = cpu.zeros(1, 2).unwrap();
/// cpu.softmax(&SoftmaxOp::new(z, y)).unwrap();
/// assert_eq!(cpu.read(y).unwrap(), vec![0.5, 0.5]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxOp {
    /// Logits, [B, N].
    pub z: Tensor,
    /// Probabilities, [B, N].
    pub out: Tensor,
}

impl SoftmaxOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "softmax";

    /// out = softmax(z) row by row.
    pub fn new(z: Tensor, out: Tensor) -> Self {
        SoftmaxOp { z, out }
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [self.z, self.out].into_iter()
    }

    /// Checks the shapes and the storages.
    pub fn check(&self) -> Result<()> {
        expect_shape(Self::NAME, "out", &self.out, self.z.rows, self.z.cols)?;
        distinct_storages(Self::NAME, &[Some(self.z)], &[Some(self.out)])
    }
}

/// Gradient through a row softmax: dz = y ⊙ (dy − Σ_j dy_j·y_j).
#[derive(Clone, Copy, Debug)]
pub struct SoftmaxBackwardOp {
    /// The softmax output, [B, N].
    pub y: Tensor,
    /// Gradient with respect to y, [B, N].
    pub dy: Tensor,
    /// Receives the gradient with respect to the logits, [B, N].
    pub dz: Tensor,
}

impl SoftmaxBackwardOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "softmax_backward";

    /// dz from the softmax output y and the gradient dy.
    pub fn new(y: Tensor, dy: Tensor, dz: Tensor) -> Self {
        SoftmaxBackwardOp { y, dy, dz }
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [self.y, self.dy, self.dz].into_iter()
    }

    /// Checks the shapes and the storages.
    pub fn check(&self) -> Result<()> {
        let (rows, cols) = (self.y.rows, self.y.cols);
        expect_shape(Self::NAME, "dy", &self.dy, rows, cols)?;
        expect_shape(Self::NAME, "dz", &self.dz, rows, cols)?;
        distinct_storages(Self::NAME, &[Some(self.y), Some(self.dy)], &[Some(self.dz)])
    }
}

/// Checks a dropout rate.
fn check_rate(rate: f32) -> Result<()> {
    if !(0.0..1.0).contains(&rate) {
        return Err(Error::InvalidArgument {
            what: "dropout rate",
            detail: format!("must be in [0, 1), got {rate}"),
        });
    }
    Ok(())
}

/// Inverted dropout at training time: draws the keep-mask of (seed, step) into `mask` (1 kept,
/// 0 dropped; see [`crate::nn::dropout`]) and writes out = x·mask / (1 − rate).
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, DropoutOp};
/// let mut cpu = CpuBackend::new();
/// let x = cpu.upload(1, 4, &[1.; 4]).unwrap();
/// let (mask, out) = (cpu.zeros(1, 4).unwrap(), cpu.zeros(1, 4).unwrap());
/// cpu.dropout(&DropoutOp::new(x, mask, out, 0.5).seed(7, 1)).unwrap();
/// for (m, o) in cpu.read(mask).unwrap().into_iter().zip(cpu.read(out).unwrap()) {
///     assert_eq!(o, 2.0 * m);
/// }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct DropoutOp {
    /// Input, [B, N].
    pub x: Tensor,
    /// Receives the keep-mask, [B, N].
    pub mask: Tensor,
    /// Result, [B, N].
    pub out: Tensor,
    /// Probability of dropping a value, in [0, 1).
    pub rate: f32,
    /// Seed of the mask.
    pub seed: u32,
    /// Training step the mask is drawn for.
    pub step: u32,
}

impl DropoutOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "dropout";

    /// Dropout of `x` at `rate`, with the mask of seed 0, step 0 until [`seed`](Self::seed).
    pub fn new(x: Tensor, mask: Tensor, out: Tensor, rate: f32) -> Self {
        DropoutOp {
            x,
            mask,
            out,
            rate,
            seed: 0,
            step: 0,
        }
    }

    /// Draws the mask of (`seed`, `step`).
    pub fn seed(mut self, seed: u32, step: u32) -> Self {
        self.seed = seed;
        self.step = step;
        self
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [self.x, self.mask, self.out].into_iter()
    }

    /// Checks the shapes, the storages (mask and out are both written) and the rate.
    pub fn check(&self) -> Result<()> {
        let (rows, cols) = (self.x.rows, self.x.cols);
        expect_shape(Self::NAME, "mask", &self.mask, rows, cols)?;
        expect_shape(Self::NAME, "out", &self.out, rows, cols)?;
        distinct_storages(Self::NAME, &[Some(self.x)], &[Some(self.mask), Some(self.out)])?;
        check_rate(self.rate)
    }
}

/// Gradient of dropout with the stored mask: dx = dy·mask / (1 − rate).
#[derive(Clone, Copy, Debug)]
pub struct DropoutBackwardOp {
    /// Gradient with respect to dropout's output, [B, N].
    pub dy: Tensor,
    /// The mask the forward pass drew, [B, N].
    pub mask: Tensor,
    /// Receives the gradient with respect to dropout's input, [B, N].
    pub dx: Tensor,
    /// The forward pass's rate, in [0, 1).
    pub rate: f32,
}

impl DropoutBackwardOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "dropout_backward";

    /// dx from dy and the forward pass's mask and rate.
    pub fn new(dy: Tensor, mask: Tensor, dx: Tensor, rate: f32) -> Self {
        DropoutBackwardOp { dy, mask, dx, rate }
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [self.dy, self.mask, self.dx].into_iter()
    }

    /// Checks the shapes, the storages and the rate.
    pub fn check(&self) -> Result<()> {
        let (rows, cols) = (self.dy.rows, self.dy.cols);
        expect_shape(Self::NAME, "mask", &self.mask, rows, cols)?;
        expect_shape(Self::NAME, "dx", &self.dx, rows, cols)?;
        distinct_storages(Self::NAME, &[Some(self.dy), Some(self.mask)], &[Some(self.dx)])?;
        check_rate(self.rate)
    }
}
