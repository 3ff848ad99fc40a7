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
            ExitCode::FAILURE
        }
    }
}
