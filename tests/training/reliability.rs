//! Faults injected on purpose: a device destroyed mid-training, a device with small limits, a
//! crash between writing and renaming a checkpoint, and two models training at once on one
//! device. Each checks the message and that nothing was lost.

use crate::common::harness::gpu_backend;
use crate::common::{self, Rng};
use ndarray::Array2;
use wgtrain::Error;
use wgtrain::backend::GpuBackend;
use wgtrain::backend::gpu::{AdapterChoice, GpuContext};
use wgtrain::model::{Control, Dense, Device, FitOptions, Metric, Model, ModelFile, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

fn data(rows: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let x = Array2::from_shape_vec((rows, 3), rng.vec(rows * 3, -1.0, 1.0)).unwrap();
    let y = x.map_axis(
        ndarray::Axis(1),
        |r| if r[0] + r[1] * r[2] > 0.0 { 1.0f32 } else { 0.0 },
    );
    (x, y.insert_axis(ndarray::Axis(1)))
}

fn architecture() -> Sequential {
    Sequential::new(3)
        .add(Dense::new(8, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(5)
}

fn compile_on(backend: GpuBackend) -> Model {
    architecture()
        .compile_on(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[Metric::Accuracy],
            Box::new(backend),
        )
        .unwrap()
}

pub fn a_device_lost_mid_training_is_an_error_and_the_last_good_weights_can_be_saved() {
    let gpu = gpu_backend();
    let device = gpu.context().device.clone();
    let mut model = compile_on(gpu);
    let (x, y) = data(200, 1);
    let options = FitOptions::new(10, 20).on_epoch_end(move |epoch, _| {
        if epoch == 2 {
            device.destroy();
        }
        Control::Continue
    });
    let err = model.fit(x.view(), y.view(), options).unwrap_err();
    assert!(
        matches!(err, Error::DeviceLost { .. } | Error::GpuValidation { .. }),
        "{err:?}"
    );
    println!("device destroyed after epoch 3: {err}");
    assert_eq!(model.epochs_trained(), 3, "three good epochs were kept");

    // The weights of epoch 3 are still on the host and can be saved and reloaded.
    let kept = model.last_good_weights();
    assert!(kept.iter().all(|(k, _)| k.iter().all(|v| v.is_finite())));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rescued.safetensors");
    model.save(&path, None).unwrap();
    let file = ModelFile::read(&path).unwrap();
    assert_eq!(file.weights, kept);
    assert!(
        file.optimizer_state.is_none(),
        "the device-resident optimizer state is lost with the device"
    );

    // They equal three epochs of the same training on the CPU (same seed, same data order).
    let mut cpu = architecture()
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[Metric::Accuracy],
            Device::Cpu,
        )
        .unwrap();
    cpu.fit(x.view(), y.view(), FitOptions::new(3, 20)).unwrap();
    common::assert_close(
        "rescued weights",
        &common::flatten_weights(kept),
        &common::flatten_weights(cpu.weights().unwrap()),
        common::Tolerance::new(1e-4, 1e-5),
    );

    // Further use of the model is an error, not a panic.
    assert!(model.predict(x.view(), 10).is_err());
}

pub fn a_model_too_large_for_the_device_names_the_limit() {
    let adapter = GpuContext::new(&AdapterChoice::Auto).unwrap();
    let mut limits = adapter.limits.clone();
    limits.max_storage_buffer_binding_size = 256 * 1024;
    limits.max_buffer_size = 256 * 1024;
    let ctx = GpuContext::with_limits(&AdapterChoice::Auto, Some(limits)).unwrap();
    let gpu = GpuBackend::from_context(ctx).unwrap();
    // 300 × 300 weights = 360 KB: over the 256 KiB binding limit.
    let err = Sequential::new(300)
        .add(Dense::new(300, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile_on(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[],
            Box::new(gpu),
        )
        .err()
        .unwrap();
    let text = err.to_string();
    assert!(
        text.contains("max_storage_buffer_binding_size") && text.contains("262144"),
        "{text}"
    );
    assert!(text.contains("smaller batch"), "{text}");
}

/// Runs the command, so it needs the `cli` feature that builds it.
#[cfg(feature = "cli")]
pub fn a_crash_between_writing_and_renaming_leaves_the_previous_file_intact() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.safetensors");
    let p = path.to_str().unwrap();
    let run = |fault: bool| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_wgtrain"));
        c.args([
            "train",
            "--backend",
            "cpu",
            "--epochs",
            "2",
            "--save",
            p,
            "--checkpoint-every",
            "1",
            "--json",
        ]);
        if fault {
            c.env(wgtrain::io::ABORT_BEFORE_RENAME_ENV, "1");
        }
        c.output().unwrap()
    };
    assert!(run(false).status.success());
    let before = std::fs::read(&path).unwrap();
    let crashed = run(true);
    assert!(!crashed.status.success(), "the writer was killed");
    assert_eq!(std::fs::read(&path).unwrap(), before, "the previous file is untouched");
    ModelFile::read(&path).expect("and still loads");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    println!("after the crash the directory holds {leftovers:?}");
}

pub fn two_models_train_at_once_on_one_device_as_they_would_alone() {
    let gpu = gpu_backend();
    let ctx = gpu.context().clone();
    drop(gpu);
    let (xa, ya) = data(300, 2);
    let (xb, yb) = data(250, 3);
    let train = |ctx: GpuContext, x: Array2<f32>, y: Array2<f32>| {
        let mut m = compile_on(GpuBackend::from_context(ctx).unwrap());
        m.fit(x.view(), y.view(), FitOptions::new(5, 16)).unwrap();
        m.weights().unwrap()
    };
    let alone_a = train(ctx.clone(), xa.clone(), ya.clone());
    let alone_b = train(ctx.clone(), xb.clone(), yb.clone());
    let (together_a, together_b) = std::thread::scope(|s| {
        let a = s.spawn(|| train(ctx.clone(), xa.clone(), ya.clone()));
        let b = s.spawn(|| train(ctx.clone(), xb.clone(), yb.clone()));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(together_a, alone_a);
    assert_eq!(together_b, alone_b);
}

pub fn a_data_set_larger_than_one_binding_trains_in_chunks_as_on_the_cpu() {
    let adapter = GpuContext::new(&AdapterChoice::Auto).unwrap();
    let mut limits = adapter.limits.clone();
    limits.max_storage_buffer_binding_size = 16 * 1024;
    let ctx = GpuContext::with_limits(&AdapterChoice::Auto, Some(limits)).unwrap();
    // 3 000 rows × 3 features = 36 KB: three chunks of whole batches.
    let (x, y) = data(3000, 9);
    let mut gpu = compile_on(GpuBackend::from_context(ctx).unwrap());
    let mut cpu = architecture()
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[Metric::Accuracy],
            Device::Cpu,
        )
        .unwrap();
    let options = || FitOptions::new(2, 20).validation_split(0.1);
    let hg = gpu.fit(x.view(), y.view(), options()).unwrap();
    let hc = cpu.fit(x.view(), y.view(), options()).unwrap();
    let tol = common::Tolerance::new(1e-4, 1e-5);
    common::assert_close(
        "chunked weights",
        &common::flatten_weights(gpu.weights().unwrap()),
        &common::flatten_weights(cpu.weights().unwrap()),
        tol,
    );
    common::assert_close(
        "val_loss",
        hg.get("val_loss").unwrap(),
        hc.get("val_loss").unwrap(),
        tol,
    );
    let (eg, ec) = (
        gpu.evaluate(x.view(), y.view(), 20).unwrap(),
        cpu.evaluate(x.view(), y.view(), 20).unwrap(),
    );
    assert!(
        (eg["loss"] - ec["loss"]).abs() < 1e-4 && eg["accuracy"] == ec["accuracy"],
        "{eg:?} {ec:?}"
    );
    let (pg, pc) = (gpu.predict(x.view(), 20).unwrap(), cpu.predict(x.view(), 20).unwrap());
    common::assert_close(
        "chunked predictions",
        pg.as_slice().unwrap(),
        pc.as_slice().unwrap(),
        tol,
    );
    // A single batch wider than the binding cannot be split: a clear error.
    let err = gpu.evaluate(x.view(), y.view(), 2000).unwrap_err();
    assert!(
        err.to_string().contains("max_storage_buffer_binding_size") && err.to_string().contains("smaller batch"),
        "{err}"
    );
}
