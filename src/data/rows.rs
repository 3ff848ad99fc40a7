//! `RowParser`: turns one record (a list of raw fields) into a row of the raw feature matrix
//! and a label, the hot loop of CSV reading.
//!
//! Shapes: `x` is row-major `[rows, n_x]` with one column per *source* feature column (a text
//! column holds its category code as f32, a missing cell holds NaN); `y` is `[rows]` (a
//! number, or a class code). Rows that must be dropped are rolled back, so `x` and `y` only
//! ever hold kept rows and no per-row bookkeeping is allocated.

use std::collections::HashMap;

use super::error::{DataError, shown};
use super::missing::{Num, is_missing_token, parse_number_with, trim};

/// Largest category code that an f32 holds exactly.
pub(crate) const MAX_CODES: usize = 1 << 24;

/// What a source field feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// Not used.
    Skip,
    /// A numeric feature for raw column `col`.
    Num(usize),
    /// A text feature for raw column `col`, interned by `dicts[dict]`.
    Text(usize, usize),
    /// The label.
    Label,
}

/// How the label field is read.
#[derive(Debug)]
pub(crate) enum LabelSlot {
    /// No label column (new data for prediction).
    Absent,
    /// A raw number.
    Numeric,
    /// A text class, interned.
    Text(Dict),
    /// A number that must be one of these sorted class values; `y` gets its index.
    Classes(Vec<f32>),
}

/// Why a dictionary refused a value.
enum DictErr {
    TooMany,
    Unknown,
    BadUtf8,
}

/// Interns the distinct text values of one column: learning (new values get the next code,
/// up to a limit) or fixed (values must be known).
#[derive(Debug)]
pub(crate) struct Dict {
    map: HashMap<Box<[u8]>, u32>,
    /// Values in code order.
    pub names: Vec<String>,
    limit: usize,
    learn: bool,
}

impl Dict {
    /// An empty dictionary that learns up to `limit` values.
    pub fn learning(limit: usize) -> Self {
        Dict {
            map: HashMap::new(),
            names: Vec::new(),
            limit: limit.min(MAX_CODES),
            learn: true,
        }
    }

    /// A dictionary of known values; code = position in `names`.
    pub fn fixed(names: &[String]) -> Self {
        let map = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.as_bytes().to_vec().into_boxed_slice(), i as u32))
            .collect();
        Dict {
            map,
            names: names.to_vec(),
            limit: names.len(),
            learn: false,
        }
    }

    /// The code of a trimmed, non-missing value.
    #[inline]
    fn code(&mut self, t: &[u8]) -> Result<u32, DictErr> {
        if let Some(&c) = self.map.get(t) {
            return Ok(c);
        }
        if !self.learn {
            return Err(DictErr::Unknown);
        }
        if self.names.len() >= self.limit {
            return Err(DictErr::TooMany);
        }
        let s = std::str::from_utf8(t).map_err(|_| DictErr::BadUtf8)?;
        let c = self.names.len() as u32;
        self.names.push(s.to_string());
        self.map.insert(t.to_vec().into_boxed_slice(), c);
        Ok(c)
    }
}

/// Parses records into the raw matrix; see the module header for the shapes.
#[derive(Debug)]
pub(crate) struct RowParser {
    /// Source name for errors.
    pub path: String,
    /// Header names, for errors.
    pub names: Vec<String>,
    /// One role per source field.
    pub roles: Vec<Role>,
    /// Dictionaries of the text feature columns.
    pub dicts: Vec<Dict>,
    /// How the label is read.
    pub label: LabelSlot,
    /// Number of feature columns (`x` row width).
    pub n_x: usize,
    /// Raw features, row-major.
    pub x: Vec<f32>,
    /// Raw labels or class codes.
    pub y: Vec<f32>,
    /// Whether a missing feature drops the row (otherwise it stays NaN).
    pub drop_missing: bool,
    /// Data rows seen.
    pub rows_read: usize,
    /// Rows dropped for a missing value.
    pub rows_dropped: usize,
    /// Lines of the first `keep_lines` dropped rows.
    pub dropped_lines: Vec<u64>,
    /// 1-based data-row numbers of the same dropped rows.
    pub dropped_rows: Vec<u64>,
    /// How many dropped lines to remember.
    pub keep_lines: usize,
    /// Missing feature cells in kept rows.
    pub cells_missing: usize,
    /// Whether numeric cells use a decimal comma.
    pub decimal_comma: bool,
    /// Per source field, the slot of `copied` it is copied into as text (empty: none is).
    pub copy: Vec<Option<usize>>,
    /// Number of copied fields per row.
    pub n_copy: usize,
    /// The copied fields' text, row-major `[kept rows, n_copy]`.
    pub copied: Vec<String>,
    /// Header names of the fields no role reads (for the caller to report).
    pub unused: Vec<String>,
    /// Per raw feature column, the stored `(offset, scale)` a numeric value must survive
    /// finite (new data under a fitted preprocessing); empty: not checked.
    pub scaled: Vec<(f32, f32)>,
}

impl RowParser {
    /// A parser for fields with these roles.
    pub fn new(path: &str, names: Vec<String>, roles: Vec<Role>, dicts: Vec<Dict>, label: LabelSlot) -> Self {
        let n_x = roles
            .iter()
            .filter(|r| matches!(r, Role::Num(_) | Role::Text(..)))
            .count();
        RowParser {
            path: path.to_string(),
            names,
            roles,
            dicts,
            label,
            n_x,
            x: Vec::new(),
            y: Vec::new(),
            drop_missing: true,
            rows_read: 0,
            rows_dropped: 0,
            dropped_lines: Vec::new(),
            dropped_rows: Vec::new(),
            keep_lines: 20,
            cells_missing: 0,
            decimal_comma: false,
            copy: Vec::new(),
            n_copy: 0,
            copied: Vec::new(),
            unused: Vec::new(),
            scaled: Vec::new(),
        }
    }

    /// Parses one record that starts at `line`.
    pub fn push_row<'a, I>(&mut self, line: u64, fields: I) -> Result<(), DataError>
    where
        I: ExactSizeIterator<Item = &'a [u8]>,
    {
        if fields.len() != self.roles.len() {
            return Err(DataError::FieldCount {
                path: self.path.clone(),
                line,
                expected: self.roles.len(),
                found: fields.len(),
            });
        }
        self.rows_read += 1;
        let start = self.x.len();
        self.x.resize(start + self.n_x, f32::NAN);
        let copy_start = self.copied.len();
        if self.n_copy > 0 {
            self.copied.resize(copy_start + self.n_copy, String::new());
        }
        let mut missing = 0usize;
        let mut label = f32::NAN;
        let mut label_missing = false;
        for (j, field) in fields.enumerate() {
            if let Some(&Some(k)) = self.copy.get(j) {
                self.copied[copy_start + k] = String::from_utf8_lossy(field).into_owned();
            }
            match self.roles[j] {
                Role::Skip => {}
                Role::Num(col) => match parse_number_with(field, self.decimal_comma) {
                    Num::Value(v) => {
                        if let Some(&(o, s)) = self.scaled.get(col)
                            && !((v - o) / s).is_finite()
                        {
                            return Err(DataError::NonFiniteInput {
                                path: self.path.clone(),
                                line,
                                column: self.names[j].clone(),
                                value: shown(trim(field)),
                                scaled: (v - o) / s,
                            });
                        }
                        self.x[start + col] = v;
                    }
                    Num::Missing => missing += 1,
                    bad => return Err(self.number_error(bad, line, j, field)),
                },
                Role::Text(col, d) => {
                    let t = trim(field);
                    if is_missing_token(t) {
                        missing += 1;
                    } else {
                        match self.dicts[d].code(t) {
                            Ok(c) => self.x[start + col] = c as f32,
                            Err(e) => return Err(self.dict_error(e, d, line, j, t, false)),
                        }
                    }
                }
                Role::Label => match self.read_label(line, j, field)? {
                    Some(v) => label = v,
                    None => label_missing = true,
                },
            }
        }
        if label_missing || (missing > 0 && self.drop_missing) {
            self.x.truncate(start);
            self.copied.truncate(copy_start);
            self.rows_dropped += 1;
            if self.dropped_lines.len() < self.keep_lines {
                self.dropped_lines.push(line);
                self.dropped_rows.push(self.rows_read as u64);
            }
        } else {
            if !matches!(self.label, LabelSlot::Absent) {
                self.y.push(label);
            }
            self.cells_missing += missing;
        }
        Ok(())
    }

    /// Reads the label field: `None` when it is missing.
    fn read_label(&mut self, line: u64, j: usize, field: &[u8]) -> Result<Option<f32>, DataError> {
        match &mut self.label {
            LabelSlot::Absent => Ok(None),
            LabelSlot::Numeric => match parse_number_with(field, self.decimal_comma) {
                Num::Value(v) => Ok(Some(v)),
                Num::Missing => Ok(None),
                bad => Err(self.number_error(bad, line, j, field)),
            },
            LabelSlot::Classes(values) => match parse_number_with(field, self.decimal_comma) {
                Num::Value(v) => match values.binary_search_by(|c| c.total_cmp(&(v + 0.0))) {
                    Ok(i) => Ok(Some(i as f32)),
                    Err(_) => Err(DataError::UnknownClass {
                        path: self.path.clone(),
                        line,
                        column: self.names[j].clone(),
                        value: shown(trim(field)),
                        known: values.iter().map(|v| v.to_string()).collect(),
                    }),
                },
                Num::Missing => Ok(None),
                bad => Err(self.number_error(bad, line, j, field)),
            },
            LabelSlot::Text(dict) => {
                let t = trim(field);
                if is_missing_token(t) {
                    return Ok(None);
                }
                match dict.code(t) {
                    Ok(c) => Ok(Some(c as f32)),
                    Err(e) => Err(self.dict_error(e, usize::MAX, line, j, t, true)),
                }
            }
        }
    }

    /// The error for a numeric cell that is not a finite number.
    #[cold]
    fn number_error(&self, bad: Num, line: u64, j: usize, field: &[u8]) -> DataError {
        let path = self.path.clone();
        let column = self.names[j].clone();
        let value = shown(trim(field));
        match bad {
            Num::NonFinite => DataError::NonFinite {
                path,
                line,
                column,
                value,
            },
            Num::BadUtf8 => DataError::InvalidUtf8 {
                path,
                line,
                column,
                value,
            },
            _ => DataError::ParseNumber {
                path,
                line,
                column,
                value,
            },
        }
    }

    /// The error for a text cell that a dictionary refused (`d == usize::MAX`: the label's).
    #[cold]
    fn dict_error(&self, e: DictErr, d: usize, line: u64, j: usize, t: &[u8], is_label: bool) -> DataError {
        let path = self.path.clone();
        let column = self.names[j].clone();
        let value = shown(t);
        let known = || match (&self.label, is_label) {
            (LabelSlot::Text(dict), true) => dict.names.clone(),
            _ => self.dicts.get(d).map(|x| x.names.clone()).unwrap_or_default(),
        };
        match e {
            DictErr::BadUtf8 => DataError::InvalidUtf8 {
                path,
                line,
                column,
                value,
            },
            DictErr::Unknown if is_label => DataError::UnknownClass {
                path,
                line,
                column,
                value,
                known: known(),
            },
            DictErr::Unknown => DataError::UnknownCategory {
                path,
                line,
                column,
                value,
                known: known(),
            },
            DictErr::TooMany if is_label => DataError::TooManyClasses {
                path,
                column,
                classes: format!("more than {}", known().len()),
                limit: known().len(),
                reason: format!("line {line} brings class number {} (`{value}`)", known().len() + 1),
            },
            DictErr::TooMany => {
                let limit = known().len();
                DataError::TooManyCategories {
                    path,
                    line,
                    column,
                    limit,
                    value,
                }
            }
        }
    }
}
