//! `WebModel`: a compiled wgtrain model in a page. Created from [`ModelOptions`] for a data
//! set's width (or loaded from model-file bytes), trained, evaluated and used to predict on
//! CSV bytes through the engine's async forms, and saved to bytes in the model-file format
//! the `wgtrain` command reads (with the data's preprocessing, so the command can apply it).

use ndarray::Array2;
use wasm_bindgen::prelude::*;
use wgtrain::data::{Preprocessing, Task, TransformOptions};
use wgtrain::model::{Execution, FitOptions, Metric, Model, ModelFile, Sequential};
use wgtrain::nn::Loss;
use wgtrain::{Error, Result};

use crate::data::CsvData;
use crate::device::{self, DeviceInfo};
use crate::js_error;
use crate::logs::{EpochCallback, history_object, logs_object};
use crate::options::{ModelOptions, TrainOptions};

/// Batch size of evaluation and prediction (as the command's at batch 10: at least 32).
fn inference_batch(train_batch: usize) -> usize {
    train_batch.max(32)
}

/// The metrics a page reports for a loss: accuracy where the loss has one, else the mean
/// absolute error.
fn metrics_for(loss: Loss) -> Vec<Metric> {
    match loss.accuracy() {
        Some(_) => vec![Metric::Accuracy],
        None => vec![Metric::MeanAbsoluteError],
    }
}

/// A model compiled onto WebGPU or the CPU backend.
#[wasm_bindgen]
pub struct WebModel {
    model: Model,
    /// The columns, classes and scaling of the data it was trained on (stored in saved files).
    preprocessing: Option<Preprocessing>,
    device: DeviceInfo,
    /// The batch size of the last `fit` (evaluation uses at least 32).
    batch_size: usize,
}

#[wasm_bindgen]
impl WebModel {
    /// Compiles a new model for `data`'s features with `options`, opening the device they ask
    /// for (WebGPU with the default limits, or the CPU backend).
    pub async fn create(options: &ModelOptions, data: &CsvData) -> Result<WebModel, JsError> {
        let loss = options.parsed_loss().map_err(js_error)?;
        let optimizer = options.parsed_optimizer().map_err(js_error)?;
        let execution = options.parsed_execution().map_err(js_error)?;
        let mut architecture = Sequential::new(data.dataset.n_features()).seed(u64::from(options.seed));
        for layer in options.parsed_layers().map_err(js_error)? {
            architecture = architecture.add(layer);
        }
        // A bad model is reported before a device is opened.
        architecture.validate(loss).map_err(js_error)?;
        let (backend, device) = device::open(&options.device).await.map_err(js_error)?;
        let model = architecture
            .compile_on_with(loss, optimizer, &metrics_for(loss), backend, execution)
            .map_err(js_error)?;
        Ok(WebModel {
            model,
            preprocessing: Some(data.dataset.preprocessing.clone()),
            device,
            batch_size: 10,
        })
    }

    /// Loads a model file's bytes (one the page saved, or one `wgtrain train --save` wrote)
    /// onto the device `device` names (`gpu`, `cpu`, `auto`), with its weights, optimizer
    /// state and preprocessing.
    pub async fn load(bytes: &[u8], device: &str) -> Result<WebModel, JsError> {
        let file = ModelFile::from_bytes(bytes, "the model file").map_err(js_error)?;
        let (backend, device) = device::open(device).await.map_err(js_error)?;
        let model = file.compile_on_with(backend, Execution::Auto).map_err(js_error)?;
        Ok(WebModel {
            model,
            preprocessing: file.preprocessing,
            device,
            batch_size: 10,
        })
    }

    /// Trains on `data`'s training part. `onEpoch(epoch, logs)` (optional) runs after each
    /// epoch with its number (from 1) and logs (`{loss, accuracy}`); returning `false` stops
    /// training, and an exception it throws stops training and is rethrown. Resolves to the
    /// history (`{epochs, loss: [...], accuracy: [...]}`).
    pub async fn fit(
        &mut self,
        data: &CsvData,
        options: &TrainOptions,
        #[wasm_bindgen(js_name = onEpoch, unchecked_param_type = "((epoch: number, logs: Record<string, number>) => boolean | void) | undefined")]
        on_epoch: Option<js_sys::Function>,
    ) -> Result<js_sys::Object, JsValue> {
        self.check_columns(data).map_err(js_error)?;
        let batch_size = options.batch_size as usize;
        let mut fit = FitOptions::new(options.epochs as usize, batch_size).seed(u64::from(options.seed));
        let mut thrown = None;
        if let Some(function) = on_epoch {
            let (hook, cell) = EpochCallback::new(function).into_hook();
            fit = fit.on_epoch_end(hook);
            thrown = Some(cell);
        }
        let set = &data.dataset;
        let history = self.model.fit_async(set.x_train.view(), set.y_train.view(), fit).await;
        if let Some(exception) = thrown.and_then(|cell| cell.borrow_mut().take()) {
            return Err(exception);
        }
        self.batch_size = batch_size;
        Ok(history_object(&history.map_err(js_error)?))
    }

    /// Evaluates on `data`'s test part: resolves to its logs (`{loss, accuracy}`).
    pub async fn evaluate(&mut self, data: &CsvData) -> Result<js_sys::Object, JsError> {
        self.check_columns(data).map_err(js_error)?;
        let set = &data.dataset;
        if set.x_test.nrows() == 0 {
            return Err(js_error("the data has no test part (its testSplit is 0)"));
        }
        let logs = self
            .model
            .evaluate_async(set.x_test.view(), set.y_test.view(), inference_batch(self.batch_size))
            .await
            .map_err(js_error)?;
        Ok(logs_object(&logs))
    }

    /// Predicts on CSV `bytes` (named `name` in errors) read with the model's preprocessing:
    /// its feature columns by name (the label column, if present, is ignored), its fill values
    /// and scaling; columns it does not know are skipped.
    #[wasm_bindgen(js_name = predictCsv)]
    pub async fn predict_csv(&mut self, bytes: &[u8], name: &str) -> Result<Predictions, JsError> {
        let preprocessing = self.preprocessing.as_ref().ok_or_else(|| {
            js_error("the model file holds no preprocessing (columns, scaling): it cannot read CSV data")
        })?;
        let read = TransformOptions::new().skip_label(true).allow_extra_columns(true);
        let transformed = preprocessing
            .transform_reader_with(bytes, name, &read)
            .map_err(js_error)?;
        let values = self
            .model
            .predict_async(transformed.x.view(), inference_batch(self.batch_size))
            .await
            .map_err(js_error)?;
        let labels = labels(preprocessing, &values).map_err(js_error)?;
        Ok(Predictions { values, labels })
    }

    /// Weights, optimizer state and preprocessing as model-file bytes (safetensors, what
    /// `wgtrain evaluate --model` and `wgtrain predict --model` read).
    pub async fn save(&mut self) -> Result<Vec<u8>, JsError> {
        let file = self
            .model
            .to_file_async(self.preprocessing.as_ref())
            .await
            .map_err(js_error)?;
        file.to_bytes().map_err(js_error)
    }

    /// Every parameter in layer order (each Dense layer's kernel, row-major `[in, out]`, then
    /// its bias), for a page or a test to compare.
    pub async fn weights(&mut self) -> Result<Vec<f32>, JsError> {
        let layers = self.model.weights_async().await.map_err(js_error)?;
        Ok(layers
            .into_iter()
            .flat_map(|(kernel, bias)| kernel.into_iter().chain(bias.into_iter().flatten()))
            .collect())
    }

    /// Where the model runs: backend, adapter and any fallback notice.
    #[wasm_bindgen(getter)]
    pub fn device(&self) -> DeviceInfo {
        self.device.clone()
    }

    /// The executor that runs the steps: `layered` or `fused` (after `fit`, the one the batch
    /// size chose).
    #[wasm_bindgen(getter)]
    pub fn executor(&self) -> String {
        self.model.executor().kind.name().to_string()
    }

    /// Why that executor runs (under the WebGPU default limits: e.g. which limit kept a model
    /// off the fused executor).
    #[wasm_bindgen(getter, js_name = executorReason)]
    pub fn executor_reason(&self) -> String {
        self.model.executor().reason.clone()
    }

    /// The model summary the command prints (layers, parameters, executor).
    pub fn summary(&self) -> String {
        self.model.summary(self.batch_size)
    }

    /// Epochs trained so far (over every `fit`, and those a loaded file had).
    #[wasm_bindgen(getter, js_name = epochsTrained)]
    pub fn epochs_trained(&self) -> f64 {
        self.model.epochs_trained() as f64
    }
}

impl WebModel {
    /// The data must have the model's width.
    fn check_columns(&self, data: &CsvData) -> Result<()> {
        let (model, data) = (self.model.architecture().input_width, data.dataset.n_features());
        if model != data {
            return Err(Error::InvalidArgument {
                what: "data",
                detail: format!("the model takes {model} features per row, the data has {data}"),
            });
        }
        Ok(())
    }
}

/// The predicted label of each row: a binary model's probability thresholded at 0.5, a
/// multi-class model's most probable class, a regression's value.
fn labels(preprocessing: &Preprocessing, values: &Array2<f32>) -> Result<Vec<String>> {
    let indices: Vec<f32> = match preprocessing.task() {
        Task::Regression => values.column(0).to_vec(),
        Task::Binary if values.ncols() == 1 => values.column(0).iter().map(|&p| f32::from(p >= 0.5)).collect(),
        _ => values
            .rows()
            .into_iter()
            .map(|row| {
                row.iter()
                    .enumerate()
                    .fold(
                        (0, f32::NEG_INFINITY),
                        |best, (i, &v)| if v > best.1 { (i, v) } else { best },
                    )
                    .0 as f32
            })
            .collect(),
    };
    Ok(preprocessing.decode_labels(&indices)?)
}

/// A model's outputs for CSV rows.
#[wasm_bindgen]
pub struct Predictions {
    values: Array2<f32>,
    labels: Vec<String>,
}

#[wasm_bindgen]
impl Predictions {
    /// Rows predicted.
    #[wasm_bindgen(getter)]
    pub fn rows(&self) -> usize {
        self.values.nrows()
    }

    /// Outputs per row.
    #[wasm_bindgen(getter)]
    pub fn columns(&self) -> usize {
        self.values.ncols()
    }

    /// The outputs, row-major.
    #[wasm_bindgen(getter)]
    pub fn values(&self) -> Vec<f32> {
        self.values.iter().copied().collect()
    }

    /// The predicted label of each row, in the data's own words (class names, or values).
    #[wasm_bindgen(getter)]
    pub fn labels(&self) -> Vec<String> {
        self.labels.clone()
    }
}
