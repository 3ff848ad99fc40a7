//! `DataError`: every way input data can be wrong, with the context a person needs to fix it.
//!
//! Each variant names the source (`path`: a file path, or `<memory>` / `<records>` for data
//! handed over in memory) and, where there is one, the 1-based `line` (for in-memory data: the
//! 1-based row), the `column` name and the offending `value`.

use std::fmt;

/// A problem with input data: reading a CSV file, missing values, encodings, splits, or a
/// stored [`Preprocessing`](crate::data::Preprocessing) that does not fit.
///
/// ```
/// use wgtrain::data::{load_csv, CsvOptions, DataError};
///
/// let err = load_csv("/no/such/file.csv", &CsvOptions::default()).unwrap_err();
/// assert!(matches!(err, DataError::NotFound { .. }));
/// assert!(err.to_string().contains("/no/such/file.csv"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The file does not exist.
    #[error("{path}: file not found")]
    NotFound {
        /// The file.
        path: String,
    },
    /// The file exists but could not be read (permissions, a directory, an I/O failure).
    #[error("{path}: cannot read the file: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file has no bytes (or only a byte-order mark and blank lines).
    #[error("{path}: the file is empty (expected a header row and data rows)")]
    Empty {
        /// The file.
        path: String,
    },
    /// The file has a header row and no data rows.
    #[error("{path}: the file has a header row but no data rows")]
    HeaderOnly {
        /// The file.
        path: String,
    },
    /// A row has a different number of fields than the header.
    #[error(
        "{path}:{line}: the row has {found} fields but the header has {expected} \
         (check the delimiter and the quoting of that line)"
    )]
    FieldCount {
        /// The file.
        path: String,
        /// Line where the row starts.
        line: u64,
        /// Number of header fields.
        expected: usize,
        /// Number of fields in the row.
        found: usize,
    },
    /// Bytes that are not valid UTF-8 where text was needed.
    #[error("{path}:{line}: column `{column}` holds bytes that are not valid UTF-8: `{value}`")]
    InvalidUtf8 {
        /// The file.
        path: String,
        /// Line of the value.
        line: u64,
        /// The column (for the header row: `column N`).
        column: String,
        /// The value, invalid bytes replaced by U+FFFD.
        value: String,
    },
    /// The label column does not exist.
    #[error("{path}: label column {label} not found; the columns are: {}", join(columns))]
    LabelNotFound {
        /// The file.
        path: String,
        /// The label asked for (`` `name` `` or `index N`).
        label: String,
        /// The columns that exist.
        columns: Vec<String>,
    },
    /// A column named in the options does not exist.
    #[error("{path}: column `{column}` ({option}) not found; the columns are: {}", join(columns))]
    ColumnNotFound {
        /// The file.
        path: String,
        /// The column asked for.
        column: String,
        /// The option that named it.
        option: &'static str,
        /// The columns that exist.
        columns: Vec<String>,
    },
    /// Two header fields have the same name.
    #[error("{path}:1: column name `{column}` appears twice (columns {first} and {second})")]
    DuplicateColumn {
        /// The file.
        path: String,
        /// The repeated name.
        column: String,
        /// 1-based position of the first occurrence.
        first: usize,
        /// 1-based position of the second occurrence.
        second: usize,
    },
    /// No feature column is left once the label and ignored columns are taken out.
    #[error("{path}: no feature columns are left besides the label `{label}`")]
    NoFeatures {
        /// The file.
        path: String,
        /// The label column.
        label: String,
    },
    /// A value in a numeric column that is not a number.
    #[error(
        "{path}:{line}: column `{column}`: `{value}` is not a number (if the column holds text, \
         list it in CsvOptions::text_columns)"
    )]
    ParseNumber {
        /// The file.
        path: String,
        /// Line of the value.
        line: u64,
        /// The column.
        column: String,
        /// The value.
        value: String,
    },
    /// A number that is infinite or outside the f32 range.
    #[error(
        "{path}:{line}: column `{column}`: `{value}` is not a finite f32 \
         (inf and values beyond ±3.4e38 are rejected)"
    )]
    NonFinite {
        /// The file.
        path: String,
        /// Line of the value.
        line: u64,
        /// The column.
        column: String,
        /// The value.
        value: String,
    },
    /// A value of new data that is a number but leaves the f32 range once scaled with the
    /// training statistics (far outside anything the model was trained on).
    #[error(
        "{path}:{line}: column `{column}`: `{value}` becomes {scaled} once scaled with the training \
         statistics (it is far outside the training data's range); the model cannot use it"
    )]
    NonFiniteInput {
        /// The file.
        path: String,
        /// Line of the value.
        line: u64,
        /// The column.
        column: String,
        /// The value as written.
        value: String,
        /// What scaling made of it (infinite or NaN).
        scaled: f32,
    },
    /// A model output that is not finite for a row of new data whose inputs are (the model's
    /// weights have diverged, or overflow on these inputs).
    #[error(
        "{path}{}: the model's output `{output}` is {value}, not a finite number \
         (the model file's weights may have diverged, or overflow on these inputs)",
        at_row(*row)
    )]
    NonFiniteOutput {
        /// The file.
        path: String,
        /// The 1-based data row (`None`: a figure over all rows, such as the loss).
        row: Option<u64>,
        /// The output's name.
        output: String,
        /// The value (NaN or infinite).
        value: f32,
    },
    /// A text column with more distinct values than the limit.
    #[error(
        "{path}:{line}: column `{column}` has more than {limit} distinct text values \
         (value `{value}`); raise CsvOptions::max_categories, or ignore the column"
    )]
    TooManyCategories {
        /// The file.
        path: String,
        /// Line of the first value over the limit.
        line: u64,
        /// The column.
        column: String,
        /// The limit.
        limit: usize,
        /// The first value over the limit.
        value: String,
    },
    /// One record longer than the limit: binary data, a file of NUL bytes, a quote never
    /// closed, or a table wider than the limit allows.
    #[error(
        "{path}:{line}: a record runs past {limit} bytes without ending (binary data, NUL bytes, \
         or a quote never closed?); if the file is right, raise the limit \
         (CsvOptions::max_record_bytes, `--max-record-bytes`)"
    )]
    RecordTooLong {
        /// The file.
        path: String,
        /// The line where the record starts.
        line: u64,
        /// The limit, in bytes.
        limit: u64,
    },
    /// A label with more classes than the class limit, or than half the rows: most likely an
    /// identifier or a free-text column taken for the label.
    #[error(
        "{path}: label column `{column}` has {classes} classes ({reason}), over the limit of {limit}; \
         check that `{column}` is the label (not an identifier or free text), or raise the limit \
         (CsvOptions::class_limit, `--class-limit`)"
    )]
    TooManyClasses {
        /// The file.
        path: String,
        /// The label column.
        column: String,
        /// How many classes were found (`more than N` when reading stopped at the limit).
        classes: String,
        /// The limit that applied.
        limit: usize,
        /// Which limit and where it was crossed.
        reason: String,
    },
    /// Every row had a missing value and was dropped.
    #[error(
        "{path}: all {rows} rows were dropped because each has a missing value \
         (first at line {first_line}); fill instead with MissingPolicy::FillMean or FillZero"
    )]
    AllRowsDropped {
        /// The file.
        path: String,
        /// Number of data rows read.
        rows: usize,
        /// Line of the first dropped row.
        first_line: u64,
    },
    /// A label column of text asked to be a regression target.
    #[error(
        "{path}:{line}: label column `{column}` holds text (`{value}`), which cannot be a regression \
         target; train a classifier on it (TargetKind::Classification and a cross-entropy loss)"
    )]
    TextLabel {
        /// The file.
        path: String,
        /// Line of the first text value.
        line: u64,
        /// The label column.
        column: String,
        /// The first text value.
        value: String,
    },
    /// The label column holds a single class: nothing to learn.
    #[error("{path}: label column `{column}` holds a single class `{class}`; a classifier needs at least two")]
    SingleClass {
        /// The file.
        path: String,
        /// The label column.
        column: String,
        /// The one class.
        class: String,
    },
    /// The train/test split leaves one side empty.
    #[error(
        "{path}: a test fraction of {test_fraction} over {rows} rows leaves the {side} side empty; \
         change the fraction (0 means no test set)"
    )]
    EmptySplit {
        /// The file.
        path: String,
        /// Rows after dropping missing values.
        rows: usize,
        /// The fraction asked for.
        test_fraction: f64,
        /// `"train"` or `"test"`.
        side: &'static str,
    },
    /// A text value that the stored preprocessing never saw.
    #[error(
        "{path}:{line}: column `{column}`: category `{value}` was not in the training data \
         (known: {})",
        join(known)
    )]
    UnknownCategory {
        /// The file.
        path: String,
        /// Line of the value.
        line: u64,
        /// The column.
        column: String,
        /// The value.
        value: String,
        /// The categories seen in training.
        known: Vec<String>,
    },
    /// A label that the stored preprocessing never saw.
    #[error(
        "{path}:{line}: column `{column}`: class `{value}` was not in the training data (known: {})",
        join(known)
    )]
    UnknownClass {
        /// The file.
        path: String,
        /// Line of the value.
        line: u64,
        /// The label column.
        column: String,
        /// The value.
        value: String,
        /// The classes seen in training.
        known: Vec<String>,
    },
    /// New data whose columns differ from the training data's.
    #[error(
        "{path}: the columns differ from the training data: missing [{}], unexpected [{}]",
        join(missing),
        join(unexpected)
    )]
    ColumnMismatch {
        /// The file.
        path: String,
        /// Feature columns of the training data that are absent.
        missing: Vec<String>,
        /// Columns that the training data did not have.
        unexpected: Vec<String>,
    },
    /// In-memory arrays whose shapes do not fit.
    #[error("{path}: {detail}")]
    Shape {
        /// `<memory>`.
        path: String,
        /// What does not fit, with the shapes.
        detail: String,
    },
    /// An option or argument out of range.
    #[error("invalid {what}: {detail}")]
    InvalidArgument {
        /// The option.
        what: &'static str,
        /// Why it is invalid.
        detail: String,
    },
    /// A stored preprocessing description that cannot be read back: not JSON, a field that is
    /// missing, unknown or of the wrong type, a name this build does not know, or values that
    /// contradict each other.
    #[error("invalid preprocessing metadata{}: {detail}", at_field(field))]
    Metadata {
        /// The JSON path of the field at fault (`columns[2].role`); empty when the document as a
        /// whole is (not JSON, a member missing).
        field: String,
        /// What is wrong.
        detail: String,
    },
}

/// `: data row N` for a row, nothing otherwise.
fn at_row(row: Option<u64>) -> String {
    row.map_or_else(String::new, |r| format!(": data row {r}"))
}

/// `` at `field` `` for a non-empty JSON path, nothing otherwise.
fn at_field(field: &str) -> String {
    match field {
        "" => String::new(),
        f => format!(" at `{f}`"),
    }
}

/// Formats a column list as `` `a`, `b`, `c` `` (at most 40 names, then a count).
fn join(names: &[String]) -> Joined<'_> {
    Joined(names)
}

/// Display helper for [`join`].
struct Joined<'a>(&'a [String]);

impl fmt::Display for Joined<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 40;
        for (i, name) in self.0.iter().take(SHOWN).enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "`{name}`")?;
        }
        if self.0.len() > SHOWN {
            write!(f, " … and {} more", self.0.len() - SHOWN)?;
        }
        Ok(())
    }
}

/// Shortens a value for an error message (long cells are cut at 60 characters).
pub(crate) fn shown(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}
