//! `CsvOptions`: how a table becomes training tensors (delimiter, label, feature columns,
//! missing values, category limit, task, split and scaling). Every field has the seed
//! workflow's default, so `CsvOptions::default()` reproduces its pandas steps.

use super::error::DataError;

/// The field delimiter of a CSV file.
///
/// ```
/// use wgtrain::data::{CsvOptions, Delimiter};
///
/// let opts = CsvOptions::default().delimiter(Delimiter::Byte(b';'));
/// assert_eq!(opts.get_delimiter(), Delimiter::Byte(b';'));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Delimiter {
    /// Detect comma, semicolon or tab from the first lines (the default).
    #[default]
    Auto,
    /// This byte.
    Byte(u8),
}

/// Which column holds the label.
///
/// ```
/// use wgtrain::data::{CsvOptions, Label};
///
/// let opts = CsvOptions::default().label(Label::Last);
/// assert_eq!(opts.get_label(), &Label::Last);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Label {
    /// The column with this header name (default `label`).
    Name(String),
    /// The column at this 0-based position.
    Index(usize),
    /// The last column.
    Last,
}

impl Default for Label {
    fn default() -> Self {
        Label::Name("label".to_string())
    }
}

/// What to do with a row that has a missing value (an empty cell or `NA`, `N/A`, `NaN`,
/// `nan`, `null`, `?`).
///
/// A row whose *label* is missing is always dropped: there is nothing to train it on.
///
/// ```
/// use wgtrain::data::{CsvOptions, MissingPolicy};
///
/// let opts = CsvOptions::default().missing(MissingPolicy::FillMean);
/// assert_eq!(opts.get_missing(), MissingPolicy::FillMean);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissingPolicy {
    /// Drop the row, as pandas' `dropna()` (the default); the count is reported.
    #[default]
    Drop,
    /// Replace a missing number by its column's mean over the training part; a missing text
    /// value gets no category (all-zero one-hot).
    FillMean,
    /// Replace a missing number by 0; a missing text value gets no category.
    FillZero,
    /// Replace a missing number by its column's median over the training part (robust to
    /// outliers, as scikit-learn's `SimpleImputer(strategy="median")`); a missing text value
    /// gets no category.
    FillMedian,
}

/// How rows are divided between the training and the test part.
///
/// ```
/// use wgtrain::data::{CsvOptions, SplitMode};
///
/// let opts = CsvOptions::default().split(SplitMode::HeadTail);
/// assert_eq!(opts.get_split(), SplitMode::HeadTail);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SplitMode {
    /// A seeded shuffle, then the first rows train and the rest test (the default).
    #[default]
    Shuffled,
    /// No shuffle: the head of the file trains, the tail tests (the seed's slicing).
    HeadTail,
    /// Each class is split by the fraction separately (classification only).
    Stratified,
}

/// How numeric feature columns are scaled (fitted on the training part only; one-hot
/// columns are left as 0/1).
///
/// ```
/// use wgtrain::data::{CsvOptions, Scaling};
///
/// let opts = CsvOptions::default().scaling(Scaling::MinMax);
/// assert_eq!(opts.get_scaling(), Scaling::MinMax);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scaling {
    /// `(x - mean) / std` with the population std; a constant column keeps scale 1
    /// (the default).
    #[default]
    Standard,
    /// `(x - min) / (max - min)`; a constant column keeps scale 1.
    MinMax,
    /// No scaling.
    None,
}

/// What kind of target the label column is.
///
/// ```
/// use wgtrain::data::{CsvOptions, TargetKind};
///
/// let opts = CsvOptions::default().target(TargetKind::Regression);
/// assert_eq!(opts.get_target(), TargetKind::Regression);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TargetKind {
    /// Text labels are classes; numeric labels are classes when every value is an integer
    /// and there are at most `max_classes` distinct values, otherwise regression targets.
    #[default]
    Auto,
    /// Every distinct label value is a class.
    Classification,
    /// Labels are numbers to predict (a non-number is an error).
    Regression,
}

/// The default of [`CsvOptions::class_limit`].
pub const DEFAULT_CLASS_LIMIT: usize = 10_000;

/// The default of [`CsvOptions::max_record_bytes`]: 64 MiB, a million columns of up to 60
/// characters.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 64 << 20;

/// Options of [`load_csv`](crate::data::load_csv) and
/// [`Dataset::from_arrays`](crate::data::Dataset::from_arrays) (which uses the missing,
/// task, split and scaling options only). A builder: each method returns the changed value.
///
/// ```
/// use wgtrain::data::{CsvOptions, MissingPolicy, Scaling, SplitMode};
///
/// let opts = CsvOptions::default()
///     .label_name("outcome")
///     .ignore_columns(["id"])
///     .missing(MissingPolicy::FillMean)
///     .test_fraction(0.25)
///     .seed(7)
///     .split(SplitMode::Stratified)
///     .scaling(Scaling::MinMax);
/// assert_eq!(opts.get_test_fraction(), 0.25);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CsvOptions {
    pub(crate) delimiter: Delimiter,
    pub(crate) decimal_comma: Option<bool>,
    pub(crate) label: Label,
    pub(crate) features: Option<Vec<String>>,
    pub(crate) ignore: Vec<String>,
    pub(crate) text: Vec<String>,
    pub(crate) missing: MissingPolicy,
    pub(crate) max_categories: usize,
    pub(crate) target: TargetKind,
    pub(crate) max_classes: usize,
    pub(crate) class_limit: usize,
    pub(crate) max_record_bytes: usize,
    pub(crate) test_fraction: f64,
    pub(crate) seed: u64,
    pub(crate) split: SplitMode,
    pub(crate) scaling: Scaling,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: Delimiter::Auto,
            decimal_comma: None,
            label: Label::default(),
            features: None,
            ignore: Vec::new(),
            text: Vec::new(),
            missing: MissingPolicy::Drop,
            max_categories: 64,
            target: TargetKind::Auto,
            max_classes: 64,
            class_limit: DEFAULT_CLASS_LIMIT,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            test_fraction: 0.2,
            seed: 42,
            split: SplitMode::Shuffled,
            scaling: Scaling::Standard,
        }
    }
}

/// Turns a list of names into owned strings.
fn names<I, S>(list: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    list.into_iter().map(Into::into).collect()
}

impl CsvOptions {
    /// The defaults: auto delimiter, label `label`, drop missing rows, 20 % test with a
    /// shuffle seeded 42, standardization.
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets the delimiter (default [`Delimiter::Auto`]).
    pub fn delimiter(mut self, delimiter: Delimiter) -> Self {
        self.delimiter = delimiter;
        self
    }
    /// Whether numbers use a decimal comma (`5,1` for 5.1): `true` forces it (any comma in a
    /// numeric cell is the decimal point), `false` forbids it. By default it is detected: on
    /// with a semicolon or tab delimiter when the first lines hold numbers written with a
    /// decimal comma (in a comma-delimited file a quoted `"1,000"` is ambiguous, so there it
    /// must be asked for).
    pub fn decimal_comma(mut self, on: bool) -> Self {
        self.decimal_comma = Some(on);
        self
    }
    /// Sets the label column.
    pub fn label(mut self, label: Label) -> Self {
        self.label = label;
        self
    }
    /// The label is the column with this header name.
    pub fn label_name(self, name: impl Into<String>) -> Self {
        self.label(Label::Name(name.into()))
    }
    /// The label is the column at this 0-based position.
    pub fn label_index(self, index: usize) -> Self {
        self.label(Label::Index(index))
    }
    /// Uses only these columns as features (default: every column but the label).
    pub fn feature_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.features = Some(names(columns));
        self
    }
    /// Leaves these columns out of the features (an identifier, a date …).
    pub fn ignore_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.ignore = names(columns);
        self
    }
    /// Treats these columns as text (one-hot encoded features; for the label, classes named
    /// by their text) even when their values look numeric. Other columns are text when most
    /// of their first 100 values are not numbers.
    pub fn text_columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.text = names(columns);
        self
    }
    /// Sets the missing-value policy (default [`MissingPolicy::Drop`]).
    pub fn missing(mut self, policy: MissingPolicy) -> Self {
        self.missing = policy;
        self
    }
    /// Most distinct values a text feature column may have (default 64).
    pub fn max_categories(mut self, limit: usize) -> Self {
        self.max_categories = limit;
        self
    }
    /// Sets the kind of target (default [`TargetKind::Auto`]).
    pub fn target(mut self, kind: TargetKind) -> Self {
        self.target = kind;
        self
    }
    /// Most distinct integer values a numeric label may have to be detected as classes by
    /// [`TargetKind::Auto`] (default 64).
    pub fn max_classes(mut self, limit: usize) -> Self {
        self.max_classes = limit;
        self
    }
    /// Most classes a label may have (default [`DEFAULT_CLASS_LIMIT`]); a label with more
    /// classes than this, or (beyond 64, and only while the limit is the default) than half
    /// the rows, is refused while reading, so an identifier taken for the label does not
    /// build a million-unit output. A limit set to anything but the default is taken as the
    /// caller's decision and replaces the half-the-rows rule.
    pub fn class_limit(mut self, limit: usize) -> Self {
        self.class_limit = limit;
        self
    }
    /// Longest record (header or row, in bytes) the reader accepts (default
    /// [`DEFAULT_MAX_RECORD_BYTES`]); a longer one is [`DataError::RecordTooLong`], so a
    /// file of binary data or NUL bytes fails after reading that much, not after filling
    /// memory.
    pub fn max_record_bytes(mut self, limit: usize) -> Self {
        self.max_record_bytes = limit;
        self
    }
    /// Fraction of the rows that goes to the test part, in `[0, 1)` (default 0.2; 0 means
    /// no test part).
    pub fn test_fraction(mut self, fraction: f64) -> Self {
        self.test_fraction = fraction;
        self
    }
    /// Seed of the split's shuffle (default 42).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets the split mode (default [`SplitMode::Shuffled`]).
    pub fn split(mut self, mode: SplitMode) -> Self {
        self.split = mode;
        self
    }
    /// Sets the scaling (default [`Scaling::Standard`]).
    pub fn scaling(mut self, scaling: Scaling) -> Self {
        self.scaling = scaling;
        self
    }

    /// The delimiter setting.
    pub fn get_delimiter(&self) -> Delimiter {
        self.delimiter
    }
    /// The decimal-comma setting (`None`: detected).
    pub fn get_decimal_comma(&self) -> Option<bool> {
        self.decimal_comma
    }
    /// The label setting.
    pub fn get_label(&self) -> &Label {
        &self.label
    }
    /// The missing-value policy.
    pub fn get_missing(&self) -> MissingPolicy {
        self.missing
    }
    /// The target kind setting.
    pub fn get_target(&self) -> TargetKind {
        self.target
    }
    /// The test fraction.
    pub fn get_test_fraction(&self) -> f64 {
        self.test_fraction
    }
    /// The split mode.
    pub fn get_split(&self) -> SplitMode {
        self.split
    }
    /// The scaling.
    pub fn get_scaling(&self) -> Scaling {
        self.scaling
    }

    /// Checks the values that a builder call cannot check alone.
    pub(crate) fn validate(&self) -> Result<(), DataError> {
        if !(0.0..1.0).contains(&self.test_fraction) {
            return Err(DataError::InvalidArgument {
                what: "test fraction",
                detail: format!("{} is not in [0, 1)", self.test_fraction),
            });
        }
        if self.max_record_bytes == 0 {
            return Err(DataError::InvalidArgument {
                what: "max_record_bytes",
                detail: "must be at least 1".to_string(),
            });
        }
        if self.class_limit < 2 {
            return Err(DataError::InvalidArgument {
                what: "class_limit",
                detail: format!("must be at least 2, got {}", self.class_limit),
            });
        }
        if self.max_categories == 0 {
            return Err(DataError::InvalidArgument {
                what: "max_categories",
                detail: "must be at least 1".to_string(),
            });
        }
        if let Delimiter::Byte(b) = self.delimiter
            && (b == b'"' || b == b'\n' || b == b'\r')
        {
            return Err(DataError::InvalidArgument {
                what: "delimiter",
                detail: format!("byte {b:#04x} cannot separate fields"),
            });
        }
        Ok(())
    }
}
