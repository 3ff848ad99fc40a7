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
                uses_activations: $acts,
                params: &<$params as UniformParams>::LAYOUT,
                bindings: &[$(Binding { name: $binding, access: access!($access) }),*],
            },
        )*];

        $(impl KernelParams for $params {
            const KERNEL: Kernel = Kernel::$variant;
        })*
    };
}

kernel_table! {
    /// out = act(op(A)·op(B) + bias), keeping z, over one K slice per workgroup layer.
    Matmul = "matmul", MatmulParams, activations: true,
        [read "a", read "b", read "bias", read_write "out", read_write "z", read "indices"];
    /// Adds a split-K product's partial sums and applies the epilogue.
    MatmulReduce = "matmul_reduce", MatmulReduceParams, activations: true,
        [read "partial", read "bias", read_write "out", read_write "z"];
    /// dz = dy ⊙ act′(z).
    ActivationBackward = "activation_backward", ActivationBackwardParams, activations: true,
        [read "dy", read "z", read_write "dz"];
    /// Row softmax.
    Softmax = "softmax", SoftmaxParams, activations: false,
        [read "z", read_write "out"];
    /// The loss head: per-row losses, their gradient (times the output derivative) and the
    /// metric sums, in one pass.
    Loss = "loss", LossParams, activations: true,
        [read "pred", read "aux", read "targets", read "weights", read "indices",
         read_write "row_loss", read_write "grad", read_write "acc"];
    /// Adds per-workgroup partial sums to their accumulator.
    SumPartials = "sum_partials", SumPartialsParams, activations: false,
        [read "src", read_write "dst"];
    /// One optimizer step over a flat parameter vector.
    OptimizerStep = "optimizer_step", OptimizerParams, activations: false,
        [read_write "param", read "grad", read_write "s0", read_write "s1", read_write "s2"];
    /// The row gather.
    GatherRows = "gather_rows", GatherParams, activations: false,
        [read "src", read "indices", read_write "out"];
    /// `out[i]` = value.
    Fill = "fill", FillParams, activations: false,
        [read_write "out"];
    /// Gradient through a row softmax.
    SoftmaxBackward = "softmax_backward", SoftmaxBackwardParams, activations: false,
        [read "y", read "dy", read_write "dz"];
    /// Inverted dropout and its gradient.
    Dropout = "dropout", DropoutParams, activations: false,
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
