//! Finding 2: the task guessed from the label can be overridden (`--task`, `--max-classes`,
//! or a loss that implies it), and a text label with a regression loss is an error that
//! says why.

use tempfile::TempDir;

use super::run::{fails, last_json, ok, records, s, stdout, two_features, write};

/// A house price with 42 distinct integer values: guessed as 42 classes.
fn house_prices(dir: &TempDir) -> std::path::PathBuf {
    let path = dir.path().join("house.csv");
    let mut text = String::from("sqft,rooms,price\n");
    for i in 0..300 {
        let (sqft, rooms) = (50 + (i * 37) % 200, 1 + i % 6);
        text += &format!("{sqft},{rooms},{}\n", 100 + 5 * ((sqft + rooms) % 42));
    }
    write(&path, &text);
    path
}

#[test]
fn a_regression_loss_or_task_makes_an_integer_label_a_regression() {
    let dir = tempfile::tempdir().unwrap();
    let data = house_prices(&dir);
    let base = [
        "train",
        "--data",
        s(&data),
        "--label",
        "price",
        "--backend",
        "cpu",
        "--epochs",
        "2",
        "--json",
    ];
    // The guess: 42 classes.
    let guessed = last_json(&ok(&base));
    assert!(guessed.get("test_accuracy").is_some(), "{guessed}");
    for extra in [
        &["--loss", "mse"][..],
        &["--task", "regression"],
        &["--max-classes", "10"],
    ] {
        let j = last_json(&ok(&[&base[..], extra].concat()));
        assert!(
            j.get("test_mae").is_some() && j.get("test_accuracy").is_none(),
            "{extra:?}: {j}"
        );
    }
}

#[test]
fn a_hundred_class_ids_train_as_classes_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ids.csv");
    write(&data, &two_features(300, |i| (i % 100).to_string()));
    let base = ["train", "--data", s(&data), "--backend", "cpu", "--epochs", "1"];
    // More than 64 distinct integers: guessed as a regression, so sce was refused.
    let o = ok(&base);
    assert!(stdout(&o).contains("-> 10:relu,1:linear, loss mse"), "{}", stdout(&o));
    for extra in [
        &["--loss", "sce"][..],
        &["--task", "multiclass"],
        &["--max-classes", "100"],
    ] {
        let o = ok(&[&base[..], extra].concat());
        assert!(
            stdout(&o).contains("100:softmax, loss sce"),
            "{extra:?}: {}",
            stdout(&o)
        );
    }
}

#[test]
fn a_text_label_with_a_regression_loss_is_an_error_that_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("colors.csv");
    write(&data, &two_features(60, |i| ["red", "green", "blue"][i % 3].into()));
    for extra in [&["--loss", "mse"][..], &["--task", "regression"]] {
        let err = fails(
            &[&["train", "--data", s(&data), "--backend", "cpu"][..], extra].concat(),
            1,
        );
        assert!(
            err.contains("holds text (`red`)")
                && err.contains("regression")
                && err.contains("--task binary or multiclass"),
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn task_binary_refuses_three_classes_and_multiclass_takes_two() {
    let dir = tempfile::tempdir().unwrap();
    let three = dir.path().join("three.csv");
    write(&three, &two_features(60, |i| ["a", "b", "c"][i % 3].into()));
    let err = fails(
        &["train", "--data", s(&three), "--task", "binary", "--backend", "cpu"],
        2,
    );
    assert!(
        err.contains("binary needs two classes") && err.contains("3 (a, b, c)"),
        "{err}"
    );

    let two = dir.path().join("two.csv");
    write(
        &two,
        &two_features(60, |i| ["no", "yes"][usize::from(i % 10 < 5)].into()),
    );
    let model = dir.path().join("m.safetensors");
    let o = ok(&[
        "train",
        "--data",
        s(&two),
        "--task",
        "multiclass",
        "--backend",
        "cpu",
        "--epochs",
        "2",
        "--save",
        s(&model),
    ]);
    assert!(stdout(&o).contains("-> 10:relu,2:softmax, loss sce"), "{}", stdout(&o));
    let o = ok(&["predict", "--model", s(&model), "--data", s(&two), "--backend", "cpu"]);
    let table = records(&stdout(&o));
    assert_eq!(table[0], ["row", "label", "p_no", "p_yes"]);
    assert!(table[1..].iter().all(|r| r.len() == 4), "{table:?}");
}
