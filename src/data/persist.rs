//! `Preprocessing` to and from a JSON string, for model files. The format:
//!
//! ```text
//! {"format": "wgtrain-preprocessing", "version": 1,
//!  "missing": "drop" | "fill_mean" | "fill_zero",
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
//! Numbers are written as the shortest text that reads back to the same f32, so a round trip
//! is exact. Reading checks every invariant the transformation relies on.

use std::collections::HashSet;

use super::encode::output_names;
use super::error::DataError;
use super::json::{Json, write_f32, write_str};
use super::options::{MissingPolicy, Scaling};
use super::preprocessing::{Column, ColumnRole, Preprocessing, Task};

/// The `format` member's value.
const FORMAT: &str = "wgtrain-preprocessing";

/// A metadata error.
fn bad(detail: impl Into<String>) -> DataError {
    DataError::Metadata { detail: detail.into() }
}

/// Writes a list of strings.
fn write_strs(out: &mut String, items: &[String]) {
    out.push('[');
    for (i, s) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_str(out, s);
    }
    out.push(']');
}

/// Writes a list of f32.
fn write_f32s(out: &mut String, items: &[f32]) {
    out.push('[');
    for (i, &v) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write_f32(out, v);
    }
    out.push(']');
}

impl Preprocessing {
    /// The transformation as a JSON document, for a model file:
    ///
    /// ```text
    /// {"format": "wgtrain-preprocessing", "version": 1,
    ///  "missing": "drop" | "fill_mean" | "fill_zero",
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
        let mut out = String::new();
        out.push_str("{\"format\": ");
        write_str(&mut out, FORMAT);
        out.push_str(", \"version\": 1, \"missing\": ");
        write_str(
            &mut out,
            match self.missing {
                MissingPolicy::Drop => "drop",
                MissingPolicy::FillMean => "fill_mean",
                MissingPolicy::FillZero => "fill_zero",
            },
        );
        out.push_str(", \"scaling\": ");
        write_str(
            &mut out,
            match self.scaling {
                Scaling::Standard => "standard",
                Scaling::MinMax => "min_max",
                Scaling::None => "none",
            },
        );
        out.push_str(", \"task\": ");
        write_str(
            &mut out,
            match self.task {
                Task::Binary => "binary",
                Task::Multiclass { .. } => "multiclass",
                Task::Regression => "regression",
            },
        );
        out.push_str(",\n \"classes\": ");
        write_strs(&mut out, &self.classes);
        out.push_str(&format!(
            ", \"numeric_label\": {},\n \"columns\": [",
            self.numeric_label
        ));
        for (i, c) in self.columns.iter().enumerate() {
            out.push_str(if i > 0 { ",\n  {\"name\": " } else { "\n  {\"name\": " });
            write_str(&mut out, &c.name);
            match &c.role {
                ColumnRole::Numeric { fill } => {
                    out.push_str(", \"role\": \"numeric\", \"fill\": ");
                    write_f32(&mut out, *fill);
                }
                ColumnRole::Text { categories } => {
                    out.push_str(", \"role\": \"text\", \"categories\": ");
                    write_strs(&mut out, categories);
                }
                ColumnRole::Label => out.push_str(", \"role\": \"label\""),
                ColumnRole::Ignored => out.push_str(", \"role\": \"ignored\""),
            }
            out.push('}');
        }
        out.push_str("],\n \"features\": ");
        write_strs(&mut out, &self.feature_names);
        out.push_str(",\n \"offset\": ");
        write_f32s(&mut out, &self.offset);
        out.push_str(",\n \"scale\": ");
        write_f32s(&mut out, &self.scale);
        out.push_str("}\n");
        out
    }

    /// Reads a transformation written by [`to_json`](Self::to_json), checking that it is
    /// consistent (one label column, unique names and categories, statistics of the right
    /// length and finite, classes that fit the task).
    pub fn from_json(text: &str) -> Result<Preprocessing, DataError> {
        let doc = Json::parse(text).map_err(bad)?;
        let field = |k: &str| doc.get(k).ok_or_else(|| bad(format!("member `{k}` is missing")));
        let text_of = |k: &str| field(k)?.as_str().ok_or_else(|| bad(format!("`{k}` is not a string")));
        if text_of("format")? != FORMAT {
            return Err(bad(format!("`format` is not `{FORMAT}`")));
        }
        if field("version")?.as_u64() != Some(1) {
            return Err(bad("unsupported `version` (this build reads version 1)"));
        }
        let missing = match text_of("missing")? {
            "drop" => MissingPolicy::Drop,
            "fill_mean" => MissingPolicy::FillMean,
            "fill_zero" => MissingPolicy::FillZero,
            other => return Err(bad(format!("unknown missing policy `{other}`"))),
        };
        let scaling = match text_of("scaling")? {
            "standard" => Scaling::Standard,
            "min_max" => Scaling::MinMax,
            "none" => Scaling::None,
            other => return Err(bad(format!("unknown scaling `{other}`"))),
        };
        let classes = strings(field("classes")?, "classes")?;
        let numeric_label = field("numeric_label")?
            .as_bool()
            .ok_or_else(|| bad("`numeric_label` is not a boolean"))?;
        let task = match (text_of("task")?, classes.len()) {
            ("binary", 2) => Task::Binary,
            ("multiclass", n) if n > 2 => Task::Multiclass { n_classes: n },
            ("regression", 0) => Task::Regression,
            (task, n) => return Err(bad(format!("task `{task}` does not fit {n} classes"))),
        };
        unique(&classes, "classes")?;
        if numeric_label && task != Task::Regression {
            let values: Option<Vec<f32>> = classes
                .iter()
                .map(|c| c.parse::<f32>().ok().filter(|v| v.is_finite()))
                .collect();
            let values = values.ok_or_else(|| bad("a numeric class name is not a finite number"))?;
            if values.windows(2).any(|w| w[0] >= w[1]) {
                return Err(bad("numeric classes are not in increasing order"));
            }
        }
        let columns = field("columns")?
            .as_array()
            .ok_or_else(|| bad("`columns` is not an array"))?
            .iter()
            .map(column)
            .collect::<Result<Vec<Column>, DataError>>()?;
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        unique(&names, "column names")?;
        if columns.iter().filter(|c| c.role == ColumnRole::Label).count() != 1 {
            return Err(bad("there must be exactly one label column"));
        }
        let feature_names = strings(field("features")?, "features")?;
        let (feature_cols, categories): (Vec<&str>, Vec<Option<&[String]>>) = columns
            .iter()
            .filter_map(|c| match &c.role {
                ColumnRole::Numeric { .. } => Some((c.name.as_str(), None)),
                ColumnRole::Text { categories } => Some((c.name.as_str(), Some(categories.as_slice()))),
                _ => None,
            })
            .unzip();
        if feature_cols.is_empty() || output_names(&feature_cols, &categories) != feature_names {
            return Err(bad("`features` does not match the columns"));
        }
        let offset = floats(field("offset")?, "offset")?;
        let scale = floats(field("scale")?, "scale")?;
        if offset.len() != feature_names.len() || scale.len() != feature_names.len() {
            return Err(bad("`offset` and `scale` need one value per feature"));
        }
        if scale.iter().any(|&s| s < f32::MIN_POSITIVE) {
            return Err(bad("a `scale` value is not positive"));
        }
        Ok(Preprocessing {
            columns,
            task,
            classes,
            numeric_label,
            missing,
            scaling,
            feature_names,
            offset,
            scale,
        })
    }
}

/// One entry of `columns`.
fn column(v: &Json) -> Result<Column, DataError> {
    let name = v
        .get("name")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("a column has no `name`"))?;
    let role = match v.get("role").and_then(Json::as_str) {
        Some("numeric") => ColumnRole::Numeric {
            fill: v
                .get("fill")
                .and_then(Json::as_f32)
                .ok_or_else(|| bad(format!("column `{name}`: bad `fill`")))?,
        },
        Some("text") => {
            let categories = strings(v.get("categories").unwrap_or(&Json::Null), "categories")?;
            unique(&categories, "categories")?;
            ColumnRole::Text { categories }
        }
        Some("label") => ColumnRole::Label,
        Some("ignored") => ColumnRole::Ignored,
        _ => return Err(bad(format!("column `{name}`: unknown `role`"))),
    };
    Ok(Column {
        name: name.to_string(),
        role,
    })
}

/// An array of strings.
fn strings(v: &Json, what: &str) -> Result<Vec<String>, DataError> {
    let items = v.as_array().ok_or_else(|| bad(format!("`{what}` is not an array")))?;
    items
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(format!("`{what}` holds a non-string")))
        })
        .collect()
}

/// An array of finite f32.
fn floats(v: &Json, what: &str) -> Result<Vec<f32>, DataError> {
    let items = v.as_array().ok_or_else(|| bad(format!("`{what}` is not an array")))?;
    items
        .iter()
        .map(|s| {
            s.as_f32()
                .ok_or_else(|| bad(format!("`{what}` holds a non-finite number")))
        })
        .collect()
}

/// Fails if a list has a repeated entry.
fn unique(items: &[String], what: &str) -> Result<(), DataError> {
    let mut seen = HashSet::new();
    match items.iter().find(|s| !seen.insert(s.as_str())) {
        Some(s) => Err(bad(format!("`{s}` appears twice in {what}"))),
        None => Ok(()),
    }
}
