//! Issue 4, items 1–3 and 6: reading CSV (header, delimiters, quotes, BOM, CRLF, label and
//! feature columns), missing values, column types and encodings, and in-memory input.

use ndarray::{Array1, Array2, array};
use std::io::Write;
use wgtrain::data::{
    ColumnRole, CsvOptions, DataError, Dataset, Delimiter, Label, MissingPolicy, Scaling, SplitMode, TargetKind, Task,
    load_csv, load_csv_reader,
};

/// Options that keep every row, in file order, unscaled: the tensors show the raw values.
fn raw() -> CsvOptions {
    CsvOptions::default()
        .test_fraction(0.0)
        .split(SplitMode::HeadTail)
        .scaling(Scaling::None)
}

fn load(text: &str, opts: &CsvOptions) -> Result<Dataset, DataError> {
    load_csv_reader(text.as_bytes(), "t.csv", opts)
}

fn rows(a: &Array2<f32>) -> Vec<Vec<f32>> {
    a.rows().into_iter().map(|r| r.to_vec()).collect()
}

fn temp_file(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f.flush().unwrap();
    f
}

// ---- item 1: reading -------------------------------------------------------------------

#[test]
fn reads_a_file_with_header_and_label_by_name() {
    let f = temp_file(b"a,b,label\n1,2,0\n3,4,1\n");
    let d = load_csv(f.path(), &raw()).unwrap();
    assert_eq!(rows(&d.x_train), [[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(d.y_train.column(0).to_vec(), [0.0, 1.0]);
    assert_eq!(d.preprocessing.feature_names(), ["a", "b"]);
    assert_eq!(d.preprocessing.label_name(), "label");
    assert_eq!(d.report.delimiter, Some(b','));
}

#[test]
fn detects_semicolon_and_tab_delimiters() {
    for (text, delim) in [
        ("a;b;label\n1.5;2;0\n3;4;1\n", b';'),
        ("a\tb\tlabel\n1.5\t2\t0\n3\t4\t1\n", b'\t'),
    ] {
        let d = load(text, &raw()).unwrap();
        assert_eq!(d.report.delimiter, Some(delim));
        assert_eq!(d.x_train.ncols(), 2, "{text:?}");
    }
    // In a semicolon file a decimal comma is detected: "1,5" is 1.5 (issue 13) …
    let d = load("a;b;label\n1,5;2;0\n3;4;1\n", &raw()).unwrap();
    assert_eq!(rows(&d.x_train), [[1.5, 2.0], [3.0, 4.0]]);
    // … unless it is refused: then "1,5" is not a number.
    let err = load("a;b;label\n1,5;2;0\n3;4;1\n", &raw().decimal_comma(false)).unwrap_err();
    assert!(
        matches!(err, DataError::ParseNumber { line: 2, ref value, .. } if value == "1,5"),
        "{err}"
    );
}

#[test]
fn explicit_delimiter_wins() {
    let text = "a|b|label\n1|2|0\n3|4|1\n";
    let d = load(text, &raw().delimiter(Delimiter::Byte(b'|'))).unwrap();
    assert_eq!(rows(&d.x_train), [[1.0, 2.0], [3.0, 4.0]]);
}

#[test]
fn quoted_fields_bom_and_crlf() {
    let text = "\u{feff}\"a\",\"the, b\",label\r\n\"1\",\"x, y\",0\r\n2,\"say \"\"hi\"\"\",1\r\n3,\"x, y\",1\r\n";
    let f = temp_file(text.as_bytes());
    let d = load_csv(f.path(), &raw()).unwrap();
    assert_eq!(
        d.preprocessing.columns()[0].name,
        "a",
        "BOM stripped from the first name"
    );
    assert_eq!(
        d.preprocessing.feature_names(),
        ["a", "the, b=say \"hi\"", "the, b=x, y"]
    );
    assert_eq!(rows(&d.x_train), [[1.0, 0.0, 1.0], [2.0, 1.0, 0.0], [3.0, 0.0, 1.0]]);
}

#[test]
fn label_by_index_and_last() {
    let text = "y,a,b\n1,2,3\n0,5,6\n";
    let d = load(text, &raw().label(Label::Index(0))).unwrap();
    assert_eq!(rows(&d.x_train), [[2.0, 3.0], [5.0, 6.0]]);
    assert_eq!(d.y_train.column(0).to_vec(), [1.0, 0.0]);
    let d = load(text, &raw().label(Label::Last).target(TargetKind::Regression)).unwrap();
    assert_eq!(d.preprocessing.label_name(), "b");
    assert_eq!(d.y_train.column(0).to_vec(), [3.0, 6.0]);
}

#[test]
fn feature_selection_and_ignored_columns() {
    let text = "id,a,b,c,label\n7,1,2,3,0\n8,4,5,6,1\n";
    let d = load(text, &raw().feature_columns(["c", "a"])).unwrap();
    assert_eq!(d.preprocessing.feature_names(), ["a", "c"], "file order");
    assert_eq!(rows(&d.x_train), [[1.0, 3.0], [4.0, 6.0]]);
    let d = load(text, &raw().ignore_columns(["id"])).unwrap();
    assert_eq!(d.preprocessing.feature_names(), ["a", "b", "c"]);
    assert_eq!(d.preprocessing.columns()[0].role, ColumnRole::Ignored);
}

#[test]
fn blank_lines_and_spaces_are_tolerated() {
    let d = load("a , label\n 1 , 0 \n\n2,1\n", &raw()).unwrap();
    assert_eq!(rows(&d.x_train), [[1.0], [2.0]]);
    assert_eq!(d.preprocessing.feature_names(), ["a"]);
}

// ---- item 2: missing values ------------------------------------------------------------

#[test]
fn every_missing_token_drops_its_row_and_is_reported() {
    let text = "a,b,label\n1,2,0\n,2,1\nNA,2,0\nN/A,2,1\nNaN,2,0\nnan,2,1\nnull,2,0\n?,2,1\n3,4,1\n5,,0\n";
    let d = load(text, &raw()).unwrap();
    assert_eq!(rows(&d.x_train), [[1.0, 2.0], [3.0, 4.0]]);
    assert_eq!(d.report.rows_read, 10);
    assert_eq!(d.report.rows_dropped, 8);
    assert_eq!(d.report.dropped_lines, [3, 4, 5, 6, 7, 8, 9, 11]);
    assert!(d.report.to_string().contains("dropped 8"), "{}", d.report);
}

#[test]
fn a_missing_label_drops_the_row_under_every_policy() {
    for policy in [MissingPolicy::Drop, MissingPolicy::FillMean, MissingPolicy::FillZero] {
        let d = load("a,label\n1,0\n2,\n3,1\n", &raw().missing(policy)).unwrap();
        assert_eq!(d.report.rows_dropped, 1, "{policy:?}");
        assert_eq!(d.x_train.nrows(), 2);
    }
}

#[test]
fn fill_mean_uses_the_training_part_only() {
    // Head/tail: rows 1-4 train (a = 1, NA, 3, 5 → mean 3), rows 5-6 test (a = 100, NA).
    let text = "a,label\n1,0\nNA,1\n3,0\n5,1\n100,0\n,1\n";
    let opts = raw().missing(MissingPolicy::FillMean).test_fraction(1.0 / 3.0);
    let d = load(text, &opts).unwrap();
    assert_eq!(d.x_train.column(0).to_vec(), [1.0, 3.0, 3.0, 5.0]);
    assert_eq!(d.x_test.column(0).to_vec(), [100.0, 3.0]);
    assert_eq!(d.report.cells_filled, 2);
    assert_eq!(d.preprocessing.columns()[0].role, ColumnRole::Numeric { fill: 3.0 });
}

#[test]
fn fill_zero_and_missing_text_gets_no_category() {
    let text = "a,c,label\n1,red,0\n,blue,1\n3,,0\n";
    let d = load(text, &raw().missing(MissingPolicy::FillZero)).unwrap();
    assert_eq!(d.preprocessing.feature_names(), ["a", "c=blue", "c=red"]);
    assert_eq!(rows(&d.x_train), [[1.0, 0.0, 1.0], [0.0, 1.0, 0.0], [3.0, 0.0, 0.0]]);
}

// ---- item 3: types ---------------------------------------------------------------------

#[test]
fn text_columns_are_one_hot_with_sorted_categories() {
    let text = "size,color,label\n1,red,0\n2,green,1\n3,blue,0\n4,red,1\n";
    let d = load(text, &raw()).unwrap();
    assert_eq!(
        d.preprocessing.feature_names(),
        ["size", "color=blue", "color=green", "color=red"]
    );
    let cats = ColumnRole::Text {
        categories: vec!["blue".into(), "green".into(), "red".into()],
    };
    assert_eq!(d.preprocessing.columns()[1].role, cats);
    assert_eq!(rows(&d.x_train)[1], [2.0, 0.0, 1.0, 0.0]);
}

#[test]
fn text_columns_option_forces_one_hot_of_numbers() {
    let d = load("zip,label\n10,0\n20,1\n10,1\n", &raw().text_columns(["zip"])).unwrap();
    assert_eq!(d.preprocessing.feature_names(), ["zip=10", "zip=20"]);
    // For the label: classes named by their text, sorted as text.
    let d = load("a,label\n1,10\n2,9\n3,10\n", &raw().text_columns(["label"])).unwrap();
    assert_eq!(d.preprocessing.class_names(), ["10", "9"]);
    assert_eq!(d.y_train.column(0).to_vec(), [0.0, 1.0, 0.0]);
}

#[test]
fn category_limit_is_configurable() {
    let text = "c,label\na,0\nb,1\nc,0\n";
    assert!(load(text, &raw().max_categories(3)).is_ok());
    let err = load(text, &raw().max_categories(2)).unwrap_err();
    assert!(
        matches!(err, DataError::TooManyCategories { limit: 2, line: 4, .. }),
        "{err}"
    );
}

#[test]
fn text_labels_become_sorted_classes_and_decode_back() {
    let d = load("a,label\n1,yes\n2,no\n3,yes\n", &raw()).unwrap();
    assert_eq!(d.task(), Task::Binary);
    assert_eq!(d.preprocessing.class_names(), ["no", "yes"]);
    assert_eq!(d.y_train.column(0).to_vec(), [1.0, 0.0, 1.0]);
    assert_eq!(d.preprocessing.decode_labels(&[0.0, 1.0]).unwrap(), ["no", "yes"]);
    assert!(d.preprocessing.decode_labels(&[2.0]).is_err());
}

#[test]
fn numeric_labels_binary_multiclass_and_regression_are_detected() {
    let d = load("a,label\n1,1\n2,2\n3,1\n", &raw()).unwrap();
    assert_eq!(d.task(), Task::Binary);
    assert_eq!(d.preprocessing.class_names(), ["1", "2"]);
    assert_eq!(d.y_train.column(0).to_vec(), [0.0, 1.0, 0.0]);

    let d = load("a,label\n1,2\n2,0\n3,1\n4,2\n", &raw()).unwrap();
    assert_eq!(d.task(), Task::Multiclass { n_classes: 3 });
    assert_eq!(d.y_train.column(0).to_vec(), [2.0, 0.0, 1.0, 2.0]);

    let d = load("a,label\n1,0.5\n2,1.25\n3,7\n", &raw()).unwrap();
    assert_eq!(d.task(), Task::Regression);
    assert_eq!(d.y_train.column(0).to_vec(), [0.5, 1.25, 7.0]);

    // More distinct integers than max_classes: regression; forced classification still works.
    let d = load("a,label\n1,1\n2,2\n3,3\n", &raw().max_classes(2)).unwrap();
    assert_eq!(d.task(), Task::Regression);
    let d = load("a,label\n1,0.5\n2,1.5\n", &raw().target(TargetKind::Classification)).unwrap();
    assert_eq!(d.preprocessing.class_names(), ["0.5", "1.5"]);
}

#[test]
fn inf_is_rejected_not_trained_on() {
    for v in ["inf", "-inf", "Infinity", "1e39"] {
        let err = load(&format!("a,label\n1,0\n{v},1\n"), &raw()).unwrap_err();
        match err {
            DataError::NonFinite {
                line,
                ref column,
                ref value,
                ..
            } => {
                assert_eq!((line, column.as_str(), value.as_str()), (3, "a", v));
            }
            other => panic!("{v}: {other}"),
        }
    }
}

// ---- item 6: in-memory input -----------------------------------------------------------

#[test]
fn from_arrays_splits_and_scales_like_csv() {
    let text = "x0,x1,label\n1,10,0\n2,20,1\n3,30,0\n4,40,1\n5,50,0\n";
    let from_csv = load(text, &CsvOptions::default()).unwrap();
    let x = array![[1.0f32, 10.0], [2.0, 20.0], [3.0, 30.0], [4.0, 40.0], [5.0, 50.0]];
    let y = array![0.0f32, 1.0, 0.0, 1.0, 0.0];
    let from_mem = Dataset::from_arrays(x, y, &CsvOptions::default()).unwrap();
    assert_eq!(from_mem.x_train, from_csv.x_train);
    assert_eq!(from_mem.y_test, from_csv.y_test);
    assert_eq!(from_mem.preprocessing.offsets(), from_csv.preprocessing.offsets());
}

#[test]
fn from_slices_and_non_standard_layout() {
    let x = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
    let d = Dataset::from_slices(&x, 2, &[0.0, 1.0, 0.0], &raw()).unwrap();
    assert_eq!(rows(&d.x_train), [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    // A transposed (column-major) array is read by its logical rows.
    let t: Array2<f32> = array![[1.0f32, 3.0, 5.0], [2.0, 4.0, 6.0]].reversed_axes();
    let d = Dataset::from_arrays(t, Array1::from(vec![0.0, 1.0, 0.0]), &raw()).unwrap();
    assert_eq!(rows(&d.x_train), [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]);
    assert!(matches!(
        Dataset::from_slices(&x, 4, &[0.0], &raw()),
        Err(DataError::Shape { .. })
    ));
}

#[test]
fn from_arrays_missing_values_and_errors() {
    let x = array![[1.0f32, f32::NAN], [2.0, 3.0], [4.0, 5.0]];
    let d = Dataset::from_arrays(x.clone(), array![0.0, 1.0, 0.0], &raw()).unwrap();
    assert_eq!((d.report.rows_dropped, d.report.dropped_lines.clone()), (1, vec![1]));
    let d = Dataset::from_arrays(x, array![0.0, 1.0, 0.0], &raw().missing(MissingPolicy::FillMean)).unwrap();
    assert_eq!(d.x_train[[0, 1]], 4.0);
    let err = Dataset::from_arrays(array![[1.0f32], [2.0]], array![0.0, 1.0, 1.0], &raw()).unwrap_err();
    assert!(err.to_string().contains("2 rows but y has 3"), "{err}");
    let err = Dataset::from_arrays(array![[1.0f32], [f32::INFINITY]], array![0.0, 1.0], &raw()).unwrap_err();
    assert!(err.to_string().contains("<memory>:2: column `x0`"), "{err}");
}
