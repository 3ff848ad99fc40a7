//! Operation descriptors: one struct per backend operation, built with builder-style
//! constructors, each with the checks of its operands (shapes, storages, arguments). The
//! [`Backend`](super::Backend) seam runs those checks once, before any implementation sees the
//! operation, so both backends reject exactly the same mistakes with the same words.
//!
//! Shape letters are declared in each file's header; gradients carry a `d` prefix.

mod elementwise;
mod gather;
mod indexed;
mod loss;
mod matmul;
mod metrics;
mod optimizer;
mod score;

pub use elementwise::{ActivationBackwardOp, DropoutBackwardOp, DropoutOp, SoftmaxBackwardOp, SoftmaxOp};
pub use gather::GatherRowsOp;
pub use indexed::IndexedRows;
pub use loss::LossOp;
pub use matmul::{MatmulDims, MatmulOp};
pub use metrics::{MetricSlot, MetricsOp, metric_slot};
pub use optimizer::OptimizerStepOp;
pub use score::ScoreOp;

use super::tensor::Tensor;
use crate::{Error, Result};

/// An output may not share storage with any other operand: the GPU cannot bind one buffer as
/// both input and output of a dispatch, and the CPU backend follows the same rule. Inputs may
/// share storage with each other (a kernel and its bias in one parameter buffer). Absent
/// optional operands are `None`.
pub(crate) fn distinct_storages(op: &'static str, inputs: &[Option<Tensor>], outputs: &[Option<Tensor>]) -> Result<()> {
    for (i, out) in outputs.iter().enumerate() {
        let Some(out) = out else { continue };
        let clash = inputs
            .iter()
            .chain(&outputs[..i])
            .flatten()
            .any(|t| t.storage == out.storage);
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
pub(crate) fn expect_shape(op: &'static str, name: &str, t: &Tensor, rows: usize, cols: usize) -> Result<()> {
    if (t.rows, t.cols) != (rows, cols) {
        return Err(Error::Shape {
            op,
            detail: format!("{name} is [{}, {}] but [{rows}, {cols}] is needed", t.rows, t.cols),
        });
    }
    Ok(())
}

/// Checks that `t` has `len` elements (a vector stored in any shape).
pub(crate) fn expect_len(op: &'static str, name: &str, t: &Tensor, len: usize, of_what: &str) -> Result<()> {
    if t.len() != len {
        return Err(Error::Shape {
            op,
            detail: format!("{name} has {} elements but {len} are needed ({of_what})", t.len()),
        });
    }
    Ok(())
}
