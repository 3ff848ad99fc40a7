//! Issue 4, item 7: every data error is typed and its message names the file and, where
//! there is one, the line, the column and the offending value.

use std::io::Write;
use wgtrain::data::{CsvOptions, DataError, Preprocessing, load_csv, load_csv_reader};

fn file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

/// Loads `bytes` from a real file; returns the error and the file's path as shown.
fn fail(bytes: &[u8], opts: &CsvOptions) -> (DataError, String) {
    let f = file(bytes);
    let err = load_csv(f.path(), opts).expect_err("loading should fail");
    (err, f.path().display().to_string())
}

/// Asserts that the message contains every piece.
fn names(err: &DataError, pieces: &[&str]) {
    let msg = err.to_string();
    for p in pieces {
        assert!(msg.contains(p), "message {msg:?} lacks {p:?}");
    }
}

#[test]
fn the_crate_error_shows_the_same_message() {
    let err = load_csv_reader(&b"a,label\n1,x\n"[..], "in.csv", &CsvOptions::default()).unwrap_err();
    let text = err.to_string();
    let wide: wgtrain::Error = err.into();
    assert_eq!(wide.to_string(), text);
}

#[test]
fn file_not_found() {
    let err = load_csv("/definitely/not/here.csv", &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::NotFound { .. }));
    names(&err, &["/definitely/not/here.csv", "not found"]);
}

#[test]
fn file_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_csv(dir.path(), &CsvOptions::default()).unwrap_err();
    assert!(matches!(err, DataError::Io { .. }), "{err}");
    names(&err, &[&dir.path().display().to_string(), "cannot read"]);
}

#[test]
fn empty_file() {
    for bytes in [&b""[..], b"\xEF\xBB\xBF", b"\n\n"] {
        let (err, path) = fail(bytes, &CsvOptions::default());
        assert!(matches!(err, DataError::Empty { .. }), "{bytes:?}: {err}");
        names(&err, &[&path, "empty"]);
    }
}

#[test]
fn header_only() {
    let (err, path) = fail(b"a,b,label\r\n", &CsvOptions::default());
    assert!(matches!(err, DataError::HeaderOnly { .. }), "{err}");
    names(&err, &[&path, "header row but no data rows"]);
}

#[test]
fn row_with_a_different_number_of_fields() {
    let (err, path) = fail(b"a,b,label\n1,2,0\n3,4,1\n5,6\n", &CsvOptions::default());
    assert!(
        matches!(
            err,
            DataError::FieldCount {
                line: 4,
                expected: 3,
                found: 2,
                ..
            }
        ),
        "{err}"
    );
    names(&err, &[&format!("{path}:4:"), "2 fields", "header has 3"]);
}

#[test]
fn label_column_missing_lists_the_columns() {
    let (err, path) = fail(b"a,b,class\n1,2,0\n", &CsvOptions::default());
    assert!(matches!(err, DataError::LabelNotFound { .. }), "{err}");
    names(&err, &[&path, "`label`", "`a`, `b`, `class`"]);
    let (err, _) = fail(b"a,b\n1,2\n", &CsvOptions::default().label_index(5));
    names(&err, &["index 5", "`a`, `b`"]);
}

#[test]
fn number_that_does_not_parse() {
    let rows: String = (0..20).map(|i| format!("{i},{i},0\n")).collect();
    let text = format!("a,b,label\n{rows}7,12.5.1,1\n");
    let (err, path) = fail(text.as_bytes(), &CsvOptions::default());
    assert!(matches!(err, DataError::ParseNumber { line: 22, .. }), "{err}");
    names(
        &err,
        &[&format!("{path}:22:"), "column `b`", "`12.5.1`", "not a number"],
    );
}

#[test]
fn number_that_is_infinite() {
    let (err, path) = fail(b"a,label\n1,0\n-inf,1\n", &CsvOptions::default());
    assert!(matches!(err, DataError::NonFinite { line: 3, .. }), "{err}");
    names(&err, &[&format!("{path}:3:"), "column `a`", "`-inf`"]);
}

#[test]
fn every_row_dropped_as_missing() {
    let (err, path) = fail(b"a,b,label\n1,,0\nNA,2,1\n", &CsvOptions::default());
    assert!(
        matches!(
            err,
            DataError::AllRowsDropped {
                rows: 2,
                first_line: 2,
                ..
            }
        ),
        "{err}"
    );
    names(&err, &[&path, "all 2 rows", "line 2", "FillMean"]);
}

#[test]
fn label_with_a_single_class() {
    let (err, path) = fail(b"a,label\n1,yes\n2,yes\n3,\n", &CsvOptions::default());
    assert!(matches!(err, DataError::SingleClass { .. }), "{err}");
    names(&err, &[&path, "column `label`", "single class `yes`"]);
    let (err, _) = fail(b"a,label\n1,1\n2,1\n", &CsvOptions::default());
    names(&err, &["single class `1`"]);
}

#[test]
fn invalid_utf8() {
    let (err, path) = fail(b"a,c,label\n1,caf\xe9,0\n", &CsvOptions::default().text_columns(["c"]));
    assert!(matches!(err, DataError::InvalidUtf8 { line: 2, .. }), "{err}");
    names(&err, &[&format!("{path}:2:"), "column `c`", "caf\u{fffd}"]);
    let (err, path) = fail(b"a,\xff\xfe,label\n1,2,0\n", &CsvOptions::default());
    names(&err, &[&format!("{path}:1:"), "column `column 2`"]);
    let (err, _) = fail(b"a,label\n1\xff,0\n2,1\n", &CsvOptions::default());
    assert!(matches!(err, DataError::InvalidUtf8 { line: 2, .. }), "{err}");
}

#[test]
fn split_that_leaves_an_empty_side() {
    let text = b"a,label\n1,0\n2,1\n3,0\n";
    let (err, path) = fail(text, &CsvOptions::default().test_fraction(0.1));
    assert!(
        matches!(
            err,
            DataError::EmptySplit {
                side: "test",
                rows: 3,
                ..
            }
        ),
        "{err}"
    );
    names(&err, &[&path, "0.1", "3 rows", "test side empty"]);
    let (err, _) = fail(text, &CsvOptions::default().test_fraction(0.9));
    names(&err, &["train side empty"]);
    // 0 is "no test part", not an error.
    let f = file(text);
    assert_eq!(
        load_csv(f.path(), &CsvOptions::default().test_fraction(0.0))
            .unwrap()
            .x_test
            .nrows(),
        0
    );
}

#[test]
fn too_many_categories() {
    let rows: String = (0..70).map(|i| format!("1,v{i},0\n1,v{i},1\n")).collect();
    let (err, path) = fail(format!("a,c,label\n{rows}").as_bytes(), &CsvOptions::default());
    assert!(
        matches!(
            err,
            DataError::TooManyCategories {
                limit: 64,
                line: 130,
                ..
            }
        ),
        "{err}"
    );
    names(&err, &[&format!("{path}:130:"), "column `c`", "more than 64", "`v64`"]);
}

#[test]
fn options_that_name_absent_or_duplicate_columns() {
    let (err, path) = fail(b"a,b,label\n1,2,0\n", &CsvOptions::default().ignore_columns(["id"]));
    assert!(matches!(err, DataError::ColumnNotFound { .. }), "{err}");
    names(&err, &[&path, "`id`", "ignore_columns", "`a`, `b`, `label`"]);
    let (err, path) = fail(b"a,b,a,label\n1,2,3,0\n", &CsvOptions::default());
    assert!(
        matches!(
            err,
            DataError::DuplicateColumn {
                first: 1,
                second: 3,
                ..
            }
        ),
        "{err}"
    );
    names(&err, &[&format!("{path}:1:"), "`a`"]);
    let (err, path) = fail(b"label\n1\n0\n", &CsvOptions::default());
    assert!(matches!(err, DataError::NoFeatures { .. }), "{err}");
    names(&err, &[&path, "no feature columns"]);
    let (err, _) = fail(b"a,label\n1,0\n", &CsvOptions::default().test_fraction(1.5));
    assert!(matches!(err, DataError::InvalidArgument { .. }), "{err}");
    names(&err, &["test fraction", "1.5"]);
}

#[test]
fn new_data_that_does_not_fit_the_preprocessing() {
    let train = b"a,c,label\n1,red,no\n2,blue,yes\n3,red,yes\n";
    let opts = CsvOptions::default().test_fraction(0.0);
    let pre = load_csv_reader(&train[..], "train.csv", &opts).unwrap().preprocessing;
    let err = pre.transform_reader(&b"c,z\nred,1\n"[..], "new.csv").unwrap_err();
    assert!(matches!(err, DataError::ColumnMismatch { .. }), "{err}");
    names(&err, &["new.csv", "missing [`a`]", "unexpected [`z`]"]);
    let err = pre
        .transform_reader(&b"a,c\n1,red\n2,green\n"[..], "new.csv")
        .unwrap_err();
    assert!(matches!(err, DataError::UnknownCategory { line: 3, .. }), "{err}");
    names(&err, &["new.csv:3:", "column `c`", "`green`", "`blue`, `red`"]);
    let err = pre
        .transform_reader(&b"a,c,label\n1,red,maybe\n"[..], "new.csv")
        .unwrap_err();
    assert!(matches!(err, DataError::UnknownClass { line: 2, .. }), "{err}");
    names(&err, &["new.csv:2:", "column `label`", "`maybe`", "`no`, `yes`"]);
}

#[test]
fn corrupt_metadata() {
    for text in [
        "",
        "{",
        "[]",
        "{\"format\": \"other\"}",
        "{\"format\": \"wgtrain-preprocessing\", \"version\": 9}",
    ] {
        let err = Preprocessing::from_json(text).unwrap_err();
        assert!(matches!(err, DataError::Metadata { .. }), "{text}: {err}");
    }
}
