//! The GPU backend's tests (DESIGN.md §6, layer 2): every kernel against the CPU reference,
//! forward and backward, as property tests over random shapes that are not multiples of the
//! tile sizes (1 and odd primes included) plus fixed edge shapes, one module per kernel family;
//! and the GPU context: adapters, limits and every way an operation can fail, as typed errors.
//! Each parity test prints the largest relative error it saw
//! (`cargo test --release --test gpu -- --nocapture`).

// Every test must be registered in `main`: an unregistered one is dead code, refused here.
#![deny(dead_code)]

mod adapters;
#[cfg(feature = "cli")]
mod command;
#[path = "../common/mod.rs"]
mod common;
mod counters;
mod data_movement;
mod elementwise;
mod faults;
mod folds;
mod loss_metrics;
mod matmul;
mod matmul_variants;
mod optimizer;
mod parity;
mod seam;
mod trusted;

use common::harness::Tests;

fn main() -> std::process::ExitCode {
    let t = Tests::new();
    let t = register!(t, gpu: matmul::matmul_every_transpose_form_matches_cpu, matmul::matmul_on_views_at_odd_offsets_matches_cpu, matmul::matmul_epilogue_every_activation_matches_cpu);
    let t = register!(t, gpu: matmul_variants::every_variant_matches_cpu_in_every_form_and_edge_shape, matmul_variants::every_variant_matches_cpu_on_random_shapes_and_epilogues, matmul_variants::every_variant_handles_views_at_odd_offsets, matmul_variants::autotune_measures_once_keeps_a_correct_variant_and_caches_it);
    let t = register!(t, gpu: elementwise::activation_backward_and_bias_grad_match_cpu, elementwise::softmax_matches_cpu_and_is_stable, elementwise::softmax_backward_and_dropout_match_cpu);
    let t = register!(t, gpu: folds::matmul_with_a_rows_through_an_index_matches_cpu_and_the_gather, folds::matmul_derivative_epilogue_every_activation_matches_cpu, folds::score_with_targets_through_an_index_matches_cpu_and_the_gather);
    let t = register!(t, gpu: loss_metrics::every_loss_and_its_gradient_match_cpu, loss_metrics::metric_accumulators_match_cpu, loss_metrics::non_finite_losses_are_counted_on_the_device);
    let t = register!(t, gpu: optimizer::every_optimizer_matches_cpu_over_several_steps, optimizer::optimizer_over_more_elements_than_one_dispatch_dimension);
    let t = register!(t, gpu: data_movement::gather_rows_matches_cpu, data_movement::fill_copy_and_write_keep_program_order);
    let t = register!(t, gpu: adapters::list_adapters_reports_every_adapter_with_non_zero_limits, adapters::device_is_created_with_the_adapters_own_limits, adapters::adapter_is_chosen_by_name_substring_and_by_index, adapters::unmatched_choice_is_no_adapter_listing_the_adapters_present, faults::small_device_refuses_a_tensor_over_its_limits, faults::destroyed_device_is_device_lost_not_a_panic, faults::injected_validation_error_is_returned_by_the_next_operation, seam::tensors_do_not_cross_between_gpu_and_cpu, seam::both_backends_reject_each_mistake_with_the_same_words, counters::steady_state_steps_allocate_nothing_and_flush_submits_once, counters::layered_steps_of_dense_layers_take_3l_plus_1_dispatches, adapters::kernels_validate_against_the_devices_target);
    let t = register!(t, gpu: trusted::every_kernel_gives_the_same_bits_trusted_and_checked, trusted::layered_training_gives_the_same_weights_trusted_and_checked);
    let t = register!(t, per_device: seam::freed_tensor_is_unknown_tensor, seam::mismatched_shapes_are_shape_errors_with_both_shapes);
    let t = register!(t, plain: adapters::adapter_choice_parse_and_resolve_with, seam::a_tensor_of_another_cpu_backend_is_refused);
    // Runs the built command, which the `cli` feature builds.
    #[cfg(feature = "cli")]
    let t = register!(t, gpu: command::gpu_backend_trains_through_the_command);
    t.run()
}
