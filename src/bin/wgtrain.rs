//! The `wgtrain` command (thin: parses the flags, calls the library). With no arguments it
//! trains the seed model on the bundled example data set.

use std::process::ExitCode;

use clap::Parser;
use wgtrain::cli::{Cli, run};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wgtrain: error: {e}");
            // Exit status 2 for a usage mistake (as clap uses for bad flags), 1 for a failure.
            if matches!(e, wgtrain::Error::InvalidArgument { .. }) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
