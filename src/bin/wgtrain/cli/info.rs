//! `wgtrain info`: the adapters wgpu sees, their limits and features, whether the kernels are
//! built trusted (without runtime bounds checks) or checked, which backend `auto` would
//! choose, and optionally a model's summary: its layers, the executor that would run it and
//! why, and the device memory it would take.

use super::args::{BackendChoice, InfoArgs};
use super::choices::execution_for;
use super::spec::parse_layers;
use clap::ValueEnum;
use wgtrain::Result;
use wgtrain::backend::ProgramLimits;
use wgtrain::backend::gpu::trust::{self, ShaderChecks};
use wgtrain::backend::gpu::{
    AdapterChoice, GpuContext, TuningSummary, backend_env_problem, chosen_adapter, list_adapters,
};
use wgtrain::model::{Device, Sequential};
use wgtrain::nn::{Loss, Optimizer};

/// Runs `wgtrain info`.
pub fn info(args: &InfoArgs) -> Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty()
        && let Some(problem) = backend_env_problem()
    {
        println!("No GPU adapter found: {problem}.");
    } else if adapters.is_empty() {
        println!("No GPU adapter found: install a Vulkan driver (mesa-vulkan-drivers gives the lavapipe CPU adapter).");
    } else {
        println!("GPU adapters:");
        for a in &adapters {
            println!("{a}");
        }
        // The matrix-product variants of the adapter --backend gpu opens.
        if let Some(adapter) = chosen_adapter(&AdapterChoice::Auto) {
            println!(
                "On [{}] {}, {}",
                adapter.index,
                adapter.name,
                TuningSummary::of(&adapter)
            );
        }
    }
    // How a GPU backend opened now would build its kernels (the environment decides).
    println!("GPU shaders: {}", trust::summary(ShaderChecks::from_env()?));
    // The adapter a GPU model would run on (its limits decide the fused executor's fit).
    let mut gpu_adapter = None;
    let auto_gpu = match Device::resolve_auto() {
        (Device::Cpu, notice) => {
            println!(
                "auto chooses the CPU backend (ndarray): {}",
                notice.unwrap_or_default().replace("(Device::Gpu)", "(--backend gpu)")
            );
            false
        }
        _ => match GpuContext::new(&AdapterChoice::Auto) {
            Ok(ctx) => {
                println!(
                    "auto chooses the GPU: [{}] {} ({})",
                    ctx.summary.index, ctx.summary.name, ctx.summary.backend
                );
                gpu_adapter = Some(ctx.summary.clone());
                true
            }
            Err(e) => {
                println!("auto chooses the CPU backend (ndarray): {e}");
                false
            }
        },
    };
    if let Some(text) = &args.layers {
        let mut s = Sequential::new(args.inputs);
        for l in parse_layers(text)? {
            s = s.add(l);
        }
        // From the shapes alone: the model is never allocated (nor a device opened), so a
        // model of any size can be described.
        let on_gpu = match args.backend {
            BackendChoice::Gpu => true,
            BackendChoice::Auto => auto_gpu,
            BackendChoice::Cpu => false,
        };
        // The adapter --backend gpu would open (found without opening a device).
        let adapter = match (on_gpu, gpu_adapter) {
            (false, _) => None,
            (true, Some(a)) => Some(a),
            (true, None) => chosen_adapter(&AdapterChoice::Auto),
        };
        let limits = adapter.as_ref().map(ProgramLimits::of_adapter);
        let summary = s.summary_on(
            Loss::MeanSquaredError,
            Optimizer::adam(),
            execution_for(args.executor),
            args.batch_size,
            limits,
        )?;
        let backend = args.backend.to_possible_value().map(|v| v.get_name().to_string());
        println!("For --backend {}:", backend.unwrap_or_default());
        println!("{summary}");
    }
    Ok(())
}
