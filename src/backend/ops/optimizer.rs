//! The optimizer step descriptor: one update of a flat parameter vector with its gradient
//! and the optimizer's state slots (laid out by [`crate::nn::optimizer_slots`]).
//!
//! Shape letters: P parameters; param, grad and every slot hold P elements.

use super::{distinct_storages, expect_len};
use crate::backend::tensor::Tensor;
use crate::nn::Optimizer;
use crate::nn::optimizer_slots::STATE_BINDINGS;
use crate::{Error, Result};

/// Applies optimizer step `step` (from 1) to `param` with `grad` and the optimizer's state
/// `slots` (`optimizer.slots()` tensors of the parameters' size, in the order of
/// [`Optimizer::slot_layout`]), in one dispatch.
///
/// ```
/// use wgtrain::backend::{Backend, CpuBackend, OptimizerStepOp};
/// use wgtrain::nn::Optimizer;
/// let mut cpu = CpuBackend::new();
/// let p = cpu.upload(1, 2, &[1., 1.]).unwrap();
/// let g = cpu.upload(1, 2, &[1., -1.]).unwrap();
/// cpu.optimizer_step(&OptimizerStepOp::new(&Optimizer::sgd(), 1, p, g)).unwrap();
/// assert_eq!(cpu.read(p).unwrap(), vec![0.99, 1.01]);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct OptimizerStepOp<'a> {
    /// The optimizer and its hyper-parameters.
    pub optimizer: &'a Optimizer,
    /// The step, counting from 1.
    pub step: u64,
    /// The parameters, updated in place, `[P]`.
    pub param: Tensor,
    /// Their gradient, `[P]`.
    pub grad: Tensor,
    /// The optimizer's state, each `[P]`, updated in place.
    pub slots: &'a [Tensor],
}

impl<'a> OptimizerStepOp<'a> {
    /// The operation's name in errors.
    pub(crate) const NAME: &'static str = "optimizer_step";

    /// Step `step` of `optimizer` on `param`, with no state slots until [`slots`](Self::slots).
    pub fn new(optimizer: &'a Optimizer, step: u64, param: Tensor, grad: Tensor) -> Self {
        OptimizerStepOp {
            optimizer,
            step,
            param,
            grad,
            slots: &[],
        }
    }

    /// Sets the state slots, in the order of [`Optimizer::slot_layout`].
    pub fn slots(mut self, slots: &'a [Tensor]) -> Self {
        self.slots = slots;
        self
    }

    /// Every tensor the operation names.
    pub(crate) fn tensors(&self) -> impl Iterator<Item = Tensor> + 'a {
        [self.param, self.grad].into_iter().chain(self.slots.iter().copied())
    }

    /// Checks the hyper-parameters, the step, the slots and the storages.
    pub fn check(&self) -> Result<()> {
        const OP: &str = OptimizerStepOp::NAME;
        self.optimizer.validate()?;
        if self.step == 0 {
            return Err(Error::InvalidArgument {
                what: "optimizer step",
                detail: "steps count from 1".into(),
            });
        }
        let expected = self.optimizer.slot_layout().len();
        if self.slots.len() != expected {
            return Err(Error::InvalidArgument {
                what: "optimizer state",
                detail: format!(
                    "this optimizer keeps {expected} state slots, {} were given",
                    self.slots.len()
                ),
            });
        }
        let n = self.param.len();
        expect_len(OP, "grad", &self.grad, n, "one per parameter")?;
        for slot in self.slots {
            expect_len(OP, "a state slot", slot, n, "one per parameter")?;
        }
        let mut outputs = [None; 1 + STATE_BINDINGS];
        outputs[0] = Some(self.param);
        for (o, s) in outputs[1..].iter_mut().zip(self.slots) {
            *o = Some(*s);
        }
        distinct_storages(OP, &[Some(self.grad)], &outputs)
    }
}
