//! The matrix product with its fused epilogue: out = act(op(A)·op(B) + bias).
//!
//! Shape letters: A is [M, K] (stored [K, M] when `trans_a`), B is [K, N] (stored [N, K] when
//! `trans_b`), out and z are [M, N], bias is [N]. With `ones_row`, op(A) gains a last row of
//! ones, so out (and z) are [M + 1, N] and out's last row is the column sums of op(B): a
//! layer's bias gradient db = Σ_rows dz computed with its weight gradient, [dW; db] =
//! [x | 1]ᵀ·dz, into the kernel and the bias that follow each other in the flat buffer.
//!
//! Two options serve the layered executor's step: A's stored rows read through an index
//! ([`MatmulOp::a_rows_through`]: the first layer reads the shuffled batch straight from the
//! resident data, x·W for the forward pass and xᵀ·dz, where the stored rows are K, for dW),
//! and a derivative epilogue ([`MatmulOp::derivative`]: dz = (dy·Wᵀ) ⊙ act′(z) of the layer
//! before, so no separate activation-backward pass).

use super::{IndexedRows, distinct_storages, expect_shape};
use crate::backend::tensor::Tensor;
use crate::nn::Activation;
use crate::{Error, Result};

/// out = act(op(A)·op(B) + bias); z (optional) receives the pre-activation op(A)·op(B) + bias.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, MatmulOp};
/// use wgtrain::nn::Activation;
/// let mut cpu = CpuBackend::new();
/// let x = cpu.upload(1, 2, &[1., -2.]).unwrap();
/// let w = cpu.upload(2, 1, &[1., 1.]).unwrap();
/// let (z, y) = (cpu.zeros(1, 1).unwrap(), cpu.zeros(1, 1).unwrap());
/// cpu.matmul(&MatmulOp::new(x, w, y).epilogue(None, Activation::Relu, Some(z))).unwrap();
/// assert_eq!((cpu.read(z).unwrap(), cpu.read(y).unwrap()), (vec![-1.], vec![0.]));
/// ```
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
    /// Bias added to every row, `[N]` (any shape with N elements).
    pub bias: Option<Tensor>,
    /// Activation applied in the epilogue.
    pub activation: Activation,
    /// Where to keep the pre-activation values, [M, N] ([M + 1, N] with `ones_row`).
    pub z: Option<Tensor>,
    /// Result, [M, N] ([M + 1, N] with `ones_row`).
    pub out: Tensor,
    /// op(A) gains a last row of ones (see the module's header).
    pub ones_row: bool,
    /// A's stored rows are read through an index: A is then the tensor they come from (the
    /// resident data chunk) and the stored A is [`IndexedRows::rows`] × A's columns.
    pub a_index: Option<IndexedRows>,
    /// The derivative epilogue: out = (op(A)·op(B)) ⊙ act′(z) with z [M, N] read (no bias,
    /// activation, z output or ones row with it).
    pub derivative: Option<(Activation, Tensor)>,
}

/// The dimensions of a checked product: op(A) is [m, k], op(B) is [k, n] (the result has
/// one more row than m with [`MatmulOp::ones_row`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MatmulDims {
    /// Rows of op(A) and of the result.
    pub m: usize,
    /// The inner dimension.
    pub k: usize,
    /// Columns of op(B) and of the result.
    pub n: usize,
}

impl MatmulOp {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "matmul";

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
            ones_row: false,
            a_index: None,
            derivative: None,
        }
    }

    /// Reads A's stored rows through `rows` (see [`IndexedRows`]): op(A)'s rows when A is not
    /// transposed, the inner dimension K when it is.
    pub fn a_rows_through(mut self, rows: impl Into<Option<IndexedRows>>) -> Self {
        self.a_index = rows.into();
        self
    }

    /// Multiplies the product by `activation`′(z) elementwise (a layer's dz from the gradient
    /// of its output), or clears that with None.
    ///
    /// ```
    /// use wgtrain::backend::{Backend, CpuBackend, MatmulOp};
    /// use wgtrain::nn::Activation;
    /// let mut cpu = CpuBackend::new();
    /// let dy = cpu.upload(1, 1, &[2.]).unwrap();
    /// let w = cpu.upload(2, 1, &[1., 3.]).unwrap(); // dx = dy·Wᵀ = [2, 6]
    /// let z = cpu.upload(1, 2, &[-1., 1.]).unwrap();
    /// let dz = cpu.zeros(1, 2).unwrap();
    /// let op = MatmulOp::new(dy, w, dz).transposed(false, true).derivative((Activation::Relu, z));
    /// cpu.matmul(&op).unwrap();
    /// assert_eq!(cpu.read(dz).unwrap(), vec![0., 6.]);
    /// ```
    pub fn derivative(mut self, derivative: impl Into<Option<(Activation, Tensor)>>) -> Self {
        self.derivative = derivative.into();
        self
    }

    /// A's stored shape as the product reads it: the index's rows when A is read through one.
    pub fn a_stored(&self) -> (usize, usize) {
        match self.a_index {
            Some(index) => (index.rows, self.a.cols),
            None => (self.a.rows, self.a.cols),
        }
    }

    /// Appends a row of ones to op(A): the result's last row is the column sums of op(B).
    ///
    /// ```
    /// use wgtrain::backend::{Backend, CpuBackend, MatmulOp};
    /// let mut cpu = CpuBackend::new();
    /// let x = cpu.upload(2, 1, &[1., 2.]).unwrap(); // xᵀ is [1, 2]
    /// let dz = cpu.upload(2, 2, &[1., 2., 3., 4.]).unwrap();
    /// let out = cpu.zeros(2, 2).unwrap(); // [dW; db]
    /// cpu.matmul(&MatmulOp::new(x, dz, out).transposed(true, false).ones_row(true)).unwrap();
    /// assert_eq!(cpu.read(out).unwrap(), vec![7., 10., 4., 6.]);
    /// ```
    pub fn ones_row(mut self, on: bool) -> Self {
        self.ones_row = on;
        self
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

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> {
        [
            Some(self.a),
            Some(self.b),
            self.bias,
            Some(self.out),
            self.z,
            self.a_index.map(|i| i.indices),
            self.derivative.map(|(_, z)| z),
        ]
        .into_iter()
        .flatten()
    }

    /// Checks the shapes, the activation and the storages; returns the dimensions.
    pub fn check(&self) -> Result<MatmulDims> {
        if let Some(index) = &self.a_index {
            index.check(Self::NAME)?;
        }
        let (a_rows, a_cols) = self.a_stored();
        let (m, k) = if self.trans_a {
            (a_cols, a_rows)
        } else {
            (a_rows, a_cols)
        };
        let (k2, n) = if self.trans_b {
            (self.b.cols, self.b.rows)
        } else {
            (self.b.rows, self.b.cols)
        };
        let shape_err = |detail: String| Err(Error::Shape { op: Self::NAME, detail });
        if k != k2 {
            return shape_err(format!(
                "inner dimensions differ: op(A) is [{m}, {k}] and op(B) is [{k2}, {n}] (A {}, B {})",
                describe(self.a_stored(), self.trans_a),
                describe((self.b.rows, self.b.cols), self.trans_b)
            ));
        }
        let rows = m + usize::from(self.ones_row);
        let with_ones = if self.ones_row { " with its ones row" } else { "" };
        if (self.out.rows, self.out.cols) != (rows, n) {
            return shape_err(format!(
                "out is [{}, {}] but the product{with_ones} is [{rows}, {n}]",
                self.out.rows, self.out.cols
            ));
        }
        if let Some(z) = self.z
            && (z.rows, z.cols) != (rows, n)
        {
            return shape_err(format!(
                "z is [{}, {}] but the product{with_ones} is [{rows}, {n}]",
                z.rows, z.cols
            ));
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
        if let Some((activation, z)) = self.derivative {
            let plain = self.bias.is_none() && self.activation == Activation::Linear && self.z.is_none();
            if !plain || self.ones_row {
                return Err(Error::InvalidArgument {
                    what: "matmul derivative",
                    detail: "a derivative epilogue takes no bias, activation, z output or ones row".into(),
                });
            }
            if !activation.is_elementwise() {
                return Err(Error::InvalidArgument {
                    what: "matmul derivative",
                    detail: "softmax is row-wise: its gradient is softmax_backward".into(),
                });
            }
            expect_shape(Self::NAME, "the derivative's z", &z, m, n)?;
        }
        distinct_storages(
            Self::NAME,
            &[
                Some(self.a),
                Some(self.b),
                self.bias,
                self.a_index.map(|i| i.indices),
                self.derivative.map(|(_, z)| z),
            ],
            &[Some(self.out), self.z],
        )?;
        Ok(MatmulDims { m, k, n })
    }
}

fn describe(stored: (usize, usize), trans: bool) -> String {
    format!("[{}, {}]{}", stored.0, stored.1, if trans { " transposed" } else { "" })
}
