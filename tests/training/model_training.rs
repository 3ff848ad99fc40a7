//! Whole-training checks (DESIGN.md §6 layer 3): known problems reach known accuracies on
//! both backends, the same seed gives the same weights on both backends and on reruns, the
//! plan allocates nothing per step, and the callbacks behave as Keras's.

use std::collections::HashMap;

use crate::common::harness::TestDevice;
use crate::common::{self, Rng, Tolerance, assert_close};
use ndarray::{Array2, array};
use wgtrain::Error;
use wgtrain::model::{
    Control, Dense, Device, Dropout, EarlyStopping, FitOptions, Metric, Model, ReduceLrOnPlateau, Sequential,
    StopHandle,
};
use wgtrain::nn::{Activation, Loss, Optimizer};

const BCE: Loss = Loss::BinaryCrossentropy { from_logits: false };

/// Two interleaved half circles with a little noise.
fn two_moons(n: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let mut x = Array2::zeros((n, 2));
    let mut y = Array2::zeros((n, 1));
    for i in 0..n {
        let t = rng.uniform(0.0, std::f32::consts::PI);
        let upper = i % 2 == 0;
        let (px, py) = if upper {
            (t.cos(), t.sin())
        } else {
            (1.0 - t.cos(), 0.5 - t.sin())
        };
        x[[i, 0]] = px + rng.uniform(-0.1, 0.1);
        x[[i, 1]] = py + rng.uniform(-0.1, 0.1);
        y[[i, 0]] = if upper { 0.0 } else { 1.0 };
    }
    (x, y)
}

/// Three Gaussian-ish blobs, labels as class indices.
fn blobs(n: usize, seed: u64) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Rng::new(seed);
    let centers = [(-2.0, 0.0), (2.0, 0.0), (0.0, 2.5)];
    let mut x = Array2::zeros((n, 2));
    let mut y = Array2::zeros((n, 1));
    for i in 0..n {
        let c = i % 3;
        x[[i, 0]] = centers[c].0 + rng.uniform(-1.0, 1.0);
        x[[i, 1]] = centers[c].1 + rng.uniform(-1.0, 1.0);
        y[[i, 0]] = c as f32;
    }
    (x, y)
}

pub fn xor_reaches_full_accuracy(d: TestDevice) {
    let x = array![[0.0f32, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let y = array![[0.0f32], [1.0], [1.0], [0.0]];
    let mut model = Sequential::new(2)
        .add(Dense::new(8, Activation::Tanh))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(1)
        .compile(
            BCE,
            Optimizer::adam().with_learning_rate(0.05),
            &[Metric::Accuracy],
            d.device(),
        )
        .unwrap();
    model.fit(x.view(), y.view(), FitOptions::new(300, 4)).unwrap();
    let logs = model.evaluate(x.view(), y.view(), 4).unwrap();
    println!("xor on {}: {logs:?}", model.backend_name());
    assert!(logs["accuracy"] >= 0.97, "{d:?}: {logs:?}");
}

pub fn two_moons_reach_97_percent(d: TestDevice) {
    let (x, y) = two_moons(400, 3);
    let (xt, yt) = two_moons(200, 4);
    let mut model = Sequential::new(2)
        .add(Dense::new(32, Activation::Relu))
        .add(Dense::new(32, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(2)
        .compile(
            BCE,
            Optimizer::adam().with_learning_rate(0.01),
            &[Metric::Accuracy],
            d.device(),
        )
        .unwrap();
    model.fit(x.view(), y.view(), FitOptions::new(60, 16).seed(5)).unwrap();
    let logs = model.evaluate(xt.view(), yt.view(), 64).unwrap();
    println!("two moons on {}: {logs:?}", model.backend_name());
    assert!(logs["accuracy"] >= 0.97, "{d:?}: {logs:?}");
}

pub fn softmax_with_sparse_cross_entropy_learns_three_classes(d: TestDevice) {
    let (x, y) = blobs(300, 8);
    let mut model = Sequential::new(2)
        .add(Dense::new(16, Activation::Relu))
        .add(Dense::new(3, Activation::Softmax))
        .seed(3)
        .compile(
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            Optimizer::adam().with_learning_rate(0.02),
            &[Metric::Accuracy],
            d.device(),
        )
        .unwrap();
    let history = model.fit(x.view(), y.view(), FitOptions::new(40, 32)).unwrap();
    let logs = model.evaluate(x.view(), y.view(), 32).unwrap();
    println!("blobs on {}: {logs:?}", model.backend_name());
    assert!(logs["accuracy"] >= 0.9, "{d:?}: {logs:?}");
    assert!(history.last("loss").unwrap() < history.get("loss").unwrap()[0] / 2.0);
    let p = model.predict(x.view(), 50).unwrap();
    for row in p.rows() {
        assert!((row.sum() - 1.0).abs() < 1e-5, "softmax rows sum to 1");
    }
}

fn small_model(optimizer: Optimizer, device: Device, dropout: bool) -> Model {
    let mut s = Sequential::new(5).add(Dense::new(7, Activation::Tanh));
    if dropout {
        s = s.add(Dropout::new(0.3));
    }
    s.add(Dense::new(3, Activation::Gelu { approximate: false }))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(42)
        .compile(BCE, optimizer, &[Metric::Accuracy, Metric::Precision], device)
        .unwrap()
}

fn flat_weights(model: &mut Model) -> Vec<f32> {
    common::flatten_weights(model.weights().unwrap())
}

pub fn gpu_and_cpu_weights_agree_after_20_steps_of_each_optimizer() {
    let mut rng = Rng::new(9);
    let x = Array2::from_shape_vec((100, 5), rng.vec(500, -1.0, 1.0)).unwrap();
    let y = x
        .map_axis(ndarray::Axis(1), |r| if r.sum() > 0.0 { 1.0f32 } else { 0.0 })
        .insert_axis(ndarray::Axis(1));
    let optimizers = [
        (
            "sgd",
            Optimizer::Sgd {
                learning_rate: 0.1.into(),
                momentum: 0.9,
                nesterov: true,
                weight_decay: None,
            },
        ),
        ("adam", Optimizer::adam().with_learning_rate(0.01)),
        ("adamw", Optimizer::adamw().with_learning_rate(0.01)),
        ("rmsprop", Optimizer::rmsprop().with_learning_rate(0.01)),
    ];
    for (name, opt) in optimizers {
        for dropout in [false, true] {
            let mut cpu = small_model(opt, Device::Cpu, dropout);
            let mut gpu = small_model(opt, Device::Gpu(Default::default()), dropout);
            assert_eq!(
                flat_weights(&mut cpu),
                flat_weights(&mut gpu),
                "{name}: identical initial weights"
            );
            // 100 rows at batch 20 = 5 steps per epoch, 4 epochs = 20 steps.
            let options = || FitOptions::new(4, 20).seed(3);
            let hc = cpu.fit(x.view(), y.view(), options()).unwrap();
            let hg = gpu.fit(x.view(), y.view(), options()).unwrap();
            assert_eq!((cpu.steps(), gpu.steps()), (20, 20));
            let (wc, wg) = (flat_weights(&mut cpu), flat_weights(&mut gpu));
            let err = common::max_rel_error(&wg, &wc, 1e-3);
            println!("{name} (dropout {dropout}): largest relative weight difference after 20 steps {err:.3e}");
            assert_close(
                &format!("{name} dropout={dropout} weights"),
                &wg,
                &wc,
                Tolerance::new(1e-4, 1e-5),
            );
            for key in ["loss", "accuracy", "precision"] {
                assert_close(
                    key,
                    hg.get(key).unwrap(),
                    hc.get(key).unwrap(),
                    Tolerance::new(1e-4, 1e-5),
                );
            }
        }
    }
}

pub fn same_seed_repeats_exactly(d: TestDevice) {
    let (x, y) = two_moons(64, 1);
    let run = || {
        let mut m = small_model(Optimizer::adam(), d.device(), true);
        let x5 = ndarray::concatenate![ndarray::Axis(1), x, x, x.slice(ndarray::s![.., 0..1])];
        m.fit(
            x5.view(),
            y.view(),
            FitOptions::new(3, 10).seed(7).validation_split(0.25),
        )
        .unwrap();
        flat_weights(&mut m)
    };
    assert_eq!(run(), run(), "{d:?}");
}

pub fn a_steady_state_step_allocates_nothing_and_reads_nothing_back(d: TestDevice) {
    let (x, y) = two_moons(200, 2);
    let mut model = Sequential::new(2)
        .add(Dense::new(16, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(BCE, Optimizer::adam(), &[Metric::Accuracy], d.device())
        .unwrap();
    // Warm up: builds the plan and every bind group.
    model.fit(x.view(), y.view(), FitOptions::new(1, 10)).unwrap();
    let measure = |model: &mut Model, epochs: usize| {
        let before = model.counters();
        model.fit(x.view(), y.view(), FitOptions::new(epochs, 10)).unwrap();
        model.counters().since(&before)
    };
    let one = measure(&mut model, 1);
    let five = measure(&mut model, 5);
    let per_epoch = |a: u64, b: u64| (b - a) / 4;
    println!(
        "{}: per epoch (20 steps): {} allocations, {} read-backs, {} submits, {} dispatches, {} bind groups; per fit call: {} allocations (data upload)",
        model.backend_name(),
        per_epoch(one.buffer_allocations, five.buffer_allocations),
        per_epoch(one.readbacks, five.readbacks),
        per_epoch(one.submits, five.submits),
        per_epoch(one.dispatches, five.dispatches),
        per_epoch(one.bind_groups, five.bind_groups),
        one.buffer_allocations,
    );
    assert_eq!(
        one.buffer_allocations, five.buffer_allocations,
        "epochs allocate nothing"
    );
    assert_eq!(five.readbacks - one.readbacks, 4, "one read-back per epoch");
    if d == TestDevice::Gpu {
        // Bind groups are per (kernel, buffers): the data set is new each fit call, so only
        // the gathers get new ones, and never per epoch.
        assert_eq!(one.bind_groups, five.bind_groups, "epochs create no bind group");
        assert!(five.submits - one.submits <= 8, "about one submit per epoch");
    }
}

pub fn short_last_batch_is_trained() {
    let (x, y) = two_moons(10, 1);
    let mut model = Sequential::new(2)
        .add(Dense::new(4, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(BCE, Optimizer::sgd(), &[], Device::Cpu)
        .unwrap();
    model.fit(x.view(), y.view(), FitOptions::new(2, 4)).unwrap();
    assert_eq!(model.steps(), 6, "10 rows at batch 4: 3 steps per epoch");
}

pub fn early_stopping_stops_and_restores_the_best_weights(d: TestDevice) {
    let (x, y) = two_moons(100, 5);
    let mut model = Sequential::new(2)
        .add(Dense::new(8, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            BCE,
            Optimizer::sgd().with_learning_rate(0.0),
            &[Metric::Accuracy],
            d.device(),
        )
        .unwrap();
    // A zero learning rate never improves the loss (beyond summation-order noise, hence the
    // min_delta): patience 2 stops after epoch 3.
    let es = EarlyStopping::new("loss")
        .patience(2)
        .min_delta(1e-4)
        .restore_best_weights(true);
    let history = model
        .fit(x.view(), y.view(), FitOptions::new(50, 10).early_stopping(es))
        .unwrap();
    assert_eq!(history.epochs, 3, "{d:?}");

    // A learning rate so large the validation loss worsens: the best weights come back.
    let mut model = Sequential::new(2)
        .add(Dense::new(8, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(4)
        .compile(
            BCE,
            Optimizer::adam().with_learning_rate(0.05),
            &[Metric::Accuracy],
            d.device(),
        )
        .unwrap();
    let es = EarlyStopping::new("val_loss").patience(3).restore_best_weights(true);
    let history = model
        .fit(
            x.view(),
            y.view(),
            FitOptions::new(200, 5).validation_split(0.3).seed(1).early_stopping(es),
        )
        .unwrap();
    let val = history.get("val_loss").unwrap();
    let best = val.iter().copied().fold(f32::INFINITY, f32::min);
    if history.epochs < 200 {
        // Stopped early: the model now scores the best epoch's validation loss.
        let idx = val.iter().position(|&v| v == best).unwrap();
        assert_eq!(history.epochs, idx + 4, "stopped patience epochs after the best");
    }
}

pub fn nan_loss_stops_with_the_epoch_and_keeps_the_last_good_weights(d: TestDevice) {
    let (x, y) = two_moons(100, 6);
    let mut model = Sequential::new(2)
        .add(Dense::new(8, Activation::Relu))
        .add(Dense::new(1, Activation::Linear))
        .compile(
            Loss::MeanSquaredError,
            Optimizer::sgd().with_learning_rate(1e3),
            &[Metric::MeanAbsoluteError],
            d.device(),
        )
        .unwrap();
    let y_big = y.mapv(|v| v * 1e6);
    let err = model.fit(x.view(), y_big.view(), FitOptions::new(100, 10)).unwrap_err();
    let Error::Diverged { epoch, .. } = err else {
        panic!("{d:?}: expected Diverged, got {err:?}")
    };
    assert!(epoch >= 1);
    assert!(err.to_string().contains(&format!("epoch {epoch}")), "{err}");
    let w = flat_weights(&mut model);
    assert!(
        w.iter().all(|v| v.is_finite()),
        "{d:?}: weights rolled back to finite ones"
    );
}

pub fn hooks_and_stop_handles_stop_training() {
    let (x, y) = two_moons(50, 7);
    let mut model = Sequential::new(2)
        .add(Dense::new(4, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(BCE, Optimizer::adam(), &[Metric::Accuracy], Device::Cpu)
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let options = FitOptions::new(20, 10).on_epoch_end(move |epoch, logs| {
        log.lock().unwrap().push(logs["accuracy"]);
        if epoch == 2 { Control::Stop } else { Control::Continue }
    });
    let h = model.fit(x.view(), y.view(), options).unwrap();
    assert_eq!(h.epochs, 3);
    assert_eq!(seen.lock().unwrap().len(), 3);

    let stop = StopHandle::default();
    let remote = stop.clone();
    std::thread::spawn(move || remote.stop()).join().unwrap();
    let h = model
        .fit(x.view(), y.view(), FitOptions::new(20, 10).stop_handle(stop))
        .unwrap();
    assert_eq!(h.epochs, 1, "stopped at the first batch boundary");
}

pub fn reduce_lr_on_plateau_lowers_the_rate() {
    let (x, y) = two_moons(40, 8);
    // A learning rate too small to move the loss: a plateau from the start.
    let mut model = Sequential::new(2)
        .add(Dense::new(4, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(BCE, Optimizer::sgd().with_learning_rate(1e-9), &[], Device::Cpu)
        .unwrap();
    let plateau = ReduceLrOnPlateau::new("loss").patience(2).factor(0.5);
    let h = model
        .fit(x.view(), y.view(), FitOptions::new(6, 10).reduce_lr(plateau))
        .unwrap();
    let lrs = h.get("learning_rate").unwrap();
    assert_eq!(lrs[0], 1e-9);
    assert!(*lrs.last().unwrap() <= 0.5e-9, "{lrs:?}");
    assert!(
        (model.optimizer().learning_rate() - 0.25e-9).abs() < 1e-15,
        "halved twice in 6 epochs"
    );
}

pub fn class_weights_and_validation_data_are_used() {
    let (x, y) = two_moons(60, 9);
    let build = || {
        Sequential::new(2)
            .add(Dense::new(4, Activation::Relu))
            .add(Dense::new(1, Activation::Sigmoid))
            .compile(BCE, Optimizer::adam(), &[Metric::Accuracy, Metric::Recall], Device::Cpu)
            .unwrap()
    };
    let plain = build()
        .fit(x.view(), y.view(), FitOptions::new(1, 60).shuffle(false))
        .unwrap();
    let weights = HashMap::from([(0usize, 1.0f32), (1, 3.0)]);
    let weighted = build()
        .fit(
            x.view(),
            y.view(),
            FitOptions::new(1, 60).shuffle(false).class_weight(weights),
        )
        .unwrap();
    assert!(
        weighted.last("loss").unwrap() > plain.last("loss").unwrap() * 1.2,
        "class 1 counts three times"
    );
    let h = build()
        .fit(
            x.view(),
            y.view(),
            FitOptions::new(2, 10).validation_data(x.clone(), y.clone()),
        )
        .unwrap();
    assert!(h.get("val_loss").is_some() && h.get("val_recall").is_some());
}

pub fn bad_inputs_are_typed_errors() {
    let model = || {
        Sequential::new(2)
            .add(Dense::new(3, Activation::Relu))
            .add(Dense::new(1, Activation::Sigmoid))
            .compile(BCE, Optimizer::adam(), &[Metric::Accuracy], Device::Cpu)
            .unwrap()
    };
    let x = array![[0.0f32, 1.0], [1.0, 0.0]];
    let err = model()
        .fit(x.view(), array![[0.0f32], [2.0]].view(), FitOptions::new(1, 2))
        .unwrap_err();
    assert!(
        err.to_string().contains("row 1") && err.to_string().contains("[0, 1]"),
        "{err}"
    );
    let err = model()
        .fit(
            array![[0.0f32, 1.0, 2.0]].view(),
            array![[0.0f32]].view(),
            FitOptions::new(1, 2),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Shape { .. }), "{err}");
    let err = model()
        .fit(
            array![[f32::NAN, 1.0]].view(),
            array![[0.0f32]].view(),
            FitOptions::new(1, 2),
        )
        .unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
    let err = Sequential::new(2)
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            Loss::CategoricalCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[],
            Device::Cpu,
        )
        .err()
        .unwrap();
    assert!(err.to_string().contains("binary cross-entropy"), "{err}");
    let err = model()
        .fit(
            x.view(),
            array![[0.0f32], [1.0]].view(),
            FitOptions::new(1, 2).early_stopping(EarlyStopping::new("val_loss")),
        )
        .unwrap_err();
    assert!(
        err.to_string().contains("val_loss") && err.to_string().contains("will not hold"),
        "{err}"
    );
}

pub fn summary_lists_layers_parameters_and_memory() {
    let model = Sequential::new(8)
        .add(Dense::new(10, Activation::Relu))
        .add(Dropout::new(0.2))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(BCE, Optimizer::adam(), &[Metric::Accuracy], Device::Cpu)
        .unwrap();
    let s = model.summary(10);
    println!("{s}");
    assert!(
        s.contains("Dense (relu)") && s.contains("Dropout") && s.contains("Total params: 101") && s.contains("MiB")
    );
}

pub fn accuracy_with_a_regression_loss_is_binary_accuracy_as_in_keras() {
    let (x, y) = two_moons(100, 10);
    let mut model = Sequential::new(2)
        .add(Dense::new(16, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            Loss::MeanSquaredError,
            Optimizer::adam().with_learning_rate(0.02),
            &[Metric::Accuracy],
            Device::Cpu,
        )
        .unwrap();
    let h = model.fit(x.view(), y.view(), FitOptions::new(40, 10)).unwrap();
    assert!(h.last("accuracy").unwrap() > 0.8, "{:?}", h.get("accuracy"));
}
