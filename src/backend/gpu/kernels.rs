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
            [$($access:ident $binding:literal),* $(,)?];
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
            },
        )*];

        $(params_kernel!($params, $variant $(, $primary)?);)*
    };
}

kernel_table! {
    /// out = act(op(A)·op(B) + bias), keeping z, over one K slice per workgroup layer: the
    /// shared-memory tiled variant.
    Matmul = "matmul", MatmulParams, libraries: [ACTIVATIONS, MATMUL_COMMON],
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"];
    /// The same product, register-blocked without shared memory.
    MatmulBlocked = "matmul_blocked", MatmulParams alternative of Matmul,
        libraries: [ACTIVATIONS, MATMUL_COMMON],
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"];
    /// The same product with K split across a workgroup's invocations (few outputs, long K).
    MatmulSkinny = "matmul_skinny", MatmulParams alternative of Matmul,
        libraries: [ACTIVATIONS, MATMUL_COMMON],
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"];
    /// The same product sharing A through subgroup shuffles.
    MatmulSubgroup = "matmul_subgroup", MatmulParams alternative of Matmul,
        libraries: [ACTIVATIONS, MATMUL_COMMON], needs SUBGROUP,
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"];
    /// Adds a split-K product's partial sums and applies the epilogue.
    MatmulReduce = "matmul_reduce", MatmulReduceParams, libraries: [ACTIVATIONS],
        [read "partial", read "bias", read_write "out", read_write "z"];
    /// dz = dy ⊙ act′(z).
    ActivationBackward = "activation_backward", ActivationBackwardParams, libraries: [ACTIVATIONS],
        [read "dy", read "z", read_write "dz"];
    /// Row softmax.
    Softmax = "softmax", SoftmaxParams, libraries: [],
        [read "z", read_write "out"];
    /// The loss head: per-row losses, their gradient (times the output derivative) and the
    /// metric sums, in one pass.
    Loss = "loss", LossParams, libraries: [ACTIVATIONS],
        [read "pred", read "aux", read "targets", read "weights", read "indices",
         read_write "row_loss", read_write "grad", read_write "acc"];
    /// Adds per-workgroup partial sums to their accumulator.
    SumPartials = "sum_partials", SumPartialsParams, libraries: [],
        [read "src", read_write "dst"];
    /// One optimizer step over a flat parameter vector.
    OptimizerStep = "optimizer_step", OptimizerParams, libraries: [],
        [read_write "param", read "grad", read_write "s0", read_write "s1", read_write "s2"];
    /// The row gather.
    GatherRows = "gather_rows", GatherParams, libraries: [],
        [read "src", read "indices", read_write "out"];
    /// `out[i]` = value.
    Fill = "fill", FillParams, libraries: [],
        [read_write "out"];
    /// Gradient through a row softmax.
    SoftmaxBackward = "softmax_backward", SoftmaxBackwardParams, libraries: [],
        [read "y", read "dy", read_write "dz"];
    /// Inverted dropout and its gradient.
    Dropout = "dropout", DropoutParams, libraries: [],
        [read "x", read_write "mask", read_write "out"];
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
