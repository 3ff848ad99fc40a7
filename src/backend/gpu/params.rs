//! Uniform parameter blocks, one per kernel, laid out exactly as the `Params` struct at the top
//! of each shader (u32/f32 fields, padded to a multiple of 16 bytes; the optimizer's also holds
//! a nested schedule struct with 16-byte-strided arrays, as WGSL's uniform layout requires).

use bytemuck::{Pod, Zeroable};

use crate::nn::MAX_BOUNDARIES;

/// `shaders/matmul.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub trans_a: u32,
    pub trans_b: u32,
    pub a_off: u32,
    pub b_off: u32,
    pub bias_off: u32,
    pub out_off: u32,
    pub z_off: u32,
    pub flags: u32,
    pub act: u32,
    pub alpha: f32,
    pub _pad: [u32; 3],
}

/// `shaders/activation_backward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct ActivationBackwardParams {
    pub rows: u32,
    pub cols: u32,
    pub dy_off: u32,
    pub z_off: u32,
    pub dz_off: u32,
    pub db_off: u32,
    pub act: u32,
    pub alpha: f32,
    pub flags: u32,
    pub _pad: [u32; 3],
}

/// `shaders/softmax.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct SoftmaxParams {
    pub rows: u32,
    pub cols: u32,
    pub z_off: u32,
    pub out_off: u32,
}

/// `shaders/loss.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct LossParams {
    pub rows: u32,
    pub cols: u32,
    pub kind: u32,
    pub flags: u32,
    pub pred_off: u32,
    pub target_off: u32,
    pub weight_off: u32,
    pub row_loss_off: u32,
    pub grad_off: u32,
    pub _pad: [u32; 3],
}

/// `shaders/accumulate_metrics.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct MetricsParams {
    pub rows: u32,
    pub cols: u32,
    pub accuracy: u32,
    pub threshold: f32,
    pub pred_off: u32,
    pub target_off: u32,
    pub row_loss_off: u32,
    pub acc_off: u32,
}

/// `shaders/optimizer_step.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct OptimizerParams {
    pub n: u32,
    pub kind: u32,
    pub flags: u32,
    pub step: u32,
    pub param_off: u32,
    pub grad_off: u32,
    pub s0_off: u32,
    pub s1_off: u32,
    pub s2_off: u32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub momentum: f32,
    pub weight_decay: f32,
    /// √(1 − β₂ᵗ), Adam's bias correction of step t (1 for other optimizers).
    pub sqrt_bias_2: f32,
    /// 1 − β₁ᵗ.
    pub bias_1: f32,
    /// The learning rate, evaluated per step by the kernel.
    pub schedule: ScheduleParams,
}

/// The learning-rate schedule inside [`OptimizerParams`] (`Schedule` in
/// `shaders/optimizer_step.wgsl`; formulas in `src/nn/schedule.rs`). Fields a schedule does not
/// use are 0.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct ScheduleParams {
    /// 0 constant, 1 ExponentialDecay, 2 InverseTimeDecay, 3 PolynomialDecay, 4 CosineDecay,
    /// 5 PiecewiseConstantDecay.
    pub kind: u32,
    /// Bit 0 staircase, bit 1 cycle, bit 2 warmup.
    pub flags: u32,
    pub boundary_count: u32,
    /// The constant rate, or the schedule's initial rate.
    pub initial: f32,
    pub decay_steps: f32,
    /// InverseTimeDecay's rate.
    pub decay_rate: f32,
    /// log₂ of ExponentialDecay's rate (computed on the host in f64, once per schedule).
    pub log2_decay_rate: f32,
    pub end_learning_rate: f32,
    pub power: f32,
    pub alpha: f32,
    pub warmup_target: f32,
    pub warmup_steps: f32,
    /// PiecewiseConstantDecay's boundaries (`array<vec4<u32>, 4>`: uniform arrays step by 16
    /// bytes, so scalars are packed four to an element).
    pub boundaries: [u32; MAX_BOUNDARIES],
    /// Its values (`array<vec4<f32>, 5>`; 17 used).
    pub values: [f32; 20],
}

/// `shaders/gather_rows.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct GatherParams {
    pub rows: u32,
    pub cols: u32,
    pub src_rows: u32,
    pub first: u32,
    pub src_off: u32,
    pub idx_off: u32,
    pub out_off: u32,
    pub row_base: u32,
    pub zero_outside: u32,
    pub _pad: [u32; 3],
}

/// `shaders/fill.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct FillParams {
    pub n: u32,
    pub out_off: u32,
    pub value: f32,
    pub _pad: u32,
}

/// `shaders/softmax_backward.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct SoftmaxBackwardParams {
    pub rows: u32,
    pub cols: u32,
    pub y_off: u32,
    pub dy_off: u32,
    pub dz_off: u32,
    pub _pad: [u32; 3],
}

/// `shaders/dropout.wgsl`.
#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
pub(crate) struct DropoutParams {
    pub n: u32,
    pub mode: u32,
    pub seed: u32,
    pub step: u32,
    pub rate: f32,
    pub x_off: u32,
    pub mask_off: u32,
    pub out_off: u32,
}

/// The largest parameter block (the optimizer's, with its schedule); every uniform binding is
/// this size. A power of two, so it is a multiple of any adapter's uniform offset alignment.
pub(crate) const MAX_PARAMS_SIZE: u64 = 256;

const _: () = {
    assert!(size_of::<MatmulParams>() == 64);
    assert!(size_of::<OptimizerParams>() == 256);
    assert!(size_of::<ScheduleParams>() == 192);
    assert!(std::mem::offset_of!(OptimizerParams, schedule) == 64);
    assert!(std::mem::offset_of!(ScheduleParams, boundaries) == 48);
    assert!(MAX_BOUNDARIES == 16);
    assert!(size_of::<ActivationBackwardParams>() == 48);
    assert!(size_of::<LossParams>() == 48);
};
