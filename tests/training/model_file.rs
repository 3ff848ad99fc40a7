//! Model files: safetensors round trips, resuming training from a file (5 + 5 epochs = 10),
//! files written by format version 1 before serde still load (`tests/fixtures/`), metadata
//! with unknown or missing names is an error naming the field, and damaged files are errors,
//! never panics.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::common::harness::TestDevice;
use crate::common::{self, Rng, Tolerance, assert_close};
use ndarray::Array2;
use wgtrain::Error;
use wgtrain::data::{ColumnRole, MissingPolicy, Scaling, Task};
use wgtrain::model::{Dense, Device, Dropout, FitOptions, Metric, Model, ModelFile, Sequential};
use wgtrain::nn::init::Initializer;
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

pub fn save_and_load_round_trip_every_value() {
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

/// Five epochs, a save, and five more from the file equal ten straight: exactly on the CPU
/// (one summation order), within rounding on the GPU.
pub fn training_5_saving_and_5_more_equals_10(d: TestDevice) {
    let device = d.device();
    let tol = match d {
        TestDevice::Cpu => None,
        TestDevice::Gpu => Some(Tolerance::new(1e-4, 1e-6)),
    };
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

pub fn init_from_a_file_of_another_shape_is_a_clear_error() {
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

pub fn damaged_files_are_errors_never_panics() {
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
    // Random mutations of a good file: an error or the same model, never a panic.
    let reference = ModelFile::from_bytes(&good, "good").unwrap();
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
        if let Ok(file) = ModelFile::from_bytes(&bytes, "fuzz") {
            ok += 1;
            // With the checksum (issue 14), what still parses is the same model: the damage
            // was to layout bytes (header padding) that carry nothing.
            assert!(
                file.weights == reference.weights
                    && file.optimizer_state == reference.optimizer_state
                    && file.architecture == reference.architecture
                    && file.optimizer == reference.optimizer
                    && (file.step, file.epochs) == (reference.step, reference.epochs),
                "a damaged file loaded as a different model"
            );
        }
    }
    println!("{cases} damaged model files tried, {ok} still parsed, each as the undamaged model");
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A version-1 file's weights equal its raw tensors, and its predictions on `csv` (through its
/// own preprocessing, on the CPU) equal those the version that wrote it computed.
fn check_v1_weights_and_predictions(name: &str, file: &ModelFile, csv: &Path) {
    let bytes = std::fs::read(fixture(&format!("{name}.safetensors"))).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let raw = |t: &str| -> Vec<f32> {
        let data = st.tensor(t).unwrap().data().to_vec();
        data.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    for (i, (k, b)) in file.weights.iter().enumerate() {
        assert_eq!(*k, raw(&format!("layers.{i}.kernel")), "{name}: layer {i} kernel");
        if let Some(b) = b {
            assert_eq!(*b, raw(&format!("layers.{i}.bias")), "{name}: layer {i} bias");
        }
    }
    let pre = file.preprocessing.as_ref().expect("trained from a CSV");
    assert_eq!(pre.offsets(), raw("preprocessing.offsets"), "{name}: offsets");
    assert_eq!(pre.scales(), raw("preprocessing.scales"), "{name}: scales");
    let state = file.optimizer_state.as_ref().expect("optimizer state saved");
    assert_eq!(
        state.len(),
        file.optimizer.slot_names().len(),
        "{name}: optimizer slots"
    );

    let expected: Vec<Vec<f32>> =
        serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{name}.predictions.json"))).unwrap()).unwrap();
    let x = pre.transform_csv(csv).unwrap().x;
    let mut model = file.compile(Device::Cpu).unwrap();
    assert_eq!(model.steps(), file.step);
    let got = model.predict(x.view(), 32).unwrap();
    let expected: Vec<f32> = expected.into_iter().flatten().collect();
    assert_close(
        &format!("{name}: predictions"),
        &got.iter().copied().collect::<Vec<_>>(),
        &expected,
        Tolerance::new(1e-5, 1e-6),
    );

    // Written again by this version, it reads back the same.
    let again = ModelFile::from_bytes(&file.to_bytes().unwrap(), name).unwrap();
    assert_eq!(again.architecture, file.architecture);
    assert_eq!(again.loss, file.loss);
    assert_eq!(
        (again.optimizer, again.step, again.epochs),
        (file.optimizer, file.step, file.epochs)
    );
    assert_eq!(again.metrics, file.metrics);
    assert_eq!(again.weights, file.weights);
    assert_eq!(again.optimizer_state, file.optimizer_state);
    assert_eq!(again.preprocessing, file.preprocessing);
}

pub fn v1_seed_model_written_by_the_command_still_loads() {
    let file = ModelFile::read(&fixture("model_v1.safetensors")).unwrap();
    let expected = Sequential::new(8)
        .add(Dense::new(10, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(42);
    assert_eq!(file.architecture, expected);
    assert_eq!(file.loss, Loss::BinaryCrossentropy { from_logits: false });
    assert_eq!(file.optimizer, Optimizer::adam());
    assert_eq!((file.step, file.epochs), (122, 2));
    assert_eq!(file.metrics, [Metric::Accuracy, Metric::Precision, Metric::Recall]);
    let pre = file.preprocessing.as_ref().unwrap();
    assert_eq!(pre.task(), Task::Binary);
    assert_eq!(pre.class_names(), ["0", "1"]);
    assert_eq!(pre.label_name(), "label");
    assert_eq!(
        pre.feature_names(),
        [
            "visits", "glucose", "pressure", "skinfold", "insulin", "bmi", "pedigree", "age"
        ]
    );
    assert_eq!((pre.missing(), pre.scaling()), (MissingPolicy::Drop, Scaling::Standard));
    let seed_csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/seed.csv");
    check_v1_weights_and_predictions("model_v1", &file, &seed_csv);
}

pub fn v1_model_with_text_columns_dropout_and_rmsprop_still_loads() {
    let file = ModelFile::read(&fixture("mixed_v1.safetensors")).unwrap();
    let expected = Sequential::new(5)
        .add(
            Dense::new(6, Activation::Elu { alpha: 0.7 })
                .use_bias(false)
                .kernel_initializer(Initializer::HeNormal),
        )
        .add(Dropout::new(0.25))
        .add(Dense::new(5, Activation::Gelu { approximate: true }).bias_initializer(Initializer::Constant(0.1)))
        .add(Dense::new(4, Activation::LeakyRelu { alpha: 0.3 }).kernel_initializer(Initializer::HeUniform))
        .add(Dense::new(3, Activation::Softmax))
        .seed(9);
    assert_eq!(file.architecture, expected);
    assert_eq!(file.loss, Loss::SparseCategoricalCrossentropy { from_logits: false });
    assert_eq!(
        file.optimizer,
        Optimizer::RmsProp {
            learning_rate: 0.01.into(),
            rho: 0.8,
            momentum: 0.5,
            epsilon: 1e-6,
            centered: true,
            weight_decay: Some(0.01),
        }
    );
    assert_eq!((file.step, file.epochs), (12, 2));
    assert_eq!(file.metrics, [Metric::Accuracy]);
    let pre = file.preprocessing.as_ref().unwrap();
    assert_eq!(pre.task(), Task::Multiclass { n_classes: 3 });
    assert_eq!(pre.class_names(), ["bird", "cat", "dog"]);
    assert_eq!(
        pre.feature_names(),
        ["height", "color=blue", "color=green", "color=red", "weight"]
    );
    assert_eq!(
        (pre.missing(), pre.scaling()),
        (MissingPolicy::FillMean, Scaling::Standard)
    );
    let roles: Vec<(&str, &ColumnRole)> = pre.columns().iter().map(|c| (c.name.as_str(), &c.role)).collect();
    assert_eq!(
        roles[1],
        (
            "color",
            &ColumnRole::Text {
                categories: vec!["blue".into(), "green".into(), "red".into()]
            }
        )
    );
    assert_eq!(roles[3], ("id", &ColumnRole::Ignored));
    assert_eq!(roles[4], ("species", &ColumnRole::Label));
    assert!(matches!(roles[0], ("height", ColumnRole::Numeric { fill }) if (fill - 4.850_208).abs() < 1e-5));
    check_v1_weights_and_predictions("mixed_v1", &file, &fixture("mixed_v1.csv"));
}

pub fn v1_regression_model_with_sgd_still_loads() {
    let file = ModelFile::read(&fixture("regression_v1.safetensors")).unwrap();
    let expected = Sequential::new(3)
        .add(
            Dense::new(5, Activation::Tanh)
                .kernel_initializer(Initializer::GlorotNormal)
                .bias_initializer(Initializer::Ones),
        )
        .add(Dense::new(4, Activation::Gelu { approximate: false }))
        .add(Dense::new(3, Activation::Sigmoid))
        .add(Dense::new(1, Activation::Linear))
        .seed(21);
    assert_eq!(file.architecture, expected);
    assert_eq!(file.loss, Loss::MeanSquaredError);
    assert_eq!(
        file.optimizer,
        Optimizer::Sgd {
            learning_rate: 0.05.into(),
            momentum: 0.9,
            nesterov: true,
            weight_decay: None,
        }
    );
    assert_eq!((file.step, file.epochs), (10, 2));
    assert_eq!(file.metrics, [Metric::MeanAbsoluteError, Metric::MeanSquaredError]);
    let pre = file.preprocessing.as_ref().unwrap();
    assert_eq!(pre.task(), Task::Regression);
    assert!(pre.class_names().is_empty());
    assert_eq!(
        (pre.missing(), pre.scaling()),
        (MissingPolicy::FillZero, Scaling::MinMax)
    );
    check_v1_weights_and_predictions("regression_v1", &file, &fixture("regression_v1.csv"));
}

/// The bytes of `file` with metadata entry `key` edited by `edit`.
fn with_metadata(file: &[u8], key: &str, edit: impl Fn(&str) -> String) -> Vec<u8> {
    let st = safetensors::SafeTensors::deserialize(file).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(file).unwrap();
    let mut meta: HashMap<String, String> = header.metadata().clone().unwrap();
    let text = meta.get(key).unwrap().clone();
    let edited = edit(&text);
    assert_ne!(edited, text, "the edit of `{key}` changed nothing");
    meta.insert(key.to_string(), edited);
    safetensors::serialize(st.tensors(), Some(meta)).unwrap()
}

/// The field and message of reading `bytes`, which must fail on a metadata field.
fn metadata_error(bytes: &[u8]) -> (String, String) {
    match ModelFile::from_bytes(bytes, "edited.safetensors").unwrap_err() {
        err @ Error::ModelMetadata { .. } => {
            let text = err.to_string();
            assert!(text.contains("edited.safetensors"), "{text}");
            let Error::ModelMetadata { field, .. } = err else {
                unreachable!()
            };
            (field, text)
        }
        other => panic!("expected a metadata error, got {other}"),
    }
}

pub fn unknown_or_missing_names_in_the_metadata_are_errors_naming_the_field() {
    let good = std::fs::read(fixture("mixed_v1.safetensors")).unwrap();
    let cases: [(&str, &str, &str, &str, &[&str]); 7] = [
        (
            "architecture",
            r#""name":"leaky_relu""#,
            r#""name":"swish""#,
            "architecture.layers[3].activation.name",
            &["`swish`", "`relu`", "`leaky_relu`", "`softmax`"],
        ),
        (
            "architecture",
            r#""name":"he_normal""#,
            r#""name":"lecun_normal""#,
            "architecture.layers[0].kernel_initializer.name",
            &["`lecun_normal`", "`he_normal`"],
        ),
        (
            "architecture",
            r#""units":6,"#,
            "",
            "architecture.layers[0].units",
            &["`dense` needs it"],
        ),
        (
            "loss",
            "sparse_categorical_crossentropy",
            "focal",
            "loss.name",
            &["`focal`", "`binary_crossentropy`"],
        ),
        (
            "optimizer",
            r#""name":"rmsprop""#,
            r#""name":"adagrad""#,
            "optimizer.name",
            &["`adagrad`", "`sgd`, `adam`, `adamw`, `rmsprop`"],
        ),
        (
            "training",
            r#"["accuracy"]"#,
            r#"["accuracy","auc"]"#,
            "training.metrics[1]",
            &["`auc`", "`mae`"],
        ),
        (
            "preprocessing",
            r#""role":"ignored""#,
            r#""role":"skipped""#,
            "preprocessing.columns[3].role",
            &["`skipped`", "`ignored`"],
        ),
    ];
    for (key, from, to, field, words) in cases {
        // The v1 writer spaced the preprocessing document; match either spacing.
        let bytes = with_metadata(&good, key, |t| {
            t.replace(from, to)
                .replace(&from.replace(':', ": "), &to.replace(':', ": "))
        });
        let (got, text) = metadata_error(&bytes);
        assert_eq!(got, field, "{text}");
        for w in words {
            assert!(text.contains(w), "`{w}` not in: {text}");
        }
    }
    // An unknown field, and a missing one.
    let bytes = with_metadata(&good, "loss", |t| t.replace('}', r#","label_smoothing":0.1}"#));
    let (field, text) = metadata_error(&bytes);
    assert_eq!(field, "loss.label_smoothing", "{text}");
    let bytes = with_metadata(&good, "training", |t| t.replace(r#""epochs":2,"#, ""));
    let (field, text) = metadata_error(&bytes);
    assert_eq!(field, "training", "{text}");
    assert!(text.contains("missing field `epochs`"), "{text}");
}
