//! The `wgtrain` command: parses the flags, calls the engine, prints, plots. With no
//! arguments it trains the seed model on the bundled example data set.
//!
//! Layout: `cli` (flags and subcommands), `bench` (the bench runner and its report), `plot`
//! (the PNG charts); the engine is the `wgtrain` library, which none of them is part of.

mod bench;
mod cli;
mod plot;

/// The integration tests' helpers (GPU acquisition that fails under `WGTRAIN_REQUIRE_GPU=1`,
/// fuzz case counts), shared with the unit tests of the command's modules.
#[cfg(test)]
#[path = "../../../tests/common/mod.rs"]
mod common;

use std::process::ExitCode;

use clap::Parser;
use cli::{Cli, describe, run};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wgtrain: error: {}", describe(&e));
            // Exit status 2 for a usage mistake (as clap uses for bad flags), 1 for a failure.
            if matches!(e, wgtrain::Error::InvalidArgument { .. }) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
