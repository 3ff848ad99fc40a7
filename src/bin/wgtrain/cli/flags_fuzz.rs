//! Fuzzing of the command's flags: random command lines from the real flag names and hostile
//! values (zero, negatives, NaN, infinities, `u64::MAX`, huge exponents, empty strings, paths
//! to devices, directories and missing places) go through the parser and every check that runs
//! before any work (ranges, layers, loss, optimizer, outputs); none may panic. Case count:
//! `WGTRAIN_FUZZ_CASES` (default 3 000).

use clap::Parser;
use proptest::prelude::*;

use super::args::{Cli, Command};
use super::paths::{OutputKind, check_outputs};
use super::{check_bench_flags, choices, spec, train};

const FLAGS: &[&str] = &[
    "--data",
    "--label",
    "--layers",
    "--loss",
    "--optimizer",
    "--lr",
    "--momentum",
    "--weight-decay",
    "--epochs",
    "--batch-size",
    "--test-split",
    "--validation-split",
    "--shuffle",
    "--seed",
    "--scale",
    "--backend",
    "--early-stopping",
    "--save",
    "--init-from",
    "--checkpoint-every",
    "--plot",
    "--class-limit",
    "--max-record-bytes",
    "--model",
    "--output",
    "--inputs",
    "--workload",
    "--rows",
    "--budget",
    "--json",
];

const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "0.5",
    "1.5",
    "NaN",
    "inf",
    "-inf",
    "1e309",
    "1e-45",
    "18446744073709551615",
    "18446744073709551616",
    "9999999999999999999999",
    "",
    " ",
    "adam",
    "sgd",
    "cpu",
    "auto",
    "none",
    "bce",
    "sce",
    "10:relu,1:sigmoid",
    "0:relu",
    "4294967296:relu",
    "dropout:1.5",
    "1:relu,,",
    "/dev/null",
    "/dev/zero",
    "/dev/stdout",
    "/",
    "/nonexistent/dir/m.safetensors",
    "x.jpg",
    "curves.png",
    "m.safetensors",
    "seed",
    "wide",
    "true",
    "false",
];

fn command_line() -> impl Strategy<Value = Vec<String>> {
    let sub = prop::sample::select(vec!["train", "evaluate", "predict", "info", "bench"]);
    let pair = (prop::sample::select(FLAGS), prop::sample::select(VALUES), any::<bool>());
    (sub, prop::collection::vec(pair, 0..8)).prop_map(|(sub, pairs)| {
        let mut argv = vec!["wgtrain".to_string(), sub.to_string()];
        for (flag, value, joined) in pairs {
            if joined {
                argv.push(format!("{flag}={value}"));
            } else {
                argv.push(flag.to_string());
                argv.push(value.to_string());
            }
        }
        argv
    })
}

/// Every check the command makes before it reads data or opens a device.
fn checks_before_work(cli: Cli) {
    match cli.command {
        Some(Command::Train(a)) => {
            let _ = train::check_flags(&a);
            let _ = a.layers.as_deref().map(spec::parse_layers);
            let _ = a.loss.as_deref().map(spec::parse_loss);
            let _ = choices::optimizer_for(&a);
            let _ = check_outputs(
                &[("--data", a.data.as_deref()), ("--init-from", a.init_from.as_deref())],
                &[
                    ("--save", a.save.as_deref(), OutputKind::Any),
                    ("--plot", a.plot.as_deref(), OutputKind::Png),
                ],
                &[("--init-from", "--save")],
            );
        }
        Some(Command::Predict(a)) => {
            let _ = check_outputs(
                &[("--model", Some(&a.model)), ("--data", Some(&a.data))],
                &[("--output", a.output.as_deref(), OutputKind::Any)],
                &[],
            );
        }
        Some(Command::Info(a)) => {
            let _ = a.layers.as_deref().map(spec::parse_layers);
        }
        Some(Command::Bench(a)) => {
            let _ = check_bench_flags(&a);
            let _ = check_outputs(&[], &[("--plot", a.plot.as_deref(), OutputKind::Png)], &[]);
        }
        Some(Command::Evaluate(_)) | None => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: crate::common::fuzz_cases(3000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// No command line panics the parser or the checks before work.
    #[test]
    fn hostile_command_lines_never_panic(argv in command_line()) {
        if let Ok(cli) = Cli::try_parse_from(&argv) {
            checks_before_work(cli);
        }
    }
}
