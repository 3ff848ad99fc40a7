//! The fused executor (issue 11): its results equal the CPU backend's over depths, widths,
//! batch sizes (not multiples of the workgroup), activations, losses, optimizers, schedules,
//! dropout and class weights; the Keras golden MLP step passes through it; a lavapipe-length
//! epoch (more loop iterations than one dispatch may run) completes in bounded dispatches with
//! its step count checked; `auto` picks it where the model fits and says why not otherwise.

#[path = "../common/mod.rs"]
mod common;
mod equality;
mod selection;

use common::harness::Tests;

fn main() -> std::process::ExitCode {
    let t = Tests::new();
    let t = register!(
        t,
        gpu: equality::fused_equals_cpu_over_random_models,
        equality::fused_equals_cpu_for_every_activation,
        equality::fused_equals_cpu_for_every_loss,
        equality::fused_equals_cpu_for_every_optimizer,
        equality::golden_mlp_step_through_fused,
        equality::adam_table_refills_across_epochs,
        equality::split_steps_equal_cpu,
        equality::lavapipe_length_epoch_completes_in_bounded_dispatches,
        equality::seed_epoch_takes_at_most_two_dispatches,
        equality::validation_and_prediction_after_fused_training,
        selection::gpu_auto_picks_fused_where_it_fits,
        selection::too_wide_model_falls_back_or_refuses,
        selection::webgpu_default_limits_decide_the_fit,
    );
    register!(t, per_device: selection::cpu_runs_layered_and_refuses_fused).run()
}
