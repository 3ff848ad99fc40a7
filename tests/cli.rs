//! The `wgtrain` command end to end on the CPU backend (its GPU run is in tests/gpu/command.rs):
//! the default run, the JSON contract, model files, evaluate and predict, and the errors a
//! person meets.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn wgtrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last stdout line parsed as JSON.
fn last_json(o: &Output) -> serde_json::Value {
    let out = stdout(o);
    let line = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no stdout; stderr: {}", stderr(o)));
    serde_json::from_str(line).unwrap_or_else(|e| panic!("last line is not JSON ({e}): {line}"))
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[test]
fn default_train_prints_loss_and_accuracy() {
    let o = wgtrain(&["train", "--backend", "cpu", "--epochs", "20"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("Loss: ") && out.contains("Accuracy: "), "{out}");
    assert!(stderr(&o).contains("bundled example data set"));
}

#[test]
fn json_has_every_documented_key() {
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "30",
        "--validation-split",
        "0.2",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    for key in [
        "backend",
        "adapter",
        "epochs_run",
        "fit_seconds",
        "samples_per_second",
        "train_loss",
        "test_loss",
        "test_accuracy",
        "val_loss",
        "test_precision",
    ] {
        assert!(j.get(key).is_some(), "missing {key} in {j}");
    }
    assert_eq!(j["backend"], "cpu");
    assert_eq!(j["executor"], "layered");
    assert_eq!(j["epochs_run"], 30);
    assert!(j["test_accuracy"].as_f64().unwrap() > 0.6, "{j}");
}

#[test]
fn evaluate_reads_a_model_file_of_format_version_1() {
    let root = env!("CARGO_MANIFEST_DIR");
    let model = format!("{root}/tests/fixtures/model_v1.safetensors");
    let data = format!("{root}/examples/data/seed.csv");
    let o = wgtrain(&[
        "evaluate",
        "--model",
        &model,
        "--data",
        &data,
        "--backend",
        "cpu",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    let mut keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "adapter",
            "backend",
            "executor",
            "rows",
            "test_accuracy",
            "test_loss",
            "test_precision",
            "test_recall"
        ],
        "{j}"
    );
    assert_eq!(
        (&j["backend"], &j["adapter"], &j["rows"]),
        (&"cpu".into(), &"ndarray".into(), &756.into())
    );
    assert!(j["test_accuracy"].as_f64().unwrap() > 0.5, "{j}");
}

#[test]
fn save_evaluate_predict_and_resume() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let plot = dir.path().join("curves.png");
    let (m, p) = (model.to_str().unwrap(), plot.to_str().unwrap());
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "10",
        "--save",
        m,
        "--plot",
        p,
        "--checkpoint-every",
        "5",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(model.exists() && plot.exists());
    assert_eq!(&std::fs::read(&plot).unwrap()[1..4], b"PNG");

    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv");
    let o = wgtrain(&["evaluate", "--model", m, "--data", data, "--backend", "cpu", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = last_json(&o);
    assert!(j["test_accuracy"].as_f64().unwrap() > 0.6 && j["rows"] == 756, "{j}");

    // Predict on rows without the label, written to a file.
    let text = std::fs::read_to_string(data).unwrap();
    let no_label: String = text
        .lines()
        .take(6)
        .map(|l| l.rsplit_once(',').unwrap().0.to_string() + "\n")
        .collect();
    let input = dir.path().join("new.csv");
    write(&input, &no_label);
    let out = dir.path().join("pred.csv");
    let o = wgtrain(&[
        "predict",
        "--model",
        m,
        "--data",
        input.to_str().unwrap(),
        "--output",
        out.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let pred = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = pred.lines().collect();
    assert_eq!(lines[0], "row,label,p_0,p_1");
    assert_eq!(lines.len(), 6);
    assert!(lines[1].starts_with("1,0,") || lines[1].starts_with("1,1,"), "{pred}");

    // Resume: 10 more epochs from the file continue its step count.
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "10",
        "--init-from",
        m,
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn errors_say_what_to_do() {
    let o = wgtrain(&["train", "--backend", "cpu", "--loss", "cce", "--epochs", "1"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--layers 10:relu,1:sigmoid --loss bce"),
        "{}",
        stderr(&o)
    );

    let o = wgtrain(&["train", "--backend", "cpu", "--layers", "10:relu,0:sigmoid"]);
    assert!(
        !o.status.success() && stderr(&o).contains("unit count"),
        "{}",
        stderr(&o)
    );

    let o = wgtrain(&["train", "--data", "/no/such/file.csv"]);
    assert!(
        !o.status.success() && stderr(&o).contains("/no/such/file.csv"),
        "{}",
        stderr(&o)
    );

    let dir = tempfile::tempdir().unwrap();
    let bad_model = dir.path().join("bad.safetensors");
    write(&bad_model, "definitely not safetensors");
    let o = wgtrain(&["evaluate", "--model", bad_model.to_str().unwrap(), "--data", "x.csv"]);
    assert!(
        !o.status.success() && stderr(&o).contains("not a usable wgtrain model"),
        "{}",
        stderr(&o)
    );

    // Columns that differ from the model's are listed.
    let m = dir.path().join("m.safetensors");
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "1",
        "--save",
        m.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = dir.path().join("other.csv");
    write(&csv, "a,b,label\n1,2,0\n3,4,1\n");
    let o = wgtrain(&[
        "evaluate",
        "--model",
        m.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(!o.status.success() && stderr(&o).contains("glucose"), "{}", stderr(&o));
}

#[test]
fn multiclass_labels_get_softmax_and_sparse_cross_entropy() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("iris_like.csv");
    let mut text = String::from("a,b,kind\n");
    for i in 0..150 {
        let c = i % 3;
        let (x, y) = (c as f32 * 3.0 + (i % 7) as f32 * 0.1, (i % 5) as f32 * 0.2);
        text += &format!("{x},{y},{}\n", ["setosa", "versicolor", "virginica"][c]);
    }
    write(&csv, &text);
    let o = wgtrain(&[
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--label",
        "kind",
        "--backend",
        "cpu",
        "--epochs",
        "40",
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(last_json(&o)["test_accuracy"].as_f64().unwrap() > 0.9);
    let o = wgtrain(&[
        "train",
        "--data",
        csv.to_str().unwrap(),
        "--label",
        "kind",
        "--loss",
        "bce",
        "--backend",
        "cpu",
    ]);
    assert!(!o.status.success() && stderr(&o).contains("3"), "{}", stderr(&o));
}

#[test]
fn info_lists_adapters_and_estimates_memory() {
    let o = wgtrain(&[
        "info",
        "--layers",
        "64:relu,1:sigmoid",
        "--inputs",
        "30",
        "--batch-size",
        "128",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.contains("auto chooses") && out.contains("MiB"), "{out}");
}

#[test]
fn info_shows_the_matmul_variants_and_their_tuning_file() {
    let dir = tempfile::tempdir().unwrap();
    let info = |matmul: &str| {
        Command::new(env!("CARGO_BIN_EXE_wgtrain"))
            .arg("info")
            .env("WGTRAIN_PIPELINE_CACHE", dir.path())
            .env("WGTRAIN_MATMUL", matmul)
            .output()
            .unwrap()
    };
    let o = info("auto");
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    if out.contains("No GPU adapter found") {
        assert!(std::env::var("WGTRAIN_REQUIRE_GPU").is_err(), "no adapter: {out}");
        return;
    }
    assert!(out.contains("matmul variants: tiled, blocked, skinny"), "{out}");
    assert!(out.contains("measured per shape class on first use"), "{out}");
    assert!(
        out.contains("(none yet)") && out.contains(&dir.path().display().to_string()),
        "{out}"
    );
    let forced = stdout(&info("blocked"));
    assert!(forced.contains("blocked forced by WGTRAIN_MATMUL"), "{forced}");
}

#[test]
fn without_an_adapter_auto_falls_back_and_gpu_explains_how_to_get_one() {
    // Metal does not exist on Linux: wgpu then sees no adapter at all.
    let run = |backend: &str| {
        Command::new(env!("CARGO_BIN_EXE_wgtrain"))
            .args(["train", "--backend", backend, "--epochs", "1"])
            .env("WGPU_BACKEND", "metal")
            .output()
            .unwrap()
    };
    if cfg!(target_os = "macos") {
        return;
    }
    let auto = run("auto");
    assert!(auto.status.success(), "{}", stderr(&auto));
    assert!(
        stderr(&auto).contains("training on the CPU backend"),
        "{}",
        stderr(&auto)
    );
    assert!(stdout(&auto).contains("Backend: cpu"));
    let gpu = run("gpu");
    assert!(!gpu.status.success());
    // The restriction is named (issue 14): unsetting WGPU_BACKEND is how to get the adapter back.
    assert!(stderr(&gpu).contains("WGPU_BACKEND"), "{}", stderr(&gpu));
}

#[test]
fn usage_mistakes_exit_with_status_2() {
    for args in [
        &["train", "--loss", "xyz"][..],
        &["train", "--layers", "foo"],
        &["train", "--test-split", "1.5"],
        &["train", "--batch-size", "0"],
        &["train", "--checkpoint-every", "5"],
        &["train", "--backend", "cpu", "--loss", "cce", "--epochs", "1"],
        &["train", "--no-such-flag"],
    ] {
        let o = wgtrain(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn predict_ignores_the_label_and_reports_rows_it_cannot_predict() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.safetensors");
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "2",
        "--save",
        m.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = dir.path().join("new.csv");
    // Row 2 has a never-seen label (ignored), row 3 a missing feature (reported).
    write(
        &csv,
        "visits,glucose,pressure,skinfold,insulin,bmi,pedigree,age,label\n\
         5,117,76,7,69,29.2,0.707,32,1\n\
         1,137,62,32,117,41.0,0.303,22,maybe\n\
         0,,65,15,333,31.2,0.241,27,0\n",
    );
    let o = wgtrain(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--data",
        csv.to_str().unwrap(),
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let rows: Vec<&str> = out.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(rows, ["1", "2"], "{out}");
    // The third data row is on line 4 of the file: the note names the line.
    assert!(
        stderr(&o).contains("1 of 3 rows") && stderr(&o).contains("(lines 4)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn init_from_accepts_weights_written_by_another_program() {
    use safetensors::{Dtype, tensor::TensorView};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.safetensors");
    let zeros = |n: usize| vec![0u8; n * 4];
    let (k0, b0, k1, b1) = (zeros(80), zeros(10), zeros(10), zeros(1));
    let tensors = [
        (
            "layers.0.kernel",
            TensorView::new(Dtype::F32, vec![8, 10], &k0).unwrap(),
        ),
        ("layers.0.bias", TensorView::new(Dtype::F32, vec![10], &b0).unwrap()),
        (
            "layers.1.kernel",
            TensorView::new(Dtype::F32, vec![10, 1], &k1).unwrap(),
        ),
        ("layers.1.bias", TensorView::new(Dtype::F32, vec![1], &b1).unwrap()),
    ];
    std::fs::write(&path, safetensors::serialize(tensors, None).unwrap()).unwrap();
    // All-zero weights predict 0.5 everywhere: the first epoch starts from loss ln 2.
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "0",
        "--init-from",
        path.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let loss = last_json(&o)["test_loss"].as_f64().unwrap();
    assert!((loss - std::f64::consts::LN_2).abs() < 1e-5, "{loss}");
    // A file of other shapes names itself and what does not fit.
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--layers",
        "4:relu,1:sigmoid",
        "--init-from",
        path.to_str().unwrap(),
    ]);
    assert!(
        !o.status.success() && stderr(&o).contains("foreign.safetensors"),
        "{}",
        stderr(&o)
    );
}

/// The weights of a model file, flat.
fn file_weights(path: &Path) -> Vec<f32> {
    common::flatten_weights(wgtrain::model::ModelFile::read(path).unwrap().weights)
}

#[test]
fn the_default_run_with_no_arguments_prints_an_accuracy() {
    let o = Command::new(env!("CARGO_BIN_EXE_wgtrain")).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let accuracy: f64 = out
        .lines()
        .find_map(|l| l.strip_prefix("Accuracy: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(accuracy > 0.7, "{out}");
}

#[test]
fn resuming_from_a_file_equals_training_straight_through() {
    let dir = tempfile::tempdir().unwrap();
    let [straight, half, resumed] =
        ["straight", "half", "resumed"].map(|n| dir.path().join(format!("{n}.safetensors")));
    let train = |epochs: &str, save: &Path, init: Option<&Path>| {
        let mut args = vec![
            "train",
            "--backend",
            "cpu",
            "--epochs",
            epochs,
            "--save",
            save.to_str().unwrap(),
            "--json",
        ];
        if let Some(i) = init {
            args.extend(["--init-from", i.to_str().unwrap()]);
        }
        let o = wgtrain(&args);
        assert!(o.status.success(), "{}", stderr(&o));
    };
    train("10", &straight, None);
    train("5", &half, None);
    train("5", &resumed, Some(&half));
    assert_eq!(
        file_weights(&resumed),
        file_weights(&straight),
        "5 + 5 epochs equal 10, exactly on the CPU"
    );
}

#[test]
fn evaluate_and_predict_give_what_the_saved_model_gives_in_process() {
    let dir = tempfile::tempdir().unwrap();
    let m = dir.path().join("m.safetensors");
    let plot = dir.path().join("curves.png");
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "5",
        "--save",
        m.to_str().unwrap(),
        "--plot",
        plot.to_str().unwrap(),
        "--validation-split",
        "0.2",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // The PNG decodes.
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&plot).unwrap()));
    let reader = decoder.read_info().unwrap();
    assert!(reader.info().width >= 600 && reader.info().height >= 400);

    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv");
    let file = wgtrain::model::ModelFile::read(&m).unwrap();
    let prep = file.preprocessing.clone().unwrap();
    let t = prep.transform_csv(data).unwrap();
    let mut model = file.compile(wgtrain::model::Device::Cpu).unwrap();
    let logs = model.evaluate(t.x.view(), t.y.as_ref().unwrap().view(), 256).unwrap();
    let o = wgtrain(&[
        "evaluate",
        "--model",
        m.to_str().unwrap(),
        "--data",
        data,
        "--backend",
        "cpu",
        "--json",
    ]);
    let j = last_json(&o);
    assert_eq!(j["test_loss"].as_f64().unwrap() as f32, logs["loss"]);
    assert_eq!(j["test_accuracy"].as_f64().unwrap() as f32, logs["accuracy"]);

    let probabilities = model.predict(t.x.view(), 256).unwrap();
    let o = wgtrain(&[
        "predict",
        "--model",
        m.to_str().unwrap(),
        "--data",
        data,
        "--backend",
        "cpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let printed: Vec<f32> = out
        .lines()
        .skip(1)
        .map(|l| l.rsplit(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(printed.len(), probabilities.nrows());
    // Printed in full (shortest round-trip form): identical to the in-process values.
    for (p, q) in printed.iter().zip(probabilities.column(0)) {
        assert_eq!(p, q);
    }
}

#[test]
fn train_and_info_say_which_executor_runs_and_why() {
    let o = wgtrain(&["train", "--backend", "cpu", "--epochs", "1", "--executor", "layered"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Executor: layered (requested)"), "{}", stdout(&o));
    // Asking for fused where it cannot run (the CPU backend runs no generated kernels) is an
    // error that says why, never a silent fallback.
    let o = wgtrain(&["train", "--backend", "cpu", "--epochs", "1", "--executor", "fused"]);
    assert!(!o.status.success(), "{}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains("fused") && err.contains("CPU"), "{err}");
    let o = wgtrain(&[
        "info",
        "--layers",
        "10:relu,1:sigmoid",
        "--inputs",
        "8",
        "--executor",
        "auto",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Executor: layered"), "{}", stdout(&o));
    let o = wgtrain(&["train", "--executor", "sideways"]);
    assert_eq!(o.status.code(), Some(2), "a bad --executor is a usage error");
}

#[test]
fn evaluate_and_bench_take_an_executor() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("m.safetensors");
    let m = model.to_str().unwrap();
    let o = wgtrain(&["train", "--backend", "cpu", "--epochs", "2", "--save", m]);
    assert!(o.status.success(), "{}", stderr(&o));
    let data = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv");
    let o = wgtrain(&[
        "evaluate",
        "--model",
        m,
        "--data",
        data,
        "--backend",
        "cpu",
        "--executor",
        "layered",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("Executor: layered (requested)"), "{}", stdout(&o));
    let o = wgtrain(&[
        "evaluate",
        "--model",
        m,
        "--data",
        data,
        "--backend",
        "cpu",
        "--executor",
        "fused",
    ]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("fused"), "{}", stderr(&o));
    let o = wgtrain(&["bench", "--executor", "sideways"]);
    assert_eq!(o.status.code(), Some(2), "a bad --executor is a usage error");
}

/// The bundled seed job on the GPU trains through the fused executor and gives the CPU's
/// result (the "done when").
#[test]
fn train_on_the_gpu_runs_fused_and_gives_the_cpus_result() {
    let required = std::env::var("WGTRAIN_REQUIRE_GPU").is_ok_and(|v| v == "1");
    if !required && wgtrain::backend::GpuBackend::new().is_err() {
        eprintln!("no GPU adapter: the GPU half of this test does not run");
        return;
    }
    let run = |backend: &str| {
        let o = wgtrain(&["train", "--backend", backend, "--epochs", "5", "--json"]);
        assert!(o.status.success(), "{}", stderr(&o));
        last_json(&o)
    };
    let (cpu, gpu) = (run("cpu"), run("gpu"));
    assert_eq!(gpu["executor"], "fused", "{gpu}");
    let (a, b) = (cpu["train_loss"].as_f64().unwrap(), gpu["train_loss"].as_f64().unwrap());
    assert!(
        (a - b).abs() <= 1e-4 * a.abs().max(b.abs()),
        "train loss {b} on the GPU, {a} on the CPU"
    );
    assert_eq!(cpu["test_accuracy"], gpu["test_accuracy"]);
    // `info` shows the same choice for that model on the GPU.
    let o = wgtrain(&[
        "info",
        "--layers",
        "10:relu,1:sigmoid",
        "--inputs",
        "1",
        "--backend",
        "gpu",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Executor: fused (auto: fits one workgroup"),
        "{}",
        stdout(&o)
    );
}
