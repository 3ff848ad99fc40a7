//! `read_training`: reads a whole CSV stream into a `RawTable` (raw feature matrix, raw
//! labels, the text dictionaries), choosing the label and feature columns and whether each
//! is numeric or text.
//!
//! A column is text when it is listed in `text_columns`, or when most of its non-missing
//! values among the first 100 data rows are not numbers; otherwise it is numeric, and a later
//! value that is not a number is an error naming its line. Text and numeric columns are read
//! in one pass, so the file is read once.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use csv::ByteRecord;

use super::error::{DataError, shown};
use super::missing::{Num, parse_number_with, trim};
use super::options::{CsvOptions, Label, MissingPolicy, TargetKind};
use super::reader::{CsvInput, line_of};
use super::rows::{Dict, LabelSlot, Role, RowParser};

/// Data rows looked at to decide numeric or text.
const SNIFF_ROWS: usize = 100;

/// One feature column of the raw matrix.
#[derive(Debug, Clone)]
pub(crate) struct RawFeature {
    /// Position in the source header.
    pub source: usize,
    /// `Some(values in code order)` for a text column.
    pub categories: Option<Vec<String>>,
}

/// A table read from a source, before labels, split, encoding and scaling.
#[derive(Debug)]
pub(crate) struct RawTable {
    /// Source name for errors.
    pub path: String,
    /// Every source column name.
    pub header: Vec<String>,
    /// Position of the label column in `header`.
    pub label_col: usize,
    /// Feature columns, in raw-matrix order.
    pub features: Vec<RawFeature>,
    /// `Some(class values in code order)` for a text label.
    pub label_names: Option<Vec<String>>,
    /// Raw features, row-major `[rows, features.len()]`, NaN where missing.
    pub x: Vec<f32>,
    /// Raw labels (numbers or text codes), `[rows]`.
    pub y: Vec<f32>,
    /// Data rows seen.
    pub rows_read: usize,
    /// Rows dropped for missing values.
    pub rows_dropped: usize,
    /// Lines of the first dropped rows.
    pub dropped_lines: Vec<u64>,
    /// Missing feature cells kept (to be filled).
    pub cells_missing: usize,
    /// The delimiter (for CSV sources).
    pub delimiter: Option<u8>,
}

/// Reads a CSV stream for training; `size` (bytes), when known, pre-sizes the matrix.
pub(crate) fn read_training<R: Read>(
    reader: R,
    path: &str,
    size: Option<u64>,
    opts: &CsvOptions,
) -> Result<RawTable, DataError> {
    let mut input = CsvInput::open(reader, path, opts.delimiter, opts.decimal_comma, opts.max_record_bytes)?;
    let header = input.header.clone();
    let mut sniffed: Vec<ByteRecord> = Vec::new();
    while sniffed.len() < SNIFF_ROWS {
        let mut rec = ByteRecord::new();
        if !input.next(&mut rec)? {
            break;
        }
        sniffed.push(rec);
    }
    if sniffed.is_empty() {
        return Err(DataError::HeaderOnly { path: path.to_string() });
    }
    let label_col = resolve_label(&header, &opts.label, path)?;
    let selected = select_features(&header, label_col, opts, path)?;
    let mut roles = vec![Role::Skip; header.len()];
    let mut dicts = Vec::new();
    let text_columns: HashSet<&str> = opts.text.iter().map(String::as_str).collect();
    for (col, &j) in selected.iter().enumerate() {
        let text = text_columns.contains(header[j].as_str()) || looks_textual(&sniffed, j, input.decimal_comma);
        roles[j] = if text {
            dicts.push(Dict::learning(opts.max_categories));
            Role::Text(col, dicts.len() - 1)
        } else {
            Role::Num(col)
        };
    }
    roles[label_col] = Role::Label;
    let label_text =
        opts.text.iter().any(|t| *t == header[label_col]) || looks_textual(&sniffed, label_col, input.decimal_comma);
    if opts.target == TargetKind::Regression && label_text {
        return Err(text_label_error(
            &sniffed,
            label_col,
            &header[label_col],
            path,
            input.decimal_comma,
        ));
    }
    let label = if label_text {
        LabelSlot::Text(Dict::learning(opts.class_limit))
    } else {
        LabelSlot::Numeric
    };
    let mut parser = RowParser::new(path, header.clone(), roles, dicts, label);
    parser.drop_missing = opts.missing == MissingPolicy::Drop;
    parser.decimal_comma = input.decimal_comma;
    reserve(&mut parser, &sniffed, size);
    for rec in &sniffed {
        parser.push_row(line_of(rec), rec.iter())?;
    }
    drop(sniffed);
    let mut rec = ByteRecord::new();
    while input.next(&mut rec)? {
        parser.push_row(line_of(&rec), rec.iter())?;
    }
    parser.x.shrink_to_fit();
    parser.y.shrink_to_fit();
    let mut dicts = parser.dicts.into_iter();
    let features = selected
        .iter()
        .map(|&j| RawFeature {
            source: j,
            categories: match parser.roles[j] {
                Role::Text(..) => dicts.next().map(|d| d.names),
                _ => None,
            },
        })
        .collect();
    Ok(RawTable {
        path: path.to_string(),
        header,
        label_col,
        features,
        label_names: match parser.label {
            LabelSlot::Text(d) => Some(d.names),
            _ => None,
        },
        x: parser.x,
        y: parser.y,
        rows_read: parser.rows_read,
        rows_dropped: parser.rows_dropped,
        dropped_lines: parser.dropped_lines,
        cells_missing: parser.cells_missing,
        delimiter: Some(input.delimiter),
    })
}

/// Finds the label column.
fn resolve_label(header: &[String], label: &Label, path: &str) -> Result<usize, DataError> {
    let found = match label {
        Label::Name(name) => header.iter().position(|h| h == name),
        Label::Index(i) => (*i < header.len()).then_some(*i),
        Label::Last => header.len().checked_sub(1),
    };
    found.ok_or_else(|| DataError::LabelNotFound {
        path: path.to_string(),
        label: match label {
            Label::Name(name) => format!("`{name}`"),
            Label::Index(i) => format!("index {i}"),
            Label::Last => "last".to_string(),
        },
        columns: header.to_vec(),
    })
}

/// The feature columns, in file order.
fn select_features(
    header: &[String],
    label_col: usize,
    opts: &CsvOptions,
    path: &str,
) -> Result<Vec<usize>, DataError> {
    let index: HashMap<&str, usize> = header.iter().enumerate().map(|(j, h)| (h.as_str(), j)).collect();
    let find = |name: &String, option: &'static str| {
        index
            .get(name.as_str())
            .copied()
            .ok_or_else(|| DataError::ColumnNotFound {
                path: path.to_string(),
                column: name.clone(),
                option,
                columns: header.to_vec(),
            })
    };
    let mut chosen = match &opts.features {
        None => vec![true; header.len()],
        Some(list) => {
            let mut chosen = vec![false; header.len()];
            for name in list {
                let j = find(name, "feature_columns")?;
                if j == label_col {
                    return Err(DataError::InvalidArgument {
                        what: "feature_columns",
                        detail: format!("`{name}` is the label column"),
                    });
                }
                chosen[j] = true;
            }
            chosen
        }
    };
    for name in &opts.ignore {
        chosen[find(name, "ignore_columns")?] = false;
    }
    for name in &opts.text {
        find(name, "text_columns")?;
    }
    chosen[label_col] = false;
    let selected: Vec<usize> = (0..header.len()).filter(|&j| chosen[j]).collect();
    if selected.is_empty() {
        return Err(DataError::NoFeatures {
            path: path.to_string(),
            label: header[label_col].clone(),
        });
    }
    Ok(selected)
}

/// The error for a text label asked to be a regression target, naming its first text value.
fn text_label_error(sample: &[ByteRecord], j: usize, column: &str, path: &str, decimal_comma: bool) -> DataError {
    let first = sample.iter().find_map(|r| {
        let field = r.get(j)?;
        matches!(parse_number_with(field, decimal_comma), Num::NotNumber | Num::BadUtf8)
            .then(|| (line_of(r), shown(trim(field))))
    });
    let (line, value) = first.unwrap_or((0, String::new()));
    DataError::TextLabel {
        path: path.to_string(),
        line,
        column: column.to_string(),
        value,
    }
}

/// Whether most non-missing values of column `j` in the sample are not numbers.
fn looks_textual(sample: &[ByteRecord], j: usize, decimal_comma: bool) -> bool {
    let (mut numbers, mut texts) = (0usize, 0usize);
    for field in sample.iter().filter_map(|r| r.get(j)) {
        match parse_number_with(field, decimal_comma) {
            Num::Value(_) | Num::NonFinite => numbers += 1,
            Num::NotNumber | Num::BadUtf8 => texts += 1,
            Num::Missing => {}
        }
    }
    texts > numbers
}

/// Pre-sizes the matrix from the file size and the sample's bytes per row, so that reading
/// a large file does not grow (and copy) the matrix repeatedly. Best effort: a failed
/// reservation just leaves growth to `Vec`.
fn reserve(parser: &mut RowParser, sample: &[ByteRecord], size: Option<u64>) {
    let (Some(size), Some(first), Some(last)) = (size, sample.first(), sample.last()) else {
        return;
    };
    let (Some(p0), Some(p1)) = (first.position(), last.position()) else {
        return;
    };
    let rows = (sample.len() - 1) as u64;
    if rows == 0 || p1.byte() <= p0.byte() {
        return;
    }
    let per_row = (p1.byte() - p0.byte()) as f64 / rows as f64;
    let rest = size.saturating_sub(p0.byte());
    let estimate = ((rest as f64 / per_row * 1.02) as usize + 16).min(rest as usize + 16);
    let _ = parser.x.try_reserve_exact(estimate.saturating_mul(parser.n_x));
    let _ = parser.y.try_reserve_exact(estimate);
}
