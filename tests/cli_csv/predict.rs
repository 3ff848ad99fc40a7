//! Findings 4 and 5, and issue 14's item 7: `predict` reads with the same streaming reader
//! as `train` (delimiter, quotes, line numbers), skips and can `--keep` columns the model
//! does not use, writes a CSV that any reader parses back (quoted names, probabilities for
//! from-logits models, one value column for regression), ends quietly on a closed stdout,
//! and refuses non-finite inputs and outputs instead of writing NaN.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use wgtrain::model::ModelFile;

use super::run::{SEED, command, fails, ok, records, s, stderr, stdout, write};

/// Trains a model on `data` (extra flags appended) and returns its path.
fn trained(dir: &std::path::Path, data: &std::path::Path, extra: &[&str]) -> std::path::PathBuf {
    let model = dir.join("m.safetensors");
    let args = [
        &[
            "train",
            "--data",
            s(data),
            "--backend",
            "cpu",
            "--epochs",
            "3",
            "--save",
            s(&model),
        ][..],
        extra,
    ]
    .concat();
    ok(&args);
    model
}

#[test]
fn predict_reads_like_train_and_keeps_the_columns_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fruit.csv");
    write(
        &data,
        "weight;color;label\n1,5;red;apple\n3,25;green;pear\n1,25;red;apple\n3,5;green;pear\n1,75;red;apple\n3;green;pear\n",
    );
    let model = trained(dir.path(), &data, &["--test-split", "0"]);
    // An id the model never saw, a quoted note spanning two lines, another column order.
    let new = dir.path().join("new.csv");
    write(
        &new,
        "id;note;color;weight\nA-1;\"two\nlines\";red;1,5\nB-2;x;green;3,5\nC-3;y;;2\n",
    );
    let o = ok(&[
        "predict",
        "--model",
        s(&model),
        "--data",
        s(&new),
        "--backend",
        "cpu",
        "--keep",
        "id",
    ]);
    let table = records(&stdout(&o));
    assert_eq!(table[0], ["row", "id", "label", "p_apple", "p_pear"]);
    assert_eq!(table.len(), 3, "{table:?}");
    assert_eq!(
        (&table[1][..2], &table[2][..2]),
        (&["1", "A-1"].map(String::from)[..], &["2", "B-2"].map(String::from)[..])
    );
    assert!(
        table[1..]
            .iter()
            .all(|r| r.len() == 5 && ["apple", "pear"].contains(&r[2].as_str())),
        "{table:?}"
    );
    let err = stderr(&o);
    // The third row (on line 5, after the two-line record) has no color.
    assert!(
        err.contains("not used by the model: `note`") && err.contains("(lines 5)"),
        "{err}"
    );

    // Errors name the real line.
    write(&new, "color;weight\nred;1\nblue;2\n");
    let err = fails(
        &["predict", "--model", s(&model), "--data", s(&new), "--backend", "cpu"],
        1,
    );
    assert!(err.contains("new.csv:3: column `color`: category `blue`"), "{err}");
    // A column the model needs is missing: listed.
    write(&new, "colour;weight\nred;1\n");
    let err = fails(
        &["predict", "--model", s(&model), "--data", s(&new), "--backend", "cpu"],
        1,
    );
    assert!(err.contains("missing [`color`]"), "{err}");
}

#[test]
fn names_with_commas_and_quotes_are_quoted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("cities.csv");
    let mut text = String::from("x,y,city\n");
    for i in 0..60 {
        let city = ["\"New York, NY\"", "\"Say \"\"hi\"\"\"", "Oslo"][i % 3];
        text += &format!("{},{},{city}\n", i % 3, i % 5);
    }
    write(&data, &text);
    let model = trained(dir.path(), &data, &["--label", "city"]);
    let o = ok(&["predict", "--model", s(&model), "--data", s(&data), "--backend", "cpu"]);
    let table = records(&stdout(&o));
    assert_eq!(table[0], ["row", "city", "p_New York, NY", "p_Oslo", "p_Say \"hi\""]);
    assert!(table.iter().all(|r| r.len() == 5), "{table:?}");

    // Regression: one value column named after the label, however it is spelled.
    let data = dir.path().join("prices.csv");
    let mut text = String::from("size,\"Sale Price, USD\"\n");
    for i in 0..50 {
        text += &format!("{},{}\n", i, 1000.5 + i as f32 * 10.25);
    }
    write(&data, &text);
    let model = trained(dir.path(), &data, &["--label", "Sale Price, USD"]);
    let o = ok(&["predict", "--model", s(&model), "--data", s(&data), "--backend", "cpu"]);
    let table = records(&stdout(&o));
    assert_eq!(table[0], ["row", "Sale Price, USD"]);
    assert!(
        table[1..].iter().all(|r| r.len() == 2 && r[1].parse::<f32>().is_ok()),
        "{table:?}"
    );
}

#[test]
fn from_logits_models_write_probabilities() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    ok(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "20",
        "--loss",
        "bce_logits",
        "--layers",
        "10:relu,1:linear",
        "--save",
        s(&model),
    ]);
    let o = ok(&["predict", "--model", s(&model), "--data", SEED, "--backend", "cpu"]);
    let table = records(&stdout(&o));
    assert_eq!(table[0], ["row", "label", "p_0", "p_1"]);
    let mut both = [false, false];
    for r in &table[1..] {
        let (p0, p1): (f32, f32) = (r[2].parse().unwrap(), r[3].parse().unwrap());
        assert!((0.0..=1.0).contains(&p1) && (p0 + p1 - 1.0).abs() < 1e-6, "{r:?}");
        assert_eq!(r[1], if p1 > 0.5 { "1" } else { "0" }, "{r:?}");
        both[usize::from(p1 > 0.5)] = true;
    }
    assert_eq!(both, [true, true], "both classes are predicted");
}

#[test]
fn a_closed_stdout_ends_predict_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    ok(&["train", "--backend", "cpu", "--epochs", "1", "--save", s(&model)]);
    // Far more output than a pipe holds.
    let seed = std::fs::read_to_string(SEED).unwrap();
    let (header, rows) = seed.split_once('\n').unwrap();
    let big = dir.path().join("big.csv");
    write(&big, &format!("{header}\n{}", rows.repeat(40)));
    let mut child = command()
        .args(["predict", "--model", s(&model), "--data", s(&big), "--backend", "cpu"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "row,label,p_0,p_1\n");
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}

#[test]
fn non_finite_inputs_and_outputs_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    ok(&["train", "--backend", "cpu", "--epochs", "1", "--save", s(&model)]);
    // pedigree's training std is about 0.33: 3e38 overflows once scaled.
    let new = dir.path().join("new.csv");
    write(
        &new,
        "visits,glucose,pressure,skinfold,insulin,bmi,pedigree,age\n1,90,60,20,80,25,0.5,30\n1,90,60,20,80,25,3e38,30\n",
    );
    for command in ["predict", "evaluate"] {
        let data = if command == "evaluate" {
            let labelled = dir.path().join("labelled.csv");
            write(
                &labelled,
                &std::fs::read_to_string(&new)
                    .unwrap()
                    .replace("age\n", "age,label\n")
                    .replace("30\n", "30,1\n"),
            );
            labelled
        } else {
            new.clone()
        };
        let err = fails(
            &[command, "--model", s(&model), "--data", s(&data), "--backend", "cpu"],
            1,
        );
        assert!(
            err.contains(":3: column `pedigree`: `3e38` becomes inf"),
            "{command}: {err}"
        );
    }
    // Weights that overflow: every hidden unit infinite, the output inf - inf = NaN.
    let mut file = ModelFile::read(&model).unwrap();
    file.weights[0].0.iter_mut().for_each(|w| *w = 1e38);
    let half = file.weights[1].0.len() / 2;
    file.weights[1]
        .0
        .iter_mut()
        .enumerate()
        .for_each(|(i, w)| *w = if i < half { 1.0 } else { -1.0 });
    file.write(&model).unwrap();
    let o = command()
        .args(["predict", "--model", s(&model), "--data", SEED, "--backend", "cpu"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    assert!(
        stdout(&o).is_empty() && stderr(&o).contains("is NaN, not a finite number"),
        "{}",
        stderr(&o)
    );
    let err = fails(
        &["evaluate", "--model", s(&model), "--data", SEED, "--backend", "cpu"],
        1,
    );
    assert!(err.contains("not a finite number"), "{err}");
}
