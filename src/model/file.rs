//! Model files: one safetensors file that Python's `safetensors` reads unchanged.
//! Tensors (f32, Keras layout): `layers.{i}.kernel` [inputs, units] and `layers.{i}.bias`
//! [units], counting Dense layers from 0; optimizer state `optimizer.{slot}.layers.{i}.kernel`
//! / `.bias` (slots `m`, `v`, `momentum`, `velocity`, `average_gradient`); preprocessing
//! statistics `preprocessing.offsets` / `preprocessing.scales`. `__metadata__` holds JSON
//! strings: `wgtrain` (format version), `architecture`, `loss`, `optimizer` (with its step
//! count), `training` (epochs trained, metrics) and `preprocessing` (columns, encodings, class
//! names), each read strictly through serde (`file_json.rs`, `data/persist.rs`: a missing,
//! unknown or misnamed field is an error naming it), and `checksum`, a CRC-32 of everything
//! else (`file_checksum.rs`), verified on load. Reading checks the header's sizes against the
//! file first (`file_read.rs`) and the loaded state after (`file_validate.rs`). Files are
//! written atomically (`io::write_atomic`).

use std::collections::HashMap;
use std::path::Path;

use safetensors::{Dtype, SafeTensors, tensor::TensorView};
use serde::de::DeserializeOwned;

use super::executor::Execution;
use super::file_checksum::{CHECKSUM_KEY, Integrity, TensorBytes, checksum};
use super::file_json::{ArchitectureJson, FieldError, LossJson, OptimizerJson, TrainingJson, entry_text, parse_entry};
use super::file_read::read_model_bytes;
use super::file_validate::{check_classes, check_counts, check_finite, check_optimizer_state};
use super::metrics::Metric;
use super::model::{LayerWeights, Model};
use super::sequential::{Device, Sequential};
use crate::backend::{Backend, may_block};
use crate::data::{DataError, Preprocessing};
use crate::nn::{Loss, Optimizer};
use crate::{Error, Result};

/// The format written in `__metadata__["wgtrain"]`.
pub const FORMAT_VERSION: &str = "1";

/// Everything a model file holds, in memory.
#[derive(Clone, Debug)]
pub struct ModelFile {
    /// Layers, input width and seed.
    pub architecture: Sequential,
    /// The loss it was compiled with.
    pub loss: Loss,
    /// The optimizer and its current hyper-parameters.
    pub optimizer: Optimizer,
    /// Optimizer steps taken.
    pub step: u64,
    /// Epochs trained.
    pub epochs: u64,
    /// Metrics it was compiled with.
    pub metrics: Vec<Metric>,
    /// Each Dense layer's weights.
    pub weights: Vec<LayerWeights>,
    /// Optimizer state per slot (flat, the parameters' layout), when saved.
    pub optimizer_state: Option<Vec<Vec<f32>>>,
    /// The data preprocessing to apply to new inputs, when the model came from a CSV.
    pub preprocessing: Option<Preprocessing>,
    /// Whether the file's checksum was verified (a file without one loads, and says so here).
    pub integrity: Integrity,
}

/// A model-file error that is not about one metadata field.
fn bad(path: &str, detail: impl Into<String>) -> Error {
    Error::ModelFile {
        path: path.to_string(),
        detail: detail.into(),
    }
}

/// The JSON entry `key` of the metadata, parsed as `J` (errors name the field).
fn entry<J: DeserializeOwned>(meta: &HashMap<String, String>, key: &str, name: &str) -> Result<J> {
    let text = meta
        .get(key)
        .ok_or_else(|| bad(name, format!("no `{key}` in the metadata: not a wgtrain model")))?;
    parse_entry(text).map_err(|e| e.in_entry(name, key))
}

/// The JSON entry `key` of the metadata, parsed as `J` and converted to the engine's `T`.
fn engine_entry<J, T>(meta: &HashMap<String, String>, key: &str, name: &str) -> Result<T>
where
    J: DeserializeOwned,
    T: TryFrom<J, Error = FieldError>,
{
    T::try_from(entry::<J>(meta, key, name)?).map_err(|e| e.in_entry(name, key))
}

/// The metadata entries of a model file (all but the checksum), from what they describe.
pub(crate) fn metadata_of(
    architecture: &Sequential,
    loss: Loss,
    optimizer: Optimizer,
    (step, epochs): (u64, u64),
    metrics: &[Metric],
    preprocessing: Option<&Preprocessing>,
) -> HashMap<String, String> {
    let mut meta = HashMap::new();
    meta.insert("wgtrain".to_string(), FORMAT_VERSION.to_string());
    meta.insert(
        "architecture".to_string(),
        entry_text(&ArchitectureJson::from(architecture)),
    );
    meta.insert("loss".to_string(), entry_text(&LossJson::from(loss)));
    meta.insert(
        "optimizer".to_string(),
        entry_text(&OptimizerJson::new(optimizer, step)),
    );
    meta.insert("training".to_string(), entry_text(&TrainingJson::new(epochs, metrics)));
    if let Some(p) = preprocessing {
        meta.insert("preprocessing".to_string(), p.to_json());
    }
    meta
}

fn f32_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

impl ModelFile {
    /// Serializes to safetensors bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
        let dense = self.architecture.dense_layers();
        for (i, ((inputs, d), (k, b))) in dense.iter().zip(&self.weights).enumerate() {
            tensors.push((format!("layers.{i}.kernel"), vec![*inputs, d.units], f32_bytes(k)));
            if let Some(b) = b {
                tensors.push((format!("layers.{i}.bias"), vec![d.units], f32_bytes(b)));
            }
        }
        if let Some(state) = &self.optimizer_state {
            for (slot, values) in self.optimizer.slot_names().iter().zip(state) {
                let mut offset = 0;
                for (i, (inputs, d)) in dense.iter().enumerate() {
                    let k = inputs * d.units;
                    let bytes = f32_bytes(&values[offset..offset + k]);
                    tensors.push((
                        format!("optimizer.{slot}.layers.{i}.kernel"),
                        vec![*inputs, d.units],
                        bytes,
                    ));
                    offset += k;
                    if d.use_bias {
                        let bytes = f32_bytes(&values[offset..offset + d.units]);
                        tensors.push((format!("optimizer.{slot}.layers.{i}.bias"), vec![d.units], bytes));
                        offset += d.units;
                    }
                }
            }
        }
        if let Some(p) = &self.preprocessing {
            tensors.push((
                "preprocessing.offsets".into(),
                vec![p.offsets().len()],
                f32_bytes(p.offsets()),
            ));
            tensors.push((
                "preprocessing.scales".into(),
                vec![p.scales().len()],
                f32_bytes(p.scales()),
            ));
        }
        let mut meta = metadata_of(
            &self.architecture,
            self.loss,
            self.optimizer,
            (self.step, self.epochs),
            &self.metrics,
            self.preprocessing.as_ref(),
        );
        let sum = checksum(
            &meta,
            tensors
                .iter()
                .map(|(name, shape, data)| TensorBytes {
                    name,
                    dtype: format!("{:?}", Dtype::F32),
                    shape,
                    data,
                })
                .collect(),
        );
        meta.insert(CHECKSUM_KEY.to_string(), sum);
        let views = tensors
            .iter()
            .map(|(name, shape, bytes)| {
                let view = TensorView::new(Dtype::F32, shape.clone(), bytes)
                    .map_err(|e| bad("(in memory)", format!("tensor {name}: {e}")))?;
                Ok((name.clone(), view))
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::serialize(views, Some(meta)).map_err(|e| bad("(in memory)", e.to_string()))
    }

    /// Writes the file atomically (temporary file in the same directory, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        crate::io::write_atomic(path, &self.to_bytes()?)
    }

    /// Reads a model file; a file that is not one (truncated, corrupted, another format) is
    /// an error that says so, never a panic.
    pub fn read(path: &Path) -> Result<ModelFile> {
        let bytes = read_model_bytes(path)?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// The bytes of a safetensors file, read header first with every declared size checked
    /// against the file (so `/dev/zero` or a truncated file fails after a few bytes).
    pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
        read_model_bytes(path)
    }

    /// Parses safetensors bytes; `name` names the source in errors.
    pub fn from_bytes(bytes: &[u8], name: &str) -> Result<ModelFile> {
        let st = SafeTensors::deserialize(bytes).map_err(|e| bad(name, format!("not a safetensors file ({e})")))?;
        let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| bad(name, e.to_string()))?;
        let meta = header.metadata().clone().unwrap_or_default();
        match meta.get("wgtrain") {
            Some(v) if v == FORMAT_VERSION => {}
            Some(v) => {
                return Err(bad(
                    name,
                    format!("format version {v}; this wgtrain reads version {FORMAT_VERSION}"),
                ));
            }
            None => return Err(bad(name, "no `wgtrain` entry in the metadata: not a wgtrain model")),
        }
        // An entry this version does not know is damage (or a newer writer): refused, so that
        // a damaged `checksum` key cannot turn the check off.
        const KNOWN: [&str; 7] = [
            "wgtrain",
            "architecture",
            "loss",
            "optimizer",
            "training",
            "preprocessing",
            CHECKSUM_KEY,
        ];
        let mut unknown: Vec<&String> = meta.keys().filter(|k| !KNOWN.contains(&k.as_str())).collect();
        if !unknown.is_empty() {
            unknown.sort();
            return Err(bad(
                name,
                format!(
                    "its metadata has entries this wgtrain does not know ({}): the file is damaged or from a newer version",
                    unknown.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
        let integrity = verify(&st, &meta, name)?;
        let architecture: Sequential = engine_entry::<ArchitectureJson, _>(&meta, "architecture", name)?;
        let loss: Loss = engine_entry::<LossJson, _>(&meta, "loss", name)?;
        architecture.validate(loss).map_err(|e| bad(name, e.to_string()))?;
        let optimizer_json: OptimizerJson = entry(&meta, "optimizer", name)?;
        let step = optimizer_json.step;
        let optimizer = Optimizer::try_from(optimizer_json).map_err(|e| e.in_entry(name, "optimizer"))?;
        let training: TrainingJson = entry(&meta, "training", name)?;
        check_counts(name, step, training.epochs)?;
        let read = |tensor: &str, shape: &[usize]| read_tensor(&st, name, tensor, shape);
        let dense = architecture.dense_layers();
        let mut weights = Vec::new();
        for (i, (inputs, d)) in dense.iter().enumerate() {
            let k = read(&format!("layers.{i}.kernel"), &[*inputs, d.units])?;
            let b = if d.use_bias {
                Some(read(&format!("layers.{i}.bias"), &[d.units])?)
            } else {
                None
            };
            check_finite(name, &format!("layers.{i}.kernel"), &k)?;
            if let Some(b) = &b {
                check_finite(name, &format!("layers.{i}.bias"), b)?;
            }
            weights.push((k, b));
        }
        let names = st.names();
        let has_state = names.iter().any(|n| n.starts_with("optimizer."));
        let optimizer_state = if has_state {
            let mut slots = Vec::new();
            for slot in optimizer.slot_names() {
                let mut flat = Vec::new();
                for (i, (inputs, d)) in dense.iter().enumerate() {
                    flat.extend(read(
                        &format!("optimizer.{slot}.layers.{i}.kernel"),
                        &[*inputs, d.units],
                    )?);
                    if d.use_bias {
                        flat.extend(read(&format!("optimizer.{slot}.layers.{i}.bias"), &[d.units])?);
                    }
                }
                slots.push(flat);
            }
            check_optimizer_state(name, &optimizer, &slots)?;
            Some(slots)
        } else {
            None
        };
        let preprocessing = match meta.get("preprocessing") {
            Some(text) => Some(Preprocessing::from_json(text).map_err(|e| match e {
                DataError::Metadata { field, detail } => FieldError::new(field, detail).in_entry(name, "preprocessing"),
                other => bad(name, other.to_string()),
            })?),
            None => None,
        };
        if let Some(p) = &preprocessing {
            check_classes(name, &architecture, loss, p)?;
        }
        Ok(ModelFile {
            architecture,
            loss,
            optimizer,
            step,
            epochs: training.epochs,
            metrics: training.metrics(),
            weights,
            optimizer_state,
            preprocessing,
            integrity,
        })
    }

    /// Compiles the stored model onto a device with its weights and optimizer state.
    pub fn compile(&self, device: Device) -> Result<Model> {
        self.compile_with(device, Execution::Auto)
    }

    /// [`ModelFile::compile`] with an execution choice (which executor runs the steps).
    pub fn compile_with(&self, device: Device, execution: Execution) -> Result<Model> {
        let model =
            self.architecture
                .clone()
                .compile_with(self.loss, self.optimizer, &self.metrics, device, execution)?;
        self.restore(model)
    }

    /// [`ModelFile::compile`], awaiting the GPU device instead of blocking (the form a browser
    /// needs).
    pub async fn compile_async(&self, device: Device) -> Result<Model> {
        self.compile_with_async(device, Execution::Auto).await
    }

    /// [`ModelFile::compile_with`], awaiting the GPU device instead of blocking.
    pub async fn compile_with_async(&self, device: Device, execution: Execution) -> Result<Model> {
        let model = self
            .architecture
            .clone()
            .compile_with_async(self.loss, self.optimizer, &self.metrics, device, execution)
            .await?;
        self.restore(model)
    }

    /// [`ModelFile::compile_with`] onto a backend already opened (e.g. a GPU device opened with
    /// chosen limits, as the web package opens one with the WebGPU defaults).
    ///
    /// ```
    /// use wgtrain::backend::CpuBackend;
    /// use wgtrain::model::{Dense, Device, Execution, Sequential};
    /// use wgtrain::nn::{Activation, Loss, Optimizer};
    /// let mut model = Sequential::new(2)
    ///     .add(Dense::new(1, Activation::Linear))
    ///     .compile(Loss::MeanSquaredError, Optimizer::sgd(), &[], Device::Cpu)?;
    /// let file = model.to_file(None)?;
    /// let mut loaded = file.compile_on_with(Box::new(CpuBackend::new()), Execution::Auto)?;
    /// assert_eq!(loaded.weights()?, model.weights()?);
    /// # Ok::<(), wgtrain::Error>(())
    /// ```
    pub fn compile_on_with(&self, backend: Box<dyn Backend>, execution: Execution) -> Result<Model> {
        let model =
            self.architecture
                .clone()
                .compile_on_with(self.loss, self.optimizer, &self.metrics, backend, execution)?;
        self.restore(model)
    }

    /// Puts the stored weights, optimizer state and counts into a freshly compiled model.
    fn restore(&self, mut model: Model) -> Result<Model> {
        model.set_weights(&self.weights)?;
        if let Some(state) = &self.optimizer_state {
            model.set_optimizer_state(self.step, state)?;
        } else {
            model.step = self.step;
        }
        model.epochs_trained = self.epochs;
        Ok(model)
    }
}

/// Checks the stored checksum against the contents; a file without one is
/// [`Integrity::NoChecksum`].
fn verify(st: &SafeTensors, meta: &HashMap<String, String>, name: &str) -> Result<Integrity> {
    let Some(stored) = meta.get(CHECKSUM_KEY) else {
        return Ok(Integrity::NoChecksum);
    };
    let tensors = st.tensors();
    let computed = checksum(
        meta,
        tensors
            .iter()
            .map(|(n, t)| TensorBytes {
                name: n,
                dtype: format!("{:?}", t.dtype()),
                shape: t.shape(),
                data: t.data(),
            })
            .collect(),
    );
    if *stored == computed {
        Ok(Integrity::Verified)
    } else {
        Err(bad(
            name,
            format!(
                "its checksum does not match its contents (stored {stored}, contents give {computed}): the file was damaged after it was written; restore it from a copy or train again"
            ),
        ))
    }
}

/// Reads an f32 tensor of a given shape.
fn read_tensor(st: &SafeTensors, name: &str, tensor: &str, shape: &[usize]) -> Result<Vec<f32>> {
    let t = st
        .tensor(tensor)
        .map_err(|_| bad(name, format!("tensor `{tensor}` is missing")))?;
    if t.dtype() != Dtype::F32 || t.shape() != shape {
        return Err(bad(
            name,
            format!(
                "tensor `{tensor}` is {:?} {:?}, F32 {shape:?} expected",
                t.dtype(),
                t.shape()
            ),
        ));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

impl Model {
    /// Starts from the weights in a safetensors file: a wgtrain model file (continuing its
    /// optimizer state when it fits), or a file written by another program that holds
    /// `layers.{i}.kernel` `[inputs, units]` and `layers.{i}.bias` `[units]` tensors (f32) with
    /// this model's shapes.
    pub fn init_from_path(&mut self, path: &Path) -> Result<()> {
        let name = path.display().to_string();
        let bytes = read_model_bytes(path)?;
        let st = SafeTensors::deserialize(&bytes).map_err(|e| bad(&name, format!("not a safetensors file ({e})")))?;
        let (_, header) = SafeTensors::read_metadata(&bytes).map_err(|e| bad(&name, e.to_string()))?;
        let retag = |e: Error| match e {
            Error::ModelFile { detail, .. } => Error::ModelFile {
                path: name.clone(),
                detail,
            },
            other => Error::ModelFile {
                path: name.clone(),
                detail: other.to_string(),
            },
        };
        if header.metadata().as_ref().is_some_and(|m| m.contains_key("wgtrain")) {
            return self.init_from(&ModelFile::from_bytes(&bytes, &name)?).map_err(retag);
        }
        let layouts = self.weights_layouts();
        // Every tensor must have its place: a file with another layer would load in part.
        let known: Vec<String> = (0..layouts.len())
            .flat_map(|i| [format!("layers.{i}.kernel"), format!("layers.{i}.bias")])
            .collect();
        let mut extra: Vec<String> = st
            .names()
            .into_iter()
            .filter(|n| !known.iter().any(|k| k == n))
            .map(str::to_string)
            .collect();
        if !extra.is_empty() {
            extra.sort();
            return Err(bad(
                &name,
                format!(
                    "it holds tensors this model of {} Dense layers has no place for: {}",
                    layouts.len(),
                    extra.join(", ")
                ),
            ));
        }
        let mut weights = Vec::new();
        for (i, p) in layouts.iter().enumerate() {
            let k = read_tensor(&st, &name, &format!("layers.{i}.kernel"), &[p.inputs, p.units])?;
            let b = match p.bias {
                true => Some(read_tensor(&st, &name, &format!("layers.{i}.bias"), &[p.units])?),
                false => None,
            };
            check_finite(&name, &format!("layers.{i}.kernel"), &k)?;
            if let Some(b) = &b {
                check_finite(&name, &format!("layers.{i}.bias"), b)?;
            }
            weights.push((k, b));
        }
        self.set_weights(&weights).map_err(retag)
    }

    /// Everything needed to save the model, read back from the device. When the device cannot
    /// be read (lost, out of memory), the host copy of the last good epoch's weights is used
    /// and the optimizer state is left out.
    pub fn to_file(&mut self, preprocessing: Option<&Preprocessing>) -> Result<ModelFile> {
        may_block(self.backend.as_ref(), "to_file")?;
        pollster::block_on(self.to_file_async(preprocessing))
    }

    /// [`Model::to_file`], awaiting the read-backs instead of blocking (what a web page saves
    /// through: `model.to_file_async(None).await?.to_bytes()`, the same safetensors bytes that
    /// [`ModelFile::from_bytes`] and the command read).
    pub async fn to_file_async(&mut self, preprocessing: Option<&Preprocessing>) -> Result<ModelFile> {
        let (weights, optimizer_state) = match self.weights_async().await {
            Ok(w) => (w, Some(self.optimizer_state_async().await?)),
            Err(_) => (self.last_good_weights(), None),
        };
        Ok(self.file_of(weights, optimizer_state, preprocessing))
    }

    /// The file of this model with the given weights and optimizer state.
    fn file_of(
        &self,
        weights: Vec<LayerWeights>,
        optimizer_state: Option<Vec<Vec<f32>>>,
        preprocessing: Option<&Preprocessing>,
    ) -> ModelFile {
        ModelFile {
            architecture: self.architecture.clone(),
            loss: self.loss,
            optimizer: self.optimizer,
            step: self.step,
            epochs: self.epochs_trained,
            metrics: self.metrics.clone(),
            weights,
            optimizer_state,
            preprocessing: preprocessing.cloned(),
            integrity: Integrity::Verified,
        }
    }

    /// Saves weights, optimizer state and (optionally) preprocessing to one safetensors file,
    /// atomically.
    pub fn save(&mut self, path: &Path, preprocessing: Option<&Preprocessing>) -> Result<()> {
        self.to_file(preprocessing)?.write(path)
    }

    /// Starts from a file's weights (names and shapes must match this model's), continuing its
    /// optimizer state, step and epoch count when the optimizer keeps the same slots.
    pub fn init_from(&mut self, file: &ModelFile) -> Result<()> {
        self.set_weights(&file.weights).map_err(|e| Error::ModelFile {
            path: "(the file given)".into(),
            detail: format!("its weights do not fit this model: {e}"),
        })?;
        if let Some(state) = &file.optimizer_state
            && file.optimizer.slot_names() == self.optimizer.slot_names()
        {
            self.set_optimizer_state(file.step, state)?;
            self.epochs_trained = file.epochs;
        }
        Ok(())
    }
}
