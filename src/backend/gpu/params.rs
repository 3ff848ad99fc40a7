//! Uniform parameter blocks, one per kernel, laid out exactly as the `Params` struct at the top
//! of each shader (u32/f32 fields only, padded to a multiple of 16 bytes).

use bytemuck::{Pod, Zeroable};

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
    pub lr: f32,
    pub alpha_t: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub momentum: f32,
    pub weight_decay: f32,
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

/// The largest parameter block; every uniform binding is this size.
pub(crate) const MAX_PARAMS_SIZE: u64 = 64;

const _: () = {
    assert!(size_of::<MatmulParams>() == 64);
    assert!(size_of::<OptimizerParams>() == 64);
    assert!(size_of::<ActivationBackwardParams>() == 48);
    assert!(size_of::<LossParams>() == 48);
};
