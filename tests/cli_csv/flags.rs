//! Finding 3: the options the messages point to are the command's flags — `--delimiter`,
//! `--decimal-comma` (and its detection), `--ignore`, `--text-columns`, `--max-categories`,
//! `--missing`, `--stratify` — and every message reached through the command names them.

use wgtrain::data::ColumnRole;
use wgtrain::model::ModelFile;

use super::run::{fails, inputs, ok, s, stderr, write};

/// `n` rows of two numeric features (written by `cell`) and a binary label, `;`-separated.
fn semicolon_rows(n: usize, cell: impl Fn(f32) -> String) -> String {
    let mut text = String::from("width;height;label\n");
    for i in 0..n {
        let (w, h) = (4.0 + (i % 9) as f32 * 0.25, 2.0 + (i % 5) as f32 * 0.5);
        text += &format!("{};{};{}\n", cell(w), cell(h), i % 2);
    }
    text
}

#[test]
fn decimal_commas_are_read_as_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let train = |name: &str, text: &str, extra: &[&str]| {
        let path = dir.path().join(name);
        write(&path, text);
        let args = [
            &["train", "--data", s(&path), "--backend", "cpu", "--epochs", "1"][..],
            extra,
        ]
        .concat();
        ok(&args)
    };
    let comma = |v: f32| format!("{v}").replace('.', ",");
    // Detected: semicolon files with `5,1` or quoted `"5,1"` numbers.
    assert_eq!(inputs(&train("plain.csv", &semicolon_rows(40, comma), &[])), 2);
    assert_eq!(
        inputs(&train(
            "quoted.csv",
            &semicolon_rows(40, |v| format!("\"{}\"", comma(v))),
            &[]
        )),
        2
    );
    // A comma file with quoted "5,1" is ambiguous ("1,000"): a column of such values only is
    // read as text with a warning naming the flag, one that mixes them with integers is an
    // error naming it; with the flag both are numbers.
    let fractional = |v: f32| format!("\"{}\"", comma(v + 0.1));
    let text = semicolon_rows(40, fractional).replace(';', ",");
    let o = train("commas.csv", &text, &[]);
    assert!(
        inputs(&o) > 2 && stderr(&o).contains("pass --decimal-comma"),
        "{}",
        stderr(&o)
    );
    assert_eq!(inputs(&train("commas.csv", &text, &["--decimal-comma"])), 2);
    let mixed = semicolon_rows(40, |v| format!("\"{}\"", comma(v))).replace(';', ",");
    let path = dir.path().join("mixed.csv");
    write(&path, &mixed);
    let err = fails(&["train", "--data", s(&path), "--backend", "cpu"], 1);
    assert!(
        err.contains("`2,5` is not a number") && err.contains("--decimal-comma"),
        "{err}"
    );
    assert_eq!(inputs(&train("mixed.csv", &mixed, &["--decimal-comma"])), 2);
    // Any delimiter can be named.
    assert_eq!(
        inputs(&train(
            "pipes.csv",
            &semicolon_rows(40, |v| v.to_string()).replace(';', "|"),
            &["--delimiter", "|"]
        )),
        2
    );
}

#[test]
fn column_flags_choose_and_encode_the_features() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shops.csv");
    let mut text = String::from("id,zip,visits,city,label\n");
    for i in 0..200 {
        text += &format!(
            "{},{},{},c{},{}\n",
            1000 + i,
            [75001, 69002, 13003][i % 3],
            i % 17,
            i % 70,
            i % 2
        );
    }
    write(&path, &text);
    let base = ["train", "--data", s(&path), "--backend", "cpu", "--epochs", "1"];
    // 70 cities are over the default limit: the message names the flags.
    let err = fails(&base, 1);
    assert!(
        err.contains("--max-categories") && err.contains("--ignore city"),
        "{err}"
    );
    // id, zip, visits as numbers; city one-hot over 70.
    let o = ok(&[&base[..], &["--max-categories", "70"]].concat());
    assert_eq!(inputs(&o), 3 + 70);
    // Without the id, and the zip code as three categories.
    let o = ok(&[&base[..], &["--ignore", "id,city", "--text-columns", "zip"]].concat());
    assert_eq!(inputs(&o), 3 + 1);
    let err = fails(&[&base[..], &["--ignore", "ID"]].concat(), 1);
    assert!(
        err.contains("`ID` (--ignore) not found") && err.contains("`id`"),
        "{err}"
    );
}

#[test]
fn missing_values_are_dropped_or_filled_as_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gaps.csv");
    // x: 1, 2, 3, 4, 100 and a gap: mean 22, median 3.
    let mut text = String::from("x,y,label\n");
    for (i, x) in ["1", "2", "", "3", "4", "100"].iter().enumerate() {
        text += &format!("{x},{},{}\n", i % 3, i % 2);
    }
    write(&path, &text);
    let fill = |missing: &str| {
        let model = dir.path().join(format!("{missing}.safetensors"));
        let o = ok(&[
            "train",
            "--data",
            s(&path),
            "--backend",
            "cpu",
            "--epochs",
            "1",
            "--test-split",
            "0",
            "--missing",
            missing,
            "--save",
            s(&model),
        ]);
        let prep = ModelFile::read(&model).unwrap().preprocessing.unwrap();
        let fill = prep.columns().iter().find_map(|c| match c.role {
            ColumnRole::Numeric { fill } if c.name == "x" => Some(fill),
            _ => None,
        });
        (stderr(&o), fill.unwrap())
    };
    let (err, _) = fill("drop");
    assert!(err.contains("dropped 1 with missing values (lines 4)"), "{err}");
    for (missing, value) in [("mean", 22.0), ("median", 3.0), ("zero", 0.0)] {
        let (err, fill) = fill(missing);
        assert_eq!(fill, value, "--missing {missing}");
        assert!(err.contains("filled 1 missing cells"), "{err}");
    }
    // Every row with a gap: the message names the flag that fills them.
    write(&path, "x,y,label\n,1,0\n2,,1\n");
    let err = fails(&["train", "--data", s(&path), "--backend", "cpu"], 1);
    assert!(err.contains("--missing mean"), "{err}");
}

#[test]
fn stratify_needs_classes_and_number_errors_name_the_flags() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("values.csv");
    let mut text = String::from("x,label\n");
    for i in 0..150 {
        text += &format!("{},{}\n", i % 13, i as f32 * 0.37);
    }
    write(&path, &text);
    let base = ["train", "--data", s(&path), "--backend", "cpu", "--epochs", "1"];
    ok(&base);
    let err = fails(&[&base[..], &["--stratify"]].concat(), 1);
    assert!(
        err.contains("--stratify") && err.contains("classification label"),
        "{err}"
    );
    let classes = dir.path().join("classes.csv");
    write(&classes, &super::run::two_features(50, |i| (i % 2).to_string()));
    ok(&[
        "train",
        "--data",
        s(&classes),
        "--backend",
        "cpu",
        "--epochs",
        "1",
        "--stratify",
    ]);
    // A text value after the rows that decided the column is numeric.
    text += "n/a yet,1.5\n";
    write(&path, &text);
    let err = fails(&base, 1);
    assert!(err.contains("line 152") || err.contains(":152:"), "{err}");
    assert!(err.contains("--text-columns") && !err.contains("CsvOptions"), "{err}");
}
