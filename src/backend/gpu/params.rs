//! Uniform parameter blocks, one per kernel, laid out exactly as the `Params` struct at the top
//! of each shader (u32/f32 fields only, padding fields named `_padN` on both sides, a multiple
//! of 16 bytes). Each is declared through `params!`, which also records its layout (field
//! names, offsets by `offset_of!`, scalar types, size) so a test can compare it with the
//! layout naga reflects from the WGSL.

use bytemuck::{Pod, Zeroable};

use super::kernels::Kernel;

/// The type of a uniform field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar {
    /// `u32`.
    U32,
    /// `f32`.
    F32,
    /// `array<vec4<u32>, n>` (Rust `[u32; 4n]`: uniform arrays step by 16 bytes).
    U32x4Array(usize),
    /// `array<vec4<f32>, n>` (Rust `[f32; 4n]`).
    F32x4Array(usize),
}

/// One field of a `Params` struct as Rust lays it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamsField {
    /// The field's name.
    pub name: &'static str,
    /// Its byte offset.
    pub offset: usize,
    /// Its type.
    pub scalar: Scalar,
}

/// The layout of a `#[repr(C)]` `Params` struct.
#[derive(Clone, Copy, Debug)]
pub struct ParamsLayout {
    /// The Rust struct's name.
    pub name: &'static str,
    /// `size_of` the struct.
    pub size: usize,
    /// Its fields in declaration order.
    pub fields: &'static [ParamsField],
}

/// A uniform block with a recorded layout.
pub(crate) trait UniformParams: Pod {
    /// The struct's layout.
    const LAYOUT: ParamsLayout;
}

/// The uniform block of one kernel (the link is made by the kernel table).
pub(crate) trait KernelParams: UniformParams {
    /// The kernel that reads this block.
    const KERNEL: Kernel;
}

trait ScalarOf {
    const SCALAR: Scalar;
}

impl ScalarOf for u32 {
    const SCALAR: Scalar = Scalar::U32;
}

impl ScalarOf for f32 {
    const SCALAR: Scalar = Scalar::F32;
}

impl<const N: usize> ScalarOf for [u32; N] {
    const SCALAR: Scalar = {
        assert!(N.is_multiple_of(4), "uniform arrays hold whole vec4s");
        Scalar::U32x4Array(N / 4)
    };
}

impl<const N: usize> ScalarOf for [f32; N] {
    const SCALAR: Scalar = {
        assert!(N.is_multiple_of(4), "uniform arrays hold whole vec4s");
        Scalar::F32x4Array(N / 4)
    };
}

macro_rules! params {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $ty:ty),* $(,)? })*) => {$(
        $(#[$doc])*
        #[repr(C)]
        #[derive(Clone, Copy, Pod, Zeroable)]
        pub(crate) struct $name {
            $(pub $field: $ty,)*
        }

        impl UniformParams for $name {
            const LAYOUT: ParamsLayout = ParamsLayout {
                name: stringify!($name),
                size: size_of::<$name>(),
                fields: &[$(ParamsField {
                    name: stringify!($field),
                    offset: std::mem::offset_of!($name, $field),
                    scalar: <$ty as ScalarOf>::SCALAR,
                }),*],
            };
        }

        const _: () = assert!(size_of::<$name>() % 16 == 0 && size_of::<$name>() as u64 <= MAX_PARAMS_SIZE);
    )*};
}

/// The largest parameter block (the optimizer's, with its learning-rate schedule); every
/// uniform binding is this size.
pub(crate) const MAX_PARAMS_SIZE: u64 = 256;

/// Boundaries of a piecewise-constant schedule the optimizer's uniform holds.
const SCHEDULE_BOUNDARIES: usize = crate::nn::MAX_BOUNDARIES;
/// Values of a piecewise-constant schedule, padded to whole vec4s (17 used).
const SCHEDULE_VALUES: usize = (crate::nn::MAX_BOUNDARIES + 1).div_ceil(4) * 4;

params! {
    /// `shaders/matmul.wgsl`.
    MatmulParams {
        m: u32,
        n: u32,
        k: u32,
        trans_a: u32,
        trans_b: u32,
        a_off: u32,
        b_off: u32,
        bias_off: u32,
        out_off: u32,
        z_off: u32,
        flags: u32,
        act: u32,
        alpha: f32,
        a_rows: u32,
        k_chunk: u32,
        k_base: u32,
        a_indexed: u32,
        index_off: u32,
        row_base: u32,
        a_src_rows: u32,
    }

    /// `shaders/matmul_reduce.wgsl`.
    MatmulReduceParams {
        len: u32,
        n: u32,
        layers: u32,
        flags: u32,
        act: u32,
        alpha: f32,
        partial_off: u32,
        bias_off: u32,
        out_off: u32,
        z_off: u32,
        _pad0: u32,
        _pad1: u32,
    }

    /// `shaders/activation_backward.wgsl`.
    ActivationBackwardParams {
        len: u32,
        dy_off: u32,
        z_off: u32,
        dz_off: u32,
        act: u32,
        alpha: f32,
        _pad0: u32,
        _pad1: u32,
    }

    /// `shaders/sum_partials.wgsl`.
    SumPartialsParams {
        width: u32,
        count: u32,
        stride: u32,
        src_off: u32,
        dst_off: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }

    /// `shaders/softmax.wgsl`.
    SoftmaxParams {
        rows: u32,
        cols: u32,
        z_off: u32,
        out_off: u32,
    }

    /// `shaders/loss.wgsl`.
    LossParams {
        rows: u32,
        cols: u32,
        kind: u32,
        flags: u32,
        pred_off: u32,
        output_off: u32,
        target_off: u32,
        weight_off: u32,
        z_off: u32,
        row_loss_off: u32,
        grad_off: u32,
        acc_off: u32,
        accuracy: u32,
        threshold: f32,
        act: u32,
        alpha: f32,
        rows_per_group: u32,
        index_off: u32,
        row_base: u32,
        target_rows: u32,
    }

    /// `shaders/optimizer_step.wgsl`.
    OptimizerParams {
        n: u32,
        kind: u32,
        flags: u32,
        step: u32,
        param_off: u32,
        grad_off: u32,
        s0_off: u32,
        s1_off: u32,
        s2_off: u32,
        beta_1: f32,
        beta_2: f32,
        epsilon: f32,
        momentum: f32,
        weight_decay: f32,
        // Adam's bias corrections of step t, √(1 − β₂ᵗ) and 1 − β₁ᵗ (1 for other optimizers).
        sqrt_bias_2: f32,
        bias_1: f32,
        // The learning-rate schedule, evaluated per step by the kernel (nn/schedule.rs):
        // SCHED_* kind, SCHED_FLAG_* flags, and the parameters of every kind.
        sched_kind: u32,
        sched_flags: u32,
        sched_boundary_count: u32,
        sched_initial: f32,
        sched_decay_steps: f32,
        sched_decay_rate: f32,
        // log₂ of ExponentialDecay's rate, computed once on the host in f64.
        sched_log2_decay_rate: f32,
        sched_end_learning_rate: f32,
        sched_power: f32,
        sched_alpha: f32,
        sched_warmup_target: f32,
        sched_warmup_steps: f32,
        sched_boundaries: [u32; SCHEDULE_BOUNDARIES],
        sched_values: [f32; SCHEDULE_VALUES],
    }

    /// `shaders/gather_rows.wgsl`.
    GatherParams {
        rows: u32,
        cols: u32,
        src_rows: u32,
        first: u32,
        src_off: u32,
        idx_off: u32,
        out_off: u32,
        row_base: u32,
        zero_outside: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }

    /// `shaders/fill.wgsl`.
    FillParams {
        n: u32,
        out_off: u32,
        value: f32,
        _pad0: u32,
    }

    /// `shaders/softmax_backward.wgsl`.
    SoftmaxBackwardParams {
        rows: u32,
        cols: u32,
        y_off: u32,
        dy_off: u32,
        dz_off: u32,
        _pad0: u32,
        _pad1: u32,
        _pad2: u32,
    }

    /// `shaders/dropout.wgsl`.
    DropoutParams {
        n: u32,
        mode: u32,
        seed: u32,
        step: u32,
        rate: f32,
        x_off: u32,
        mask_off: u32,
        out_off: u32,
    }
}
