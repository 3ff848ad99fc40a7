//! Running the binary and reading what it printed.

use std::path::Path;
use std::process::{Command, Output};

/// The binary, with `WGTRAIN_ADAPTER` unset so that `auto` decides by itself.
pub fn command() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wgtrain"));
    c.env_remove("WGTRAIN_ADAPTER");
    c
}

/// Runs the binary with these arguments.
pub fn wgtrain(args: &[&str]) -> Output {
    command().args(args).output().expect("the binary runs")
}

/// Runs it and requires success.
pub fn ok(args: &[&str]) -> Output {
    let o = wgtrain(args);
    assert!(o.status.success(), "{args:?} failed: {}", stderr(&o));
    o
}

/// Runs it and requires failure with this exit status; returns stderr.
pub fn fails(args: &[&str], status: i32) -> String {
    let o = wgtrain(args);
    assert_eq!(o.status.code(), Some(status), "{args:?}: {}", stderr(&o));
    stderr(&o)
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last stdout line parsed as JSON.
pub fn last_json(o: &Output) -> serde_json::Value {
    let out = stdout(o);
    let line = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no stdout; stderr: {}", stderr(o)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

/// Writes a file.
pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

/// A path as the `&str` an argument list takes.
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// The `Model: N inputs -> …` line's input count.
pub fn inputs(o: &Output) -> usize {
    let out = stdout(o);
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("Model: "))
        .unwrap_or_else(|| panic!("no Model line: {out}"));
    line.split_whitespace().next().unwrap().parse().unwrap()
}

/// The bundled example data set.
pub const SEED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv");

/// Two features and a label that the first decides: `n` rows, `label(i)` naming the class.
pub fn two_features(n: usize, label: impl Fn(usize) -> String) -> String {
    let mut text = String::from("a,b,label\n");
    for i in 0..n {
        text += &format!("{},{},{}\n", (i % 10) as f32 * 0.5, (i % 7) as f32, label(i));
    }
    text
}

/// The records of a CSV text, parsed by the `csv` crate (as pandas would: header first).
pub fn records(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}
