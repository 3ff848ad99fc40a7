//! `wgtrain info`: the adapters wgpu sees, their limits and features, which backend `auto`
//! would choose, and optionally the device memory a model would take.

use super::args::InfoArgs;
use super::spec::parse_layers;
use wgtrain::Result;
use wgtrain::backend::gpu::{AdapterChoice, GpuContext, backend_env_problem, list_adapters};
use wgtrain::model::{Execution, Sequential};
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
    }
    match GpuContext::new(&AdapterChoice::Auto) {
        Ok(ctx) => println!(
            "auto chooses the GPU: [{}] {} ({})",
            ctx.summary.index, ctx.summary.name, ctx.summary.backend
        ),
        Err(e) => println!("auto chooses the CPU backend (ndarray): {e}"),
    }
    if let Some(text) = &args.layers {
        let mut s = Sequential::new(args.inputs);
        for l in parse_layers(text)? {
            s = s.add(l);
        }
        // From the shapes alone: the model is never allocated, so any size can be described.
        let summary = s.summary(
            Loss::MeanSquaredError,
            Optimizer::adam(),
            Execution::Auto,
            args.batch_size,
        )?;
        println!("{summary}");
    }
    Ok(())
}
