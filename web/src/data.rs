//! CSV bytes read into a data set a page trains on: the engine's streaming reader over the
//! bytes (no file path on the web), with the options of [`DataOptions`]; the fitted
//! preprocessing travels with the model file, so the command can apply it to new data.

use wasm_bindgen::prelude::*;
use wgtrain::data::{Dataset, load_csv_reader};

use crate::js_error;
use crate::options::{DataOptions, ModelOptions};

/// A CSV file's rows as training and test arrays, with the preprocessing fitted on them.
#[wasm_bindgen]
pub struct CsvData {
    pub(crate) dataset: Dataset,
}

#[wasm_bindgen]
impl CsvData {
    /// Reads CSV `bytes` (named `name` in errors) as `data` says, for a model with `model`'s
    /// loss (which decides whether the label is classes or a number).
    #[wasm_bindgen(js_name = fromCsv)]
    pub fn from_csv(bytes: &[u8], name: &str, data: &DataOptions, model: &ModelOptions) -> Result<CsvData, JsError> {
        let options = data
            .csv_options(model.parsed_loss().map_err(js_error)?)
            .map_err(js_error)?;
        let dataset = load_csv_reader(bytes, name, &options).map_err(js_error)?;
        Ok(CsvData { dataset })
    }

    /// Features per row (after encoding).
    #[wasm_bindgen(getter)]
    pub fn features(&self) -> usize {
        self.dataset.n_features()
    }

    /// Rows in the training part.
    #[wasm_bindgen(getter, js_name = trainRows)]
    pub fn train_rows(&self) -> usize {
        self.dataset.x_train.nrows()
    }

    /// Rows in the test part.
    #[wasm_bindgen(getter, js_name = testRows)]
    pub fn test_rows(&self) -> usize {
        self.dataset.x_test.nrows()
    }

    /// Rows dropped for missing values.
    #[wasm_bindgen(getter, js_name = rowsDropped)]
    pub fn rows_dropped(&self) -> usize {
        self.dataset.report.rows_dropped
    }

    /// What the reader did, in the engine's words (rows, drops, split).
    #[wasm_bindgen(getter)]
    pub fn report(&self) -> String {
        self.dataset.report.to_string()
    }
}
