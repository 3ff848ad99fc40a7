//! Issue 4, item 7 ("never a panic"): random bytes and random mutations of a valid CSV fed
//! to the reader under random options, and random text fed to the metadata reader, must give
//! a value or an error, never a panic. Whatever loads must be well formed: consistent shapes,
//! finite values, a preprocessing that round-trips through JSON and re-reads the same file.
//!
//! Cases per property default to 2 000 (CI); `PROPTEST_CASES=50000` runs more.

use proptest::prelude::*;
use wgtrain::data::{
    CsvOptions, Dataset, Delimiter, Label, MissingPolicy, Preprocessing, Scaling, SplitMode, TargetKind,
    load_csv_reader,
};

fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// A valid CSV with the features the reader handles: quotes, text, missing cells, CRLF
/// (cells as written, joined by `;`, rows by CRLF).
const VALID: &[[&str; 5]] = &[
    ["id", "\"size\"", "color", "weight", "label"],
    ["1", "1.5", "red", "NA", "yes"],
    ["2", "-2e3", "\"blue; dark\"", "7", "no"],
    ["3", "", "red", "8.25", "yes"],
    ["4", "0.001", "green", "9", "no"],
    ["5", "12", "\"say \"\"hi\"\"\"", "?", "maybe"],
    ["6", "3", "red", "10", "yes"],
    ["7", "4", "green", "11", "no"],
    ["8", "5.5", "red", "12", "yes"],
    ["9", "6", "\"blue; dark\"", "13", "no"],
    ["10", "7e-3", "red", "14", "maybe"],
    ["11", "8", "green", "15.5", "no"],
    ["12", "9", "red", "16", "yes"],
];

/// Replacement cells that fit a numeric column, the text column, the label.
const NUMBERS: &[&str] = &[
    "1", "-2.5", "0", "3e5", "NA", "", "?", "null", "N/A", " 7 ", "nan", "+4", ".5",
];
const COLORS: &[&str] = &["red", "blue", "\"q;uoted\"", "", "NA", "\"\"", "1"];
const LABELS: &[&str] = &["yes", "no", "maybe", "", "?", "\"yes\""];

/// Replacement cells: numbers, missing tokens, categories, quoting, bad values.
const CELLS: &[&str] = &[
    "1",
    "-2.5",
    "0",
    "3e5",
    "NA",
    "",
    "?",
    "null",
    "N/A",
    "red",
    "blue",
    "yes",
    "no",
    "maybe",
    "inf",
    "1e39",
    "\"q;uoted\"",
    "\"",
    "caf\u{e9}",
    " 7 ",
    "nan",
    "label",
    "size",
];

/// Renders a grid of cells.
fn render(grid: &[Vec<&str>]) -> Vec<u8> {
    grid.iter()
        .map(|row| row.join(";") + "\r\n")
        .collect::<String>()
        .into_bytes()
}

/// The valid CSV as bytes.
fn valid() -> Vec<u8> {
    render(&VALID.iter().map(|r| r.to_vec()).collect::<Vec<_>>())
}

/// Bytes that tend to matter to a CSV reader.
const SPICE: &[&[u8]] = &[
    b",",
    b";",
    b"\t",
    b"\"",
    b"\n",
    b"\r\n",
    b"\r",
    b"NA",
    b"?",
    b"inf",
    b"-",
    b"1e39",
    b"\xEF\xBB\xBF",
    b"\xff",
    b"\xc3",
    b"label",
    b"nan",
    b" ",
    b"",
    b"0",
    b"1",
    b"12345678901234567890",
];

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        2 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        3 => (any::<usize>(), 0..SPICE.len()).prop_map(|(i, k)| Mutation::Insert(i, k)),
        2 => (any::<usize>(), 1usize..12).prop_map(|(i, n)| Mutation::Delete(i, n)),
        2 => (any::<usize>(), 1usize..40).prop_map(|(i, n)| Mutation::Duplicate(i, n)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
    match *m {
        Mutation::Flip(i, b) if !bytes.is_empty() => {
            let i = i % bytes.len();
            bytes[i] = b;
        }
        Mutation::Flip(..) => {}
        Mutation::Insert(i, k) => {
            let i = at(i, bytes.len());
            bytes.splice(i..i, SPICE[k].iter().copied());
        }
        Mutation::Delete(i, n) => {
            let i = at(i, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Mutation::Duplicate(i, n) => {
            let i = at(i, bytes.len());
            let end = (i + n).min(bytes.len());
            let chunk = bytes[i..end].to_vec();
            bytes.splice(i..i, chunk);
        }
        Mutation::Truncate(i) => bytes.truncate(at(i, bytes.len())),
    }
}

fn options() -> impl Strategy<Value = CsvOptions> {
    (
        prop_oneof![6 => Just(Delimiter::Auto), 2 => Just(Delimiter::Byte(b';')), 1 => Just(Delimiter::Byte(b','))],
        prop_oneof![4 => Just(Label::default()), 1 => Just(Label::Last), 1 => (0usize..5).prop_map(Label::Index)],
        prop_oneof![Just(MissingPolicy::Drop), Just(MissingPolicy::FillMean), Just(MissingPolicy::FillZero)],
        prop_oneof![Just(SplitMode::Shuffled), Just(SplitMode::HeadTail), Just(SplitMode::Stratified)],
        prop_oneof![Just(Scaling::Standard), Just(Scaling::MinMax), Just(Scaling::None)],
        prop_oneof![4 => Just(TargetKind::Auto), 1 => Just(TargetKind::Classification), 1 => Just(TargetKind::Regression)],
        prop_oneof![2 => Just(0.0), 4 => Just(0.2), 2 => Just(0.5), 1 => Just(0.99)],
        prop_oneof![1 => 1usize..4, 4 => 4usize..80],
        any::<u64>(),
        // The bounds of issue 14: a short record limit and a small class limit now and then.
        (
            prop_oneof![6 => Just(wgtrain::data::DEFAULT_MAX_RECORD_BYTES), 1 => 1usize..64],
            prop_oneof![6 => Just(wgtrain::data::DEFAULT_CLASS_LIMIT), 1 => 2usize..5],
        ),
    )
        .prop_map(|(delim, label, missing, split, scaling, target, frac, max_cat, seed, (record, classes))| {
            CsvOptions::default()
                .delimiter(delim)
                .label(label)
                .missing(missing)
                .split(split)
                .scaling(scaling)
                .target(target)
                .test_fraction(frac)
                .max_categories(max_cat)
                .seed(seed)
                .max_record_bytes(record)
                .class_limit(classes)
        })
}

/// Loads, and checks what loaded.
fn check(bytes: &[u8], opts: &CsvOptions) {
    let Ok(d) = load_csv_reader(bytes, "fuzz.csv", opts) else {
        return;
    };
    check_dataset(&d);
    let pre = Preprocessing::from_json(&d.preprocessing.to_json()).expect("own JSON reads back");
    assert_eq!(pre, d.preprocessing);
    let _ = pre.transform_reader(bytes, "fuzz.csv");
}

fn check_dataset(d: &Dataset) {
    let width = d.preprocessing.n_features();
    assert_eq!(d.x_train.ncols(), width);
    assert_eq!(d.x_test.ncols(), width);
    assert_eq!(d.x_train.nrows(), d.y_train.nrows());
    assert_eq!(d.x_test.nrows(), d.y_test.nrows());
    assert!(d.x_train.nrows() > 0);
    assert_eq!(
        d.report.train_rows + d.report.test_rows + d.report.rows_dropped,
        d.report.rows_read
    );
    assert!(
        d.x_train
            .iter()
            .chain(&d.x_test)
            .chain(&d.y_train)
            .chain(&d.y_test)
            .all(|v| v.is_finite())
    );
    if let Some(n) = d.task().n_classes() {
        assert!(
            d.y_train
                .iter()
                .chain(&d.y_test)
                .all(|&c| c >= 0.0 && c < n as f32 && c.fract() == 0.0)
        );
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), opts in options()) {
        check(&bytes, &opts);
    }

    #[test]
    fn mutated_csv_never_panics(
        cells in proptest::collection::vec((0..VALID.len(), 0usize..5, any::<usize>(), prop::bool::weighted(0.1)), 0..6),
        edits in prop_oneof![2 => Just(Vec::new()), 1 => proptest::collection::vec(mutation(), 1..4)],
        opts in options(),
    ) {
        let mut grid: Vec<Vec<&str>> = VALID.iter().map(|r| r.to_vec()).collect();
        for &(r, c, v, wild) in &cells {
            let pool = match c {
                _ if wild => CELLS,
                _ if r == 0 => continue,
                2 => COLORS,
                4 => LABELS,
                _ => NUMBERS,
            };
            grid[r][c] = pool[v % pool.len()];
        }
        let mut bytes = render(&grid);
        for m in &edits {
            apply(&mut bytes, m);
        }
        check(&bytes, &opts);
    }

    #[test]
    fn random_metadata_never_panics(edits in proptest::collection::vec(mutation(), 0..6), junk in ".{0,40}") {
        let d = load_csv_reader(&valid()[..], "v.csv", &CsvOptions::default().test_fraction(0.0)).unwrap();
        let mut bytes = d.preprocessing.to_json().into_bytes();
        for m in &edits {
            apply(&mut bytes, m);
        }
        let _ = Preprocessing::from_json(&String::from_utf8_lossy(&bytes));
        let _ = Preprocessing::from_json(&junk);
    }
}

#[test]
fn the_valid_csv_loads() {
    let d = load_csv_reader(&valid()[..], "v.csv", &CsvOptions::default().ignore_columns(["id"])).unwrap();
    assert_eq!(d.report.rows_dropped, 3);
    assert_eq!(d.preprocessing.class_names(), ["maybe", "no", "yes"]);
    check_dataset(&d);
}
