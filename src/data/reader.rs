//! `CsvInput`: opens a CSV stream with the `csv` crate: strips a UTF-8 byte-order mark,
//! detects the delimiter, reads and checks the header row, then yields `ByteRecord`s (no
//! per-field allocation; CRLF line ends and quoted fields are the `csv` crate's job).
//!
//! The stream is never read whole into memory: peak memory is the output matrix plus a few
//! buffers and the longest record, which is bounded: a record longer than the limit (a file
//! of NUL bytes, `/dev/zero`, a quote never closed) is an error naming its line, found after
//! reading at most the limit and two buffers past the record's start.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use csv::ByteRecord;

use super::error::{DataError, shown};
use super::missing::{Num, parse_number, parse_number_with};
use super::options::Delimiter;

/// Buffer size of the reader (the first buffer also feeds the delimiter detection).
const BUF_BYTES: usize = 256 * 1024;
/// Lines the delimiter detection looks at.
const SNIFF_LINES: usize = 20;
/// The csv crate's own buffer.
const CSV_BUF_BYTES: usize = 64 * 1024;
/// How far the buffers may have read past the start of the record being read: the bounded
/// reader allows this much beyond the record limit.
const READ_AHEAD: u64 = (BUF_BYTES + CSV_BUF_BYTES + 3) as u64;

/// The I/O error payload of a record over the limit (turned into
/// [`DataError::RecordTooLong`] with the record's line).
#[derive(Debug)]
struct RecordLimit;

impl std::fmt::Display for RecordLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("record over the length limit")
    }
}

impl std::error::Error for RecordLimit {}

/// A reader that refuses to read past a byte offset, which the CSV reader moves forward at
/// every record (so one record, not the file, is bounded).
struct Bounded<R> {
    inner: R,
    /// Bytes read so far.
    read: u64,
    /// The offset reads may not pass.
    end: Arc<AtomicU64>,
}

impl<R: Read> Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let end = self.end.load(Ordering::Relaxed);
        if self.read >= end {
            return Err(std::io::Error::other(RecordLimit));
        }
        let room = usize::try_from(end - self.read).unwrap_or(usize::MAX).min(buf.len());
        let n = self.inner.read(&mut buf[..room])?;
        self.read += n as u64;
        Ok(n)
    }
}

/// Opens a file, mapping "not found" to its own error; also returns the file's size.
pub(crate) fn open_file(path: &Path) -> Result<(File, Option<u64>), DataError> {
    let name = path.display().to_string();
    let file = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => DataError::NotFound { path: name.clone() },
        _ => DataError::Io {
            path: name.clone(),
            source: e,
        },
    })?;
    let len = file.metadata().ok().filter(|m| m.is_file()).map(|m| m.len());
    Ok((file, len))
}

/// A CSV stream positioned after its header row.
pub(crate) struct CsvInput<R: Read> {
    rdr: csv::Reader<BufReader<Bounded<R>>>,
    /// The offset the bounded reader may not pass (moved at every record).
    end: Arc<AtomicU64>,
    /// The longest record allowed, in bytes.
    max_record: u64,
    /// Source name for errors.
    pub path: String,
    /// Header names: trimmed, an empty name replaced by `column_N` (1-based).
    pub header: Vec<String>,
    /// The delimiter in use.
    pub delimiter: u8,
    /// Whether numeric cells use a decimal comma (asked for, or detected).
    pub decimal_comma: bool,
}

impl<R: Read> CsvInput<R> {
    /// Reads the byte-order mark, the delimiter and the header; `decimal_comma` `None`
    /// detects it (see [`detect_decimal_comma`]); a record (the header included) longer than
    /// `max_record` bytes is an error.
    pub fn open(
        reader: R,
        path: &str,
        delimiter: Delimiter,
        decimal_comma: Option<bool>,
        max_record: usize,
    ) -> Result<Self, DataError> {
        let io = |e: std::io::Error| DataError::Io {
            path: path.to_string(),
            source: e,
        };
        let max_record = max_record as u64;
        let end = Arc::new(AtomicU64::new(max_record.saturating_add(READ_AHEAD)));
        let bounded = Bounded {
            inner: reader,
            read: 0,
            end: end.clone(),
        };
        let mut buf = BufReader::with_capacity(BUF_BYTES, bounded);
        let mut head = buf.fill_buf().map_err(io)?;
        if head.starts_with(b"\xEF\xBB\xBF") {
            buf.consume(3);
            head = buf.fill_buf().map_err(io)?;
        }
        if head.is_empty() {
            return Err(DataError::Empty { path: path.to_string() });
        }
        let delimiter = match delimiter {
            Delimiter::Byte(b) => b,
            Delimiter::Auto => detect_delimiter(head),
        };
        let decimal_comma = decimal_comma.unwrap_or_else(|| detect_decimal_comma(head, delimiter));
        let rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .buffer_capacity(CSV_BUF_BYTES)
            .from_reader(buf);
        let mut input = CsvInput {
            rdr,
            end,
            max_record,
            path: path.to_string(),
            header: Vec::new(),
            delimiter,
            decimal_comma,
        };
        let mut rec = ByteRecord::new();
        if !input.next(&mut rec)? {
            return Err(DataError::Empty { path: path.to_string() });
        }
        input.header = parse_header(&rec, path)?;
        Ok(input)
    }

    /// Reads the next record; `false` at the end.
    #[inline]
    pub fn next(&mut self, rec: &mut ByteRecord) -> Result<bool, DataError> {
        let start = self.rdr.position().clone();
        let end = start.byte().saturating_add(self.max_record).saturating_add(READ_AHEAD);
        self.end.store(end, Ordering::Relaxed);
        let more = self.rdr.read_byte_record(rec).map_err(|e| {
            let source = match e.into_kind() {
                csv::ErrorKind::Io(e) => e,
                other => std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{other:?}")),
            };
            if source.get_ref().is_some_and(|inner| inner.is::<RecordLimit>()) {
                return DataError::RecordTooLong {
                    path: self.path.clone(),
                    line: start.line(),
                    limit: self.max_record,
                };
            }
            DataError::Io {
                path: self.path.clone(),
                source,
            }
        })?;
        // The bounded reader stops a runaway record; this makes the limit exact.
        if self.rdr.position().byte() - start.byte() > self.max_record {
            return Err(DataError::RecordTooLong {
                path: self.path.clone(),
                line: start.line(),
                limit: self.max_record,
            });
        }
        Ok(more)
    }
}

/// The line where a record starts (1-based).
#[inline]
pub(crate) fn line_of(rec: &ByteRecord) -> u64 {
    rec.position().map_or(0, |p| p.line())
}

/// Checks the header row: UTF-8, unique names.
fn parse_header(rec: &ByteRecord, path: &str) -> Result<Vec<String>, DataError> {
    let mut names: Vec<String> = Vec::with_capacity(rec.len());
    // Name → 1-based column, so a header of a million columns is checked in one pass.
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(rec.len());
    for (i, field) in rec.iter().enumerate() {
        let Ok(text) = std::str::from_utf8(field) else {
            return Err(DataError::InvalidUtf8 {
                path: path.to_string(),
                line: line_of(rec),
                column: format!("column {}", i + 1),
                value: shown(field),
            });
        };
        let text = text.trim();
        let name = if text.is_empty() {
            format!("column_{}", i + 1)
        } else {
            text.to_string()
        };
        if let Some(&first) = seen.get(&name) {
            return Err(DataError::DuplicateColumn {
                path: path.to_string(),
                column: name,
                first,
                second: i + 1,
            });
        }
        seen.insert(name.clone(), i + 1);
        names.push(name);
    }
    Ok(names)
}

/// Picks comma, semicolon or tab from the first lines of `head`.
///
/// A candidate is *consistent* when it occurs (outside quotes) the same non-zero number of
/// times on every complete line looked at. The consistent candidate with the most
/// occurrences wins; with none consistent, the one most frequent on the header line; with
/// none at all, comma (a one-column file).
pub(crate) fn detect_delimiter(head: &[u8]) -> u8 {
    const CANDIDATES: [u8; 3] = [b',', b';', b'\t'];
    let mut counts: Vec<[usize; 3]> = Vec::new();
    let mut line = [0usize; 3];
    let mut in_quotes = false;
    let mut complete = false;
    for &b in head {
        complete = false;
        match b {
            b'"' => in_quotes = !in_quotes,
            b'\n' | b'\r' if !in_quotes => {
                if line != [0; 3] || !counts.is_empty() {
                    counts.push(line);
                }
                line = [0; 3];
                complete = true;
                if counts.len() == SNIFF_LINES {
                    break;
                }
            }
            _ if !in_quotes => {
                if let Some(k) = CANDIDATES.iter().position(|&c| c == b) {
                    line[k] += 1;
                }
            }
            _ => {}
        }
    }
    // A last line without its end is counted only when it is the only one.
    if !complete && counts.is_empty() {
        counts.push(line);
    }
    // Blank lines (CR LF pairs, empty lines) say nothing.
    counts.retain(|c| *c != [0; 3]);
    let Some(header) = counts.first().copied() else {
        return b',';
    };
    let best = |ok: &dyn Fn(usize) -> bool| {
        (0..3)
            .filter(|&k| header[k] > 0 && ok(k))
            .max_by_key(|&k| (header[k], usize::MAX - k))
    };
    let consistent = |k: usize| counts.iter().all(|c| c[k] == header[k]);
    best(&consistent)
        .or_else(|| best(&|_| true))
        .map_or(b',', |k| CANDIDATES[k])
}

/// Whether the first lines of `head` write numbers with a decimal comma: never with a comma
/// delimiter (there a quoted `"1,000"` may be a thousands separator); otherwise when more
/// cells read as numbers only with a decimal comma (`5,1`) than hold a decimal point.
pub(crate) fn detect_decimal_comma(head: &[u8], delimiter: u8) -> bool {
    if delimiter == b',' {
        return false;
    }
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(head);
    let (mut comma, mut point) = (0usize, 0usize);
    let mut rec = ByteRecord::new();
    for _ in 0..SNIFF_LINES {
        if !matches!(rdr.read_byte_record(&mut rec), Ok(true)) {
            break;
        }
        for field in rec.iter() {
            match parse_number(field) {
                Num::Value(_) if field.contains(&b'.') => point += 1,
                Num::NotNumber if matches!(parse_number_with(field, true), Num::Value(_)) => comma += 1,
                _ => {}
            }
        }
    }
    comma > point
}

#[cfg(test)]
mod tests {
    use super::{detect_decimal_comma, detect_delimiter};

    #[test]
    fn detects_decimal_commas() {
        assert!(detect_decimal_comma(b"a;b;label\n5,1;3,5;0\n4,9;3;1\n", b';'));
        assert!(detect_decimal_comma(b"a;b\n\"5,1\";2\n", b';'));
        assert!(!detect_decimal_comma(b"a;b\n5.1;3.5\n", b';'));
        assert!(!detect_decimal_comma(b"a,b\n\"5,1\",2\n", b','));
        assert!(!detect_decimal_comma(b"a;b\nx,y;2\n", b';'));
    }

    #[test]
    fn detects() {
        assert_eq!(detect_delimiter(b"a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c\r\n1,5;2;3\r\n"), b';');
        assert_eq!(detect_delimiter(b"a\tb\n\"x,y\"\t2\n"), b'\t');
        assert_eq!(detect_delimiter(b"label\n1\n"), b',');
        assert_eq!(detect_delimiter(b"a;b;c"), b';');
        assert_eq!(detect_delimiter(b"a;b,c"), b',');
    }
}
