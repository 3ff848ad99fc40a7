//! The `wgtrain` command's logic, kept in the library so it is tested like the rest; the
//! binary only parses the arguments and calls [`run`].

pub mod apply;
pub mod args;
pub mod choices;
pub mod info;
pub mod report;
pub mod spec;
pub mod train;

pub use args::{Cli, Command};

use wgtrain::Result;

/// Runs a parsed command line (no subcommand: train on the bundled data set).
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        None => train::train(&args::TrainArgs::default()),
        Some(Command::Train(a)) => train::train(&a),
        Some(Command::Evaluate(a)) => apply::evaluate(&a),
        Some(Command::Predict(a)) => apply::predict(&a),
        Some(Command::Info(a)) => info::info(&a),
        Some(Command::Bench(a)) => bench(&a),
    }
}

/// Runs `wgtrain bench`: every workload on every available backend, as a table (or JSON),
/// optionally with a bar chart.
fn bench(args: &args::BenchArgs) -> Result<()> {
    let budget_s = (args.budget > 0.0).then_some(args.budget);
    let mut options = crate::bench::BenchOptions {
        progress: !args.json,
        budget_s,
        executor: choices::execution_for(args.executor),
        ..Default::default()
    };
    if let Some(rows) = args.rows {
        options = options.rows(rows);
    }
    if let Some(w) = &args.workload {
        options = options.workloads(&[w.as_str()]);
    }
    if let Some(e) = args.epochs {
        options = options.epochs(e);
    }
    let report = crate::bench::run(&options)?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{}", report.to_table());
    }
    if let Some(path) = &args.plot {
        report.write_plot(path)?;
    }
    Ok(())
}
