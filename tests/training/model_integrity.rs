//! Issue 14, groups 3, 8 and 9: model files are read header first with every declared size
//! checked against the file, carry a checksum that finds every bit flip (files without one,
//! such as the fixtures of format version 1, load and say so), and the state they hold is
//! validated on load.

use std::path::PathBuf;

use crate::common;
use wgtrain::Error;
use wgtrain::model::{Dense, Device, Integrity, Model, ModelFile, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The mixed fixture (text columns, dropout, RMSprop state, preprocessing) as this version
/// writes it, with a checksum.
fn checked_file() -> (ModelFile, Vec<u8>) {
    let file = ModelFile::read(&fixture("mixed_v1.safetensors")).unwrap();
    let bytes = file.to_bytes().unwrap();
    (file, bytes)
}

/// Whether two loaded files hold the same model.
fn same_model(a: &ModelFile, b: &ModelFile) -> bool {
    a.architecture == b.architecture
        && a.loss == b.loss
        && a.optimizer == b.optimizer
        && a.step == b.step
        && a.epochs == b.epochs
        && a.metrics == b.metrics
        && a.weights == b.weights
        && a.optimizer_state == b.optimizer_state
        && a.preprocessing == b.preprocessing
}

pub fn every_single_bit_flip_of_a_model_file_is_found() {
    let (file, bytes) = checked_file();
    let loaded = ModelFile::from_bytes(&bytes, "good").unwrap();
    assert_eq!(loaded.integrity, Integrity::Verified);
    assert!(same_model(&file, &loaded));
    // Every bit of the file, or a seeded sample of WGTRAIN_FUZZ_CASES of them.
    let all = bytes.len() * 8;
    let cases = (common::fuzz_cases(all as u32) as usize).min(all);
    let mut rng = common::Rng::new(14);
    let (mut refused, mut checksum) = (0, 0);
    for k in 0..cases {
        let bit = if cases == all { k } else { rng.below(all) };
        let mut damaged = bytes.clone();
        damaged[bit / 8] ^= 1 << (bit % 8);
        match ModelFile::from_bytes(&damaged, "flipped") {
            Err(e) => {
                refused += 1;
                checksum += usize::from(e.to_string().contains("checksum does not match"));
            }
            Ok(other) => assert!(
                same_model(&file, &other),
                "flipping bit {bit} changed the model and loaded without an error"
            ),
        }
    }
    println!(
        "{cases} single-bit flips of a {}-byte model file: {refused} refused ({checksum} by the checksum), none changed the model",
        bytes.len()
    );
    assert!(checksum > cases / 2, "the checksum found {checksum} of {cases}");
}

pub fn files_without_a_checksum_load_and_say_so() {
    for name in [
        "model_v1.safetensors",
        "mixed_v1.safetensors",
        "regression_v1.safetensors",
    ] {
        let file = ModelFile::read(&fixture(name)).unwrap();
        assert_eq!(file.integrity, Integrity::NoChecksum, "{name}");
    }
    let (_, bytes) = checked_file();
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("\"checksum\":\"crc32:"),
        "the checksum is in the metadata"
    );
}

pub fn model_files_are_read_header_first_with_sizes_checked() {
    for device in ["/dev/zero", "/dev/urandom"] {
        let err = ModelFile::read(std::path::Path::new(device)).unwrap_err();
        assert!(matches!(err, Error::ModelFile { .. }), "{device}: {err}");
    }
    let (_, bytes) = checked_file();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.safetensors");
    // Cut inside the tensor data: the header says how much is missing.
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let err = ModelFile::read(&path).unwrap_err().to_string();
    assert!(
        err.contains("truncated") && err.contains("bytes of tensor data"),
        "{err}"
    );
    // A length field claiming a header longer than the file.
    let mut long = bytes.clone();
    long[..8].copy_from_slice(&(90_000_000u64).to_le_bytes());
    std::fs::write(&path, &long).unwrap();
    let err = ModelFile::read(&path).unwrap_err().to_string();
    assert!(err.contains("declares a header of 90000000 bytes"), "{err}");
    // A header of three gigabytes of NUL bytes' worth of length.
    long[..8].copy_from_slice(&(3u64 << 30).to_le_bytes());
    std::fs::write(&path, &long).unwrap();
    let err = ModelFile::read(&path).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");
}

/// `edit` applied to the mixed fixture, written again (with a fresh checksum) and read.
fn load_edited(edit: impl Fn(&mut ModelFile)) -> String {
    let (mut file, _) = checked_file();
    edit(&mut file);
    let bytes = file.to_bytes().unwrap();
    ModelFile::from_bytes(&bytes, "edited.safetensors")
        .unwrap_err()
        .to_string()
}

pub fn loaded_state_is_validated() {
    // The mixed fixture's optimizer is RMSprop: slot 0 is its mean square `velocity`.
    let err = load_edited(|f| f.optimizer_state.as_mut().unwrap()[0][3] = -0.5);
    assert!(
        err.contains("optimizer.velocity") && err.contains("never negative"),
        "{err}"
    );
    let err = load_edited(|f| f.optimizer_state.as_mut().unwrap()[0][1] = f32::NAN);
    assert!(err.contains("NaN") && err.contains("optimizer.velocity"), "{err}");
    let err = load_edited(|f| f.weights[0].0[2] = f32::INFINITY);
    assert!(err.contains("layers.0.kernel") && err.contains("inf"), "{err}");
    let err = load_edited(|f| f.epochs = u64::MAX);
    assert!(err.contains("training.epochs") && err.contains("2^53"), "{err}");
    let err = load_edited(|f| f.step = u64::MAX);
    assert!(err.contains("optimizer.step"), "{err}");
    // A preprocessing of another label (two classes) on a three-class output.
    let binary = ModelFile::read(&fixture("model_v1.safetensors")).unwrap().preprocessing;
    let err = load_edited(|f| f.preprocessing = binary.clone());
    assert!(
        err.contains("2 classes") && err.contains("output layer has 3 units"),
        "{err}"
    );
}

fn two_layer_model() -> Model {
    Sequential::new(3)
        .add(Dense::new(4, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[],
            Device::Cpu,
        )
        .unwrap()
}

pub fn a_foreign_weights_file_with_an_extra_layer_is_refused() {
    let f32s = |n: usize| vec![0u8; n * 4];
    let tensors: Vec<(String, Vec<usize>, Vec<u8>)> = vec![
        ("layers.0.kernel".into(), vec![3, 4], f32s(12)),
        ("layers.0.bias".into(), vec![4], f32s(4)),
        ("layers.1.kernel".into(), vec![4, 1], f32s(4)),
        ("layers.1.bias".into(), vec![1], f32s(1)),
        ("layers.2.kernel".into(), vec![1, 1], f32s(1)),
    ];
    let views = tensors.iter().map(|(n, shape, data)| {
        (
            n.clone(),
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data).unwrap(),
        )
    });
    let bytes = safetensors::serialize(views, None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("foreign.safetensors");
    std::fs::write(&path, bytes).unwrap();
    let err = two_layer_model().init_from_path(&path).unwrap_err().to_string();
    assert!(err.contains("no place for: layers.2.kernel"), "{err}");
}

pub fn a_damaged_checksum_key_does_not_turn_the_check_off() {
    let (_, bytes) = checked_file();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let mut meta = header.metadata().clone().unwrap();
    let sum = meta.remove("checksum").unwrap();
    meta.insert("checksuM".into(), sum);
    let renamed = safetensors::serialize(st.tensors(), Some(meta)).unwrap();
    let err = ModelFile::from_bytes(&renamed, "renamed").unwrap_err().to_string();
    assert!(err.contains("`checksuM`") && err.contains("damaged"), "{err}");
}
