//! `Preprocessing` to and from a JSON document, for model files, through serde. The format
//! (version 1):
//!
//! ```text
//! {"format": "wgtrain-preprocessing", "version": 1,
//!  "missing": "drop" | "fill_mean" | "fill_zero" | "fill_median",
//!  "scaling": "standard" | "min_max" | "none",
//!  "task": "binary" | "multiclass" | "regression",
//!  "classes": ["no", "yes"], "numeric_label": false,
//!  "columns": [{"name": "age", "role": "numeric", "fill": 41.5},
//!              {"name": "color", "role": "text", "categories": ["blue", "red"]},
//!              {"name": "label", "role": "label"}, {"name": "id", "role": "ignored"}],
//!  "features": ["age", "color=blue", "color=red"],
//!  "offset": [41.5, 0.0, 0.0], "scale": [12.25, 1.0, 1.0]}
//! ```
//!
//! The structs below are the file format, kept apart from the engine's types so that either
//! can change without the other; the conversions are the one place that decides names. Every
//! field is required and unknown fields are refused; an error names the field by its JSON path
//! (`columns[2].role`). f32 values are written as the shortest text that reads back to the
//! same value, so a round trip is exact. Reading checks every invariant the transformation
//! relies on.

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::encode::output_names;
use super::error::DataError;
use super::options::{MissingPolicy, Scaling};
use super::preprocessing::{Column, ColumnRole, Preprocessing, Task};

/// The `format` member's value.
const FORMAT: &str = "wgtrain-preprocessing";

/// The version this build writes and reads.
const VERSION: u64 = 1;

/// A metadata error at `field` (a JSON path; empty for the whole document).
fn bad(field: impl Into<String>, detail: impl Into<String>) -> DataError {
    DataError::Metadata {
        field: field.into(),
        detail: detail.into(),
    }
}

/// Parses `text` as `T`, naming the field of the first error by its JSON path.
fn parse<T: DeserializeOwned>(text: &str) -> Result<T, DataError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let field = e.path().to_string();
        let field = if field == "." { String::new() } else { field };
        bad(field, e.into_inner().to_string())
    })?;
    de.end().map_err(|e| bad("", e.to_string()))?;
    Ok(value)
}

/// The members read before the rest, so that another format or version is reported as such
/// rather than as unknown fields.
#[derive(Deserialize)]
struct Header {
    format: String,
    version: u64,
}

/// The whole document.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreprocessingJson {
    format: String,
    version: u64,
    missing: MissingJson,
    scaling: ScalingJson,
    task: TaskJson,
    classes: Vec<String>,
    numeric_label: bool,
    columns: Vec<ColumnJson>,
    features: Vec<String>,
    offset: Vec<f32>,
    scale: Vec<f32>,
}

/// `missing`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum MissingJson {
    Drop,
    FillMean,
    FillZero,
    FillMedian,
}

/// `scaling`.
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum ScalingJson {
    Standard,
    MinMax,
    None,
}

/// `task` (the class count comes from `classes`).
#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum TaskJson {
    Binary,
    Multiclass,
    Regression,
}

/// One entry of `columns`: `fill` belongs to numeric columns, `categories` to text ones.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnJson {
    name: String,
    role: RoleJson,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fill: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    categories: Option<Vec<String>>,
}

/// `columns[i].role`.
#[derive(Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RoleJson {
    Numeric,
    Text,
    Label,
    Ignored,
}

impl From<MissingPolicy> for MissingJson {
    fn from(m: MissingPolicy) -> Self {
        match m {
            MissingPolicy::Drop => MissingJson::Drop,
            MissingPolicy::FillMean => MissingJson::FillMean,
            MissingPolicy::FillZero => MissingJson::FillZero,
            MissingPolicy::FillMedian => MissingJson::FillMedian,
        }
    }
}

impl From<MissingJson> for MissingPolicy {
    fn from(m: MissingJson) -> Self {
        match m {
            MissingJson::Drop => MissingPolicy::Drop,
            MissingJson::FillMean => MissingPolicy::FillMean,
            MissingJson::FillZero => MissingPolicy::FillZero,
            MissingJson::FillMedian => MissingPolicy::FillMedian,
        }
    }
}

impl From<Scaling> for ScalingJson {
    fn from(s: Scaling) -> Self {
        match s {
            Scaling::Standard => ScalingJson::Standard,
            Scaling::MinMax => ScalingJson::MinMax,
            Scaling::None => ScalingJson::None,
        }
    }
}

impl From<ScalingJson> for Scaling {
    fn from(s: ScalingJson) -> Self {
        match s {
            ScalingJson::Standard => Scaling::Standard,
            ScalingJson::MinMax => Scaling::MinMax,
            ScalingJson::None => Scaling::None,
        }
    }
}

impl From<&Column> for ColumnJson {
    fn from(c: &Column) -> Self {
        let (role, fill, categories) = match &c.role {
            ColumnRole::Numeric { fill } => (RoleJson::Numeric, Some(*fill), None),
            ColumnRole::Text { categories } => (RoleJson::Text, None, Some(categories.clone())),
            ColumnRole::Label => (RoleJson::Label, None, None),
            ColumnRole::Ignored => (RoleJson::Ignored, None, None),
        };
        ColumnJson {
            name: c.name.clone(),
            role,
            fill,
            categories,
        }
    }
}

impl ColumnJson {
    /// The column, `at` being its path (`columns[2]`); a role's own field must be there and
    /// another role's must not.
    fn into_column(self, at: &str) -> Result<Column, DataError> {
        let refuse = |present: bool, field: &str| match present {
            true => Err(bad(
                format!("{at}.{field}"),
                format!("a column of role `{}` has no `{field}`", role_name(self.role)),
            )),
            false => Ok(()),
        };
        refuse(self.fill.is_some() && self.role != RoleJson::Numeric, "fill")?;
        refuse(self.categories.is_some() && self.role != RoleJson::Text, "categories")?;
        let role = match self.role {
            RoleJson::Numeric => {
                let fill = self
                    .fill
                    .ok_or_else(|| bad(format!("{at}.fill"), "missing (a numeric column needs it)"))?;
                if !fill.is_finite() {
                    return Err(bad(format!("{at}.fill"), format!("{fill} is not a finite f32")));
                }
                ColumnRole::Numeric { fill }
            }
            RoleJson::Text => {
                let categories = self
                    .categories
                    .ok_or_else(|| bad(format!("{at}.categories"), "missing (a text column needs it)"))?;
                unique(&categories, &format!("{at}.categories"))?;
                ColumnRole::Text { categories }
            }
            RoleJson::Label => ColumnRole::Label,
            RoleJson::Ignored => ColumnRole::Ignored,
        };
        Ok(Column { name: self.name, role })
    }
}

/// The name a role has in the file (for messages).
fn role_name(role: RoleJson) -> &'static str {
    match role {
        RoleJson::Numeric => "numeric",
        RoleJson::Text => "text",
        RoleJson::Label => "label",
        RoleJson::Ignored => "ignored",
    }
}

impl Preprocessing {
    /// The transformation as a JSON document, for a model file:
    ///
    /// ```text
    /// {"format": "wgtrain-preprocessing", "version": 1,
    ///  "missing": "drop" | "fill_mean" | "fill_zero" | "fill_median",
    ///  "scaling": "standard" | "min_max" | "none",
    ///  "task": "binary" | "multiclass" | "regression",
    ///  "classes": [...], "numeric_label": bool,
    ///  "columns": [{"name", "role": "numeric", "fill"} | {"name", "role": "text", "categories"}
    ///              | {"name", "role": "label"} | {"name", "role": "ignored"}, ...],
    ///  "features": [...], "offset": [...], "scale": [...]}
    /// ```
    ///
    /// Numbers are written as the shortest text that reads back to the same f32, so
    /// [`from_json`](Self::from_json) restores an equal value.
    pub fn to_json(&self) -> String {
        let doc = PreprocessingJson {
            format: FORMAT.to_string(),
            version: VERSION,
            missing: self.missing.into(),
            scaling: self.scaling.into(),
            task: match self.task {
                Task::Binary => TaskJson::Binary,
                Task::Multiclass { .. } => TaskJson::Multiclass,
                Task::Regression => TaskJson::Regression,
            },
            classes: self.classes.clone(),
            numeric_label: self.numeric_label,
            columns: self.columns.iter().map(ColumnJson::from).collect(),
            features: self.feature_names.clone(),
            offset: self.offset.clone(),
            scale: self.scale.clone(),
        };
        // Plain structs with string keys and no custom Serialize: serde_json cannot fail here.
        serde_json::to_string(&doc).expect("preprocessing metadata serializes")
    }

    /// Reads a transformation written by [`to_json`](Self::to_json), checking that it is
    /// consistent (one label column, unique names and categories, statistics of the right
    /// length and finite, classes that fit the task). Any problem is a
    /// [`DataError::Metadata`] naming the field by its JSON path.
    pub fn from_json(text: &str) -> Result<Preprocessing, DataError> {
        let header: Header = parse(text)?;
        if header.format != FORMAT {
            return Err(bad("format", format!("`{}` is not `{FORMAT}`", header.format)));
        }
        if header.version != VERSION {
            return Err(bad(
                "version",
                format!(
                    "version {} is not supported (this build reads version {VERSION})",
                    header.version
                ),
            ));
        }
        let doc: PreprocessingJson = parse(text)?;
        let classes = doc.classes;
        let task = match (doc.task, classes.len()) {
            (TaskJson::Binary, 2) => Task::Binary,
            (TaskJson::Multiclass, n) if n > 2 => Task::Multiclass { n_classes: n },
            (TaskJson::Regression, 0) => Task::Regression,
            (_, n) => return Err(bad("task", format!("the task does not fit {n} classes"))),
        };
        unique(&classes, "classes")?;
        if doc.numeric_label && task != Task::Regression {
            let values: Option<Vec<f32>> = classes
                .iter()
                .map(|c| c.parse::<f32>().ok().filter(|v| v.is_finite()))
                .collect();
            let values = values.ok_or_else(|| bad("classes", "a numeric class name is not a finite number"))?;
            if values.windows(2).any(|w| w[0] >= w[1]) {
                return Err(bad("classes", "numeric classes are not in increasing order"));
            }
        }
        let columns = doc
            .columns
            .into_iter()
            .enumerate()
            .map(|(i, c)| c.into_column(&format!("columns[{i}]")))
            .collect::<Result<Vec<Column>, DataError>>()?;
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        unique(&names, "columns")?;
        if columns.iter().filter(|c| c.role == ColumnRole::Label).count() != 1 {
            return Err(bad("columns", "there must be exactly one label column"));
        }
        let feature_names = doc.features;
        let (feature_cols, categories): (Vec<&str>, Vec<Option<&[String]>>) = columns
            .iter()
            .filter_map(|c| match &c.role {
                ColumnRole::Numeric { .. } => Some((c.name.as_str(), None)),
                ColumnRole::Text { categories } => Some((c.name.as_str(), Some(categories.as_slice()))),
                _ => None,
            })
            .unzip();
        if feature_cols.is_empty() || output_names(&feature_cols, &categories) != feature_names {
            return Err(bad("features", "does not match the columns"));
        }
        for (field, values) in [("offset", &doc.offset), ("scale", &doc.scale)] {
            if values.len() != feature_names.len() {
                return Err(bad(
                    field,
                    format!("{} values for {} features", values.len(), feature_names.len()),
                ));
            }
            if let Some(i) = values.iter().position(|v| !v.is_finite()) {
                return Err(bad(format!("{field}[{i}]"), "not a finite f32"));
            }
        }
        if let Some(i) = doc.scale.iter().position(|&s| s < f32::MIN_POSITIVE) {
            return Err(bad(format!("scale[{i}]"), "not positive"));
        }
        Ok(Preprocessing {
            columns,
            task,
            classes,
            numeric_label: doc.numeric_label,
            missing: doc.missing.into(),
            scaling: doc.scaling.into(),
            feature_names,
            offset: doc.offset,
            scale: doc.scale,
        })
    }
}

/// Fails if a list has a repeated entry; `field` is its path.
fn unique(items: &[String], field: &str) -> Result<(), DataError> {
    let mut seen = HashSet::new();
    match items.iter().find(|s| !seen.insert(s.as_str())) {
        Some(s) => Err(bad(field, format!("`{s}` appears twice"))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The version-1 document of a small preprocessing, as the pre-serde writer wrote it
    /// (its spacing and line breaks included).
    const V1: &str = r#"{"format": "wgtrain-preprocessing", "version": 1, "missing": "fill_mean", "scaling": "min_max", "task": "binary",
 "classes": ["no", "yes"], "numeric_label": false,
 "columns": [
  {"name": "age", "role": "numeric", "fill": 41.5},
  {"name": "color", "role": "text", "categories": ["blue", "red"]},
  {"name": "id", "role": "ignored"},
  {"name": "label", "role": "label"}],
 "features": ["age", "color=blue", "color=red"],
 "offset": [18.0, 0.0, 0.0],
 "scale": [52.25, 1.0, 1.0]}
"#;

    fn error_of(text: &str) -> (String, String) {
        match Preprocessing::from_json(text) {
            Err(DataError::Metadata { field, detail }) => (field, detail),
            other => panic!("expected a metadata error, got {other:?}"),
        }
    }

    #[test]
    fn reads_version_1_and_writes_it_back_equal() {
        let p = Preprocessing::from_json(V1).unwrap();
        assert_eq!(p.missing, MissingPolicy::FillMean);
        assert_eq!(p.scaling, Scaling::MinMax);
        assert_eq!(p.task, Task::Binary);
        assert_eq!(
            p.columns[1].role,
            ColumnRole::Text {
                categories: vec!["blue".into(), "red".into()]
            }
        );
        assert_eq!(p.columns[0].role, ColumnRole::Numeric { fill: 41.5 });
        assert_eq!(p.scale, [52.25, 1.0, 1.0]);
        let again = Preprocessing::from_json(&p.to_json()).unwrap();
        assert_eq!(again, p);
        // The written document has the same members as version 1.
        let written: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        let old: serde_json::Value = serde_json::from_str(V1).unwrap();
        assert_eq!(written, old);
    }

    #[test]
    fn unknown_names_and_fields_are_errors_naming_the_field() {
        let (field, detail) = error_of(&V1.replace("\"fill_mean\"", "\"fill_mode\""));
        assert_eq!(field, "missing");
        assert!(
            detail.contains("fill_mode") && detail.contains("`drop`, `fill_mean`, `fill_zero`, `fill_median`"),
            "{detail}"
        );
        let (field, detail) = error_of(&V1.replace("\"role\": \"ignored\"", "\"role\": \"skip\""));
        assert_eq!(field, "columns[2].role");
        assert!(detail.contains("`skip`") && detail.contains("`ignored`"), "{detail}");
        let (field, detail) = error_of(&V1.replace("\"numeric_label\"", "\"numeric_labels\""));
        assert_eq!(field, "numeric_labels");
        assert!(detail.contains("unknown field"), "{detail}");
        let (field, detail) = error_of(&V1.replace("\"scaling\": \"min_max\", ", ""));
        assert_eq!(field, "");
        assert!(detail.contains("missing field `scaling`"), "{detail}");
        let (field, _) = error_of(&V1.replace(", \"fill\": 41.5", ""));
        assert_eq!(field, "columns[0].fill");
        let (field, _) = error_of(&V1.replace("\"role\": \"ignored\"", "\"role\": \"ignored\", \"fill\": 1"));
        assert_eq!(field, "columns[2].fill");
        let (field, _) = error_of(&V1.replace("[18.0,", "[1e39,"));
        assert_eq!(field, "offset[0]");
        let (field, _) = error_of(&V1.replace("[52.25,", "[0.0,"));
        assert_eq!(field, "scale[0]");
        let (field, _) = error_of(&V1.replace("\"version\": 1", "\"version\": 2"));
        assert_eq!(field, "version");
        let (field, _) = error_of(&V1.replace("wgtrain-preprocessing", "other"));
        assert_eq!(field, "format");
        let (field, _) = error_of(&format!("{V1} []"));
        assert_eq!(field, "");
    }
}
