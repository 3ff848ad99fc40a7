//! Issue 4, items 4 and 5 (split and scaling, the stored preprocessing applied to new data),
//! and the example data set `examples/data/seed.csv`.

use ndarray::{Array2, Axis, array};
use wgtrain::data::{
    CsvOptions, DataError, Dataset, MissingPolicy, Preprocessing, Scaling, SplitMode, Task, load_csv, load_csv_reader,
};

/// 100 rows: `a` = row index, `b` = text, label 0 for 70 rows and 1 for 30.
fn table() -> String {
    let mut s = String::from("a,b,label\n");
    for i in 0..100 {
        s += &format!("{i},{},{}\n", ["x", "y", "z"][i % 3], u8::from(i % 10 < 3));
    }
    s
}

fn load(text: &str, opts: &CsvOptions) -> Dataset {
    load_csv_reader(text.as_bytes(), "t.csv", opts).unwrap()
}

/// The raw `a` values of the rows (unscaled options).
fn ids(x: &Array2<f32>) -> Vec<f32> {
    x.column(0).to_vec()
}

// ---- item 4: splitting -----------------------------------------------------------------

#[test]
fn shuffled_split_is_seeded_and_complete() {
    let opts = CsvOptions::default().scaling(Scaling::None);
    let a = load(&table(), &opts);
    let b = load(&table(), &opts);
    assert_eq!(a, b, "same seed, same split");
    assert_eq!((a.x_train.nrows(), a.x_test.nrows()), (80, 20));
    let c = load(&table(), &opts.clone().seed(7));
    assert_ne!(ids(&a.x_test), ids(&c.x_test), "another seed, another split");
    let mut all: Vec<f32> = ids(&a.x_train).into_iter().chain(ids(&a.x_test)).collect();
    all.sort_by(f32::total_cmp);
    assert_eq!(all, (0..100).map(|i| i as f32).collect::<Vec<_>>(), "every row once");
    assert_ne!(
        ids(&a.x_train)[..10],
        (0..10).map(|i| i as f32).collect::<Vec<_>>()[..],
        "shuffled"
    );
    // Labels travel with their rows.
    for (x, y) in a.x_train.rows().into_iter().zip(a.y_train.column(0)) {
        assert_eq!(*y, f32::from(u8::from((x[0] as usize) % 10 < 3)));
    }
}

#[test]
fn head_tail_split_keeps_file_order() {
    let d = load(
        &table(),
        &CsvOptions::default()
            .scaling(Scaling::None)
            .split(SplitMode::HeadTail)
            .test_fraction(0.25),
    );
    assert_eq!(ids(&d.x_train), (0..75).map(|i| i as f32).collect::<Vec<_>>());
    assert_eq!(ids(&d.x_test), (75..100).map(|i| i as f32).collect::<Vec<_>>());
}

#[test]
fn stratified_split_keeps_class_proportions() {
    let opts = CsvOptions::default()
        .scaling(Scaling::None)
        .split(SplitMode::Stratified)
        .test_fraction(0.2);
    let d = load(&table(), &opts);
    let ones = |y: &Array2<f32>| y.iter().filter(|&&v| v == 1.0).count();
    assert_eq!((ones(&d.y_train), d.y_train.nrows()), (24, 80));
    assert_eq!((ones(&d.y_test), d.y_test.nrows()), (6, 20));
    assert_eq!(d, load(&table(), &opts), "seeded");
    let err = load_csv_reader("a,label\n1,0.5\n2,1.5\n3,2.5\n".as_bytes(), "r.csv", &opts).unwrap_err();
    assert!(matches!(err, DataError::InvalidArgument { .. }), "{err}");
}

// ---- item 5: scaling and the stored transformation -------------------------------------

#[test]
fn standardization_is_fitted_on_the_training_part() {
    let d = load(&table(), &CsvOptions::default());
    let mean = d.x_train.mean_axis(Axis(0)).unwrap();
    let std = d.x_train.std_axis(Axis(0), 0.0);
    assert!(mean[0].abs() < 1e-5 && (std[0] - 1.0).abs() < 1e-5, "{mean} {std}");
    assert!(
        d.x_test.column(0).mean().unwrap().abs() > 1e-3,
        "test part not refitted"
    );
    // One-hot columns stay 0/1.
    assert!(
        d.x_train
            .slice(ndarray::s![.., 1..])
            .iter()
            .all(|&v| v == 0.0 || v == 1.0)
    );
    assert_eq!(d.preprocessing.scales()[1..], [1.0, 1.0, 1.0]);
}

#[test]
fn min_max_and_none() {
    let d = load(&table(), &CsvOptions::default().scaling(Scaling::MinMax));
    let col = d.x_train.column(0);
    assert_eq!(col.iter().cloned().fold(f32::INFINITY, f32::min), 0.0);
    assert_eq!(col.iter().cloned().fold(f32::NEG_INFINITY, f32::max), 1.0);
    let d = load(&table(), &CsvOptions::default().scaling(Scaling::None));
    assert!(d.x_train.column(0).iter().all(|v| v.fract() == 0.0));
}

#[test]
fn json_round_trip_is_exact() {
    for missing in [MissingPolicy::Drop, MissingPolicy::FillMean, MissingPolicy::FillZero] {
        for scaling in [Scaling::Standard, Scaling::MinMax, Scaling::None] {
            let d = load(&table(), &CsvOptions::default().missing(missing).scaling(scaling));
            let json = d.preprocessing.to_json();
            assert_eq!(Preprocessing::from_json(&json).unwrap(), d.preprocessing, "{json}");
        }
    }
    // Awkward names survive too.
    let d = load(
        "\"we\"\"ird\\\",c,label\n1,\"é\n😀\",b\n2,x,a\n",
        &CsvOptions::default().test_fraction(0.0),
    );
    assert_eq!(
        Preprocessing::from_json(&d.preprocessing.to_json()).unwrap(),
        d.preprocessing
    );
}

#[test]
fn transform_applies_exactly_the_training_transformation() {
    let opts = CsvOptions::default()
        .split(SplitMode::HeadTail)
        .missing(MissingPolicy::FillMean);
    let mut text = table();
    text.replace_range(text.find("\n5,").unwrap() + 1..text.find("\n6,").unwrap(), "NA,z,0");
    let d = load(&text, &opts);
    let stored = Preprocessing::from_json(&d.preprocessing.to_json()).unwrap();
    // The test rows again, columns in another order and an extra ignored-at-training label.
    let mut new = String::from("label,b,a\n");
    for line in text.lines().skip(81) {
        let f: Vec<&str> = line.split(',').collect();
        new += &format!("{},{},{}\n", f[2], f[1], f[0]);
    }
    let out = stored.transform_reader(new.as_bytes(), "new.csv").unwrap();
    assert_eq!(out.x, d.x_test, "bit-identical features");
    assert_eq!(out.y.unwrap(), d.y_test);
    // The training rows, including the filled one, through records.
    let rows: Vec<Vec<String>> = text
        .lines()
        .skip(1)
        .take(80)
        .map(|l| l.split(',').map(str::to_string).collect())
        .collect();
    let out = stored.transform_records(&["a", "b", "label"], &rows).unwrap();
    assert_eq!(out.x, d.x_train);
}

#[test]
fn transform_array_and_dropped_rows() {
    let x = array![[1.0f32, 2.0], [2.0, 4.0], [3.0, 7.0], [4.0, 8.0]];
    let opts = CsvOptions::default().test_fraction(0.0).split(SplitMode::HeadTail);
    let d = Dataset::from_arrays(x.clone(), array![0.0f32, 1.0, 0.0, 1.0], &opts).unwrap();
    let out = d.preprocessing.transform_array(x.view()).unwrap();
    assert_eq!(out.x, d.x_train);
    let out = d
        .preprocessing
        .transform_array(array![[f32::NAN, 1.0], [1.0, 1.0]].view())
        .unwrap();
    assert_eq!((out.x.nrows(), out.dropped_lines), (1, vec![1]));
    assert!(d.preprocessing.transform_array(array![[1.0f32]].view()).is_err());
}

// ---- the example data set --------------------------------------------------------------

#[test]
fn seed_csv_loads_and_is_learnable() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv");
    let d = load_csv(path, &CsvOptions::default()).unwrap();
    assert_eq!((d.report.rows_read, d.report.rows_dropped), (768, 12));
    assert_eq!((d.x_train.dim(), d.x_test.dim()), ((605, 8), (151, 8)));
    assert_eq!(d.task(), Task::Binary);

    // Logistic regression by full-batch gradient descent: a linear model should land in the
    // 70-85 % band that the data set is built for.
    let (x, y) = (&d.x_train, d.y_train.column(0));
    let mut w = vec![0.0f32; 8];
    let mut b = 0.0f32;
    for _ in 0..300 {
        let mut dw = vec![0.0f32; 8];
        let mut db = 0.0f32;
        for (row, &t) in x.rows().into_iter().zip(y) {
            let z: f32 = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + b;
            let err = 1.0 / (1.0 + (-z).exp()) - t;
            dw.iter_mut().zip(row).for_each(|(g, a)| *g += err * a);
            db += err;
        }
        let n = x.nrows() as f32;
        w.iter_mut().zip(&dw).for_each(|(w, g)| *w -= 0.5 * g / n);
        b -= 0.5 * db / n;
    }
    let correct = d
        .x_test
        .rows()
        .into_iter()
        .zip(d.y_test.column(0))
        .filter(|(row, t)| {
            let z: f32 = row.iter().zip(&w).map(|(a, b)| a * b).sum::<f32>() + b;
            (z > 0.0) == (**t == 1.0)
        })
        .count();
    let accuracy = correct as f64 / d.x_test.nrows() as f64;
    assert!((0.70..0.88).contains(&accuracy), "test accuracy {accuracy}");
}
