//! Finding 8: what the command did quietly, it now says: rows `evaluate` leaves out, what
//! early stopping did, a run of zero epochs, a test split that leaves almost no training
//! rows, a negative split (a range error, not clap's confusion), a label with about as many
//! classes as rows.

use super::run::{SEED, fails, ok, s, stderr, stdout, two_features, write};

#[test]
fn evaluate_says_which_rows_it_left_out() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.safetensors");
    ok(&["train", "--backend", "cpu", "--epochs", "1", "--save", s(&m)]);
    let o = ok(&["evaluate", "--model", s(&m), "--data", SEED, "--backend", "cpu"]);
    assert!(
        stderr(&o).contains("12 of 768 rows have missing values and were left out (lines 48 188"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn early_stopping_says_when_it_stopped_and_what_it_restored() {
    let o = ok(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "300",
        "--lr",
        "0.05",
        "--validation-split",
        "0.3",
        "--early-stopping",
        "3",
    ]);
    let out = stdout(&o);
    let line = out
        .lines()
        .find(|l| l.starts_with("Early stopping: "))
        .unwrap_or_else(|| panic!("{out}"));
    let number_after = |word: &str| -> usize {
        let rest = &line[line.find(word).unwrap_or_else(|| panic!("{line}")) + word.len()..];
        rest.split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    let (stopped, restored) = (number_after("stopped after epoch "), number_after("weights of epoch "));
    assert!(line.contains("val_loss did not improve for 3 epochs"), "{line}");
    assert_eq!(restored + 3, stopped, "{line}");
    assert!(out.contains(&format!("Epochs run: {stopped},")), "{out}");
}

#[test]
fn zero_epochs_and_tiny_training_parts_are_said_plainly() {
    let o = ok(&["train", "--backend", "cpu", "--epochs", "0"]);
    assert!(
        stdout(&o).contains("Train: no epochs run (--epochs 0)"),
        "{}",
        stdout(&o)
    );
    let o = ok(&["train", "--backend", "cpu", "--epochs", "1", "--test-split", "0.99"]);
    assert!(
        stderr(&o).contains("warning: --test-split 0.99 leaves 8 training rows"),
        "{}",
        stderr(&o)
    );
    for bad in ["-0.1", "-1"] {
        let err = fails(&["train", "--test-split", bad], 2);
        assert!(
            err.contains("--test-split") && err.contains("must be in [0, 1)"),
            "{err}"
        );
    }
    let err = fails(&["train", "--validation-split", "-0.5"], 2);
    assert!(err.contains("--validation-split"), "{err}");
}

#[test]
fn a_label_with_a_class_per_row_is_refused_or_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ids.csv");
    write(&data, &two_features(2000, |i| format!("user{i}")));
    let args = [
        "train",
        "--data",
        s(&data),
        "--backend",
        "cpu",
        "--epochs",
        "1",
        "--test-split",
        "0",
    ];
    // A class per row is almost surely an identifier: refused, naming the flag that allows it.
    let err = fails(&args, 1);
    assert!(err.contains("2000 classes") && err.contains("--class-limit"), "{err}");
    // Allowed on purpose, it trains, with a warning.
    let mut allowed = args.to_vec();
    allowed.extend(["--class-limit", "5000"]);
    let o = ok(&allowed);
    assert!(
        stderr(&o).contains("warning: the label `label` has 2000 classes over 2000 rows"),
        "{}",
        stderr(&o)
    );
}
