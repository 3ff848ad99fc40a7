//! Data: from a CSV file (or arrays in memory) to the tensors a model trains on, as the seed
//! workflow's pandas steps do, reproducibly and with errors a person can act on.
//!
//! ```text
//! CSV ─ read (header, delimiter, quotes, BOM, CRLF) ─ missing: drop row | fill mean | fill 0
//!     ─ labels → class indices (binary / multi-class / regression)
//!     ─ split: seeded shuffle | head/tail | stratified
//!     ─ text features → one-hot     ─ scale: standard | min-max | none (fit on train)
//!     ─ Dataset { x_train, y_train, x_test, y_test, preprocessing, report }
//! ```
//!
//! The fitted [`Preprocessing`] (categories, classes, fill values, scaler statistics) is a
//! value a model file stores as JSON and re-applies to new data.
//!
//! ```
//! use wgtrain::data::{load_csv_reader, CsvOptions};
//!
//! let csv = "age,city,label\n31,Oslo,1\n45,Lima,0\n,Oslo,1\n28,Lima,0\n52,Oslo,1\n";
//! let data = load_csv_reader(csv.as_bytes(), "people.csv", &CsvOptions::default())?;
//! assert_eq!(data.report.rows_dropped, 1);
//! assert_eq!(data.x_train.ncols(), 3); // age, city=Lima, city=Oslo
//! # Ok::<(), wgtrain::Error>(())
//! ```

mod dataset;
mod encode;
mod error;
mod memory;
mod missing;
mod options;
mod persist;
mod preprocessing;
mod reader;
mod rows;
mod scale;
mod split;
mod table;
mod transform;

pub use dataset::{Dataset, LoadReport, load_csv, load_csv_reader, load_csv_reader_with, load_csv_with};
pub use error::DataError;
pub use options::{
    CsvOptions, DEFAULT_CLASS_LIMIT, DEFAULT_MAX_RECORD_BYTES, Delimiter, Label, MissingPolicy, Scaling, SplitMode,
    TargetKind,
};
pub use preprocessing::{Column, ColumnRole, Preprocessing, Task};
pub use transform::{TransformOptions, Transformed};
