//! The kernel table, one entry per compute kernel: its name (= shader file = entry point),
//! its WGSL source, its `Params` uniform, its storage bindings with their access, and whether
//! which WGSL libraries are prepended (the activation functions; the matrix product's shared
//! part) and which optional device features it needs. The [`Kernel`] enum, [`Kernel::ALL`], the
//! table and the link from each `Params` struct to its kernel are all generated from the one
//! list below, so they cannot drift apart. Every module is the generated prelude
//! (`prelude.rs`), then its libraries, then the kernel's file. A kernel marked `alternative`
//! is another variant of a kernel above it (same `Params`, same bindings): the `Params` struct
//! dispatches its primary kernel unless the backend picks a variant (`matmul_variants.rs`).

use super::params::{
    ActivationBackwardParams, DropoutParams, FillParams, GatherParams, KernelParams, LossParams, MatmulParams,
    MatmulReduceParams, OptimizerParams, ParamsLayout, SoftmaxBackwardParams, SoftmaxParams, SumPartialsParams,
    UniformParams,
};
use super::prelude;
use super::trust::Trust;

/// Activation functions, a library prepended to the kernels that apply them.
pub const ACTIVATION_LIBRARY: &str = include_str!("../../../shaders/activation.wgsl");

/// What every matrix-product variant shares: uniform, bindings, loads, epilogue.
pub const MATMUL_LIBRARY: &str = include_str!("../../../shaders/matmul_common.wgsl");

/// A WGSL library prepended to kernels: its file (for positions in errors) and its source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Library {
    /// The file, as `shaders/<name>.wgsl`.
    pub file: &'static str,
    /// Its WGSL.
    pub wgsl: &'static str,
}

/// The activation library.
pub const ACTIVATIONS: Library = Library {
    file: "shaders/activation.wgsl",
    wgsl: ACTIVATION_LIBRARY,
};

/// The matrix product's shared part.
pub const MATMUL_COMMON: Library = Library {
    file: "shaders/matmul_common.wgsl",
    wgsl: MATMUL_LIBRARY,
};

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
    /// The libraries prepended, in order.
    pub libraries: &'static [Library],
    /// Optional device features the kernel needs (it is built only where they are present).
    pub features: wgpu::Features,
    /// The kernel whose variant this is (itself for a primary kernel).
    pub primary: Kernel,
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
    /// Whether the kernel is built per specialization of its pipeline-overridable constants
    /// on first use (the matmul variants: transpose form and vec4 loads), not with the table.
    pub fn specialized(&self) -> bool {
        self.libraries.contains(&MATMUL_COMMON)
    }

    /// The complete module handed to the compiler: the prelude, the kernel's libraries, then
    /// the kernel.
    pub fn module_source(&self) -> ModuleSource {
        let mut source = ModuleSource::new(self.name);
        source.push("generated prelude", prelude::wgsl());
        for library in self.libraries {
            source.push(library.file, library.wgsl);
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

macro_rules! features {
    () => {
        wgpu::Features::empty()
    };
    ($feature:ident) => {
        wgpu::Features::$feature
    };
}

macro_rules! primary {
    ($variant:ident) => {
        Kernel::$variant
    };
    ($variant:ident, $primary:ident) => {
        Kernel::$primary
    };
}

macro_rules! params_kernel {
    ($params:ident, $variant:ident) => {
        impl KernelParams for $params {
            const KERNEL: Kernel = Kernel::$variant;
        }
    };
    ($params:ident, $variant:ident, $primary:ident) => {};
}

macro_rules! kernel_table {
    ($(
        $(#[$doc:meta])*
        $variant:ident = $name:literal, $params:ident $(alternative of $primary:ident)?,
            libraries: [$($lib:ident),*] $(, needs $feature:ident)?,
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
                libraries: &[$($lib),*],
                features: features!($($feature)?),
                primary: primary!($variant $(, $primary)?),
                params: &<$params as UniformParams>::LAYOUT,
                bindings: &[$(Binding { name: $binding, access: access!($access) }),*],
                trust: $trust,
            },
        )*];

        $(params_kernel!($params, $variant $(, $primary)?);)*
    };
}

/// The audit of `shaders/matmul_common.wgsl`, which every matrix-product variant's argument
/// rests on (its source is part of each variant's audited hash).
///
/// op(A) reads A at `a_off + r·K + k` (stored [rows, K]) or `a_off + r·a_rows + i` (stored
/// [K, a_rows]) only when i < a_rows (<= M) and k < k_end <= K, where the stored row r is i
/// (or k when transposed) itself, below `a_rows` (or K), or with A_INDEXED `indices[index_off
/// + that] − row_base` — data, so read only when r < a_src_rows, and the index read only at
/// `index_off + i` (i < a_rows) or `index_off + k` (k < K), else at element 0; so A is read
/// below `a_off + rows·K` or `a_off + rows·a_rows` with rows = a_rows or K, or a_src_rows
/// when indexed; otherwise the branch-free loads read element 0, which every buffer holds (the backend pads
/// each to whole 16-byte units). A vec4 load reads the vec4 holding its first element, `e >> 2`,
/// chosen by the same guard, so it lies in the buffer whenever that element does, whatever the
/// specialization constants claim about alignment; a scalar load reads lane `e & 3` of vec4
/// `e >> 2`. op(B) likewise below `b_off + K·N` (j < N, k < k_end). The index arithmetic of an
/// unselected side may wrap; it is never used. The epilogue writes out and z at `off + i·N + j`
/// after i < M, j < N (z also read there with MATMUL_FLAG_DERIV), reads bias at
/// `bias_off + j` with MATMUL_FLAG_BIAS, and writes a partial
/// layer at `out_off + layer·M·N + i·N + j` (the layer below the dispatch's `groups.z`).
pub const MATMUL_COMMON_AUDIT: &str = "matmul_common.wgsl: loads guarded by i < a_rows, j < N, k < k_end <= K \
    and an indexed row by r < a_src_rows (else element 0); an index read (a_row_of, a_krow_of) at index_off + \
    a row i < a_rows or a column k < k_end with a_rows > 0 (else element 0); vec4 loads at the vec4 of a guarded \
    first element; epilogue guarded by i < M, j < N, its bias and z accesses by EPILOGUE, which the dispatch \
    checks equals the uniform's flags (Extents::agrees); a scalar of out or z is the component e & 3 of vec4 e >> 2, \
    element e itself; with OUT_VEC4 (checked the same way: N and the offsets multiples of 4, j a multiple of 4) \
    the vec4 at element e holds columns j .. j+4, all below N, and bias j .. j+4 likewise.";

// The trust arguments below are audits of each shader (`trust.rs` says what they rest on):
// "extent" means the end of a binding's range as `extents.rs` computes it from the same
// Params, which the dispatch proves lies inside the bound buffer. Indices are u32; every one
// is a sum of non-negative terms at most its binding's extent, which fits a buffer, so no
// index expression that reaches memory can wrap. `audited` is `trust::source_hash` of the
// source the argument was written for: edit a shader and it is built checked until audited
// again (the kernel table's test prints the new hash).
kernel_table! {
    /// out = act(op(A)·op(B) + bias), keeping z, over one K slice per workgroup layer: the
    /// shared-memory tiled variant.
    Matmul = "matmul", MatmulParams, libraries: [ACTIVATIONS, MATMUL_COMMON],
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"],
        trust: Trust::Proven { audited: 0x0a4b95b8d9490612, argument: "The loads and the epilogue of matmul_common.wgsl \
            (MATMUL_COMMON_AUDIT). Workgroup tiles: kk·64 + i + q and (kk + q)·64 + i with kk < 16 (t / 16, or \
            (t % 4)·4 + q), q < 4, i < 64 (t / 4, or (t % 16)·4 + q), t < 256: below 1024; the product reads \
            kk·64 + lid·4 + q, lid < 16: below 1024. Layer = wid.z; the epilogue's block[e] with e below the block's length." };
    /// The same product, register-blocked without shared memory.
    MatmulBlocked = "matmul_blocked", MatmulParams alternative of Matmul,
        libraries: [ACTIVATIONS, MATMUL_COMMON],
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"],
        trust: Trust::Proven { audited: 0x89720991eb4970d7, argument: "The loads and the epilogue of matmul_common.wgsl \
            (MATMUL_COMMON_AUDIT) only; no workgroup or indexed private arrays. Layer = wid.z; the epilogue's block[e] with e below the block's length." };
    /// The same product with K split across a workgroup's invocations (few outputs, long K).
    MatmulSkinny = "matmul_skinny", MatmulParams alternative of Matmul,
        libraries: [ACTIVATIONS, MATMUL_COMMON],
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"],
        trust: Trust::Proven { audited: 0xf9bd921c92637624, argument: "The loads and the epilogue of matmul_common.wgsl \
            (MATMUL_COMMON_AUDIT). Workgroup partial[256 vec4]: t·4 + q with t < 64, q < 4; the tree adds \
            (t + stride)·4 + q with t < stride <= 32; partial[t] with t < 4. Layer = wid.z; the epilogue's block[e] with e below the block's length." };
    /// The same product sharing B through subgroup rotations.
    MatmulSubgroup = "matmul_subgroup", MatmulParams alternative of Matmul,
        libraries: [ACTIVATIONS, MATMUL_COMMON], needs SUBGROUP,
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"],
        trust: Trust::Proven { audited: 0x9a533a94d4ec8387, argument: "The loads and the epilogue of matmul_common.wgsl \
            (MATMUL_COMMON_AUDIT) only; subgroup shuffles move values, never index memory. Layer = wid.z; the epilogue's \
            block[r] and by_rotation[s] with r, s < 8, their lengths." };
    /// Adds a split-K product's partial sums and applies the epilogue.
    MatmulReduce = "matmul_reduce", MatmulReduceParams, libraries: [ACTIVATIONS],
        [read "partial", read "bias", read_write "out", read_write "z"],
        trust: Trust::Proven { audited: 0xaf15f17a6ff25788, argument: "Every access is after e < len: partial at partial_off + \
            w·len + e with w < layers; bias at bias_off + e % n with MATMUL_FLAG_BIAS; out, z at off + e \
            (z written with MATMUL_FLAG_Z, read with MATMUL_FLAG_DERIV)." };
    /// dz = dy ⊙ act′(z).
    ActivationBackward = "activation_backward", ActivationBackwardParams, libraries: [ACTIVATIONS],
        [read "dy", read "z", read_write "dz"],
        trust: Trust::Proven { audited: 0xe40ff87cf95c6e47, argument: "One element e < len, at off + e of each binding." };
    /// Row softmax.
    Softmax = "softmax", SoftmaxParams, libraries: [],
        [read "z", read_write "out"],
        trust: Trust::Proven { audited: 0x37227b3d6e24679d, argument: "Row < rows; z at z_off + row·cols + j and out at out_off + \
            row·cols + j with j < cols, and z at z_off + row·cols before the loops (the host never dispatches \
            cols = 0; the extent counts that first element anyway)." };
    /// The loss head: per-row losses, their gradient (times the output derivative) and the
    /// metric sums, in one pass.
    Loss = "loss", LossParams, libraries: [ACTIVATIONS],
        [read "pred", read "aux", read "targets", read "weights", read "indices",
         read_write "row_loss", read_write "grad", read_write "acc"],
        trust: Trust::Proven { audited: 0x57dd95529f15a245, argument: "Rows are below min(first + rows_per_group, rows). A \
            target or weight row r is the row itself or, with LOSS_FLAG_INDEXED, indices[index_off + row] − \
            row_base (indices below index_off + rows); either way targets and weights are read only when r < \
            target_rows: targets at target_off + r·width + j (width 1 for the sparse kinds and the sparse \
            accuracy, whose class index is compared, never used as an index; else cols, j < cols), weights at \
            weight_off + r with LOSS_FLAG_WEIGHTS. With LOSS_FLAG_LOSS: pred at pred_off + row·cols + j (the \
            logit kinds also read j = 0), grad at grad_off + row·cols + j with LOSS_FLAG_GRAD, and then aux \
            at z_off + the same with LOSS_FLAG_DERIVATIVE. row_loss at row_loss_off + row, read or written. \
            With LOSS_FLAG_METRICS: what they see at output_off + row·cols + j of aux, or of pred at \
            pred_off + with LOSS_FLAG_DERIVATIVE; acc at acc_off + lid < METRIC_SLOTS_USED, or acc_off + \
            wid.x·METRIC_COUNT + lid with LOSS_FLAG_PARTIAL (wid.x < the dispatch's groups). Private s[q] and \
            workgroup partial[q·256 + lid (+ stride)] with q < METRIC_SLOTS_USED, lid < stride <= 128 or \
            lid < 256." };
    /// Adds per-workgroup partial sums to their accumulator.
    SumPartials = "sum_partials", SumPartialsParams, libraries: [],
        [read "src", read_write "dst"],
        trust: Trust::Proven { audited: 0x2319ac0126af9e17, argument: "j < width: src at src_off + g·stride + j with g < count, \
            dst at dst_off + j." };
    /// One optimizer step over a flat parameter vector.
    OptimizerStep = "optimizer_step", OptimizerParams, libraries: [],
        [read_write "param", read "grad", read_write "s0", read_write "s1", read_write "s2"],
        trust: Trust::Proven { audited: 0x03b519c3a86dc95c, argument: "i < n: param, grad at off + i; a state binding at its \
            offset + i only for the slots the kind and flags use (SGD: SLOT_SGD_MOMENTUM with \
            OPT_FLAG_MOMENTUM; Adam: SLOT_ADAM_M and SLOT_ADAM_V; RMSprop: SLOT_RMS_VELOCITY, \
            SLOT_RMS_AVERAGE_GRADIENT with OPT_FLAG_CENTERED, SLOT_RMS_MOMENTUM with OPT_FLAG_MOMENTUM). \
            Uniform arrays: sched_boundaries[k / 4][k % 4] with k < min(count, 16), sched_values[i / 4] \
            [i % 4] with i <= 16 (5 vec4s)." };
    /// The row gather.
    GatherRows = "gather_rows", GatherParams, libraries: [],
        [read "src", read "indices", read_write "out"],
        trust: Trust::Proven { audited: 0x8840d2eab10c84ac, argument: "e < rows·cols: indices at idx_off + first + e / cols \
            (below idx_off + first + rows); the index read there is data, so src is read only when r = \
            index − row_base < src_rows, at src_off + r·cols + e % cols; out at out_off + e." };
    /// `out[i]` = value.
    Fill = "fill", FillParams, libraries: [],
        [read_write "out"],
        trust: Trust::Proven { audited: 0x79dbe6cc5f59c6c3, argument: "i < n: out at out_off + i." };
    /// Gradient through a row softmax.
    SoftmaxBackward = "softmax_backward", SoftmaxBackwardParams, libraries: [],
        [read "y", read "dy", read_write "dz"],
        trust: Trust::Proven { audited: 0xdd00dae4fd7f1db9, argument: "Row < rows, j < cols: each binding at off + row·cols + j." };
    /// Inverted dropout and its gradient.
    Dropout = "dropout", DropoutParams, libraries: [],
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
