//! The model-level tests, one binary (one link instead of four), run by the per-device
//! harness (`tests/common/harness.rs`): whole training on both backends, learning-rate
//! schedules, injected faults, model files, and the asynchronous forms against the blocking ones.
//!
//! Each test is registered below by kind: `per_device` tests are written once and run as a
//! `::cpu` and a `::gpu` variant; `gpu` tests compare the GPU against the CPU or inject GPU
//! faults; `plain` tests need no GPU. Without an adapter the GPU ones are reported as ignored,
//! and with `WGTRAIN_REQUIRE_GPU=1` they run (and fail) instead.

// Every test must be registered in `main`: an unregistered one is dead code, refused here.
#![deny(dead_code)]

mod async_forms;
mod callbacks;
#[path = "../common/mod.rs"]
mod common;
mod model_file;
mod model_integrity;
mod model_training;
mod reliability;
mod schedules;

use std::process::ExitCode;

use common::harness::Tests;

fn main() -> ExitCode {
    let t = Tests::new();
    let t = register!(t, per_device: schedules::schedules_equal_keras_golden_values);
    let t = register!(t, per_device:
        async_forms::async_forms_equal_the_blocking_ones_bit_for_bit,
        async_forms::a_model_compiled_asynchronously_trains_as_one_compiled_blocking,
        async_forms::read_async_equals_read_and_checks_the_same,
        async_forms::async_forms_are_send_and_run_on_another_thread,
    );
    let t = register!(t, per_device:
        callbacks::evaluating_inside_a_callback_leaves_training_unchanged,
        callbacks::a_diverged_epoch_rolls_back_weights_optimizer_state_and_steps,
        callbacks::early_stopping_restores_the_best_epochs_weights,
    );
    let t = register!(t, plain:
        callbacks::a_monitor_the_logs_will_not_hold_is_refused_before_training,
        callbacks::model_checkpoint_saves_only_improvements,
        callbacks::csv_and_epoch_loggers_write_one_row_per_epoch,
    );
    let t = register!(t, per_device:
        model_training::xor_reaches_full_accuracy,
        model_training::two_moons_reach_97_percent,
        model_training::softmax_with_sparse_cross_entropy_learns_three_classes,
        model_training::same_seed_repeats_exactly,
        model_training::a_steady_state_step_allocates_nothing_and_reads_nothing_back,
        model_training::early_stopping_stops_and_restores_the_best_weights,
        model_training::nan_loss_stops_with_the_epoch_and_keeps_the_last_good_weights,
    );
    let t = register!(t, gpu: model_training::gpu_and_cpu_weights_agree_after_20_steps_of_each_optimizer);
    let t = register!(t, plain:
        model_training::short_last_batch_is_trained,
        model_training::hooks_and_stop_handles_stop_training,
        model_training::reduce_lr_on_plateau_lowers_the_rate,
        model_training::class_weights_and_validation_data_are_used,
        model_training::bad_inputs_are_typed_errors,
        model_training::summary_lists_layers_parameters_and_memory,
        model_training::accuracy_with_a_regression_loss_is_binary_accuracy_as_in_keras,
    );

    let t = register!(t, per_device:
        schedules::scheduled_sgd_equals_hand_computed_updates,
        schedules::training_with_each_schedule_logs_its_rates_and_differs_from_a_constant_rate,
    );
    let t = register!(t, gpu:
        schedules::scheduled_steps_agree_on_gpu_and_cpu_and_differ_from_a_constant_rate,
        schedules::training_with_each_schedule_agrees_on_gpu_and_cpu,
    );
    let t = register!(t, plain:
        schedules::every_schedule_equals_keras_at_many_steps,
        schedules::piecewise_boundaries_follow_keras_comparisons_exactly,
        schedules::schedules_hold_their_end_values_past_decay_steps,
        schedules::the_optimizer_evaluates_its_schedule_at_keras_iterations,
        schedules::bad_schedules_are_typed_errors_that_say_why,
        schedules::a_bad_schedule_fails_compile_and_the_optimizer_step,
        schedules::a_scheduled_rate_cannot_be_set_nor_reduced_on_plateau,
        schedules::a_scheduled_model_saves_and_loads_with_its_schedule,
    );

    let t = register!(t, gpu:
        reliability::a_device_lost_mid_training_is_an_error_and_the_last_good_weights_can_be_saved,
        reliability::a_model_too_large_for_the_device_names_the_limit,
        reliability::two_models_train_at_once_on_one_device_as_they_would_alone,
        reliability::a_data_set_larger_than_one_binding_trains_in_chunks_as_on_the_cpu,
    );
    // Runs the built command, which the `cli` feature builds.
    #[cfg(feature = "cli")]
    let t = register!(t, plain: reliability::a_crash_between_writing_and_renaming_leaves_the_previous_file_intact);

    let t = register!(t, per_device: model_file::training_5_saving_and_5_more_equals_10);
    let t = register!(t, plain:
        model_file::save_and_load_round_trip_every_value,
        model_file::init_from_a_file_of_another_shape_is_a_clear_error,
        model_file::damaged_files_are_errors_never_panics,
        model_file::v1_seed_model_written_by_the_command_still_loads,
        model_file::v1_model_with_text_columns_dropout_and_rmsprop_still_loads,
        model_file::v1_regression_model_with_sgd_still_loads,
        model_file::unknown_or_missing_names_in_the_metadata_are_errors_naming_the_field,
        model_integrity::every_single_bit_flip_of_a_model_file_is_found,
        model_integrity::files_without_a_checksum_load_and_say_so,
        model_integrity::model_files_are_read_header_first_with_sizes_checked,
        model_integrity::loaded_state_is_validated,
        model_integrity::a_foreign_weights_file_with_an_extra_layer_is_refused,
        model_integrity::a_damaged_checksum_key_does_not_turn_the_check_off,
    );
    t.run()
}
