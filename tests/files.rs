//! What the `wgtrain` command does with the files and resources a user points it at (issue 14,
//! and the output checks of issue 13): special files and symlinks written through, never
//! replaced; permissions kept; no temporary file left by a killed writer; an output that is
//! also an input, or that cannot be written, refused before any work; bounded reads of
//! hostile inputs; memory checked per plan; absurd flags refused. Each test fails on the
//! behaviour the issue reports.

use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use wgtrain::model::ModelFile;

const SEED_CSV: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv");

fn wgtrain(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(args)
        .output()
        .expect("the binary runs")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A one-epoch CPU run on the bundled data, saved to `save`, with extra flags.
fn train_saving(save: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", "--backend", "cpu", "--epochs", "1", "--json", "--save"];
    args.push(save.to_str().unwrap());
    args.extend_from_slice(extra);
    wgtrain(&args)
}

fn saved_model(dir: &Path) -> PathBuf {
    let path = dir.join("m.safetensors");
    let o = train_saving(&path, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    path
}

/// The names in a directory.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

// ---- Group 1: outputs are written through special files and symlinks, never replaced ----

#[test]
fn saving_to_a_fifo_writes_through_it_and_keeps_the_fifo() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // Opened for reading and writing, so neither side blocks; the model is small enough for
    // the pipe's buffer.
    let mut reader = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo)
        .unwrap();
    let o = train_saving(&fifo, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by {kind:?}");
    let mut bytes = Vec::new();
    let _ = reader.read_to_end(&mut bytes);
    ModelFile::from_bytes(&bytes, "the pipe").expect("the model came through the FIFO");
}

#[test]
fn saving_to_dev_null_leaves_it_a_device() {
    let o = train_saving(Path::new("/dev/null"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let kind = std::fs::symlink_metadata("/dev/null").unwrap().file_type();
    assert!(kind.is_char_device(), "/dev/null is now {kind:?}");
}

#[test]
fn predict_to_dev_stdout_prints_the_predictions() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let o = wgtrain(&[
        "predict",
        "--model",
        model.to_str().unwrap(),
        "--data",
        SEED_CSV,
        "--backend",
        "cpu",
        "--output",
        "/dev/stdout",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(out.starts_with("row,label,p_0,p_1\n"), "{out:.200}");
    assert!(out.lines().count() > 700, "a header and one line per kept row");
}

#[test]
fn saving_through_a_symlink_updates_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("real.safetensors");
    std::fs::write(&target, b"old").unwrap();
    let link = dir.path().join("link.safetensors");
    std::os::unix::fs::symlink("real.safetensors", &link).unwrap();
    let o = train_saving(&link, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    ModelFile::read(&target).expect("the link's target holds the model");
}

#[test]
fn saving_over_a_file_keeps_its_permissions() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    std::fs::set_permissions(&model, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = train_saving(&model, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let mode = std::fs::metadata(&model).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o}");
}

#[test]
fn a_243_character_name_can_be_saved() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.safetensors", "m".repeat(243 - ".safetensors".len()));
    assert_eq!(name.len(), 243);
    let o = train_saving(&dir.path().join(&name), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(listing(dir.path()), vec![name]);
}

#[test]
fn a_writer_killed_mid_write_leaves_no_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let before = std::fs::read(&model).unwrap();
    let crashed = Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args([
            "train",
            "--backend",
            "cpu",
            "--epochs",
            "2",
            "--json",
            "--checkpoint-every",
            "1",
        ])
        .arg("--save")
        .arg(&model)
        .env(wgtrain::io::ABORT_BEFORE_RENAME_ENV, "1")
        .output()
        .unwrap();
    assert!(!crashed.status.success(), "the writer was killed");
    assert_eq!(std::fs::read(&model).unwrap(), before, "the previous file is untouched");
    assert_eq!(listing(dir.path()), vec!["m.safetensors".to_string()]);
}

#[test]
fn a_named_temporary_file_of_a_killed_writer_is_removed_by_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let crashed = Command::new(env!("CARGO_BIN_EXE_wgtrain"))
        .args(["train", "--backend", "cpu", "--epochs", "1", "--json"])
        .arg("--save")
        .arg(&model)
        .env(wgtrain::io::ABORT_BEFORE_RENAME_ENV, "1")
        .env(wgtrain::io::NAMED_TEMP_ENV, "1")
        .output()
        .unwrap();
    assert!(!crashed.status.success());
    assert_eq!(listing(dir.path()).len(), 2, "the named temporary file is there");
    let o = train_saving(&model, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(listing(dir.path()), vec!["m.safetensors".to_string()]);
}

// ---- Group 2 and issue 13's output checks: refused before any work ----

/// Runs a command expected to be refused as a usage mistake before any data is read.
fn refused(args: &[&str], words: &str) -> String {
    let o = wgtrain(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(words), "{err}");
    assert!(!err.contains("read 768 rows"), "the data was read first: {err}");
    err
}

#[test]
fn an_output_naming_the_same_file_as_an_input_or_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let m = model.to_str().unwrap();
    let before = std::fs::read(&model).unwrap();
    let base = ["train", "--backend", "cpu", "--epochs", "1"];
    refused(
        &[&base[..], &["--save", m, "--plot", m]].concat(),
        "same file as the output --save",
    );
    // Through a symlink and a hard link too.
    let link = dir.path().join("alias.png");
    std::os::unix::fs::symlink(&model, &link).unwrap();
    refused(
        &[&base[..], &["--save", m, "--plot", link.to_str().unwrap()]].concat(),
        "same file",
    );
    let data = dir.path().join("data.csv");
    std::fs::copy(SEED_CSV, &data).unwrap();
    let d = data.to_str().unwrap();
    refused(
        &[&base[..], &["--data", d, "--save", d]].concat(),
        "same file as the input --data",
    );
    let hard = dir.path().join("hard.csv");
    std::fs::hard_link(&data, &hard).unwrap();
    let predict = ["predict", "--backend", "cpu", "--model", m, "--data", d, "--output"];
    refused(&[&predict[..], &[m]].concat(), "same file as the input --model");
    refused(
        &[&predict[..], &[hard.to_str().unwrap()]].concat(),
        "same file as the input --data",
    );
    assert_eq!(std::fs::read(&model).unwrap(), before, "the model is untouched");
    assert_eq!(std::fs::read(&data).unwrap(), std::fs::read(SEED_CSV).unwrap());
}

#[test]
fn resuming_a_model_may_save_over_the_file_it_started_from() {
    let dir = tempfile::tempdir().unwrap();
    let model = saved_model(dir.path());
    let o = train_saving(&model, &["--init-from", model.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(ModelFile::read(&model).unwrap().epochs, 2);
}

#[test]
fn outputs_that_cannot_be_written_are_refused_before_the_data_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let base = ["train", "--backend", "cpu", "--epochs", "1"];
    let missing = dir.path().join("missing/m.safetensors");
    refused(
        &[&base[..], &["--save", missing.to_str().unwrap()]].concat(),
        "does not exist",
    );
    let d = dir.path().to_str().unwrap();
    refused(&[&base[..], &["--save", d]].concat(), "is a directory");
    refused(&[&base[..], &["--plot", d]].concat(), "is a directory");
    let jpg = dir.path().join("curves.jpg");
    refused(&[&base[..], &["--plot", jpg.to_str().unwrap()]].concat(), ".png");
    refused(
        &["bench", "--workload", "seed", "--plot", jpg.to_str().unwrap()],
        ".png",
    );
    let output = dir.path().join("missing/p.csv");
    refused(
        &[
            "predict",
            "--model",
            "m.safetensors",
            "--data",
            SEED_CSV,
            "--output",
            output.to_str().unwrap(),
        ],
        "does not exist",
    );
    // A read-only directory: refused, unless this process may write it anyway (root).
    let ro = dir.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    let save = ro.join("m.safetensors");
    let o = train_saving(&save, &[]);
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        assert!(o.status.success() && save.exists(), "{}", stderr(&o));
    } else {
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        assert!(stderr(&o).contains("cannot be written"), "{}", stderr(&o));
    }
}

// ---- Group 4: memory checked per plan, estimates from shapes ----

/// Runs the command under an address-space limit of `kib` KiB (`ulimit -v`).
fn wgtrain_limited(kib: u64, args: &[&str]) -> Output {
    let script = format!("ulimit -v {kib} && exec \"$0\" \"$@\"");
    Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_wgtrain")])
        .args(args)
        .output()
        .expect("sh runs")
}

#[test]
fn info_estimates_a_model_far_larger_than_memory_without_allocating_it() {
    // 1.57 G parameters (37 GB with Adam) under a 4 GB address-space limit.
    let o = wgtrain_limited(
        4_000_000,
        &["info", "--layers", "2000000:relu,1:linear", "--inputs", "784"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.contains("Total params: 1572000001") && out.contains("not allocated"),
        "{out}"
    );
    // 1.57 G parameters × 4 bytes × (4 copies + 2 × 2 Adam slots) ≈ 48 000 MiB, plus the plan.
    let mib: f64 = out
        .split("Device memory at batch size 32: ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no estimate in {out}"));
    assert!((47_000.0..50_000.0).contains(&mib), "{mib} MiB");
}

#[test]
fn a_model_whose_total_exceeds_the_memory_limit_fails_with_size_limit_and_suggestion() {
    let base = ["train", "--backend", "cpu", "--epochs", "1", "--json"];
    // Each 20 000 × 20 000 kernel fits alone; the model (13.4 GiB with Adam) does not.
    let o = wgtrain_limited(
        4_000_000,
        &[&base[..], &["--layers", "20000:relu,20000:relu,1:sigmoid"]].concat(),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("13.4 GiB of host memory") && err.contains("RLIMIT_AS") && err.contains("smaller"),
        "{err}"
    );
    // A training plan too large for the limit (activations of 600 × 200 000) likewise.
    let o = wgtrain_limited(
        1_500_000,
        &[&base[..], &["--layers", "200000:relu,1:sigmoid", "--batch-size", "600"]].concat(),
    );
    let err = stderr(&o);
    assert!(
        err.contains("the training plan at batch size 600 needs") && err.contains("RLIMIT_AS"),
        "{err}"
    );
}

// ---- Groups 3, 6 and 8 through the command ----

#[test]
fn endless_or_binary_inputs_fail_fast_naming_the_limit() {
    let o = wgtrain(&["train", "--backend", "cpu", "--data", "/dev/zero", "--json"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/dev/zero:1: a record runs past 67108864 bytes") && err.contains("--max-record-bytes"),
        "{err}"
    );
    for device in ["/dev/zero", "/dev/urandom"] {
        let o = wgtrain(&["evaluate", "--model", device, "--data", SEED_CSV, "--backend", "cpu"]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("not a usable wgtrain model file"), "{err}");
    }
}

#[test]
fn an_identifier_label_is_refused_and_the_class_limit_can_be_raised() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ids.csv");
    let mut text = String::from("x,label\n");
    for i in 0..300 {
        text.push_str(&format!("{},user{}\n", i % 5, i % 150));
    }
    std::fs::write(&data, text).unwrap();
    let d = data.to_str().unwrap();
    let base = ["train", "--backend", "cpu", "--epochs", "1", "--json", "--data", d];
    let o = wgtrain(&[&base[..], &["--class-limit", "100"]].concat());
    let err = stderr(&o);
    assert!(
        !o.status.success() && err.contains("over the limit of 100") && err.contains("--class-limit"),
        "{err}"
    );
    // 150 classes over 300 rows passes the half-the-rows rule; the raised limit admits it.
    let o = wgtrain(&base);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn a_model_file_without_a_checksum_loads_with_a_note() {
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/");
    let model = format!("{fixtures}mixed_v1.safetensors");
    let data = format!("{fixtures}mixed_v1.csv");
    let o = wgtrain(&["evaluate", "--model", &model, "--data", &data, "--backend", "cpu"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("holds no checksum"), "{}", stderr(&o));
    // A file this version wrote has one, and a damaged byte is reported as damage.
    let dir = tempfile::tempdir().unwrap();
    let saved = saved_model(dir.path());
    let s = saved.to_str().unwrap();
    let o = wgtrain(&["evaluate", "--model", s, "--data", SEED_CSV, "--backend", "cpu"]);
    assert!(o.status.success() && !stderr(&o).contains("checksum"), "{}", stderr(&o));
    let mut bytes = std::fs::read(&saved).unwrap();
    let last = bytes.len() - 3;
    bytes[last] ^= 0x10;
    std::fs::write(&saved, bytes).unwrap();
    let o = wgtrain(&["evaluate", "--model", s, "--data", SEED_CSV, "--backend", "cpu"]);
    assert!(stderr(&o).contains("checksum does not match"), "{}", stderr(&o));
}

// ---- Groups 10 and 12: flags and environment ----

#[test]
fn bench_flags_out_of_range_are_usage_errors() {
    for (flag, value) in [
        ("--rows", "18446744073709551615"),
        ("--rows", "0"),
        ("--epochs", "0"),
        ("--budget", "NaN"),
        ("--budget", "-1"),
    ] {
        let o = wgtrain(&["bench", "--workload", "seed", &format!("{flag}={value}")]);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{flag} {value}: {err}");
        assert!(err.contains(&format!("invalid {flag}")), "{flag} {value}: {err}");
    }
    // Rows within the range but beyond the memory allowed: refused before any is drawn.
    let o = wgtrain_limited(
        8_000_000,
        &["bench", "--workload", "wide", "--rows", "1000000", "--epochs", "1"],
    );
    let err = stderr(&o);
    assert!(
        err.contains("the wide workload's 1000000 rows needs") && err.contains("RLIMIT_AS"),
        "{err}"
    );
}

#[test]
fn a_bad_wgpu_backend_variable_is_named() {
    let run = |value: &str| {
        Command::new(env!("CARGO_BIN_EXE_wgtrain"))
            .args(["train", "--backend", "gpu", "--epochs", "1"])
            .env("WGPU_BACKEND", value)
            .output()
            .unwrap()
    };
    let err = stderr(&run("nonsense"));
    assert!(
        err.contains("WGPU_BACKEND=\"nonsense\"") && err.contains("`nonsense`"),
        "{err}"
    );
    assert!(!err.contains("install a Vulkan driver"), "{err}");
    // An API this machine has no adapter for (Metal off Apple, DX12 off Windows).
    let absent = if cfg!(target_os = "macos") { "dx12" } else { "metal" };
    let err = stderr(&run(absent));
    assert!(err.contains("restricts wgpu") && err.contains("unset it"), "{err}");
}

// ---- Group 11: a model that could not be saved is refused before training ----

#[test]
fn a_model_whose_file_header_would_be_too_large_is_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("wide.csv");
    let n = 1_300_000;
    let mut text = String::with_capacity(n * 24);
    for j in 0..n {
        text.push_str(&format!("c{j},"));
    }
    text.push_str("label\n");
    for row in 0..4 {
        text.push_str(&"1,".repeat(n));
        text.push_str(&format!("{}\n", row % 2));
    }
    std::fs::write(&data, text).unwrap();
    let save = dir.path().join("m.safetensors");
    let o = wgtrain(&[
        "train",
        "--backend",
        "cpu",
        "--epochs",
        "1",
        "--test-split",
        "0",
        "--layers",
        "1:sigmoid",
        "--data",
        data.to_str().unwrap(),
        "--save",
        save.to_str().unwrap(),
    ]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("safetensors header would take") && err.contains("1300001 columns"),
        "{err}"
    );
    assert!(!err.contains("epoch 1/1"), "refused before training: {err}");
}
