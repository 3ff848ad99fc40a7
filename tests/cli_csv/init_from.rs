//! Finding 6: `--init-from` continues a model file's preprocessing (scaler, categories,
//! classes) and architecture (layers, activations, loss), and refuses data whose columns or
//! classes differ, naming the difference.

use wgtrain::model::ModelFile;

use super::run::{SEED, fails, last_json, ok, s, stdout, write};

#[test]
fn init_from_keeps_the_files_scaler_and_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let (m, again) = (dir.path().join("m.safetensors"), dir.path().join("again.safetensors"));
    ok(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "20",
        "--layers",
        "12:tanh,1:sigmoid",
        "--save",
        s(&m),
    ]);
    // The first 200 rows have other means and spreads than the whole file.
    let seed = std::fs::read_to_string(SEED).unwrap();
    let subset = dir.path().join("subset.csv");
    write(
        &subset,
        &seed.lines().take(201).map(|l| format!("{l}\n")).collect::<String>(),
    );
    let o = ok(&[
        "train",
        "--data",
        s(&subset),
        "--backend",
        "cpu",
        "--epochs",
        "0",
        "--init-from",
        s(&m),
        "--save",
        s(&again),
    ]);
    assert!(
        stdout(&o).contains("-> 12:tanh,1:sigmoid"),
        "the file's layers: {}",
        stdout(&o)
    );
    let (before, after) = (ModelFile::read(&m).unwrap(), ModelFile::read(&again).unwrap());
    assert_eq!(after.preprocessing, before.preprocessing, "the scaler is not refitted");
    assert_eq!(after.weights, before.weights);
    // So the model scores the whole file exactly as before.
    let score = |model: &std::path::Path| {
        let o = ok(&[
            "evaluate",
            "--model",
            s(model),
            "--data",
            SEED,
            "--backend",
            "cpu",
            "--json",
        ]);
        last_json(&o)["test_accuracy"].as_f64().unwrap()
    };
    assert_eq!(score(&again), score(&m));
    // Contradicting the file is refused, naming both.
    let err = fails(
        &[
            "train",
            "--backend",
            "cpu",
            "--init-from",
            s(&m),
            "--layers",
            "10:relu,1:sigmoid",
        ],
        2,
    );
    assert!(
        err.contains("10:relu,1:sigmoid differs from the layers of") && err.contains("12:tanh,1:sigmoid"),
        "{err}"
    );
    let err = fails(&["train", "--backend", "cpu", "--init-from", s(&m), "--loss", "mse"], 2);
    assert!(
        err.contains("mse differs from the loss") && err.contains("bce"),
        "{err}"
    );
}

#[test]
fn init_from_refuses_other_classes_and_columns() {
    let dir = tempfile::tempdir().unwrap();
    let rows = |labels: [u32; 3]| {
        let mut text = String::from("a,b,label\n");
        for i in 0..90 {
            text += &format!("{},{},{}\n", i % 3, (i * 7) % 11, labels[i % 3]);
        }
        text
    };
    let (old, new) = (dir.path().join("old.csv"), dir.path().join("new.csv"));
    write(&old, &rows([0, 1, 2]));
    let m = dir.path().join("m.safetensors");
    ok(&[
        "train",
        "--data",
        s(&old),
        "--backend",
        "cpu",
        "--epochs",
        "2",
        "--save",
        s(&m),
    ]);
    write(&new, &rows([1, 2, 3]));
    let err = fails(
        &["train", "--data", s(&new), "--backend", "cpu", "--init-from", s(&m)],
        2,
    );
    assert!(
        err.contains("does not fit")
            && err.contains("class `3` was not in the training data")
            && err.contains("`0`, `1`, `2`"),
        "{err}"
    );
    write(&new, &rows([0, 1, 2]).replacen("a,b", "a,c", 1));
    let err = fails(
        &["train", "--data", s(&new), "--backend", "cpu", "--init-from", s(&m)],
        2,
    );
    assert!(err.contains("missing [`b`], unexpected [`c`]"), "{err}");
    let err = fails(
        &[
            "train",
            "--data",
            s(&old),
            "--backend",
            "cpu",
            "--init-from",
            s(&m),
            "--label",
            "a",
        ],
        2,
    );
    assert!(err.contains("predicts `label`, not `a`"), "{err}");
}
