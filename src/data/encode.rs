//! Encodings: labels to class indices (detecting binary, multi-class or regression), text
//! categories to sorted codes, and the one-hot expansion of text columns.
//!
//! Classes and categories are sorted (numbers by value, text by bytes) so that the same data
//! always gives the same indices, whatever the row order; only values present in the kept
//! rows count.

use std::collections::HashSet;

use super::error::DataError;
use super::options::TargetKind;
use super::preprocessing::Task;
use super::table::RawTable;

/// Classes above which a label may not have more classes than half its rows.
const ROW_RULE_FROM: usize = 64;

/// Turns `t.y` into class indices (classification) or leaves the values (regression).
/// Returns the task, the class names (empty for regression) and whether the label was
/// numeric.
pub(crate) fn encode_labels(
    t: &mut RawTable,
    target: TargetKind,
    max_classes: usize,
    class_limit: usize,
) -> Result<(Task, Vec<String>, bool), DataError> {
    let classes = match t.label_names.take() {
        Some(names) => {
            let (sorted, remap) = present_sorted(&t.y, &names);
            for v in t.y.iter_mut() {
                *v = remap[*v as usize] as f32;
            }
            (sorted, false)
        }
        None => {
            let limit = match target {
                TargetKind::Regression => return Ok((Task::Regression, Vec::new(), true)),
                TargetKind::Auto => Some(max_classes),
                TargetKind::Classification => None,
            };
            let Some(values) = distinct_values(&t.y, limit, class_limit) else {
                return Ok((Task::Regression, Vec::new(), true));
            };
            if values.len() > class_limit {
                return Err(too_many_classes(
                    t,
                    format!("more than {class_limit}"),
                    class_limit,
                    "the class limit".into(),
                ));
            }
            for v in t.y.iter_mut() {
                // Every value is in `values`, so the search cannot miss.
                *v = values.binary_search_by(|c| c.total_cmp(&(*v + 0.0))).unwrap_or(0) as f32;
            }
            (values.iter().map(|v| v.to_string()).collect(), true)
        }
    };
    let (names, numeric) = classes;
    // A class per two rows or more leaves nothing to learn a class from: most likely an
    // identifier. A handful of classes in a small table is a sample, so the rule starts above
    // `ROW_RULE_FROM` classes.
    // A class limit set on purpose (anything but the default) is the caller's decision and
    // replaces this rule, so the refusal's advice to raise the limit always works.
    let half = t.y.len() / 2;
    let limit_chosen = class_limit != crate::data::DEFAULT_CLASS_LIMIT;
    if !limit_chosen && names.len() > ROW_RULE_FROM && names.len() > half {
        return Err(too_many_classes(
            t,
            names.len().to_string(),
            half,
            format!("more than half of the {} rows", t.y.len()),
        ));
    }
    let task = match names.len() {
        0 | 1 => {
            return Err(DataError::SingleClass {
                path: t.path.clone(),
                column: t.header[t.label_col].clone(),
                class: names.first().cloned().unwrap_or_default(),
            });
        }
        2 => Task::Binary,
        n => Task::Multiclass { n_classes: n },
    };
    Ok((task, names, numeric))
}

/// The error for a label with too many classes.
fn too_many_classes(t: &RawTable, classes: String, limit: usize, reason: String) -> DataError {
    DataError::TooManyClasses {
        path: t.path.clone(),
        column: t.header[t.label_col].clone(),
        classes,
        limit,
        reason,
    }
}

/// The sorted distinct values of numeric labels; `None` when `limit` is set and the labels
/// are not integers or have more distinct values than it (regression). Counting stops one
/// past `class_limit` (the caller refuses that many).
fn distinct_values(y: &[f32], limit: Option<usize>, class_limit: usize) -> Option<Vec<f32>> {
    let mut seen: HashSet<u32> = HashSet::new();
    for &v in y {
        let v = v + 0.0; // -0 and +0 are one class
        if limit.is_some() && v.fract() != 0.0 {
            return None;
        }
        if seen.insert(v.to_bits()) {
            if limit.is_some_and(|l| seen.len() > l) {
                return None;
            }
            if seen.len() > class_limit {
                break;
            }
        }
    }
    let mut values: Vec<f32> = seen.into_iter().map(f32::from_bits).collect();
    values.sort_by(f32::total_cmp);
    Some(values)
}

/// The names of the codes present in `codes`, sorted, and the map old code → new code.
fn present_sorted(codes: &[f32], names: &[String]) -> (Vec<String>, Vec<u32>) {
    let mut present = vec![false; names.len()];
    for &c in codes {
        if !c.is_nan() {
            present[c as usize] = true;
        }
    }
    let mut order: Vec<usize> = (0..names.len()).filter(|&i| present[i]).collect();
    order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut remap = vec![0u32; names.len()];
    for (new, &old) in order.iter().enumerate() {
        remap[old] = new as u32;
    }
    (order.iter().map(|&i| names[i].clone()).collect(), remap)
}

/// Sorts the categories of every text feature column and recodes the matrix.
pub(crate) fn sort_categories(t: &mut RawTable) {
    let width = t.features.len();
    for k in 0..width {
        let Some(names) = t.features[k].categories.take() else {
            continue;
        };
        let column: Vec<f32> = t.x.iter().skip(k).step_by(width).copied().collect();
        let (sorted, remap) = present_sorted(&column, &names);
        for row in t.x.chunks_exact_mut(width) {
            if !row[k].is_nan() {
                row[k] = remap[row[k] as usize] as f32;
            }
        }
        t.features[k].categories = Some(sorted);
    }
}

/// Expands each text column (a code, or NaN for missing) into one 0/1 column per category;
/// `widths[k]` is `None` for a numeric column, else `Some(number of categories)`. Returns
/// `x` unchanged when there is no text column.
pub(crate) fn one_hot(x: Vec<f32>, widths: &[Option<usize>]) -> Vec<f32> {
    if widths.iter().all(Option::is_none) {
        return x;
    }
    let out_width: usize = widths.iter().map(|w| w.unwrap_or(1)).sum();
    let rows = x.len() / widths.len();
    let mut out = Vec::with_capacity(rows * out_width);
    for row in x.chunks_exact(widths.len()) {
        for (&v, &w) in row.iter().zip(widths) {
            if let Some(w) = w {
                let at = out.len();
                out.resize(at + w, 0.0);
                if !v.is_nan() && (v as usize) < w {
                    out[at + v as usize] = 1.0;
                }
            } else {
                out.push(v);
            }
        }
    }
    out
}

/// Output column names: a numeric column keeps its name, a text column `c` becomes
/// `c=category` per category.
pub(crate) fn output_names(names: &[&str], categories: &[Option<&[String]>]) -> Vec<String> {
    let mut out = Vec::new();
    for (name, cats) in names.iter().zip(categories) {
        match cats {
            None => out.push(name.to_string()),
            Some(cats) => out.extend(cats.iter().map(|c| format!("{name}={c}"))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_hot_expands() {
        let x = vec![1.5, 1.0, 2.5, f32::NAN, 3.5, 0.0];
        let out = one_hot(x, &[None, Some(2)]);
        assert_eq!(out, vec![1.5, 0.0, 1.0, 2.5, 0.0, 0.0, 3.5, 1.0, 0.0]);
    }

    #[test]
    fn distinct() {
        assert_eq!(
            distinct_values(&[1.0, 0.0, -0.0, 1.0], Some(64), 100),
            Some(vec![0.0, 1.0])
        );
        assert_eq!(distinct_values(&[0.5, 1.0], Some(64), 100), None);
        assert_eq!(distinct_values(&[0.5, 1.0], None, 100), Some(vec![0.5, 1.0]));
        // Counting stops one past the class limit.
        assert_eq!(
            distinct_values(&[1.0, 2.0, 3.0, 4.0], None, 2).map(|v| v.len()),
            Some(3)
        );
    }
}
