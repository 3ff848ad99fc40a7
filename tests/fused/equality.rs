//! The fused executor's results against the CPU backend's: after 3 epochs of the same seeded
//! training its weights equal the CPU's within 1e-4 relative, for random models (depths,
//! widths, batch sizes that are not multiples of the workgroup, activations, losses,
//! optimizers, schedules, dropout, class weights); the golden Keras step; a lavapipe-length
//! epoch; the dispatch count of the seed job.

use std::collections::HashMap;

use crate::common::{Rng, Tolerance, assert_close, flatten_weights};
use ndarray::Array2;
use wgtrain::model::{Dense, Device, Dropout, Execution, ExecutorKind, FitOptions, Model, Sequential};
use wgtrain::nn::{Activation, LearningRateSchedule, Loss, Optimizer};

/// The bound: 1e-4 relative (with a floor for values near zero).
const EQUAL: Tolerance = Tolerance::new(1e-4, 2e-6);

/// One training job: the model, the data and how it is fitted.
#[derive(Clone)]
struct Job {
    what: String,
    model: Sequential,
    loss: Loss,
    optimizer: Optimizer,
    x: Array2<f32>,
    y: Array2<f32>,
    batch: usize,
    epochs: usize,
    class_weight: Option<HashMap<usize, f32>>,
}

/// Targets for `loss` on `outputs` outputs.
fn targets(rng: &mut Rng, loss: Loss, rows: usize, outputs: usize) -> Array2<f32> {
    match loss {
        Loss::SparseCategoricalCrossentropy { .. } => Array2::from_shape_fn((rows, 1), |_| rng.below(outputs) as f32),
        Loss::CategoricalCrossentropy { .. } => {
            let mut y = Array2::zeros((rows, outputs));
            for r in 0..rows {
                y[[r, rng.below(outputs)]] = 1.0;
            }
            y
        }
        Loss::BinaryCrossentropy { .. } => Array2::from_shape_fn((rows, outputs), |_| rng.below(2) as f32),
        _ => Array2::from_shape_fn((rows, outputs), |_| rng.uniform(-1.0, 1.0)),
    }
}

fn fit(job: &Job, device: Device, execution: Execution) -> (Model, f32) {
    let mut model = job
        .model
        .clone()
        .compile_with(job.loss, job.optimizer, &[], device, execution)
        .unwrap_or_else(|e| panic!("{}: {e}", job.what));
    let mut options = FitOptions::new(job.epochs, job.batch).seed(11);
    if let Some(cw) = &job.class_weight {
        options = options.class_weight(cw.clone());
    }
    let history = model
        .fit(job.x.view(), job.y.view(), options)
        .unwrap_or_else(|e| panic!("{}: {e}", job.what));
    let loss = history.last("loss").unwrap();
    (model, loss)
}

/// Trains `job` on the CPU and through the fused executor; the weights, optimizer steps and
/// the last epoch's loss must agree.
fn check(job: &Job) {
    let (mut cpu, cpu_loss) = fit(job, Device::Cpu, Execution::Layered);
    let (mut gpu, gpu_loss) = fit(job, Device::Gpu(Default::default()), Execution::Fused);
    assert_eq!(
        gpu.executor().kind,
        ExecutorKind::Fused,
        "{}: {}",
        job.what,
        gpu.executor().reason
    );
    assert_eq!(gpu.steps(), cpu.steps(), "{}: optimizer steps", job.what);
    let want = flatten_weights(cpu.weights().unwrap());
    let got = flatten_weights(gpu.weights().unwrap());
    assert_close(
        &format!("{}: weights after {} epochs", job.what, job.epochs),
        &got,
        &want,
        EQUAL,
    );
    assert!(
        Tolerance::new(1e-3, 1e-6).accepts(gpu_loss, cpu_loss),
        "{}: loss {gpu_loss} on the GPU, {cpu_loss} on the CPU",
        job.what
    );
    let cpu_state: Vec<f32> = cpu.optimizer_state().unwrap().concat();
    let gpu_state: Vec<f32> = gpu.optimizer_state().unwrap().concat();
    assert_close(
        &format!("{}: optimizer state", job.what),
        &gpu_state,
        &cpu_state,
        Tolerance::new(1e-4, 1e-7),
    );
}

const ACTIVATIONS: [Activation; 8] = [
    Activation::Linear,
    Activation::Relu,
    Activation::LeakyRelu { alpha: 0.2 },
    Activation::Sigmoid,
    Activation::Tanh,
    Activation::Gelu { approximate: false },
    Activation::Gelu { approximate: true },
    Activation::Elu { alpha: 0.7 },
];

fn optimizers() -> Vec<Optimizer> {
    let schedule = LearningRateSchedule::ExponentialDecay {
        initial_learning_rate: 0.05,
        decay_steps: 3,
        decay_rate: 0.9,
        staircase: false,
    };
    vec![
        Optimizer::sgd().with_learning_rate(0.05),
        Optimizer::sgd().with_learning_rate(0.05).with_momentum(0.9),
        Optimizer::Sgd {
            learning_rate: LearningRateSchedule::Constant(0.03),
            momentum: 0.8,
            nesterov: true,
            weight_decay: Some(0.01),
        },
        Optimizer::adam().with_learning_rate(0.01),
        Optimizer::adamw().with_learning_rate(0.01),
        Optimizer::rmsprop().with_learning_rate(0.005),
        Optimizer::RmsProp {
            learning_rate: LearningRateSchedule::Constant(0.003),
            rho: 0.9,
            momentum: 0.5,
            epsilon: 1e-7,
            centered: true,
            weight_decay: None,
        },
        Optimizer::sgd().with_schedule(schedule),
        Optimizer::adam()
            .with_schedule(LearningRateSchedule::piecewise_constant_decay(&[4, 9], &[0.02, 0.01, 0.005]).unwrap()),
        Optimizer::adam().with_schedule(LearningRateSchedule::CosineDecay {
            initial_learning_rate: 0.02,
            decay_steps: 20,
            alpha: 0.1,
            warmup: None,
        }),
    ]
}

const LOSSES: [Loss; 8] = [
    Loss::MeanSquaredError,
    Loss::MeanAbsoluteError,
    Loss::BinaryCrossentropy { from_logits: false },
    Loss::BinaryCrossentropy { from_logits: true },
    Loss::CategoricalCrossentropy { from_logits: false },
    Loss::CategoricalCrossentropy { from_logits: true },
    Loss::SparseCategoricalCrossentropy { from_logits: false },
    Loss::SparseCategoricalCrossentropy { from_logits: true },
];

/// The output layer's activation that suits `loss`.
fn output_activation(loss: Loss, pick: usize) -> Activation {
    match loss {
        Loss::BinaryCrossentropy { from_logits: false } => Activation::Sigmoid,
        Loss::CategoricalCrossentropy { from_logits: false }
        | Loss::SparseCategoricalCrossentropy { from_logits: false } => Activation::Softmax,
        Loss::MeanSquaredError | Loss::MeanAbsoluteError if pick.is_multiple_of(3) => Activation::Softmax,
        _ => [Activation::Linear, Activation::Tanh][pick % 2],
    }
}

/// A random job: 1–3 hidden layers of 1–20 units, random activations, an optional dropout,
/// a batch size that divides neither the rows nor the workgroup.
fn random_job(case: u64) -> Job {
    let mut rng = Rng::new(0xF05E_D000 + case);
    let input = 1 + rng.below(9);
    let loss = LOSSES[rng.below(LOSSES.len())];
    let outputs = match loss {
        Loss::CategoricalCrossentropy { .. } | Loss::SparseCategoricalCrossentropy { .. } => 2 + rng.below(5),
        _ => 1 + rng.below(3),
    };
    let mut model = Sequential::new(input).seed(case + 3);
    let depth = 1 + rng.below(3);
    let mut description = format!("case {case}: {input}");
    for _ in 0..depth {
        let units = 1 + rng.below(20);
        let act = ACTIVATIONS[rng.below(ACTIVATIONS.len())];
        model = model.add(Dense::new(units, act).use_bias(rng.below(5) != 0));
        description.push_str(&format!(" → {units} {}", act.name()));
        if rng.below(4) == 0 {
            let rate = 0.1 + 0.3 * rng.uniform(0.0, 1.0);
            model = model.add(Dropout::new(rate));
            description.push_str(&format!(" → dropout {rate:.2}"));
        }
    }
    let out_act = output_activation(loss, rng.below(6));
    model = model.add(Dense::new(outputs, out_act));
    let optimizers = optimizers();
    let optimizer = optimizers[rng.below(optimizers.len())];
    let rows = 20 + rng.below(120);
    let batch = [1, 3, 7, 10, 33, 64, 100][rng.below(7)];
    description.push_str(&format!(
        " → {outputs} {}; {}; {}; {rows} rows, batch {batch}",
        out_act.name(),
        loss.name(),
        optimizer.name()
    ));
    let x = Array2::from_shape_vec((rows, input), rng.vec(rows * input, -1.0, 1.0)).unwrap();
    let y = targets(&mut rng, loss, rows, outputs);
    let class_weight = (matches!(loss, Loss::SparseCategoricalCrossentropy { .. }) && rng.below(2) == 0)
        .then(|| (0..outputs).map(|c| (c, 0.5 + c as f32 * 0.25)).collect());
    if class_weight.is_some() {
        description.push_str(", class weights");
    }
    Job {
        what: description,
        model,
        loss,
        optimizer,
        x,
        y,
        batch,
        epochs: 3,
        class_weight,
    }
}

pub fn fused_equals_cpu_over_random_models() {
    let cases = crate::common::fuzz_cases(24);
    for case in 0..u64::from(cases) {
        check(&random_job(case));
    }
}

fn simple_job(what: String, hidden: Activation, out: Activation, loss: Loss, optimizer: Optimizer) -> Job {
    let mut rng = Rng::new(77);
    let outputs = match loss {
        Loss::CategoricalCrossentropy { .. } | Loss::SparseCategoricalCrossentropy { .. } => 3,
        _ => 1,
    };
    let (rows, input) = (45, 3);
    Job {
        what,
        model: Sequential::new(input)
            .add(Dense::new(6, hidden))
            .add(Dense::new(5, hidden))
            .add(Dense::new(outputs, out))
            .seed(5),
        loss,
        optimizer,
        x: Array2::from_shape_vec((rows, input), rng.vec(rows * input, -1.0, 1.0)).unwrap(),
        y: targets(&mut rng, loss, rows, outputs),
        batch: 7,
        epochs: 3,
        class_weight: None,
    }
}

pub fn fused_equals_cpu_for_every_activation() {
    for act in ACTIVATIONS {
        check(&simple_job(
            format!("hidden {}", act.name()),
            act,
            Activation::Sigmoid,
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam().with_learning_rate(0.01),
        ));
    }
}

pub fn fused_equals_cpu_for_every_loss() {
    for (i, loss) in LOSSES.into_iter().enumerate() {
        let out = output_activation(loss, i);
        check(&simple_job(
            format!("{} on {}", loss.name(), out.name()),
            Activation::Tanh,
            out,
            loss,
            Optimizer::sgd().with_learning_rate(0.1),
        ));
    }
    // A softmax output trained with a regression loss (softmax backward in the kernel).
    check(&simple_job(
        "mse on softmax, 3 outputs".into(),
        Activation::Relu,
        Activation::Softmax,
        Loss::MeanSquaredError,
        Optimizer::sgd().with_learning_rate(0.1),
    ));
}

pub fn fused_equals_cpu_for_every_optimizer() {
    for optimizer in optimizers() {
        check(&simple_job(
            format!("{optimizer:?}"),
            Activation::Relu,
            Activation::Softmax,
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            optimizer,
        ));
    }
}

/// tests/golden/mlp_step.json (Keras on JAX): one SGD step over the whole batch through the
/// fused executor gives Keras's loss, gradients and updated weights.
pub fn golden_mlp_step_through_fused() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/mlp_step.json")).unwrap();
    let g: serde_json::Value = serde_json::from_str(&text).unwrap();
    let flat = |v: &serde_json::Value| -> Vec<f32> {
        fn walk(v: &serde_json::Value, out: &mut Vec<f32>) {
            match v {
                serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
                serde_json::Value::Number(n) => out.push(n.as_f64().unwrap() as f32),
                _ => {}
            }
        }
        let mut out = Vec::new();
        walk(v.get("data").unwrap_or(v), &mut out);
        out
    };
    let shape: Vec<usize> = g["x"]["shape"]
        .as_array()
        .map(|s| s.iter().map(|d| d.as_u64().unwrap() as usize).collect())
        .unwrap_or_else(|| {
            let rows = g["x"].as_array().unwrap();
            vec![rows.len(), rows[0].as_array().unwrap().len()]
        });
    let (rows, inputs) = (shape[0], shape[1]);
    let x = flat(&g["x"]);
    let y = flat(&g["y"]);
    let names = ["layers.0.kernel", "layers.0.bias", "layers.1.kernel", "layers.1.bias"];
    let [w0, b0, w1, b1] = names.map(|n| flat(&g[n]));
    let lr = 0.1f32;
    let mut model = Sequential::new(inputs)
        .add(Dense::new(b0.len(), Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile_with(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::sgd().with_learning_rate(lr),
            &[],
            Device::Gpu(Default::default()),
            Execution::Fused,
        )
        .unwrap();
    model
        .set_weights(&[(w0.clone(), Some(b0.clone())), (w1.clone(), Some(b1.clone()))])
        .unwrap();
    let x = Array2::from_shape_vec((rows, inputs), x).unwrap();
    let y = Array2::from_shape_vec((rows, 1), y).unwrap();
    let history = model
        .fit(x.view(), y.view(), FitOptions::new(1, rows).shuffle(false))
        .unwrap();
    assert_eq!(model.executor().kind, ExecutorKind::Fused);
    assert_eq!(model.steps(), 1);
    let tol = Tolerance::new(1e-5, 1e-6);
    let loss = history.last("loss").unwrap();
    let want = g["loss"].as_f64().unwrap() as f32;
    assert!(tol.accepts(loss, want), "loss {loss}, Keras {want}");
    let grads = model.gradients().unwrap();
    let weights = model.weights().unwrap();
    let before = [(&w0, &b0), (&w1, &b1)];
    for (layer, ((dk, db), (k, b))) in grads.iter().zip(&weights).enumerate() {
        let want_dk = flat(&g["grads"][format!("layers.{layer}.kernel")]);
        let want_db = flat(&g["grads"][format!("layers.{layer}.bias")]);
        assert_close(&format!("layer {layer} dW"), dk, &want_dk, tol);
        assert_close(&format!("layer {layer} db"), db.as_ref().unwrap(), &want_db, tol);
        let step = |w: &[f32], d: &[f32]| -> Vec<f32> {
            w.iter()
                .zip(d)
                .map(|(&w, &d)| (f64::from(w) - f64::from(lr) * f64::from(d)) as f32)
                .collect()
        };
        let (k0, b0) = before[layer];
        assert_close(&format!("layer {layer} W after"), k, &step(k0, &want_dk), tol);
        assert_close(
            &format!("layer {layer} b after"),
            b.as_ref().unwrap(),
            &step(b0, &want_db),
            tol,
        );
    }
}

/// An epoch of 6 000 steps (batch 1): one dispatch would run far more than lavapipe's 65 535
/// loop iterations per invocation, so it is split; every step is counted and the result is the
/// CPU's.
pub fn lavapipe_length_epoch_completes_in_bounded_dispatches() {
    let rows = 6_000;
    let mut rng = Rng::new(5);
    let x = Array2::from_shape_vec((rows, 1), rng.vec(rows, -1.0, 1.0)).unwrap();
    let y = x.mapv(|v| f32::from(v > 0.1));
    let job = Job {
        what: "lavapipe-length epoch".into(),
        model: Sequential::new(1)
            .add(Dense::new(10, Activation::Relu))
            .add(Dense::new(1, Activation::Sigmoid))
            .seed(2),
        loss: Loss::BinaryCrossentropy { from_logits: false },
        optimizer: Optimizer::adam().with_learning_rate(0.001),
        x,
        y,
        batch: 1,
        epochs: 1,
        class_weight: None,
    };
    let (mut cpu, _) = fit(&job, Device::Cpu, Execution::Layered);
    let mut gpu = job
        .model
        .clone()
        .compile_with(
            job.loss,
            job.optimizer,
            &[],
            Device::Gpu(Default::default()),
            Execution::Fused,
        )
        .unwrap();
    let before = gpu.counters();
    gpu.fit(job.x.view(), job.y.view(), FitOptions::new(1, 1).seed(11))
        .unwrap();
    let spent = gpu.counters().since(&before);
    assert_eq!(gpu.steps(), rows as u64, "every step ran");
    let reason = gpu.executor().reason.clone();
    let per_dispatch: u64 = reason
        .split("up to ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the reason names the steps per dispatch: {reason}"));
    let per_step: u64 = reason
        .split('(')
        .next_back()
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the reason names the loop iterations per step: {reason}"));
    assert!(
        per_step * rows as u64 > 65_535,
        "one dispatch of the whole epoch would cross lavapipe's loop limit: {reason}"
    );
    assert!(per_dispatch < rows as u64, "{reason}");
    assert!(
        spent.dispatches >= (rows as u64).div_ceil(per_dispatch),
        "{} dispatches for {rows} steps at {per_dispatch} per dispatch",
        spent.dispatches
    );
    assert_eq!(spent.readbacks, 1, "one read-back per epoch");
    let want = flatten_weights(cpu.weights().unwrap());
    let got = flatten_weights(gpu.weights().unwrap());
    assert_close(
        "weights after a lavapipe-length epoch",
        &got,
        &want,
        Tolerance::new(1e-4, 1e-5),
    );
}

/// The seed job (1 → 10 relu → 1 sigmoid, batch 10, 1 000 rows): at most 2 dispatches per
/// epoch, one read-back.
pub fn seed_epoch_takes_at_most_two_dispatches() {
    let rows = 1_000;
    let mut rng = Rng::new(9);
    let x = Array2::from_shape_vec((rows, 1), rng.vec(rows, 0.0, 10.0)).unwrap();
    let y = x.mapv(|v| f32::from(v > 5.0));
    let mut model = Sequential::new(1)
        .add(Dense::new(10, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::adam(),
            &[],
            Device::Gpu(Default::default()),
        )
        .unwrap();
    model.fit(x.view(), y.view(), FitOptions::new(1, 10)).unwrap();
    let before = model.counters();
    model.fit(x.view(), y.view(), FitOptions::new(3, 10)).unwrap();
    let spent = model.counters().since(&before);
    assert_eq!(model.executor().kind, ExecutorKind::Fused);
    assert!(spent.dispatches <= 2 * 3, "{} dispatches in 3 epochs", spent.dispatches);
    assert_eq!(spent.readbacks, 3);
    // x, y and the order buffer of the data set; the plan and the kernel are reused.
    assert_eq!(
        spent.buffer_allocations, 3,
        "a second fit allocates nothing but its data"
    );
}

/// Validation and prediction run after fused training as after layered training.
pub fn validation_and_prediction_after_fused_training() {
    let mut job = simple_job(
        "validation".into(),
        Activation::Relu,
        Activation::Softmax,
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        Optimizer::adam().with_learning_rate(0.01),
    );
    job.epochs = 2;
    let run = |device: Device, execution| {
        let mut model = job
            .model
            .clone()
            .compile_with(job.loss, job.optimizer, &[], device, execution)
            .unwrap();
        let history = model
            .fit(job.x.view(), job.y.view(), FitOptions::new(2, 7).validation_split(0.2))
            .unwrap();
        let predictions = model.predict(job.x.view(), 7).unwrap();
        (history.last("val_loss").unwrap(), predictions)
    };
    let (cpu_val, cpu_pred) = run(Device::Cpu, Execution::Layered);
    let (gpu_val, gpu_pred) = run(Device::Gpu(Default::default()), Execution::Fused);
    assert!(
        Tolerance::new(1e-4, 1e-6).accepts(gpu_val, cpu_val),
        "val_loss {gpu_val} vs {cpu_val}"
    );
    assert_close(
        "predictions",
        gpu_pred.as_slice().unwrap(),
        cpu_pred.as_slice().unwrap(),
        Tolerance::new(1e-4, 1e-6),
    );
}

/// Adam's bias-correction table covers a few epochs at a time and is refilled when an epoch
/// runs past it: 40 epochs of one step each cross it twice, and the weights stay the CPU's.
pub fn adam_table_refills_across_epochs() {
    let mut job = simple_job(
        "adam, one step per epoch".into(),
        Activation::Tanh,
        Activation::Sigmoid,
        Loss::BinaryCrossentropy { from_logits: false },
        Optimizer::adam().with_learning_rate(0.02),
    );
    job.batch = 64;
    job.epochs = 40;
    check(&job);
}

/// Batches too large for one workgroup: each step is split over several workgroups (partial
/// gradients) and a reduce-and-update dispatch; the weights stay the CPU's.
pub fn split_steps_equal_cpu() {
    let mut rng = Rng::new(31);
    let cases = [
        (Optimizer::sgd().with_learning_rate(0.1).with_momentum(0.9), 200, 0.0),
        (Optimizer::adam().with_learning_rate(0.01), 251, 0.2),
        (Optimizer::rmsprop().with_learning_rate(0.003), 333, 0.0),
    ];
    for (optimizer, batch, dropout) in cases {
        let rows = 700;
        let loss = Loss::SparseCategoricalCrossentropy { from_logits: false };
        let mut model = Sequential::new(16).add(Dense::new(32, Activation::Relu)).seed(4);
        if dropout > 0.0 {
            model = model.add(Dropout::new(dropout));
        }
        let job = Job {
            what: format!("split steps: batch {batch}, {}", optimizer.name()),
            model: model.add(Dense::new(3, Activation::Softmax)),
            loss,
            optimizer,
            x: Array2::from_shape_vec((rows, 16), rng.vec(rows * 16, -1.0, 1.0)).unwrap(),
            y: targets(&mut rng, loss, rows, 3),
            batch,
            epochs: 3,
            class_weight: Some((0..3).map(|c| (c, 1.0 + c as f32 * 0.5)).collect()),
        };
        check(&job);
        let (gpu, _) = fit(&job, Device::Gpu(Default::default()), Execution::Fused);
        assert!(
            gpu.executor().reason.contains("split over"),
            "{}: {}",
            job.what,
            gpu.executor().reason
        );
    }
}
