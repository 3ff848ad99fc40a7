//! The seed's Keras program, step by step: read a CSV, drop rows with missing values, cast to
//! f32, split 80/20, Dense(10, relu) → Dense(1, sigmoid), binary cross-entropy, Adam,
//! accuracy, 100 epochs at batch 10, then evaluate.
//!
//! Run: `cargo run --release --example seed_workflow [FILE.csv] [cpu|gpu]`
//! (default file: examples/data/seed.csv; default device: the GPU if there is one).

use std::time::Instant;

use wgtrain::data::{CsvOptions, MissingPolicy, Scaling, load_csv};
use wgtrain::model::{Dense, Device, FitOptions, Metric, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

fn main() -> wgtrain::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args
        .iter()
        .find(|a| a.ends_with(".csv"))
        .cloned()
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/seed.csv").to_string());
    let device = match args.iter().find(|a| *a == "cpu" || *a == "gpu").map(String::as_str) {
        Some("cpu") => Device::Cpu,
        Some(_) => Device::Gpu(Default::default()),
        None => Device::Auto,
    };

    // df.dropna(); df.astype('float32'); train_test_split(test_size=0.2). No scaling: the seed
    // program feeds the raw columns (the `wgtrain` command standardizes by default).
    let options = CsvOptions::default()
        .missing(MissingPolicy::Drop)
        .test_fraction(0.2)
        .seed(42)
        .scaling(Scaling::None);
    let data = load_csv(&path, &options)?;
    println!("{}", data.report);

    // Sequential([Dense(10, relu), Dense(1, sigmoid)])
    let mut model = Sequential::new(data.n_features())
        .add(Dense::new(10, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[Metric::Accuracy],
            device,
        )?;
    println!("{}", model.summary(10));

    // model.fit(X_train, y_train, epochs=100, batch_size=10)
    let start = Instant::now();
    model.fit(data.x_train.view(), data.y_train.view(), FitOptions::new(100, 10))?;
    let seconds = start.elapsed().as_secs_f64();

    // loss, accuracy = model.evaluate(X_test, y_test)
    let logs = model.evaluate(data.x_test.view(), data.y_test.view(), 32)?;
    println!("Backend: {}", model.backend_name());
    println!(
        "Fit time: {seconds:.2} s ({:.0} samples/s)",
        100.0 * data.x_train.nrows() as f64 / seconds
    );
    println!("Loss: {:.4}", logs["loss"]);
    println!("Accuracy: {:.4}", logs["accuracy"]);
    Ok(())
}
