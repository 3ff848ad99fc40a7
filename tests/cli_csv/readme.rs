//! Finding 9: every command the README shows runs, in order, in a directory laid out as the
//! repository is (`examples/data/seed.csv`): the `sh` blocks' commands must succeed; the
//! recorded session's `$` commands must end with the exit status shown (0 unless an
//! `(exit status N)` line follows), and a recorded predictions header must be the one printed.

use super::run::{command, stderr, stdout};

/// A command of the README and what it must do.
struct Example {
    args: Vec<String>,
    status: i32,
    header: Option<String>,
}

/// `wgtrain ARGS`, `cargo run --release [-- ARGS]` as the binary's arguments; other
/// commands (cargo test, apt-get, cargo install) are not the binary's.
fn binary_args(line: &str) -> Option<Vec<String>> {
    let line = line.split("  #").next().unwrap_or("").trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    let rest = match words.as_slice() {
        ["wgtrain", rest @ ..] => rest,
        ["cargo", "run", "--release", "--", rest @ ..] => rest,
        ["cargo", "run", "--release"] => &[],
        _ => return None,
    };
    assert!(
        !line.contains(['"', '\'']),
        "keep the README's commands free of quotes: {line}"
    );
    Some(rest.iter().map(|w| w.to_string()).collect())
}

/// The commands of the README's fenced `sh` and `text` blocks, in order.
fn examples(readme: &str) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut block: Option<&str> = None;
    let mut pending = String::new();
    for line in readme.lines() {
        if let Some(lang) = line.strip_prefix("```") {
            block = match block {
                None => Some(lang.trim()),
                Some(_) => None,
            };
            continue;
        }
        match block {
            Some("sh") => {
                pending += line.trim_end().trim_end_matches('\\');
                pending.push(' ');
                if line.trim_end().ends_with('\\') {
                    continue;
                }
                if let Some(args) = binary_args(&pending) {
                    out.push(Example {
                        args,
                        status: 0,
                        header: None,
                    });
                }
                pending.clear();
            }
            Some("text") => {
                if let Some(cmd) = line.strip_prefix("$ ") {
                    let args =
                        binary_args(cmd).unwrap_or_else(|| panic!("a session command that is not wgtrain: {cmd}"));
                    out.push(Example {
                        args,
                        status: 0,
                        header: None,
                    });
                } else if let Some(last) = out.last_mut() {
                    if let Some(n) = line.strip_prefix("(exit status ").and_then(|t| t.strip_suffix(')')) {
                        last.status = n.parse().unwrap();
                    } else if line.starts_with("row,") && last.header.is_none() {
                        last.header = Some(line.to_string());
                    }
                }
            }
            _ => {}
        }
    }
    out
}

#[test]
fn every_command_of_the_readme_runs_as_shown() {
    let root = env!("CARGO_MANIFEST_DIR");
    let readme = std::fs::read_to_string(format!("{root}/README.md")).unwrap();
    let all = examples(&readme);
    assert!(all.len() >= 10, "the README's commands were not found: {}", all.len());
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("examples/data")).unwrap();
    let seed = std::fs::read_to_string(format!("{root}/examples/data/seed.csv")).unwrap();
    std::fs::write(dir.path().join("examples/data/seed.csv"), &seed).unwrap();
    // new.csv, as the session says: the first three rows without the label.
    let new: String = seed
        .lines()
        .take(4)
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    std::fs::write(dir.path().join("new.csv"), new).unwrap();
    for e in &all {
        let o = command().args(&e.args).current_dir(dir.path()).output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(e.status),
            "wgtrain {}: {}",
            e.args.join(" "),
            stderr(&o)
        );
        if let Some(h) = &e.header {
            assert_eq!(
                stdout(&o).lines().next(),
                Some(h.as_str()),
                "wgtrain {}",
                e.args.join(" ")
            );
        }
    }
    for output in ["model.safetensors", "curves.png", "predictions.csv"] {
        assert!(dir.path().join(output).exists(), "{output}");
    }
}
