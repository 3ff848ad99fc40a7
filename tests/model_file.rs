//! Model files: safetensors round trips, resuming training from a file (5 + 5 epochs = 10),
//! and damaged files are errors, never panics.

mod common;

use common::{Rng, Tolerance, assert_close};
use ndarray::Array2;
use wgtrain::Error;
use wgtrain::model::{Dense, Device, Dropout, FitOptions, Metric, Model, ModelFile, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

fn data(seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let x = Array2::from_shape_vec((90, 4), rng.vec(360, -1.0, 1.0)).unwrap();
    let y = x.map_axis(
        ndarray::Axis(1),
        |r| if r[0] * r[1] + r[2] > 0.0 { 1.0f32 } else { 0.0 },
    );
    (x, y.insert_axis(ndarray::Axis(1)))
}

fn model(device: Device, optimizer: Optimizer) -> Model {
    Sequential::new(4)
        .add(Dense::new(6, Activation::Relu))
        .add(Dropout::new(0.2))
        .add(Dense::new(5, Activation::Elu { alpha: 0.7 }).use_bias(false))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(11)
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            optimizer,
            &[Metric::Accuracy],
            device,
        )
        .unwrap()
}

fn flat(m: &mut Model) -> Vec<f32> {
    common::flatten_weights(m.weights().unwrap())
}

#[test]
fn save_and_load_round_trip_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    let (x, y) = data(1);
    let mut m = model(Device::Cpu, Optimizer::adamw());
    m.fit(x.view(), y.view(), FitOptions::new(2, 16)).unwrap();
    m.save(&path, None).unwrap();
    let file = ModelFile::read(&path).unwrap();
    assert_eq!(file.step, m.steps());
    assert_eq!(file.epochs, 2);
    assert_eq!(file.architecture, *m.architecture());
    assert_eq!(file.optimizer, m.optimizer());
    let mut loaded = file.compile(Device::Cpu).unwrap();
    assert_eq!(flat(&mut loaded), flat(&mut m));
    assert_eq!(loaded.optimizer_state().unwrap(), m.optimizer_state().unwrap());
    assert_eq!(loaded.predict(x.view(), 32).unwrap(), m.predict(x.view(), 32).unwrap());
    // Tensor names follow the documented layout.
    let bytes = std::fs::read(&path).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names = st.names();
    names.sort();
    assert!(names.contains(&"layers.0.kernel") && names.contains(&"layers.0.bias"));
    assert!(
        names.contains(&"layers.1.kernel") && !names.contains(&"layers.1.bias"),
        "use_bias=false has no bias"
    );
    assert!(names.contains(&"optimizer.m.layers.2.kernel") && names.contains(&"optimizer.v.layers.2.bias"));
    assert_eq!(
        st.tensor("layers.0.kernel").unwrap().shape(),
        &[4, 6],
        "Keras layout [inputs, units]"
    );
    assert!(
        !dir.path()
            .read_dir()
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().contains(".tmp"))
    );
}

fn five_plus_five_equals_ten(device: Device, tol: Option<Tolerance>) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("half.safetensors");
    let (x, y) = data(2);
    let opts = || FitOptions::new(5, 16).seed(4);
    let mut straight = model(device.clone(), Optimizer::adam());
    straight
        .fit(x.view(), y.view(), FitOptions::new(10, 16).seed(4))
        .unwrap();

    let mut first = model(device.clone(), Optimizer::adam());
    first.fit(x.view(), y.view(), opts()).unwrap();
    first.save(&path, None).unwrap();
    drop(first);
    // A fresh model (different seed, so different initial weights) started from the file.
    let mut resumed = Sequential::new(4)
        .add(Dense::new(6, Activation::Relu))
        .add(Dropout::new(0.2))
        .add(Dense::new(5, Activation::Elu { alpha: 0.7 }).use_bias(false))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(11)
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[Metric::Accuracy],
            device.clone(),
        )
        .unwrap();
    resumed.init_from(&ModelFile::read(&path).unwrap()).unwrap();
    resumed.fit(x.view(), y.view(), opts()).unwrap();
    assert_eq!(resumed.steps(), straight.steps());
    let (a, b) = (flat(&mut resumed), flat(&mut straight));
    match tol {
        None => assert_eq!(a, b, "{device:?}: exactly equal"),
        Some(t) => assert_close("resumed weights", &a, &b, t),
    }
}

#[test]
fn training_5_saving_and_5_more_equals_10_on_the_cpu_exactly() {
    five_plus_five_equals_ten(Device::Cpu, None);
}

#[test]
fn training_5_saving_and_5_more_equals_10_on_the_gpu() {
    if common::gpu().is_none() {
        return;
    }
    five_plus_five_equals_ten(Device::Gpu(Default::default()), Some(Tolerance::new(1e-4, 1e-6)));
}

#[test]
fn init_from_a_file_of_another_shape_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model(Device::Cpu, Optimizer::adam()).save(&path, None).unwrap();
    let mut other = Sequential::new(4)
        .add(Dense::new(3, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[],
            Device::Cpu,
        )
        .unwrap();
    let err = other.init_from(&ModelFile::read(&path).unwrap()).unwrap_err();
    assert!(err.to_string().contains("do not fit"), "{err}");
}

#[test]
fn damaged_files_are_errors_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    model(Device::Cpu, Optimizer::rmsprop()).save(&path, None).unwrap();
    let good = std::fs::read(&path).unwrap();
    let err = ModelFile::from_bytes(&good[..good.len() / 2], "half").unwrap_err();
    assert!(
        matches!(err, Error::ModelFile { .. }) && err.to_string().contains("half"),
        "{err}"
    );
    let err = ModelFile::from_bytes(b"not a model at all", "junk").unwrap_err();
    assert!(err.to_string().contains("not a safetensors file"), "{err}");
    let err = ModelFile::read(&dir.path().join("missing.safetensors")).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
    // A plain safetensors file without our metadata.
    let plain = safetensors::serialize(
        [(
            "w",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![1], &[0u8; 4]).unwrap(),
        )],
        None,
    )
    .unwrap();
    let err = ModelFile::from_bytes(&plain, "plain").unwrap_err();
    assert!(err.to_string().contains("not a wgtrain model"), "{err}");
    // Random mutations of a good file: an error or a valid model, never a panic.
    let mut rng = Rng::new(3);
    let cases = common::fuzz_cases(3000) as usize;
    let mut ok = 0;
    for _ in 0..cases {
        let mut bytes = good.clone();
        match rng.below(4) {
            0 => bytes.truncate(rng.below(good.len())),
            1 => {
                for _ in 0..1 + rng.below(8) {
                    let i = rng.below(bytes.len());
                    bytes[i] = rng.next_u64() as u8;
                }
            }
            2 => {
                let i = rng.below(bytes.len());
                bytes.insert(i, rng.next_u64() as u8);
            }
            _ => bytes = (0..rng.below(200)).map(|_| rng.next_u64() as u8).collect(),
        }
        if ModelFile::from_bytes(&bytes, "fuzz").is_ok() {
            ok += 1;
        }
    }
    println!("{cases} damaged model files tried, {ok} still parsed");
}
