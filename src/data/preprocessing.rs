//! `Preprocessing`: the fitted transformation from a table to features and labels (columns
//! and their roles, text categories, fill values, scaler statistics, classes, task). A model
//! file stores it (see `to_json`) so that predictions apply exactly the same steps (see
//! `transform.rs`): missing values → one-hot → `(x - offset) / scale`, with the training
//! statistics.

use super::error::DataError;
use super::options::{MissingPolicy, Scaling};

/// The learning problem the label column poses.
///
/// ```
/// use wgtrain::data::Task;
///
/// assert_eq!(Task::Multiclass { n_classes: 3 }.n_classes(), Some(3));
/// assert_eq!(Task::Binary.n_classes(), Some(2));
/// assert_eq!(Task::Regression.n_classes(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Task {
    /// Two classes; labels are 0 and 1.
    Binary,
    /// More than two classes; labels are `0..n_classes`.
    Multiclass {
        /// Number of classes.
        n_classes: usize,
    },
    /// Numeric targets.
    Regression,
}

impl Task {
    /// Number of classes; `None` for regression.
    pub fn n_classes(&self) -> Option<usize> {
        match self {
            Task::Binary => Some(2),
            Task::Multiclass { n_classes } => Some(*n_classes),
            Task::Regression => None,
        }
    }
}

/// What a source column became.
///
/// ```
/// use wgtrain::data::ColumnRole;
///
/// let role = ColumnRole::Text { categories: vec!["blue".into(), "red".into()] };
/// assert!(matches!(role, ColumnRole::Text { ref categories } if categories.len() == 2));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum ColumnRole {
    /// A numeric feature; `fill` replaces missing values under the fill policies.
    Numeric {
        /// The fill value (training mean, or 0).
        fill: f32,
    },
    /// A text feature, one-hot encoded over `categories` (sorted).
    Text {
        /// The categories, in one-hot order.
        categories: Vec<String>,
    },
    /// The label.
    Label,
    /// Not used.
    Ignored,
}

/// One source column and its role.
///
/// ```
/// use wgtrain::data::{Column, ColumnRole};
///
/// let c = Column { name: "age".into(), role: ColumnRole::Numeric { fill: 0.0 } };
/// assert_eq!(c.name, "age");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// The header name.
    pub name: String,
    /// What it became.
    pub role: ColumnRole,
}

/// The fitted transformation from a table to training tensors: the source columns and
/// their roles, the text categories, the fill values, the classes, the task and the
/// per-feature `(x - offset) / scale` statistics. Store it with [`to_json`](Self::to_json);
/// apply it to new data with [`transform_csv`](Self::transform_csv),
/// [`transform_records`](Self::transform_records) or
/// [`transform_array`](Self::transform_array).
///
/// ```
/// use wgtrain::data::{load_csv_reader, CsvOptions, Preprocessing, Task};
///
/// let csv = "size,color,label\n1,red,yes\n2,blue,no\n3,red,yes\n4,blue,no\n";
/// let data = load_csv_reader(csv.as_bytes(), "pets.csv", &CsvOptions::default().test_fraction(0.0))?;
/// let pre = &data.preprocessing;
/// assert_eq!(pre.task(), Task::Binary);
/// assert_eq!(pre.class_names(), ["no", "yes"]);
/// assert_eq!(pre.feature_names(), ["size", "color=blue", "color=red"]);
///
/// let restored = Preprocessing::from_json(&pre.to_json())?;
/// let new = restored.transform_records(&["color", "size"], &[["red", "2.5"]])?;
/// assert_eq!(new.x.row(0).to_vec(), [0.0, 0.0, 1.0]);
/// assert_eq!(restored.decode_labels(&[1.0, 0.0])?, ["yes", "no"]);
/// # Ok::<(), wgtrain::data::DataError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Preprocessing {
    pub(crate) columns: Vec<Column>,
    pub(crate) task: Task,
    pub(crate) classes: Vec<String>,
    pub(crate) numeric_label: bool,
    pub(crate) missing: MissingPolicy,
    pub(crate) scaling: Scaling,
    pub(crate) feature_names: Vec<String>,
    pub(crate) offset: Vec<f32>,
    pub(crate) scale: Vec<f32>,
}

impl Preprocessing {
    /// Every source column with its role, in source order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }
    /// The label column's name.
    pub fn label_name(&self) -> &str {
        self.columns
            .iter()
            .find(|c| c.role == ColumnRole::Label)
            .map_or("", |c| &c.name)
    }
    /// The task detected (or forced).
    pub fn task(&self) -> Task {
        self.task
    }
    /// Class names, index = class index (empty for regression).
    pub fn class_names(&self) -> &[String] {
        &self.classes
    }
    /// Names of the output feature columns (`column=category` for one-hot columns).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }
    /// Number of output feature columns (the model's input width).
    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }
    /// The missing-value policy.
    pub fn missing(&self) -> MissingPolicy {
        self.missing
    }
    /// The scaling kind.
    pub fn scaling(&self) -> Scaling {
        self.scaling
    }
    /// Per output column, the value subtracted before dividing by [`scales`](Self::scales).
    pub fn offsets(&self) -> &[f32] {
        &self.offset
    }
    /// Per output column, the divisor.
    pub fn scales(&self) -> &[f32] {
        &self.scale
    }

    /// The user's labels for class indices (rounded to the nearest integer; for a binary
    /// model's probabilities, threshold them first) or, for regression, the values as text.
    pub fn decode_labels(&self, values: &[f32]) -> Result<Vec<String>, DataError> {
        if self.task == Task::Regression {
            return Ok(values.iter().map(|v| v.to_string()).collect());
        }
        values
            .iter()
            .map(|&v| {
                let i = v.round();
                if i >= 0.0 && (i as usize) < self.classes.len() {
                    Ok(self.classes[i as usize].clone())
                } else {
                    Err(DataError::InvalidArgument {
                        what: "class index",
                        detail: format!("{v} is not in 0..{}", self.classes.len()),
                    })
                }
            })
            .collect()
    }
}
