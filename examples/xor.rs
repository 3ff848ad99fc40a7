//! The smallest program that learns something: XOR with one hidden layer.
//! Run: `cargo run --release --example xor` (add `cpu` as an argument to force the CPU).

use ndarray::array;
use wgtrain::model::{Dense, Device, FitOptions, Metric, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

fn main() -> wgtrain::Result<()> {
    let device = if std::env::args().any(|a| a == "cpu") {
        Device::Cpu
    } else {
        Device::Auto
    };
    let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = array![[0.0f32], [1.0], [1.0], [0.0]];
    let mut model = Sequential::new(2)
        .add(Dense::new(8, Activation::Tanh))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(1)
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam().with_learning_rate(0.05),
            &[Metric::Accuracy],
            device,
        )?;
    model.fit(x.view(), y.view(), FitOptions::new(300, 4))?;
    let logs = model.evaluate(x.view(), y.view(), 4)?;
    println!("backend: {}", model.backend_name());
    println!("loss: {:.4}, accuracy: {:.2}", logs["loss"], logs["accuracy"]);
    println!(
        "predictions: {:?}",
        model
            .predict(x.view(), 4)?
            .iter()
            .map(|p| (p * 100.0).round() / 100.0)
            .collect::<Vec<_>>()
    );
    Ok(())
}
