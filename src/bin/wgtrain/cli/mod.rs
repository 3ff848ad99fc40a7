//! The `wgtrain` command's logic, kept in the library so it is tested like the rest; the
//! binary only parses the arguments and calls [`run`].

pub mod apply;
pub mod args;
pub mod choices;
#[cfg(test)]
mod flags_fuzz;
pub mod info;
pub mod messages;
pub mod paths;
pub mod predictions;
pub mod prepare;
pub mod reading;
pub mod report;
pub mod spec;
pub mod train;

pub use args::{Cli, Command};
pub use messages::describe;

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
    check_bench_flags(args)?;
    paths::check_outputs(&[], &[("--plot", args.plot.as_deref(), paths::OutputKind::Png)], &[])?;
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
    // Each workload's rows are generated in memory (and copied to the backend): checked as a
    // whole before any is drawn.
    for w in options.selected()? {
        let bytes = (w.rows as u64).saturating_mul(w.input as u64 + 1).saturating_mul(4 * 3);
        wgtrain::memory::check(&format!("the {} workload's {} rows", w.name, w.rows), bytes)?;
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

/// The most rows `bench --rows` takes (ten million: minutes per epoch on a CPU already).
pub const MAX_BENCH_ROWS: usize = 10_000_000;
/// The most epochs `bench --epochs` takes.
pub const MAX_BENCH_EPOCHS: usize = 10_000;

/// Range checks of `wgtrain bench`'s numeric flags.
fn check_bench_flags(args: &args::BenchArgs) -> Result<()> {
    let bad = |what: &'static str, detail: String| Err(wgtrain::Error::InvalidArgument { what, detail });
    if let Some(rows) = args.rows
        && !(1..=MAX_BENCH_ROWS).contains(&rows)
    {
        return bad("--rows", format!("must be between 1 and {MAX_BENCH_ROWS}, got {rows}"));
    }
    if let Some(epochs) = args.epochs
        && !(1..=MAX_BENCH_EPOCHS).contains(&epochs)
    {
        return bad(
            "--epochs",
            format!("must be between 1 and {MAX_BENCH_EPOCHS}, got {epochs}"),
        );
    }
    if !(args.budget.is_finite() && args.budget >= 0.0) {
        return bad(
            "--budget",
            format!("must be a number of seconds ≥ 0 (0: no limit), got {}", args.budget),
        );
    }
    Ok(())
}
