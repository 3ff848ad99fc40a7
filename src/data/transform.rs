//! Applying a stored [`Preprocessing`] to new data (a CSV file, text records, or a numeric
//! matrix): the columns are matched by name (any order; the label may be absent), then the
//! training steps run with the training statistics: missing values (drop the row, or fill
//! with the stored value) → one-hot over the stored categories → `(x - offset) / scale`.
//! A value the training data never had is an error naming its line, column and value.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

use csv::ByteRecord;
use ndarray::{Array2, ArrayView2};

use super::encode::one_hot;
use super::error::{DataError, shown};
use super::options::{DEFAULT_MAX_RECORD_BYTES, Delimiter, MissingPolicy};
use super::preprocessing::{Column, ColumnRole, Preprocessing, Task};
use super::reader::{CsvInput, line_of, open_file};
use super::rows::{Dict, LabelSlot, Role, RowParser};
use super::scale::{apply, fill_missing};

/// New data after [`Preprocessing`]'s transformation.
///
/// ```
/// use ndarray::array;
/// use wgtrain::data::{CsvOptions, Dataset};
///
/// let x = array![[1.0f32, 2.0], [2.0, 1.0], [3.0, 0.0], [4.0, 1.0]];
/// let y = array![0.0f32, 1.0, 0.0, 1.0];
/// let data = Dataset::from_arrays(x, y, &CsvOptions::default().test_fraction(0.0))?;
/// let new = data.preprocessing.transform_array(array![[2.5f32, 1.0]].view())?;
/// assert_eq!(new.x.dim(), (1, 2));
/// assert!(new.y.is_none() && new.dropped_lines.is_empty());
/// # Ok::<(), wgtrain::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Transformed {
    /// Features, `[rows, n_features]`.
    pub x: Array2<f32>,
    /// Labels `[rows, 1]` (class indices, or values) when the data had the label column.
    pub y: Option<Array2<f32>>,
    /// Data rows read.
    pub rows_read: usize,
    /// Lines (in-memory: 1-based rows) of the rows dropped for a missing value, under
    /// [`MissingPolicy::Drop`] or when the label is missing.
    pub dropped_lines: Vec<u64>,
}

impl Preprocessing {
    /// Reads a CSV file and transforms it like the training data (the label column may be
    /// absent; the columns may be in any order).
    pub fn transform_csv(&self, path: impl AsRef<Path>) -> Result<Transformed, DataError> {
        let (file, _) = open_file(path.as_ref())?;
        self.transform_reader(file, &path.as_ref().display().to_string())
    }

    /// As [`transform_csv`](Self::transform_csv), from any reader; `name` appears in errors.
    /// A record longer than [`DEFAULT_MAX_RECORD_BYTES`] is an error.
    pub fn transform_reader<R: Read>(&self, reader: R, name: &str) -> Result<Transformed, DataError> {
        let mut input = CsvInput::open(reader, name, Delimiter::Auto, DEFAULT_MAX_RECORD_BYTES)?;
        let mut parser = self.parser(&input.header, name)?;
        let mut rec = ByteRecord::new();
        while input.next(&mut rec)? {
            parser.push_row(line_of(&rec), rec.iter())?;
        }
        if parser.rows_read == 0 {
            return Err(DataError::HeaderOnly { path: name.to_string() });
        }
        self.finish(parser)
    }

    /// Transforms rows of text cells under a header (errors name the source `<records>` and
    /// the 1-based row as the line).
    pub fn transform_records<H, S, R>(&self, header: &[H], rows: &[R]) -> Result<Transformed, DataError>
    where
        H: AsRef<str>,
        S: AsRef<str>,
        R: AsRef<[S]>,
    {
        const PATH: &str = "<records>";
        let names: Vec<String> = header.iter().map(|h| h.as_ref().trim().to_string()).collect();
        let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            if let Some(&first) = seen.get(name.as_str()) {
                return Err(DataError::DuplicateColumn {
                    path: PATH.to_string(),
                    column: name.clone(),
                    first,
                    second: i + 1,
                });
            }
            seen.insert(name, i + 1);
        }
        let mut parser = self.parser(&names, PATH)?;
        for (i, row) in rows.iter().enumerate() {
            let fields = row.as_ref().iter().map(|f| f.as_ref().as_bytes());
            parser.push_row(i as u64 + 1, fields)?;
        }
        self.finish(parser)
    }

    /// Transforms a raw numeric matrix whose columns are the training feature columns in
    /// source order (only when no feature column is text). NaN is a missing value.
    pub fn transform_array(&self, x: ArrayView2<f32>) -> Result<Transformed, DataError> {
        let path = "<memory>";
        let features: Vec<&Column> = self.features().collect();
        if features.iter().any(|c| matches!(c.role, ColumnRole::Text { .. })) {
            return Err(DataError::Shape {
                path: path.to_string(),
                detail: "the training data had text columns; use transform_records".to_string(),
            });
        }
        if x.ncols() != features.len() {
            return Err(DataError::Shape {
                path: path.to_string(),
                detail: format!(
                    "x has {} columns but the training data had {}",
                    x.ncols(),
                    features.len()
                ),
            });
        }
        let mut x_raw = Vec::with_capacity(x.len());
        let mut dropped_lines = Vec::new();
        for (i, row) in x.rows().into_iter().enumerate() {
            if let Some(j) = row.iter().position(|v| v.is_infinite()) {
                return Err(DataError::NonFinite {
                    path: path.to_string(),
                    line: i as u64 + 1,
                    column: features[j].name.clone(),
                    value: row[j].to_string(),
                });
            }
            if self.missing == MissingPolicy::Drop && row.iter().any(|v| v.is_nan()) {
                dropped_lines.push(i as u64 + 1);
            } else {
                x_raw.extend(row.iter().copied());
            }
        }
        Ok(Transformed {
            x: self.encode(x_raw)?,
            y: None,
            rows_read: x.nrows(),
            dropped_lines,
        })
    }

    /// The feature columns, in source order.
    pub(crate) fn features(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| matches!(c.role, ColumnRole::Numeric { .. } | ColumnRole::Text { .. }))
    }

    /// Per raw feature column: `None` if numeric, else the number of categories.
    pub(crate) fn widths(&self) -> Vec<Option<usize>> {
        self.features()
            .map(|c| match &c.role {
                ColumnRole::Text { categories } => Some(categories.len()),
                _ => None,
            })
            .collect()
    }

    /// A row parser for a new header, after checking the columns against the training ones.
    fn parser(&self, header: &[String], path: &str) -> Result<RowParser, DataError> {
        // Sets, so that matching a wide header is linear in its width.
        let given: HashSet<&str> = header.iter().map(String::as_str).collect();
        let known: HashSet<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let missing: Vec<String> = self
            .features()
            .filter(|c| !given.contains(c.name.as_str()))
            .map(|c| c.name.clone())
            .collect();
        let unexpected: Vec<String> = header.iter().filter(|h| !known.contains(h.as_str())).cloned().collect();
        if !missing.is_empty() || !unexpected.is_empty() {
            return Err(DataError::ColumnMismatch {
                path: path.to_string(),
                missing,
                unexpected,
            });
        }
        let mut roles = Vec::with_capacity(header.len());
        let mut dicts = Vec::new();
        let mut label = LabelSlot::Absent;
        // Each training column with its raw feature position, looked up by name.
        let mut by_name: HashMap<&str, (usize, &Column)> = HashMap::with_capacity(self.columns.len());
        let mut col = 0;
        for c in &self.columns {
            by_name.insert(c.name.as_str(), (col, c));
            col += usize::from(matches!(c.role, ColumnRole::Numeric { .. } | ColumnRole::Text { .. }));
        }
        for name in header {
            let role = match by_name.get(name.as_str()) {
                None => Role::Skip,
                Some((col, c)) => match &c.role {
                    ColumnRole::Numeric { .. } => Role::Num(*col),
                    ColumnRole::Text { categories } => {
                        dicts.push(Dict::fixed(categories));
                        Role::Text(*col, dicts.len() - 1)
                    }
                    ColumnRole::Label => {
                        label = self.label_slot()?;
                        Role::Label
                    }
                    ColumnRole::Ignored => Role::Skip,
                },
            };
            roles.push(role);
        }
        let mut parser = RowParser::new(path, header.to_vec(), roles, dicts, label);
        parser.drop_missing = self.missing == MissingPolicy::Drop;
        parser.keep_lines = usize::MAX;
        Ok(parser)
    }

    /// How the label column of new data is read.
    fn label_slot(&self) -> Result<LabelSlot, DataError> {
        if self.task == Task::Regression {
            return Ok(LabelSlot::Numeric);
        }
        if !self.numeric_label {
            return Ok(LabelSlot::Text(Dict::fixed(&self.classes)));
        }
        let values = self
            .classes
            .iter()
            .map(|c| c.parse::<f32>())
            .collect::<Result<Vec<f32>, _>>()
            .map_err(|_| DataError::Metadata {
                field: "classes".to_string(),
                detail: "a numeric class name is not a number".to_string(),
            })?;
        Ok(LabelSlot::Classes(values))
    }

    /// Fill, one-hot and scale a parsed table.
    fn finish(&self, parser: RowParser) -> Result<Transformed, DataError> {
        let has_label = !matches!(parser.label, LabelSlot::Absent);
        let n = parser.y.len();
        let y = if has_label {
            Some(to_array(parser.y, n, 1, &parser.path)?)
        } else {
            None
        };
        Ok(Transformed {
            x: self.encode(parser.x)?,
            y,
            rows_read: parser.rows_read,
            dropped_lines: parser.dropped_lines,
        })
    }

    /// Fill, one-hot and scale raw feature rows.
    pub(crate) fn encode(&self, mut x_raw: Vec<f32>) -> Result<Array2<f32>, DataError> {
        let fill: Vec<f32> = self
            .features()
            .map(|c| match c.role {
                ColumnRole::Numeric { fill } => fill,
                _ => f32::NAN,
            })
            .collect();
        let numeric: Vec<bool> = fill.iter().map(|f| !f.is_nan()).collect();
        let rows = x_raw.len().checked_div(numeric.len()).unwrap_or(0);
        fill_missing(&mut x_raw, &numeric, &fill);
        let mut x = one_hot(x_raw, &self.widths());
        apply(&mut x, &self.offset, &self.scale);
        to_array(x, rows, self.n_features(), "<memory>")
    }
}

/// A row-major vector as an `[rows, cols]` array.
pub(crate) fn to_array(v: Vec<f32>, rows: usize, cols: usize, path: &str) -> Result<Array2<f32>, DataError> {
    Array2::from_shape_vec((rows, cols), v).map_err(|e| DataError::Shape {
        path: path.to_string(),
        detail: format!(
            "cannot shape the data as [{rows}, {cols}]: {}",
            shown(e.to_string().as_bytes())
        ),
    })
}
