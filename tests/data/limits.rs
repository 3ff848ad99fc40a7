//! Issue 14: reading stays bounded in time and memory on hostile tables: a header of a
//! million columns parses in linear time (group 5), a label with absurdly many classes is
//! refused while reading (group 6), one record longer than the limit is an error naming its
//! line (group 3).

use std::time::Instant;

use wgtrain::data::{CsvOptions, DataError, TargetKind, load_csv_reader};

/// A header of `n` feature columns and the label, and two data rows.
fn wide_csv(n: usize) -> Vec<u8> {
    let mut text = String::with_capacity(n * 16);
    for j in 0..n {
        text.push_str(&format!("c{j},"));
    }
    text.push_str("label\n");
    for row in 0..2 {
        for j in 0..n {
            text.push_str(if (j + row) % 2 == 0 { "1," } else { "0," });
        }
        text.push_str(&format!("{row}\n"));
    }
    text.into_bytes()
}

#[test]
fn a_header_of_a_million_columns_parses_in_seconds() {
    let bytes = wide_csv(1_000_000);
    let start = Instant::now();
    let opts = CsvOptions::default().test_fraction(0.0);
    let data = load_csv_reader(&bytes[..], "wide.csv", &opts).unwrap();
    let seconds = start.elapsed().as_secs_f64();
    assert_eq!(data.n_features(), 1_000_000);
    // The quadratic duplicate search took 1 495 s here; a linear one takes about one.
    assert!(seconds < 30.0, "{seconds:.1} s");
    // A duplicate among them is still found, naming both columns.
    let mut dup = wide_csv(1_000);
    dup[..3].copy_from_slice(b"c9,");
    let err = load_csv_reader(&dup[..], "dup.csv", &opts).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::DuplicateColumn {
                first: 1,
                second: 10,
                ..
            }
        ),
        "{err}"
    );
}

/// `rows` rows whose label is the row's own text value (an identifier).
fn id_labelled(rows: usize) -> String {
    let mut text = String::from("x,label\n");
    for i in 0..rows {
        text.push_str(&format!("{},id{i}\n", i % 7));
    }
    text
}

#[test]
fn a_label_with_more_classes_than_the_limit_is_refused_while_reading() {
    let text = id_labelled(50_000);
    let opts = CsvOptions::default().class_limit(1_000);
    let err = load_csv_reader(text.as_bytes(), "ids.csv", &opts).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::TooManyClasses { limit: 1_000, .. }), "{msg}");
    assert!(msg.contains("line 1002") && msg.contains("--class-limit"), "{msg}");
    // Numeric labels taken as classes have the same limit.
    let numeric: String = std::iter::once("x,label\n".to_string())
        .chain((0..5_000).map(|i| format!("{},{i}\n", i % 3)))
        .collect();
    let opts = opts.target(TargetKind::Classification);
    let err = load_csv_reader(numeric.as_bytes(), "n.csv", &opts).unwrap_err();
    assert!(matches!(err, DataError::TooManyClasses { .. }), "{err}");
}

#[test]
fn a_label_with_more_classes_than_half_the_rows_is_refused() {
    let err = load_csv_reader(id_labelled(2_000).as_bytes(), "ids.csv", &CsvOptions::default()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::TooManyClasses { .. }), "{msg}");
    assert!(msg.contains("half of the 2000 rows"), "{msg}");
    // A few classes in a tiny table are a sample, not an identifier.
    let ok = "x,label\n1,a\n2,b\n3,c\n1,a\n";
    load_csv_reader(ok.as_bytes(), "ok.csv", &CsvOptions::default().test_fraction(0.0)).unwrap();
}

/// A reader that counts the bytes taken from it.
struct Counting<R> {
    inner: R,
    taken: std::rc::Rc<std::cell::Cell<u64>>,
}

impl<R: std::io::Read> std::io::Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.taken.set(self.taken.get() + n as u64);
        Ok(n)
    }
}

#[test]
fn a_record_longer_than_the_limit_fails_after_reading_about_the_limit() {
    use std::io::Read;
    // A header, a good row, then what a crash can leave: NUL bytes without a line end.
    let taken = std::rc::Rc::new(std::cell::Cell::new(0));
    let source = Counting {
        inner: (&b"a,label\n1,0\n"[..]).chain(std::io::repeat(0).take(256 << 20)),
        taken: taken.clone(),
    };
    let opts = CsvOptions::default().max_record_bytes(1 << 20);
    let err = load_csv_reader(source, "nul.csv", &opts).unwrap_err();
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            DataError::RecordTooLong {
                line: 3,
                limit: 1048576,
                ..
            }
        ),
        "{msg}"
    );
    assert!(msg.contains("--max-record-bytes"), "{msg}");
    assert!(taken.get() < 2 << 20, "read {} bytes", taken.get());
    // The limit also holds for the header, and a file within it reads.
    let err = load_csv_reader(
        &b"abcdef,label\n1,0\n"[..],
        "h.csv",
        &CsvOptions::default().max_record_bytes(4),
    );
    assert!(matches!(err, Err(DataError::RecordTooLong { line: 1, .. })), "{err:?}");
}
