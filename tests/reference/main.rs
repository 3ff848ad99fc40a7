//! Reference tests (DESIGN.md §6, layers 1 and 3): Keras golden values for every operation and
//! for one whole training step through the real executor, and finite-difference checks of
//! the layers' own backward passes and of whole models' training steps, on both backends.

// Every test must be registered in `main`: an unregistered one is dead code, refused here.
#![deny(dead_code)]

#[path = "../common/mod.rs"]
mod common;
mod golden;
mod gradients;

use common::harness::Tests;

fn main() -> std::process::ExitCode {
    let t = Tests::new();
    let t = register!(
        t,
        per_device: golden::activations,
        golden::softmax,
        golden::losses,
        golden::dense,
        golden::optimizers,
        golden::mlp_step,
        gradients::dense_gradients_match_finite_differences_for_every_activation,
        gradients::dense_gradients_with_non_default_alpha,
        gradients::model_gradients_match_finite_differences,
    );
    register!(
        t,
        plain: gradients::checker_rejects_wrong_gradients,
        gradients::loss_gradients_match_finite_differences_for_every_loss,
        gradients::checker_rejects_unscaled_loss_gradient,
        gradients::softmax_backward_matches_finite_differences,
    )
    .run()
}
