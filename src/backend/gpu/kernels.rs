//! The kernel table, one entry per compute kernel: its name (= shader file = entry point),
//! its WGSL source, its `Params` uniform, its storage bindings with their access, and whether
//! the activation library is prepended. The [`Kernel`] enum, [`Kernel::ALL`], the table and the
//! link from each `Params` struct to its kernel are all generated from the one list below, so
//! they cannot drift apart. Every module is the generated prelude (`prelude.rs`), then the
//! activation library where asked, then the kernel's file.

use super::params::{
    ActivationBackwardParams, DropoutParams, FillParams, GatherParams, KernelParams, LossParams, MatmulParams,
    MatmulReduceParams, OptimizerParams, ParamsLayout, SoftmaxBackwardParams, SoftmaxParams, SumPartialsParams,
    UniformParams,
};
use super::prelude;
use super::trust::Trust;

/// Activation functions, a library prepended to the kernels that apply them.
pub const ACTIVATION_LIBRARY: &str = include_str!("../../../shaders/activation.wgsl");

/// How a kernel uses a storage binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Read only (`var<storage, read>`).
    Read,
    /// Read and written (`var<storage, read_write>`).
    ReadWrite,
}

/// A storage binding of a kernel (bindings 1.., after the `Params` uniform at 0).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The WGSL variable's name.
    pub name: &'static str,
    /// How the kernel uses it.
    pub access: Access,
}

/// One compute kernel's entry in the table.
#[derive(Clone, Copy, Debug)]
pub struct KernelSpec {
    /// Name of the file (`shaders/<name>.wgsl`), of the entry point and of the backend method.
    pub name: &'static str,
    /// The kernel's own WGSL.
    pub wgsl: &'static str,
    /// Whether the activation library is prepended.
    pub uses_activations: bool,
    /// The layout of the kernel's `Params` uniform as the Rust struct has it.
    pub params: &'static ParamsLayout,
    /// Storage bindings 1.., in binding order.
    pub bindings: &'static [Binding],
    /// Whether the kernel may be built without runtime bounds checks: the audited argument
    /// that every index is in range, or why not (`trust.rs`).
    pub trust: Trust,
}

/// One part of a module's source (the prelude, a library, a kernel file), for positions.
#[derive(Clone, Debug)]
struct Part {
    name: String,
    first_line: u32,
}

/// The complete source of one WGSL module, remembering which part each line comes from so
/// that a compiler position can be reported in the file it belongs to.
///
/// ```
/// use wgtrain::backend::gpu::kernels::ModuleSource;
/// let mut source = ModuleSource::new("demo");
/// source.push("prelude", "const A: u32 = 1u;\n");
/// source.push("demo.wgsl", "fn f() {}\nfn g() {}\n");
/// assert_eq!(source.locate(3), ("demo.wgsl", 2));
/// ```
#[derive(Clone, Debug)]
pub struct ModuleSource {
    kernel: String,
    text: String,
    parts: Vec<Part>,
}

impl ModuleSource {
    /// An empty module named `kernel`.
    pub fn new(kernel: &str) -> Self {
        ModuleSource {
            kernel: kernel.to_string(),
            text: String::new(),
            parts: Vec::new(),
        }
    }

    /// Appends `text` as the part `name` (a newline is added when it lacks one).
    pub fn push(&mut self, name: &str, text: &str) {
        let first_line = self.text.matches('\n').count() as u32 + 1;
        self.parts.push(Part {
            name: name.to_string(),
            first_line,
        });
        self.text.push_str(text);
        if !text.ends_with('\n') {
            self.text.push('\n');
        }
    }

    /// The module's name.
    pub fn kernel(&self) -> &str {
        &self.kernel
    }

    /// The whole source.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The part holding line `line` (from 1) of the whole source, and the line within it.
    pub fn locate(&self, line: u32) -> (&str, u32) {
        match self.parts.iter().rev().find(|p| p.first_line <= line) {
            Some(part) => (&part.name, line - part.first_line + 1),
            None => (&self.kernel, line),
        }
    }
}

impl KernelSpec {
    /// The complete module handed to the compiler: the prelude, the activation library when
    /// the kernel uses it, then the kernel.
    pub fn module_source(&self) -> ModuleSource {
        let mut source = ModuleSource::new(self.name);
        source.push("generated prelude", prelude::wgsl());
        if self.uses_activations {
            source.push("shaders/activation.wgsl", ACTIVATION_LIBRARY);
        }
        source.push(&format!("shaders/{}.wgsl", self.name), self.wgsl);
        source
    }
}

macro_rules! access {
    (read) => {
        Access::Read
    };
    (read_write) => {
        Access::ReadWrite
    };
}

macro_rules! kernel_table {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $params:ident, activations: $acts:expr,
            [$($access:ident $binding:literal),* $(,)?],
            trust: $trust:expr;
    )*) => {
        /// The compute kernels (see the table in `kernels.rs`).
        ///
        /// ```
        /// use wgtrain::backend::gpu::kernels::{Access, Kernel};
        /// let spec = Kernel::Fill.spec();
        /// assert_eq!((spec.name, spec.params.name), ("fill", "FillParams"));
        /// assert_eq!(spec.bindings[0].access, Access::ReadWrite);
        /// assert!(Kernel::ALL.iter().all(|k| k.spec().wgsl.contains(&format!("fn {}(", k.name()))));
        /// ```
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum Kernel {
            $($(#[$doc])* $variant,)*
        }

        impl Kernel {
            /// Every kernel, in table order.
            pub const ALL: &[Kernel] = &[$(Kernel::$variant),*];

            /// The kernel's entry in the table.
            pub fn spec(self) -> &'static KernelSpec {
                &TABLE[self as usize]
            }
        }

        static TABLE: [KernelSpec; Kernel::ALL.len()] = [$(
            KernelSpec {
                name: $name,
                wgsl: include_str!(concat!("../../../shaders/", $name, ".wgsl")),
                uses_activations: $acts,
                params: &<$params as UniformParams>::LAYOUT,
                bindings: &[$(Binding { name: $binding, access: access!($access) }),*],
                trust: $trust,
            },
        )*];

        $(impl KernelParams for $params {
            const KERNEL: Kernel = Kernel::$variant;
        })*
    };
}

// The trust arguments below are audits of each shader (`trust.rs` says what they rest on):
// "extent" means the end of a binding's range as `extents.rs` computes it from the same
// Params, which the dispatch proves lies inside the bound buffer. Indices are u32; every one
// is a sum of non-negative terms at most its binding's extent, which fits a buffer, so no
// index expression that reaches memory can wrap. `audited` is `trust::source_hash` of the
// source the argument was written for: edit a shader and it is built checked until audited
// again (the kernel table's test prints the new hash).
kernel_table! {
    /// out = act(op(A)·op(B) + bias), keeping z, over one K slice per workgroup layer.
    Matmul = "matmul", MatmulParams, activations: true,
        [read "a", read "b", read "bias", read_write "out", read_write "z"],
        trust: Trust::Proven { audited: 0xc8c04f84511dae78, argument: "A is read at a_off + gi·k + gk (stored [a_rows, K]) or \
            a_off + gk·a_rows + gi (stored [K, a_rows]) only when gi < a_rows and gk < k_end <= K, so below \
            a_off + a_rows·K; a vec4 load happens only when its four lanes are in that range (count >= 4), a \
            scalar load reads vec4 e >> 2 of a buffer padded to 16 bytes, lane e & 3. B likewise below b_off + \
            K·N (gk < k_end, gj < N). bias at bias_off + gj, gj < N, with MATMUL_FLAG_BIAS; z and out at \
            off + gi·N + gj with gi < M, gj < N, a partial layer at out_off + wid.z·M·N + that (wid.z < the \
            dispatch's layers). Workgroup tiles: (kk + q)·64 + i and kk·64 + j + q with kk < 16, q < 4, \
            i, j < 64: below 1024. acc[r], v[q], r, q < 4." };
    /// Adds a split-K product's partial sums and applies the epilogue.
    MatmulReduce = "matmul_reduce", MatmulReduceParams, activations: true,
        [read "partial", read "bias", read_write "out", read_write "z"],
        trust: Trust::Proven { audited: 0x56c8a5e6bdc9c572, argument: "Every access is after e < len: partial at partial_off + \
            w·len + e with w < layers; bias at bias_off + e % n with MATMUL_FLAG_BIAS; out, z at off + e \
            (z with MATMUL_FLAG_Z)." };
    /// dz = dy ⊙ act′(z).
    ActivationBackward = "activation_backward", ActivationBackwardParams, activations: true,
        [read "dy", read "z", read_write "dz"],
        trust: Trust::Proven { audited: 0xe40ff87cf95c6e47, argument: "One element e < len, at off + e of each binding." };
    /// Row softmax.
    Softmax = "softmax", SoftmaxParams, activations: false,
        [read "z", read_write "out"],
        trust: Trust::Proven { audited: 0x37227b3d6e24679d, argument: "Row < rows; z at z_off + row·cols + j and out at out_off + \
            row·cols + j with j < cols, and z at z_off + row·cols before the loops (the host never dispatches \
            cols = 0; the extent counts that first element anyway)." };
    /// The loss head: per-row losses, their gradient (times the output derivative) and the
    /// metric sums, in one pass.
    Loss = "loss", LossParams, activations: true,
        [read "pred", read "output", read "targets", read "weights", read "z",
         read_write "row_loss", read_write "grad", read_write "acc"],
        trust: Trust::Proven { audited: 0x91da563a6ab5fde5, argument: "Rows are below min(first + rows_per_group, rows). With \
            LOSS_FLAG_LOSS: pred at pred_off + row·cols + j (j < cols; the logit kinds also read j = 0), \
            targets at target_off + row (sparse kinds: the class index is compared, never used as an index) \
            or target_off + row·cols + j, weights at weight_off + row with LOSS_FLAG_WEIGHTS, grad (and z with \
            LOSS_FLAG_DERIVATIVE) at off + row·cols + j with LOSS_FLAG_GRAD. row_loss at row_loss_off + row, \
            read or written. With LOSS_FLAG_METRICS: output at output_off + row·cols + j, targets at \
            target_off + row (ACC_SPARSE_CATEGORICAL) or target_off + row·cols + j (any other accuracy, \
            ACC_NONE included); acc at acc_off + lid < METRIC_SLOTS_USED, or acc_off + wid.x·METRIC_COUNT + \
            lid with LOSS_FLAG_PARTIAL (wid.x < the dispatch's groups). Private s[q] and workgroup \
            partial[q·256 + lid (+ stride)] with q < METRIC_SLOTS_USED, lid < stride <= 128 or lid < 256." };
    /// Adds per-workgroup partial sums to their accumulator.
    SumPartials = "sum_partials", SumPartialsParams, activations: false,
        [read "src", read_write "dst"],
        trust: Trust::Proven { audited: 0x2319ac0126af9e17, argument: "j < width: src at src_off + g·stride + j with g < count, \
            dst at dst_off + j." };
    /// One optimizer step over a flat parameter vector.
    OptimizerStep = "optimizer_step", OptimizerParams, activations: false,
        [read_write "param", read "grad", read_write "s0", read_write "s1", read_write "s2"],
        trust: Trust::Proven { audited: 0x03b519c3a86dc95c, argument: "i < n: param, grad at off + i; a state binding at its \
            offset + i only for the slots the kind and flags use (SGD: SLOT_SGD_MOMENTUM with \
            OPT_FLAG_MOMENTUM; Adam: SLOT_ADAM_M and SLOT_ADAM_V; RMSprop: SLOT_RMS_VELOCITY, \
            SLOT_RMS_AVERAGE_GRADIENT with OPT_FLAG_CENTERED, SLOT_RMS_MOMENTUM with OPT_FLAG_MOMENTUM). \
            Uniform arrays: sched_boundaries[k / 4][k % 4] with k < min(count, 16), sched_values[i / 4] \
            [i % 4] with i <= 16 (5 vec4s)." };
    /// The row gather.
    GatherRows = "gather_rows", GatherParams, activations: false,
        [read "src", read "indices", read_write "out"],
        trust: Trust::Proven { audited: 0x8840d2eab10c84ac, argument: "e < rows·cols: indices at idx_off + first + e / cols \
            (below idx_off + first + rows); the index read there is data, so src is read only when r = \
            index − row_base < src_rows, at src_off + r·cols + e % cols; out at out_off + e." };
    /// `out[i]` = value.
    Fill = "fill", FillParams, activations: false,
        [read_write "out"],
        trust: Trust::Proven { audited: 0x79dbe6cc5f59c6c3, argument: "i < n: out at out_off + i." };
    /// Gradient through a row softmax.
    SoftmaxBackward = "softmax_backward", SoftmaxBackwardParams, activations: false,
        [read "y", read "dy", read_write "dz"],
        trust: Trust::Proven { audited: 0xdd00dae4fd7f1db9, argument: "Row < rows, j < cols: each binding at off + row·cols + j." };
    /// Inverted dropout and its gradient.
    Dropout = "dropout", DropoutParams, activations: false,
        [read "x", read_write "mask", read_write "out"],
        trust: Trust::Proven { audited: 0x9ee32a536295380c, argument: "i < n: x, mask, out at off + i." };
}

impl Kernel {
    /// The kernel's name (its file and entry point).
    pub fn name(self) -> &'static str {
        self.spec().name
    }

    /// How many storage buffers the kernel binds.
    pub fn storage_count(self) -> usize {
        self.spec().bindings.len()
    }

    /// The kernel's position in [`Kernel::ALL`] (and in the built pipelines).
    pub(crate) fn index(self) -> usize {
        self as usize
    }
}
