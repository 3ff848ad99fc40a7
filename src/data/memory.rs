//! In-memory input: a feature matrix and a label vector handed over by an application,
//! checked and turned into a `RawTable` in place (no copy of the matrix when it is already
//! in standard layout). Columns are named `x0`, `x1`, … and the label `label`; NaN is a
//! missing value; errors name the source `<memory>` and the 1-based row as the line.

use ndarray::{Array1, Array2};

use super::error::DataError;
use super::options::{CsvOptions, MissingPolicy};
use super::table::{RawFeature, RawTable};

/// The source name of in-memory data.
pub(crate) const MEMORY: &str = "<memory>";

/// Checks and compacts `x` and `y` into a raw table.
pub(crate) fn read_arrays(x: Array2<f32>, y: Array1<f32>, opts: &CsvOptions) -> Result<RawTable, DataError> {
    let shape_err = |detail: String| DataError::Shape {
        path: MEMORY.to_string(),
        detail,
    };
    let (rows, width) = x.dim();
    if y.len() != rows {
        return Err(shape_err(format!("x has {rows} rows but y has {} values", y.len())));
    }
    if rows == 0 {
        return Err(shape_err("x has no rows".to_string()));
    }
    if width == 0 {
        return Err(DataError::NoFeatures {
            path: MEMORY.to_string(),
            label: "label".to_string(),
        });
    }
    let mut data = row_major(x);
    let mut labels = y.to_vec();
    let drop_missing = opts.missing == MissingPolicy::Drop;
    let (mut kept, mut dropped, mut cells_missing) = (0usize, 0usize, 0usize);
    let mut dropped_lines = Vec::new();
    for i in 0..rows {
        let row = &data[i * width..(i + 1) * width];
        let not_finite = |column: String, v: f32| DataError::NonFinite {
            path: MEMORY.to_string(),
            line: i as u64 + 1,
            column,
            value: v.to_string(),
        };
        if let Some(j) = row.iter().position(|v| v.is_infinite()) {
            return Err(not_finite(format!("x{j}"), row[j]));
        }
        if labels[i].is_infinite() {
            return Err(not_finite("label".to_string(), labels[i]));
        }
        let missing = row.iter().filter(|v| v.is_nan()).count();
        if labels[i].is_nan() || (missing > 0 && drop_missing) {
            dropped += 1;
            if dropped_lines.len() < 20 {
                dropped_lines.push(i as u64 + 1);
            }
            continue;
        }
        cells_missing += missing;
        data.copy_within(i * width..(i + 1) * width, kept * width);
        labels[kept] = labels[i];
        kept += 1;
    }
    data.truncate(kept * width);
    labels.truncate(kept);
    let mut header: Vec<String> = (0..width).map(|j| format!("x{j}")).collect();
    header.push("label".to_string());
    Ok(RawTable {
        path: MEMORY.to_string(),
        header,
        label_col: width,
        features: (0..width)
            .map(|source| RawFeature {
                source,
                categories: None,
            })
            .collect(),
        label_names: None,
        x: data,
        y: labels,
        rows_read: rows,
        rows_dropped: dropped,
        dropped_lines,
        cells_missing,
        delimiter: None,
    })
}

/// The elements in row-major order, reusing the array's buffer when it is already laid out
/// that way.
fn row_major(x: Array2<f32>) -> Vec<f32> {
    if !x.is_standard_layout() {
        return x.iter().copied().collect();
    }
    let len = x.len();
    let (mut v, offset) = x.into_raw_vec_and_offset();
    let start = offset.unwrap_or(0);
    if start > 0 {
        v.drain(..start.min(v.len()));
    }
    v.truncate(len);
    v
}
