//! The shader table: every WGSL source gathered in one place with `include_str!`, so the
//! binary carries its kernels and a test can validate each one with naga.

/// Activation functions, a library prepended to the kernels that apply them.
pub const ACTIVATION_LIBRARY: &str = include_str!("../../../shaders/activation.wgsl");

/// One compute kernel: its name (= file name = entry point = Rust method) and its source.
#[derive(Clone, Copy, Debug)]
pub struct KernelSource {
    /// Name of the file, of the entry point and of the backend method.
    pub name: &'static str,
    /// The kernel's own WGSL.
    pub wgsl: &'static str,
    /// Whether the activation library must be prepended.
    pub uses_activations: bool,
}

impl KernelSource {
    /// The complete module source handed to the compiler.
    pub fn module_source(&self) -> String {
        if self.uses_activations {
            format!("{ACTIVATION_LIBRARY}\n{}", self.wgsl)
        } else {
            self.wgsl.to_string()
        }
    }
}

macro_rules! kernel {
    ($name:literal, $acts:expr) => {
        KernelSource {
            name: $name,
            wgsl: include_str!(concat!("../../../shaders/", $name, ".wgsl")),
            uses_activations: $acts,
        }
    };
}

/// Every kernel, in the order of [`super::kernels::Kernel`].
pub const KERNELS: [KernelSource; 10] = [
    kernel!("matmul", true),
    kernel!("activation_backward", true),
    kernel!("softmax", false),
    kernel!("loss", false),
    kernel!("accumulate_metrics", false),
    kernel!("optimizer_step", false),
    kernel!("gather_rows", false),
    kernel!("fill", false),
    kernel!("softmax_backward", false),
    kernel!("dropout", false),
];
