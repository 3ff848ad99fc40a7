//! Bounded loops (DESIGN.md §3, issue 12 item 1): lavapipe silently ends a shader loop after
//! 65 535 iterations per invocation, so every long reduction is split. These tests check the
//! split planners over every shape a plan can ask for (up to the largest buffers the device
//! limits allow) without an adapter, and compare GPU and CPU where the old kernels went
//! silently wrong: a product with K = 100 000, bias gradients and metric sums over many rows,
//! and a whole-batch training step of a 2 → 10 → 1 model on 100 000 rows.

// Every test must be registered in `main`: an unregistered one is dead code, refused here.
#![deny(dead_code)]

#[path = "../common/mod.rs"]
mod common;
mod planners;
mod products;

use common::harness::Tests;

fn main() -> std::process::ExitCode {
    let t = Tests::new();
    let t = register!(t, plain:
        planners::matmul_splits_stay_within_the_loop_budget_for_every_accepted_shape,
        planners::metric_splits_stay_within_the_loop_budget_for_every_accepted_shape,
        planners::rows_wider_than_the_row_kernels_are_refused,
        planners::the_unsplit_product_would_pass_the_limit_where_it_was_seen_failing,
    );
    register!(t, gpu:
        products::products_with_k_100000_match_the_cpu,
        products::indexed_and_derivative_products_with_k_100000_match_the_cpu,
        products::bias_gradient_over_300000_rows_matches_the_cpu,
        products::metrics_over_two_million_rows_match_the_cpu,
        products::a_dispatch_over_the_loop_budget_is_a_typed_error,
        products::whole_batch_training_on_100000_rows_matches_the_cpu_and_allocates_nothing_per_epoch,
    )
    .run()
}
