//! `wgtrain info`: the adapters wgpu sees, their limits and features, which backend `auto`
//! would choose, and optionally a model's summary: its layers, the executor that would run it
//! and why, and the device memory it would take.

use super::args::InfoArgs;
use super::choices::{device_for, execution_for};
use super::spec::parse_layers;
use wgtrain::Result;
use wgtrain::backend::gpu::{AdapterChoice, GpuContext, list_adapters};
use wgtrain::model::{Metric, Sequential};
use wgtrain::nn::{Loss, Optimizer};

/// Runs `wgtrain info`.
pub fn info(args: &InfoArgs) -> Result<()> {
    let adapters = list_adapters();
    if adapters.is_empty() {
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
        let model = s.compile_with(
            Loss::MeanSquaredError,
            Optimizer::adam(),
            &[Metric::MeanAbsoluteError],
            device_for(args.backend),
            execution_for(args.executor),
        )?;
        println!("{}", model.summary(args.batch_size));
    }
    Ok(())
}
