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
    /// The 1-based data-row numbers of the same rows (a record spanning several lines is
    /// one row), so the kept rows can be numbered.
    pub dropped_rows: Vec<u64>,
    /// Missing feature cells filled with the stored fill values (under the fill policies).
    pub cells_filled: usize,
    /// Columns of the data that the model does not use (those it ignored in training, and
    /// under [`TransformOptions::allow_extra_columns`] those it never saw), in file order.
    pub unused_columns: Vec<String>,
    /// The text of the [`TransformOptions::copy_columns`] of every kept row, row-major
    /// `[rows, copied columns]` (empty when none were asked for).
    pub copied: Vec<String>,
}

/// How [`Preprocessing::transform_csv_with`] reads new data. A builder, like
/// [`CsvOptions`](crate::data::CsvOptions); the default is what
/// [`transform_csv`](Preprocessing::transform_csv) does.
///
/// ```
/// use wgtrain::data::{Delimiter, TransformOptions};
///
/// let opts = TransformOptions::new()
///     .delimiter(Delimiter::Byte(b';'))
///     .skip_label(true)
///     .allow_extra_columns(true)
///     .copy_columns(["id"]);
/// assert!(opts.get_skip_label());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TransformOptions {
    delimiter: Delimiter,
    decimal_comma: Option<bool>,
    skip_label: bool,
    extra_columns: bool,
    copy: Vec<String>,
    max_record_bytes: Option<usize>,
    /// Refuse data without the label column (to train on it).
    pub(crate) require_label: bool,
}

impl TransformOptions {
    /// The defaults: the delimiter and decimal comma detected, the label read when present,
    /// a column the training data did not have is an error, nothing copied.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the delimiter (default [`Delimiter::Auto`]).
    pub fn delimiter(mut self, delimiter: Delimiter) -> Self {
        self.delimiter = delimiter;
        self
    }
    /// Forces (`true`) or forbids (`false`) decimal commas in numbers (default: detected, as
    /// [`CsvOptions::decimal_comma`](crate::data::CsvOptions::decimal_comma) says).
    pub fn decimal_comma(mut self, on: bool) -> Self {
        self.decimal_comma = Some(on);
        self
    }
    /// Leaves the label column unread even when the data has it (to predict: a blank or
    /// never-seen label then neither drops the row nor stops the run).
    pub fn skip_label(mut self, skip: bool) -> Self {
        self.skip_label = skip;
        self
    }
    /// Skips columns the training data did not have (listed in
    /// [`Transformed::unused_columns`]) instead of refusing the data.
    pub fn allow_extra_columns(mut self, allow: bool) -> Self {
        self.extra_columns = allow;
        self
    }
    /// Copies these columns' text, for every kept row, into [`Transformed::copied`] (an
    /// identifier to write beside each prediction); any column of the data may be named.
    pub fn copy_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.copy = columns.into_iter().map(Into::into).collect();
        self
    }
    /// Longest record (header or row, in bytes) accepted (default
    /// [`DEFAULT_MAX_RECORD_BYTES`]); a longer one is [`DataError::RecordTooLong`].
    pub fn max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = Some(limit);
        self
    }
    /// Whether the label is left unread.
    pub fn get_skip_label(&self) -> bool {
        self.skip_label
    }
}

impl Preprocessing {
    /// Reads a CSV file and transforms it like the training data (the label column may be
    /// absent; the columns may be in any order).
    pub fn transform_csv(&self, path: impl AsRef<Path>) -> Result<Transformed, DataError> {
        self.transform_csv_with(path, &TransformOptions::default())
    }

    /// As [`transform_csv`](Self::transform_csv), read as `opts` says (delimiter, decimal
    /// comma, the label, extra columns, columns to copy). The file is streamed: memory is the
    /// output matrix and the copied text.
    pub fn transform_csv_with(
        &self,
        path: impl AsRef<Path>,
        opts: &TransformOptions,
    ) -> Result<Transformed, DataError> {
        let (file, _) = open_file(path.as_ref())?;
        self.transform_reader_with(file, &path.as_ref().display().to_string(), opts)
    }

    /// As [`transform_csv`](Self::transform_csv), from any reader; `name` appears in errors.
    /// A record longer than [`DEFAULT_MAX_RECORD_BYTES`] is an error.
    pub fn transform_reader<R: Read>(&self, reader: R, name: &str) -> Result<Transformed, DataError> {
        self.transform_reader_with(reader, name, &TransformOptions::default())
    }

    /// As [`transform_csv_with`](Self::transform_csv_with), from any reader.
    pub fn transform_reader_with<R: Read>(
        &self,
        reader: R,
        name: &str,
        opts: &TransformOptions,
    ) -> Result<Transformed, DataError> {
        let max_record = opts.max_record_bytes.unwrap_or(DEFAULT_MAX_RECORD_BYTES);
        let mut input = CsvInput::open(reader, name, opts.delimiter, opts.decimal_comma, max_record)?;
        let mut parser = self.parser(&input.header, name, opts)?;
        parser.decimal_comma = input.decimal_comma;
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
        let mut parser = self.parser(&names, PATH, &TransformOptions::default())?;
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
        let dropped_rows = dropped_lines.clone();
        let (x_out, cells_filled) = self.encode(x_raw)?;
        Ok(Transformed {
            x: x_out,
            y: None,
            rows_read: x.nrows(),
            dropped_lines,
            dropped_rows,
            cells_filled,
            unused_columns: Vec::new(),
            copied: Vec::new(),
        })
    }

    /// The feature columns, in source order.
    pub(crate) fn features(&self) -> impl Iterator<Item = &Column> {
        self.columns
            .iter()
            .filter(|c| matches!(c.role, ColumnRole::Numeric { .. } | ColumnRole::Text { .. }))
    }

    /// Per raw feature column, the `(offset, scale)` of its output column (a text column's
    /// one-hot columns are 0/1 and unscaled: `(0, 1)`).
    fn raw_scaling(&self) -> Vec<(f32, f32)> {
        let mut at = 0;
        self.widths()
            .iter()
            .map(|w| {
                let pair = match w {
                    None => (self.offset[at], self.scale[at]),
                    Some(_) => (0.0, 1.0),
                };
                at += w.unwrap_or(1);
                pair
            })
            .collect()
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
    fn parser(&self, header: &[String], path: &str, opts: &TransformOptions) -> Result<RowParser, DataError> {
        // Sets, so that matching a wide header is linear in its width.
        let given: HashSet<&str> = header.iter().map(String::as_str).collect();
        let known: HashSet<&str> = self.columns.iter().map(|c| c.name.as_str()).collect();
        let missing: Vec<String> = self
            .features()
            .filter(|c| !given.contains(c.name.as_str()))
            .map(|c| c.name.clone())
            .collect();
        let unexpected: Vec<String> = header.iter().filter(|h| !known.contains(h.as_str())).cloned().collect();
        if opts.require_label && !given.contains(self.label_name()) {
            return Err(DataError::LabelNotFound {
                path: path.to_string(),
                label: format!("`{}`", self.label_name()),
                columns: header.to_vec(),
            });
        }
        if !missing.is_empty() || (!unexpected.is_empty() && !opts.extra_columns) {
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
                    ColumnRole::Label if opts.skip_label => Role::Skip,
                    ColumnRole::Label => {
                        label = self.label_slot()?;
                        Role::Label
                    }
                    ColumnRole::Ignored => Role::Skip,
                },
            };
            roles.push(role);
        }
        let mut copy = vec![None; header.len()];
        for (k, name) in opts.copy.iter().enumerate() {
            let j = header
                .iter()
                .position(|h| h == name)
                .ok_or_else(|| DataError::ColumnNotFound {
                    path: path.to_string(),
                    column: name.clone(),
                    option: "copy_columns",
                    columns: header.to_vec(),
                })?;
            copy[j] = Some(k);
        }
        let unused = header
            .iter()
            .zip(&roles)
            .filter(|(h, r)| **r == Role::Skip && !(opts.skip_label && **h == self.label_name()))
            .map(|(h, _)| h.clone())
            .collect();
        let mut parser = RowParser::new(path, header.to_vec(), roles, dicts, label);
        parser.drop_missing = self.missing == MissingPolicy::Drop;
        parser.keep_lines = usize::MAX;
        parser.scaled = self.raw_scaling();
        if !opts.copy.is_empty() {
            parser.copy = copy;
            parser.n_copy = opts.copy.len();
        }
        parser.unused = unused;
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
        let (x, cells_filled) = self.encode(parser.x)?;
        Ok(Transformed {
            x,
            y,
            rows_read: parser.rows_read,
            dropped_lines: parser.dropped_lines,
            dropped_rows: parser.dropped_rows,
            cells_filled,
            unused_columns: parser.unused,
            copied: parser.copied,
        })
    }

    /// Fill, one-hot and scale raw feature rows; also returns the count of cells filled.
    pub(crate) fn encode(&self, mut x_raw: Vec<f32>) -> Result<(Array2<f32>, usize), DataError> {
        let fill: Vec<f32> = self
            .features()
            .map(|c| match c.role {
                ColumnRole::Numeric { fill } => fill,
                _ => f32::NAN,
            })
            .collect();
        let numeric: Vec<bool> = fill.iter().map(|f| !f.is_nan()).collect();
        let rows = x_raw.len().checked_div(numeric.len()).unwrap_or(0);
        let filled = fill_missing(&mut x_raw, &numeric, &fill);
        let mut x = one_hot(x_raw, &self.widths());
        apply(&mut x, &self.offset, &self.scale);
        Ok((to_array(x, rows, self.n_features(), "<memory>")?, filled))
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
