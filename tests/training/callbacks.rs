//! Callbacks through a real `fit`: their Keras semantics, what they do to the model (weights,
//! optimizer state, step count, plan), and the files they write.

use ndarray::Array2;
use wgtrain::Error;
use wgtrain::model::{
    Callback, Control, CsvLogger, EarlyStopping, EpochLogger, FitOptions, Logs, Model, ModelCheckpoint, ModelFile,
    ReduceLrOnPlateau, Sequential,
};
use wgtrain::model::{Dense, Metric};
use wgtrain::nn::{Activation, Loss, Optimizer};

use crate::common::harness::TestDevice;
use crate::common::{Rng, flatten_weights};

const BCE: Loss = Loss::BinaryCrossentropy { from_logits: false };

fn data(rows: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let x = Array2::from_shape_vec((rows, 2), rng.vec(rows * 2, -1.0, 1.0)).unwrap();
    let y = x
        .map_axis(ndarray::Axis(1), |r| f32::from(r[0] * r[1] > 0.0))
        .insert_axis(ndarray::Axis(1));
    (x, y)
}

fn model(d: TestDevice, optimizer: Optimizer) -> Model {
    Sequential::new(2)
        .seed(3)
        .add(Dense::new(6, Activation::Tanh))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(BCE, optimizer, &[Metric::Accuracy], d.device())
        .unwrap()
}

/// Evaluates on a few rows after every epoch (another batch size than training's).
struct EvaluateEachEpoch(Array2<f32>, Array2<f32>);

impl Callback for EvaluateEachEpoch {
    fn on_epoch_end(&mut self, model: &mut Model, _epoch: usize, _logs: &Logs) -> wgtrain::Result<Control> {
        model.evaluate(self.0.view(), self.1.view(), 5)?;
        model.predict(self.0.view(), 3)?;
        Ok(Control::Continue)
    }
}

/// A callback that evaluates or predicts at another batch size does not change how training
/// goes on: the same steps, the same weights as without it.
pub fn evaluating_inside_a_callback_leaves_training_unchanged(d: TestDevice) {
    let (x, y) = data(64, 1);
    let (vx, vy) = data(5, 2);
    let mut plain = model(d, Optimizer::adam());
    plain.fit(x.view(), y.view(), FitOptions::new(3, 16)).unwrap();
    let mut watched = model(d, Optimizer::adam());
    let options = FitOptions::new(3, 16).callback(EvaluateEachEpoch(vx, vy));
    watched.fit(x.view(), y.view(), options).unwrap();
    assert_eq!(watched.steps(), 12, "{d:?}: 3 epochs of 64 rows at 16");
    assert_eq!(plain.steps(), watched.steps());
    assert_eq!(
        flatten_weights(plain.weights().unwrap()),
        flatten_weights(watched.weights().unwrap()),
        "{d:?}"
    );
}

/// A diverged epoch is undone as a whole: weights, optimizer state and step count are those
/// of the last good epoch, so training can go on (or the model be saved) from there.
pub fn a_diverged_epoch_rolls_back_weights_optimizer_state_and_steps(d: TestDevice) {
    let (x, y) = data(40, 3);
    let mut m = Sequential::new(2)
        .add(Dense::new(8, Activation::Relu))
        .add(Dense::new(1, Activation::Linear))
        .compile(
            Loss::MeanSquaredError,
            Optimizer::adam().with_learning_rate(1e3),
            &[],
            d.device(),
        )
        .unwrap();
    let y_big = y.mapv(|v| v * 1e30);
    let err = m.fit(x.view(), y_big.view(), FitOptions::new(50, 10)).unwrap_err();
    let Error::Diverged { epoch, .. } = err else {
        panic!("{d:?}: expected Diverged, got {err:?}")
    };
    assert_eq!(
        m.epochs_trained(),
        (epoch - 1) as u64,
        "{d:?}: the diverged epoch does not count"
    );
    assert_eq!(
        m.steps(),
        4 * (epoch as u64 - 1),
        "{d:?}: steps of the good epochs only"
    );
    assert!(flatten_weights(m.weights().unwrap()).iter().all(|v| v.is_finite()));
    for slot in m.optimizer_state().unwrap() {
        assert!(
            slot.iter().all(|v| v.is_finite()),
            "{d:?}: optimizer state rolled back too"
        );
    }
}

/// A monitor that the logs will never hold (val_loss without validation data) is refused
/// before any step is taken.
pub fn a_monitor_the_logs_will_not_hold_is_refused_before_training() {
    let (x, y) = data(20, 4);
    let mut m = model(TestDevice::Cpu, Optimizer::adam());
    for options in [
        FitOptions::new(5, 10).early_stopping(EarlyStopping::new("val_loss")),
        FitOptions::new(5, 10).reduce_lr(ReduceLrOnPlateau::new("val_accuracy")),
        FitOptions::new(5, 10).callback(ModelCheckpoint::new("never.safetensors").save_best_only("val_loss")),
    ] {
        match m.fit(x.view(), y.view(), options) {
            Err(Error::InvalidArgument { what, detail }) => {
                assert_eq!(what, "callback monitor");
                assert!(detail.contains("validation"), "{detail}");
            }
            other => panic!("expected the monitor to be refused, got {other:?}"),
        }
        assert_eq!(m.steps(), 0, "refused before training");
    }
}

/// EarlyStopping with restore_best_weights: training stops, and the weights at the end are
/// the best epoch's (their validation loss equals the best one logged).
pub fn early_stopping_restores_the_best_epochs_weights(d: TestDevice) {
    let (x, y) = data(60, 5);
    let (vx, vy) = data(30, 6);
    // A learning rate so large that the validation loss soon gets worse.
    let mut m = model(d, Optimizer::sgd().with_learning_rate(8.0));
    let es = EarlyStopping::new("val_loss").patience(2).restore_best_weights(true);
    let history = m
        .fit(
            x.view(),
            y.view(),
            FitOptions::new(40, 10)
                .validation_data(vx.clone(), vy.clone())
                .early_stopping(es),
        )
        .unwrap();
    assert!(history.epochs < 40, "{d:?}: stopped early");
    let val = history.get("val_loss").unwrap();
    let best = val.iter().copied().fold(f32::INFINITY, f32::min);
    assert!(
        best < *val.last().unwrap(),
        "{d:?}: the last epoch was not the best: {val:?}"
    );
    let now = m.evaluate(vx.view(), vy.view(), 30).unwrap()["loss"];
    assert!(
        (now - best).abs() <= 1e-5 * best.abs().max(1.0),
        "{d:?}: restored {now}, best {best}"
    );
}

/// ModelCheckpoint with save_best_only writes the file only on improvement: the file holds
/// the best epoch's weights; an unwritable path is refused before training.
pub fn model_checkpoint_saves_only_improvements() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("best.safetensors");
    let (x, y) = data(60, 7);
    let (vx, vy) = data(30, 8);
    let mut m = model(TestDevice::Cpu, Optimizer::sgd().with_learning_rate(8.0));
    let history = m
        .fit(
            x.view(),
            y.view(),
            FitOptions::new(12, 10)
                .validation_data(vx.clone(), vy.clone())
                .callback(ModelCheckpoint::new(&path).save_best_only("val_loss")),
        )
        .unwrap();
    let val = history.get("val_loss").unwrap();
    let best = val.iter().copied().fold(f32::INFINITY, f32::min);
    let saved = ModelFile::read(&path).unwrap();
    let mut reloaded = saved.compile(wgtrain::model::Device::Cpu).unwrap();
    let at_best = reloaded.evaluate(vx.view(), vy.view(), 30).unwrap()["loss"];
    assert!(
        (at_best - best).abs() <= 1e-5,
        "file has {at_best}, best epoch {best}: {val:?}"
    );

    let missing = dir.path().join("no/such/dir/m.safetensors");
    let mut fresh = model(TestDevice::Cpu, Optimizer::adam());
    let err = fresh
        .fit(
            x.view(),
            y.view(),
            FitOptions::new(3, 10).callback(ModelCheckpoint::new(missing)),
        )
        .unwrap_err();
    assert!(err.to_string().contains("does not exist"), "{err}");
    assert_eq!(fresh.steps(), 0, "refused before training");
}

/// CsvLogger writes a header and one row per epoch with Keras's columns, and appends without
/// a second header; EpochLogger writes one line per epoch to the writer it was given.
pub fn csv_and_epoch_loggers_write_one_row_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let (x, y) = data(30, 9);
    let mut m = model(TestDevice::Cpu, Optimizer::adam());
    m.fit(
        x.view(),
        y.view(),
        FitOptions::new(3, 10).callback(CsvLogger::new(&path)),
    )
    .unwrap();
    m.fit(
        x.view(),
        y.view(),
        FitOptions::new(2, 10).callback(CsvLogger::new(&path).append(true)),
    )
    .unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,accuracy,learning_rate,loss", "{text}");
    assert_eq!(lines.len(), 1 + 3 + 2, "{text}");
    assert!(lines[1].starts_with("0,") && lines[4].starts_with("0,"), "{text}");

    #[derive(Clone, Default)]
    struct Shared(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let out = Shared::default();
    m.fit(
        x.view(),
        y.view(),
        FitOptions::new(2, 10).callback(EpochLogger::new(out.clone(), 2)),
    )
    .unwrap();
    let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[1].starts_with("Epoch 2/2 - accuracy: "), "{text}");
}
