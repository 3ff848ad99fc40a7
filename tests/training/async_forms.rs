//! The asynchronous API (issue 15 item 1) against the blocking one, on both devices and every
//! executor the device runs: `fit_async`, `evaluate_async`, `predict_async`, `weights_async`
//! and `to_file_async` give bit for bit what `fit`, `evaluate`, `predict`, `weights` and
//! `to_file` give, and `Backend::read_async` what `Backend::read` gives. The futures are
//! driven by `pollster` here, as a native application would; in a browser the event loop
//! drives the same futures.

use crate::common::harness::TestDevice;
use crate::common::{Rng, flatten_weights};
use ndarray::Array2;
use wgtrain::Error;
use wgtrain::model::{Dense, Execution, FitOptions, Metric, Model, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

/// The executors `d` runs: the CPU backend runs the layered one only.
fn executions(d: TestDevice) -> &'static [Execution] {
    match d {
        TestDevice::Cpu => &[Execution::Layered],
        TestDevice::Gpu => &[Execution::Layered, Execution::Fused],
    }
}

fn data(rows: usize) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Rng::new(15);
    let x = Array2::from_shape_vec((rows, 3), rng.vec(rows * 3, -1.0, 1.0)).unwrap();
    let y = x.map_axis(ndarray::Axis(1), |r| f32::from(r[0] * r[1] + 0.5 * r[2] > 0.0));
    (x, y.insert_axis(ndarray::Axis(1)))
}

/// The network every test here trains: 3 → 8 tanh → 1 sigmoid, drawn from seed 3.
fn network() -> Sequential {
    Sequential::new(3)
        .add(Dense::new(8, Activation::Tanh))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(3)
}

const LOSS: Loss = Loss::BinaryCrossentropy { from_logits: false };

fn model(d: TestDevice, execution: Execution) -> Model {
    network()
        .compile_with(LOSS, Optimizer::adam(), &[Metric::Accuracy], d.device(), execution)
        .unwrap()
}

/// [`model`] compiled through the async form (the future is `Send`).
fn model_async(d: TestDevice, execution: Execution) -> impl Future<Output = wgtrain::Result<Model>> + Send {
    network().compile_with_async(LOSS, Optimizer::adam(), &[Metric::Accuracy], d.device(), execution)
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

/// Everything one run produces, as bit patterns: per-epoch logs, final weights, evaluation
/// logs, predictions, and what the saved file holds (its weights and optimizer state; the
/// bytes themselves order the metadata as a hash map does).
struct Outcome {
    history: Vec<(String, Vec<u32>)>,
    weights: Vec<u32>,
    evaluation: Vec<(String, u32)>,
    predictions: Vec<u32>,
    file: Vec<u32>,
}

/// The saved file's numbers, as bit patterns, after a round trip through its bytes.
fn file_numbers(file: wgtrain::model::ModelFile) -> Vec<u32> {
    let bytes = file.to_bytes().unwrap();
    let back = wgtrain::model::ModelFile::from_bytes(&bytes, "in memory").unwrap();
    let mut numbers = flatten_weights(back.weights);
    numbers.extend(back.optimizer_state.unwrap().into_iter().flatten());
    bits(&numbers)
}

pub fn async_forms_equal_the_blocking_ones_bit_for_bit(d: TestDevice) {
    let (x, y) = data(90);
    let options = || FitOptions::new(4, 16).seed(5).validation_split(0.2);
    for &execution in executions(d) {
        let blocking = {
            let mut m = model(d, execution);
            let history = m.fit(x.view(), y.view(), options()).unwrap();
            Outcome {
                history: history.metrics.iter().map(|(k, v)| (k.clone(), bits(v))).collect(),
                weights: bits(&flatten_weights(m.weights().unwrap())),
                evaluation: m
                    .evaluate(x.view(), y.view(), 32)
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_bits()))
                    .collect(),
                predictions: bits(m.predict(x.view(), 32).unwrap().as_slice().unwrap()),
                file: file_numbers(m.to_file(None).unwrap()),
            }
        };
        let awaited = pollster::block_on(async {
            let mut m = model(d, execution);
            let history = m.fit_async(x.view(), y.view(), options()).await.unwrap();
            Outcome {
                history: history.metrics.iter().map(|(k, v)| (k.clone(), bits(v))).collect(),
                weights: bits(&flatten_weights(m.weights_async().await.unwrap())),
                evaluation: m
                    .evaluate_async(x.view(), y.view(), 32)
                    .await
                    .unwrap()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_bits()))
                    .collect(),
                predictions: bits(m.predict_async(x.view(), 32).await.unwrap().as_slice().unwrap()),
                file: file_numbers(m.to_file_async(None).await.unwrap()),
            }
        });
        assert_eq!(blocking.history.len(), 5, "{d:?} {execution:?}: {:?}", blocking.history);
        assert_eq!(awaited.history, blocking.history, "{d:?} {execution:?}: logs");
        assert_eq!(awaited.weights, blocking.weights, "{d:?} {execution:?}: weights");
        assert_eq!(
            awaited.evaluation, blocking.evaluation,
            "{d:?} {execution:?}: evaluation"
        );
        assert_eq!(
            awaited.predictions, blocking.predictions,
            "{d:?} {execution:?}: predictions"
        );
        assert_eq!(awaited.file, blocking.file, "{d:?} {execution:?}: the saved file");
    }
}

pub fn a_model_compiled_asynchronously_trains_as_one_compiled_blocking(d: TestDevice) {
    let (x, y) = data(40);
    let mut awaited = pollster::block_on(model_async(d, Execution::Layered)).unwrap();
    let mut blocking = model(d, Execution::Layered);
    assert_eq!(awaited.backend_name(), blocking.backend_name());
    for m in [&mut awaited, &mut blocking] {
        m.fit(x.view(), y.view(), FitOptions::new(2, 8).seed(1)).unwrap();
    }
    assert_eq!(
        bits(&flatten_weights(awaited.weights().unwrap())),
        bits(&flatten_weights(blocking.weights().unwrap()))
    );
    // The saved bytes load back asynchronously into the same model.
    let file = blocking.to_file(None).unwrap();
    let bytes = file.to_bytes().unwrap();
    let loaded = wgtrain::model::ModelFile::from_bytes(&bytes, "in memory").unwrap();
    let mut reloaded = pollster::block_on(loaded.compile_with_async(d.device(), Execution::Layered)).unwrap();
    assert_eq!(
        bits(&flatten_weights(reloaded.weights().unwrap())),
        bits(&flatten_weights(blocking.weights().unwrap()))
    );
    assert_eq!(reloaded.steps(), blocking.steps());
}

pub fn read_async_equals_read_and_checks_the_same(d: TestDevice) {
    let mut backend = d.backend();
    let mut rng = Rng::new(7);
    // Lengths around the staging buffer's growth steps, and a view inside a storage.
    for len in [1, 3, 64, 257, 5000] {
        let values = rng.vec(len, -10.0, 10.0);
        let t = backend.upload(1, len, &values).unwrap();
        let read = backend.read(t).unwrap();
        let awaited = pollster::block_on(backend.read_async(t)).unwrap();
        assert_eq!(bits(&awaited), bits(&values), "{d:?} len {len}");
        assert_eq!(bits(&awaited), bits(&read), "{d:?} len {len}");
        if len >= 64 {
            let view = t.view(17, 1, 20).unwrap();
            let expected = &values[17..37];
            assert_eq!(
                bits(&pollster::block_on(backend.read_async(view)).unwrap()),
                bits(expected)
            );
        }
        backend.free(t).unwrap();
        // A freed tensor and another backend's tensor are refused with the blocking form's words.
        let gone = pollster::block_on(backend.read_async(t)).unwrap_err();
        assert!(matches!(gone, Error::UnknownTensor { op: "read", .. }), "{gone}");
    }
    let mut other = d.backend();
    let foreign = other.upload(1, 2, &[1.0, 2.0]).unwrap();
    let refused = pollster::block_on(backend.read_async(foreign)).unwrap_err();
    assert!(matches!(refused, Error::ForeignTensor { op: "read", .. }), "{refused}");
    // Work recorded before the read is in what it returns (the read submits it first).
    let t = backend.upload(1, 4, &[1.0; 4]).unwrap();
    backend.fill(t, 2.5).unwrap();
    assert_eq!(pollster::block_on(backend.read_async(t)).unwrap(), vec![2.5; 4]);
}

/// Drives `future` on a thread of its own (it must be `Send`, as a native application's
/// executor may move it) and returns its output.
fn on_another_thread<F: std::future::Future + Send>(future: F) -> F::Output
where
    F::Output: Send,
{
    std::thread::scope(|s| s.spawn(|| pollster::block_on(future)).join().unwrap())
}

pub fn async_forms_are_send_and_run_on_another_thread(d: TestDevice) {
    let (x, y) = data(48);
    let options = || FitOptions::new(3, 8).seed(2);
    let mut awaited = on_another_thread(model_async(d, Execution::Layered)).unwrap();
    let mut blocking = model(d, Execution::Layered);

    let history = on_another_thread(awaited.fit_async(x.view(), y.view(), options())).unwrap();
    let expected = blocking.fit(x.view(), y.view(), options()).unwrap();
    assert_eq!(
        bits(history.get("loss").unwrap()),
        bits(expected.get("loss").unwrap()),
        "{d:?}"
    );
    let logs = on_another_thread(awaited.evaluate_async(x.view(), y.view(), 16)).unwrap();
    assert_eq!(logs, blocking.evaluate(x.view(), y.view(), 16).unwrap(), "{d:?}");
    let predictions = on_another_thread(awaited.predict_async(x.view(), 16)).unwrap();
    assert_eq!(
        bits(predictions.as_slice().unwrap()),
        bits(blocking.predict(x.view(), 16).unwrap().as_slice().unwrap())
    );
    let file = on_another_thread(awaited.to_file_async(None)).unwrap();
    assert_eq!(
        file_numbers(file),
        file_numbers(blocking.to_file(None).unwrap()),
        "{d:?}"
    );
}
