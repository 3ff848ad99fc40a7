//! The test runner of the engine's test binaries (libtest-mimic, `harness = false`): tests are
//! written once and registered per device, so each gets a `::cpu` and a `::gpu` variant. When
//! no GPU backend can be opened the GPU variants are reported as *ignored* (never as passed),
//! and with `WGTRAIN_REQUIRE_GPU=1` (CI) they run and fail instead.
//!
//! ```ignore
//! fn main() -> std::process::ExitCode {
//!     let t = Tests::new();
//!     let t = register!(t, per_device: fit_learns, evaluate_matches);
//!     let t = register!(t, gpu: gpu_equals_cpu);
//!     register!(t, plain: parses_names).run()
//! }
//! ```

use std::process::ExitCode;
use std::sync::OnceLock;

use libtest_mimic::{Arguments, Trial};
use wgtrain::backend::{Backend, CpuBackend, GpuBackend};
use wgtrain::model::Device;

/// The device a per-device test runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TestDevice {
    Cpu,
    Gpu,
}

impl TestDevice {
    /// The model-level device.
    pub fn device(self) -> Device {
        match self {
            TestDevice::Cpu => Device::Cpu,
            TestDevice::Gpu => Device::Gpu(Default::default()),
        }
    }

    /// A fresh backend on this device.
    pub fn backend(self) -> Box<dyn Backend> {
        match self {
            TestDevice::Cpu => Box::new(CpuBackend::new()),
            TestDevice::Gpu => Box::new(gpu_backend()),
        }
    }

    /// `cpu` or `gpu`.
    pub fn name(self) -> &'static str {
        match self {
            TestDevice::Cpu => "cpu",
            TestDevice::Gpu => "gpu",
        }
    }
}

/// A GPU backend for a test the harness let run (an adapter exists, or CI requires one).
pub fn gpu_backend() -> GpuBackend {
    GpuBackend::new().unwrap_or_else(|e| panic!("no GPU backend could be created: {e}"))
}

/// Whether GPU variants run: an adapter exists, or `WGTRAIN_REQUIRE_GPU=1` demands one (then
/// a missing adapter fails those tests). Only the adapter's absence makes them ignored: where
/// an adapter exists, a backend that fails to open (a shader regression, say) fails the
/// tests. Listing adapters builds no pipeline, so the probe leaves any pipeline cache alone.
/// Checked once per binary.
fn gpu_runs() -> bool {
    static RUNS: OnceLock<bool> = OnceLock::new();
    *RUNS.get_or_init(|| {
        let required = std::env::var("WGTRAIN_REQUIRE_GPU").is_ok_and(|v| v == "1");
        if required || !wgtrain::backend::gpu::list_adapters().is_empty() {
            return true;
        }
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "\n*** no GPU adapter: GPU tests are reported as ignored (WGTRAIN_REQUIRE_GPU=1 fails them) ***\n"
        );
        false
    })
}

/// The trials of one test binary.
#[derive(Default)]
pub struct Tests {
    trials: Vec<Trial>,
}

/// `golden :: mlp_step` (as `stringify!` writes a path) → `golden::mlp_step`.
fn test_name(path: &str) -> String {
    path.replace(' ', "")
}

impl Tests {
    pub fn new() -> Self {
        Tests::default()
    }

    /// A test that needs no device.
    pub fn plain(mut self, name: &str, f: fn()) -> Self {
        self.trials.push(Trial::test(test_name(name), move || {
            f();
            Ok(())
        }));
        self
    }

    /// A test written once, run on the CPU backend and on the GPU backend.
    pub fn per_device(mut self, name: &str, f: fn(TestDevice)) -> Self {
        for device in [TestDevice::Cpu, TestDevice::Gpu] {
            let trial = Trial::test(format!("{}::{}", test_name(name), device.name()), move || {
                f(device);
                Ok(())
            });
            self.trials
                .push(trial.with_ignored_flag(device == TestDevice::Gpu && !gpu_runs()));
        }
        self
    }

    /// A test that needs a GPU (a GPU-against-CPU comparison, a GPU fault test).
    pub fn gpu(mut self, name: &str, f: fn()) -> Self {
        let trial = Trial::test(test_name(name), move || {
            f();
            Ok(())
        });
        self.trials.push(trial.with_ignored_flag(!gpu_runs()));
        self
    }

    /// Runs the trials the command line selects (cargo test's filters and flags).
    pub fn run(self) -> ExitCode {
        libtest_mimic::run(&Arguments::from_args(), self.trials).exit_code()
    }
}

/// Registers test functions of one kind (`plain`, `per_device` or `gpu`) by path.
#[macro_export]
macro_rules! register {
    ($tests:expr, $kind:ident: $($f:path),* $(,)?) => {
        $tests $(.$kind(stringify!($f), $f))*
    };
}
