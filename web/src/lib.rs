//! wgtrain in a web page: the engine compiled to WebAssembly, driven from JavaScript through
//! wasm-bindgen. A page reads a CSV file into [`CsvData`], creates a [`WebModel`] on WebGPU
//! (or the CPU backend), trains it with a per-epoch callback, evaluates, predicts on other
//! CSV bytes, and saves the model to bytes in the same safetensors format the `wgtrain`
//! command reads (and loads the command's files back).
//!
//! Everything that waits for the GPU is an `async` export (a JavaScript `Promise`) running the
//! engine's async forms: a page cannot block, so the browser's event loop completes each
//! read-back. The device is requested with `wgpu::Limits::default()`, the WebGPU defaults a
//! browser grants without special requests, and the executor the engine picks under them (and
//! why) is shown through [`WebModel::executor`]. Errors are JavaScript `Error`s carrying the
//! engine's message.
//!
//! ```text
//! options.rs  ModelOptions, DataOptions, TrainOptions: the typed option objects, parsed here
//! data.rs     CsvData: CSV bytes → split, scaled training and test arrays + preprocessing
//! device.rs   opening WebGPU with the default limits, or the CPU backend with a notice
//! model.rs    WebModel: create, fit, evaluate, predict, save, load
//! logs.rs     logs and histories as JavaScript objects, the per-epoch callback
//! ```

mod data;
mod device;
mod logs;
mod model;
mod options;

pub use data::CsvData;
pub use device::{DeviceInfo, webgpu_adapter};
pub use model::{Predictions, WebModel};
pub use options::{DataOptions, ModelOptions, TrainOptions};

use wasm_bindgen::prelude::*;

/// The engine's error as a JavaScript `Error` with the engine's message.
pub(crate) fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}

/// The bundled example data set (the seed model's `examples/data/seed.csv`), so a page has
/// data to train on before the visitor chooses a file.
#[wasm_bindgen(js_name = bundledSeedCsv)]
pub fn bundled_seed_csv() -> Vec<u8> {
    include_bytes!("../../examples/data/seed.csv").to_vec()
}

/// The package's version (the engine's and this crate's are released together).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
