//! The optimizer's state slots, defined once: which state vectors an optimizer keeps, in which
//! order a caller passes them (and model files store them), and which state binding of
//! `shaders/optimizer_step.wgsl` holds each. The CPU update, the GPU parameters and the WGSL
//! (through the generated prelude's `SLOT_*` constants) all read this table.

use super::Optimizer;

/// How many state bindings the optimizer kernel has (s0, s1, s2), and so the most slots an
/// optimizer keeps.
pub const STATE_BINDINGS: usize = 3;

/// One state vector of an optimizer.
///
/// ```
/// use wgtrain::nn::optimizer_slots::OptimizerSlot;
/// assert_eq!((OptimizerSlot::AdamV.name(), OptimizerSlot::AdamV.binding()), ("v", 1));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptimizerSlot {
    /// SGD's momentum buffer (kept when momentum ≠ 0).
    SgdMomentum,
    /// Adam's first moment m.
    AdamM,
    /// Adam's second moment v.
    AdamV,
    /// RMSprop's mean square v.
    RmsVelocity,
    /// RMSprop's momentum buffer (kept when momentum ≠ 0).
    RmsMomentum,
    /// RMSprop's mean gradient (kept when centered).
    RmsAverageGradient,
}

impl OptimizerSlot {
    /// Every slot kind.
    pub const ALL: [OptimizerSlot; 6] = [
        OptimizerSlot::SgdMomentum,
        OptimizerSlot::AdamM,
        OptimizerSlot::AdamV,
        OptimizerSlot::RmsVelocity,
        OptimizerSlot::RmsMomentum,
        OptimizerSlot::RmsAverageGradient,
    ];

    /// The slot's name in model files (Keras's variable name).
    pub fn name(self) -> &'static str {
        match self {
            OptimizerSlot::SgdMomentum | OptimizerSlot::RmsMomentum => "momentum",
            OptimizerSlot::AdamM => "m",
            OptimizerSlot::AdamV => "v",
            OptimizerSlot::RmsVelocity => "velocity",
            OptimizerSlot::RmsAverageGradient => "average_gradient",
        }
    }

    /// The state binding of the optimizer kernel that holds the slot (0 for s0 …).
    pub const fn binding(self) -> usize {
        match self {
            OptimizerSlot::SgdMomentum | OptimizerSlot::AdamM | OptimizerSlot::RmsVelocity => 0,
            OptimizerSlot::AdamV | OptimizerSlot::RmsMomentum => 1,
            OptimizerSlot::RmsAverageGradient => 2,
        }
    }

    /// The slot's name in the WGSL prelude (`SLOT_` + this).
    pub fn shader_name(self) -> &'static str {
        match self {
            OptimizerSlot::SgdMomentum => "SGD_MOMENTUM",
            OptimizerSlot::AdamM => "ADAM_M",
            OptimizerSlot::AdamV => "ADAM_V",
            OptimizerSlot::RmsVelocity => "RMS_VELOCITY",
            OptimizerSlot::RmsMomentum => "RMS_MOMENTUM",
            OptimizerSlot::RmsAverageGradient => "RMS_AVERAGE_GRADIENT",
        }
    }
}

/// The slots one optimizer keeps, in the order they are passed and stored.
///
/// ```
/// use wgtrain::nn::Optimizer;
/// use wgtrain::nn::optimizer_slots::OptimizerSlot;
/// let layout = Optimizer::adam().slot_layout();
/// assert_eq!(layout.iter().collect::<Vec<_>>(), vec![OptimizerSlot::AdamM, OptimizerSlot::AdamV]);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotLayout {
    slots: [Option<OptimizerSlot>; STATE_BINDINGS],
}

impl SlotLayout {
    fn of(slots: &[OptimizerSlot]) -> Self {
        let mut layout = SlotLayout {
            slots: [None; STATE_BINDINGS],
        };
        for (to, &slot) in layout.slots.iter_mut().zip(slots) {
            *to = Some(slot);
        }
        layout
    }

    /// How many slots.
    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    /// True when the optimizer keeps no state.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The slots in order.
    pub fn iter(&self) -> impl Iterator<Item = OptimizerSlot> + '_ {
        self.slots.iter().flatten().copied()
    }

    /// Sorts `values` (one per slot, in layout order) by the kernel binding of their slot.
    pub fn by_binding<T>(&self, values: impl IntoIterator<Item = T>) -> SlotValues<T> {
        let mut bound: [Option<T>; STATE_BINDINGS] = std::array::from_fn(|_| None);
        for (slot, value) in self.iter().zip(values) {
            bound[slot.binding()] = Some(value);
        }
        SlotValues(bound)
    }
}

/// Per-slot values sorted by kernel binding (see [`SlotLayout::by_binding`]).
#[derive(Debug)]
pub struct SlotValues<T>(pub [Option<T>; STATE_BINDINGS]);

impl<T> SlotValues<T> {
    /// Takes the value of `slot`, if the optimizer keeps that slot.
    pub fn take(&mut self, slot: OptimizerSlot) -> Option<T> {
        self.0[slot.binding()].take()
    }
}

impl Optimizer {
    /// The state slots this optimizer keeps, in order.
    pub fn slot_layout(&self) -> SlotLayout {
        use OptimizerSlot::*;
        match *self {
            Optimizer::Sgd { momentum, .. } if momentum != 0.0 => SlotLayout::of(&[SgdMomentum]),
            Optimizer::Sgd { .. } => SlotLayout::of(&[]),
            Optimizer::Adam { .. } => SlotLayout::of(&[AdamM, AdamV]),
            Optimizer::RmsProp { momentum, centered, .. } => match (momentum != 0.0, centered) {
                (false, false) => SlotLayout::of(&[RmsVelocity]),
                (true, false) => SlotLayout::of(&[RmsVelocity, RmsMomentum]),
                (false, true) => SlotLayout::of(&[RmsVelocity, RmsAverageGradient]),
                (true, true) => SlotLayout::of(&[RmsVelocity, RmsMomentum, RmsAverageGradient]),
            },
        }
    }
}
