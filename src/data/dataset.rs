//! `Dataset`: training and test tensors with the fitted `Preprocessing` and a `LoadReport`;
//! `load_csv` and `Dataset::from_arrays` build one. The steps, in the seed's order:
//!
//! read (drop rows with missing values) → labels to classes → split → fill missing (training
//! means) → one-hot → scale (fitted on the training part) → arrays.
//!
//! Shapes: `x_*` is `[rows, n_features]`, `y_*` is `[rows, 1]` (class indices as f32 for
//! classification, values for regression).

use std::fmt;
use std::io::Read;
use std::path::Path;

use ndarray::{Array1, Array2};

use super::encode::{encode_labels, one_hot, output_names, sort_categories};
use super::error::DataError;
use super::memory::{MEMORY, read_arrays};
use super::options::{CsvOptions, MissingPolicy};
use super::preprocessing::{Column, ColumnRole, Preprocessing, Task};
use super::reader::open_file;
use super::scale::{apply, column_means, column_medians, fill_missing, fit};
use super::split::{permute_rows, plan_split, split_rows};
use super::table::{RawTable, read_training};
use super::transform::{TransformOptions, to_array};

/// What loading did to the rows.
///
/// ```
/// use wgtrain::data::{load_csv_reader, CsvOptions};
///
/// let csv = "a,label\n1,0\nNA,1\n3,1\n4,0\n";
/// let data = load_csv_reader(csv.as_bytes(), "t.csv", &CsvOptions::default().test_fraction(0.0))?;
/// assert_eq!((data.report.rows_read, data.report.rows_dropped), (4, 1));
/// assert_eq!(data.report.dropped_lines, [3]);
/// assert!(data.report.to_string().contains("dropped 1"));
/// # Ok::<(), wgtrain::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LoadReport {
    /// The source (`<memory>` for arrays).
    pub path: String,
    /// The CSV delimiter used (`None` for arrays).
    pub delimiter: Option<u8>,
    /// Data rows read.
    pub rows_read: usize,
    /// Rows dropped for a missing value (any missing label, and any missing feature under
    /// [`MissingPolicy::Drop`]).
    pub rows_dropped: usize,
    /// Lines (for arrays: 1-based rows) of the first 20 dropped rows.
    pub dropped_lines: Vec<u64>,
    /// Missing feature cells filled (under the fill policies).
    pub cells_filled: usize,
    /// Rows in the training part.
    pub train_rows: usize,
    /// Rows in the test part.
    pub test_rows: usize,
}

impl fmt::Display for LoadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: read {} rows", self.path, self.rows_read)?;
        if self.rows_dropped > 0 {
            write!(f, ", dropped {} with missing values (lines", self.rows_dropped)?;
            for l in &self.dropped_lines {
                write!(f, " {l}")?;
            }
            if self.rows_dropped > self.dropped_lines.len() {
                f.write_str(" …")?;
            }
            f.write_str(")")?;
        }
        if self.cells_filled > 0 {
            write!(f, ", filled {} missing cells", self.cells_filled)?;
        }
        write!(f, "; {} train, {} test", self.train_rows, self.test_rows)
    }
}

/// Training and test tensors, the fitted preprocessing and the report.
///
/// ```
/// use wgtrain::data::{load_csv_reader, CsvOptions, Task};
///
/// let csv = "x1;x2;label\r\n1;2;0\r\n2;1;1\r\n3;5;0\r\n4;4;1\r\n5;0;0\r\n";
/// let data = load_csv_reader(csv.as_bytes(), "t.csv", &CsvOptions::default())?;
/// assert_eq!(data.x_train.dim(), (4, 2));
/// assert_eq!(data.y_test.dim(), (1, 1));
/// assert_eq!(data.task(), Task::Binary);
/// # Ok::<(), wgtrain::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Training features, `[train rows, n_features]`.
    pub x_train: Array2<f32>,
    /// Training labels, `[train rows, 1]`.
    pub y_train: Array2<f32>,
    /// Test features, `[test rows, n_features]`.
    pub x_test: Array2<f32>,
    /// Test labels, `[test rows, 1]`.
    pub y_test: Array2<f32>,
    /// The fitted transformation, to store with a model.
    pub preprocessing: Preprocessing,
    /// What loading did.
    pub report: LoadReport,
}

/// Reads a CSV file into training and test tensors: read (dropping rows with missing values
/// under the default policy) → labels to class indices → split → fill missing values →
/// one-hot → scale, the statistics fitted on the training part (see [`crate::data`]).
///
/// The file is streamed, never held whole in memory; errors name the file, line, column and
/// value ([`DataError`]).
pub fn load_csv(path: impl AsRef<Path>, opts: &CsvOptions) -> Result<Dataset, DataError> {
    opts.validate()?;
    let (file, size) = open_file(path.as_ref())?;
    let table = read_training(file, &path.as_ref().display().to_string(), size, opts)?;
    build(table, opts)
}

/// As [`load_csv`], from any reader (standard input, a network stream, bytes in memory: what
/// a web page has, with no file path); `name` stands for the file in errors.
///
/// ```
/// use wgtrain::data::{CsvOptions, load_csv_reader};
/// let bytes: &[u8] = b"a,b,label\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n";
/// let data = load_csv_reader(bytes, "upload.csv", &CsvOptions::new().label_name("label")).unwrap();
/// assert_eq!(data.n_features(), 2);
/// ```
pub fn load_csv_reader<R: Read>(reader: R, name: &str, opts: &CsvOptions) -> Result<Dataset, DataError> {
    opts.validate()?;
    let table = read_training(reader, name, None, opts)?;
    build(table, opts)
}

/// Reads a CSV file into training and test tensors through an already fitted
/// [`Preprocessing`] (a model file's, to continue training it): the columns are matched by
/// name, the stored categories, classes, fill values and scaler statistics apply unchanged,
/// then the rows are split as `opts` says (its delimiter, decimal comma, test fraction, seed
/// and split mode; the label, column and encoding options are the stored ones). A column,
/// category or class the preprocessing does not know is an error naming it.
///
/// ```
/// use wgtrain::data::{load_csv_reader, load_csv_with, CsvOptions};
///
/// let csv = "size,label\n1,a\n2,b\n3,a\n4,b\n";
/// let fitted = load_csv_reader(csv.as_bytes(), "old.csv", &CsvOptions::default().test_fraction(0.0))?;
/// let dir = std::env::temp_dir().join(format!("wgtrain-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir).unwrap();
/// let new = dir.join("new.csv");
/// std::fs::write(&new, "label,size\nb,8\na,9\n").unwrap();
/// let again = load_csv_with(&new, &CsvOptions::default().test_fraction(0.0), &fitted.preprocessing)?;
/// assert_eq!(again.preprocessing, fitted.preprocessing);
/// assert_eq!(again.x_train.nrows(), 2);
/// std::fs::write(&new, "size,label\n1,c\n").unwrap();
/// assert!(load_csv_with(&new, &CsvOptions::default(), &fitted.preprocessing).is_err());
/// # std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), wgtrain::data::DataError>(())
/// ```
pub fn load_csv_with(path: impl AsRef<Path>, opts: &CsvOptions, fitted: &Preprocessing) -> Result<Dataset, DataError> {
    let (file, _) = open_file(path.as_ref())?;
    load_csv_reader_with(file, &path.as_ref().display().to_string(), opts, fitted)
}

/// As [`load_csv_with`], from any reader; `name` stands for the file in errors.
pub fn load_csv_reader_with<R: Read>(
    reader: R,
    name: &str,
    opts: &CsvOptions,
    fitted: &Preprocessing,
) -> Result<Dataset, DataError> {
    opts.validate()?;
    let name = name.to_string();
    let mut read = TransformOptions::new().delimiter(opts.delimiter);
    if let Some(on) = opts.decimal_comma {
        read = read.decimal_comma(on);
    }
    read.require_label = true;
    let t = fitted.transform_reader_with(reader, &name, &read)?;
    let Some(y) = t.y else {
        return Err(DataError::HeaderOnly { path: name });
    };
    if y.is_empty() {
        return Err(DataError::AllRowsDropped {
            path: name,
            rows: t.rows_read,
            first_line: t.dropped_lines.first().copied().unwrap_or(0),
        });
    }
    let width = t.x.ncols();
    let (mut x, _) = t.x.into_raw_vec_and_offset();
    let (mut y, _) = y.into_raw_vec_and_offset();
    let task = fitted.task;
    let plan = plan_split(&y, task.n_classes(), opts.split, opts.test_fraction, opts.seed, &name)?;
    if let Some(order) = plan.order {
        permute_rows(&mut x, width, &order);
        permute_rows(&mut y, 1, &order);
    }
    let (x_train, x_test) = split_rows(x, width, plan.n_train);
    let (y_train, y_test) = split_rows(y, 1, plan.n_train);
    let (n_train, n_test) = (y_train.len(), y_test.len());
    let report = LoadReport {
        path: name.clone(),
        delimiter: None,
        rows_read: t.rows_read,
        rows_dropped: t.dropped_lines.len(),
        dropped_lines: t.dropped_lines.into_iter().take(20).collect(),
        cells_filled: t.cells_filled,
        train_rows: n_train,
        test_rows: n_test,
    };
    Ok(Dataset {
        x_train: to_array(x_train, n_train, width, &name)?,
        y_train: to_array(y_train, n_train, 1, &name)?,
        x_test: to_array(x_test, n_test, width, &name)?,
        y_test: to_array(y_test, n_test, 1, &name)?,
        preprocessing: fitted.clone(),
        report,
    })
}

impl Dataset {
    /// Builds a dataset from a feature matrix `x` `[rows, features]` and labels `y` `[rows]`
    /// (the missing, target, split and scaling options apply; NaN is missing).
    ///
    /// ```
    /// use ndarray::array;
    /// use wgtrain::data::{CsvOptions, Dataset, SplitMode};
    ///
    /// let x = array![[0.0f32, 1.0], [1.0, 0.0], [2.0, 1.0], [3.0, 0.0], [f32::NAN, 1.0]];
    /// let y = array![0.0f32, 1.0, 0.0, 1.0, 1.0];
    /// let data = Dataset::from_arrays(x, y, &CsvOptions::default().split(SplitMode::HeadTail))?;
    /// assert_eq!(data.report.rows_dropped, 1);
    /// assert_eq!((data.x_train.nrows(), data.x_test.nrows()), (3, 1));
    /// # Ok::<(), wgtrain::data::DataError>(())
    /// ```
    pub fn from_arrays(x: Array2<f32>, y: Array1<f32>, opts: &CsvOptions) -> Result<Dataset, DataError> {
        opts.validate()?;
        build(read_arrays(x, y, opts)?, opts)
    }

    /// As [`from_arrays`](Self::from_arrays), from a row-major slice of `n_features`
    /// columns and a label slice.
    pub fn from_slices(x: &[f32], n_features: usize, y: &[f32], opts: &CsvOptions) -> Result<Dataset, DataError> {
        if n_features == 0 || !x.len().is_multiple_of(n_features) {
            return Err(DataError::Shape {
                path: MEMORY.to_string(),
                detail: format!("{} values do not make rows of {n_features} features", x.len()),
            });
        }
        let x = to_array(x.to_vec(), x.len() / n_features, n_features, MEMORY)?;
        Dataset::from_arrays(x, Array1::from(y.to_vec()), opts)
    }

    /// The task (from the preprocessing).
    pub fn task(&self) -> Task {
        self.preprocessing.task
    }

    /// Number of feature columns (the model's input width).
    pub fn n_features(&self) -> usize {
        self.x_train.ncols()
    }
}

/// The steps after reading (see the module docs).
fn build(mut t: RawTable, opts: &CsvOptions) -> Result<Dataset, DataError> {
    if t.y.is_empty() {
        return Err(DataError::AllRowsDropped {
            path: t.path.clone(),
            rows: t.rows_read,
            first_line: t.dropped_lines.first().copied().unwrap_or(0),
        });
    }
    let (task, classes, numeric_label) = encode_labels(&mut t, opts.target, opts.max_classes, opts.class_limit)?;
    sort_categories(&mut t);
    let plan = plan_split(
        &t.y,
        task.n_classes(),
        opts.split,
        opts.test_fraction,
        opts.seed,
        &t.path,
    )?;
    let width = t.features.len();
    let (mut x, mut y) = (std::mem::take(&mut t.x), std::mem::take(&mut t.y));
    if let Some(order) = plan.order {
        permute_rows(&mut x, width, &order);
        permute_rows(&mut y, 1, &order);
    }
    let (mut x_train, mut x_test) = split_rows(x, width, plan.n_train);
    let (y_train, y_test) = split_rows(y, 1, plan.n_train);

    let numeric: Vec<bool> = t.features.iter().map(|f| f.categories.is_none()).collect();
    let fill = match opts.missing {
        MissingPolicy::FillMean => column_means(&x_train, &numeric),
        MissingPolicy::FillMedian => column_medians(&x_train, &numeric),
        _ => vec![0.0; width],
    };
    let mut cells_filled = 0;
    if t.cells_missing > 0 {
        cells_filled += fill_missing(&mut x_train, &numeric, &fill);
        cells_filled += fill_missing(&mut x_test, &numeric, &fill);
    }
    let widths: Vec<Option<usize>> = t.features.iter().map(|f| f.categories.as_ref().map(Vec::len)).collect();
    let mut x_train = one_hot(x_train, &widths);
    let mut x_test = one_hot(x_test, &widths);
    let scaled: Vec<bool> = widths
        .iter()
        .flat_map(|w| std::iter::repeat_n(w.is_none(), w.unwrap_or(1)))
        .collect();
    let (offset, scale) = fit(&x_train, &scaled, opts.scaling);
    apply(&mut x_train, &offset, &scale);
    apply(&mut x_test, &offset, &scale);

    let names: Vec<&str> = t.features.iter().map(|f| t.header[f.source].as_str()).collect();
    let cats: Vec<Option<&[String]>> = t.features.iter().map(|f| f.categories.as_deref()).collect();
    let feature_names = output_names(&names, &cats);
    let columns = columns(&t, &fill);
    let out_width = feature_names.len();
    let (n_train, n_test) = (y_train.len(), y_test.len());
    let report = LoadReport {
        path: t.path.clone(),
        delimiter: t.delimiter,
        rows_read: t.rows_read,
        rows_dropped: t.rows_dropped,
        dropped_lines: std::mem::take(&mut t.dropped_lines),
        cells_filled,
        train_rows: n_train,
        test_rows: n_test,
    };
    Ok(Dataset {
        x_train: to_array(x_train, n_train, out_width, &t.path)?,
        y_train: to_array(y_train, n_train, 1, &t.path)?,
        x_test: to_array(x_test, n_test, out_width, &t.path)?,
        y_test: to_array(y_test, n_test, 1, &t.path)?,
        preprocessing: Preprocessing {
            columns,
            task,
            classes,
            numeric_label,
            missing: opts.missing,
            scaling: opts.scaling,
            feature_names,
            offset,
            scale,
        },
        report,
    })
}

/// Every source column with its role.
fn columns(t: &RawTable, fill: &[f32]) -> Vec<Column> {
    let mut roles = vec![ColumnRole::Ignored; t.header.len()];
    roles[t.label_col] = ColumnRole::Label;
    for (k, f) in t.features.iter().enumerate() {
        roles[f.source] = match &f.categories {
            Some(categories) => ColumnRole::Text {
                categories: categories.clone(),
            },
            None => ColumnRole::Numeric { fill: fill[k] },
        };
    }
    t.header
        .iter()
        .cloned()
        .zip(roles)
        .map(|(name, role)| Column { name, role })
        .collect()
}
