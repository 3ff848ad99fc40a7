//! Learning-rate schedules: their values against Keras's formulas, their evaluation inside the
//! optimizer update on both backends, and the errors they raise.
//!
//! Source of truth: Keras 3's `keras/src/optimizers/schedules/learning_rate_schedule.py`
//! (`ExponentialDecay`, `InverseTimeDecay`, `PolynomialDecay`, `CosineDecay` with warmup,
//! `PiecewiseConstantDecay`), re-implemented below in f64 straight from its `__call__` methods,
//! and Keras's optimizers evaluating the schedule at `iterations` (0 at the first update); and
//! Keras's own values, computed by Keras 3 on JAX (tests/golden/schedules.json, written by
//! tests/golden/generate_schedules.py), on the host and through the optimizer kernel.

use crate::common::harness::{TestDevice, gpu_backend};
use crate::common::{self, Rng, Tolerance, assert_close};
use ndarray::Array2;
use wgtrain::Error;
use wgtrain::backend::{Backend, CpuBackend, OptimizerStepOp, Tensor};
use wgtrain::model::{Dense, Device, FitOptions, Model, ModelFile, ReduceLrOnPlateau, Sequential};
use wgtrain::nn::{Activation, LearningRateSchedule as Lrs, Loss, MAX_BOUNDARIES, Optimizer, Warmup};

/// Keras's `schedule(step)` in f64, from its source.
fn keras(schedule: &Lrs, step: u64) -> f64 {
    let s = step as f64;
    match *schedule {
        Lrs::Constant(lr) => f64::from(lr),
        Lrs::ExponentialDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            let mut p = s / f64::from(decay_steps);
            if staircase {
                p = p.floor();
            }
            f64::from(initial_learning_rate) * f64::from(decay_rate).powf(p)
        }
        Lrs::InverseTimeDecay {
            initial_learning_rate,
            decay_steps,
            decay_rate,
            staircase,
        } => {
            let mut p = s / f64::from(decay_steps);
            if staircase {
                p = p.floor();
            }
            f64::from(initial_learning_rate) / (1.0 + f64::from(decay_rate) * p)
        }
        Lrs::PolynomialDecay {
            initial_learning_rate,
            decay_steps,
            end_learning_rate,
            power,
            cycle,
        } => {
            let mut d = f64::from(decay_steps);
            let mut s = s;
            if cycle {
                let multiplier = if s == 0.0 { 1.0 } else { (s / d).ceil() };
                d *= multiplier;
            } else {
                s = s.min(d);
            }
            let (init, end) = (f64::from(initial_learning_rate), f64::from(end_learning_rate));
            (init - end) * (1.0 - s / d).powf(f64::from(power)) + end
        }
        Lrs::CosineDecay {
            initial_learning_rate,
            decay_steps,
            alpha,
            warmup,
        } => {
            let (init, d, alpha) = (
                f64::from(initial_learning_rate),
                f64::from(decay_steps),
                f64::from(alpha),
            );
            let decay = |s: f64, from: f64| {
                let cosine = 0.5 * (1.0 + (std::f64::consts::PI * s / d).cos());
                from * ((1.0 - alpha) * cosine + alpha)
            };
            match warmup {
                None => decay(s.min(d), init),
                Some(Warmup { target, steps }) => {
                    let (target, w) = (f64::from(target), f64::from(steps));
                    let s = s.min(d + w);
                    if s < w {
                        (target - init) * (s / w) + init
                    } else {
                        decay(s - w, target)
                    }
                }
            }
        }
        Lrs::PiecewiseConstantDecay(pc) => {
            // Keras's sum of indicator × value over the intervals.
            let (b, v) = (pc.boundaries(), pc.values());
            let mut r = 0.0;
            if step <= u64::from(b[0]) {
                r += f64::from(v[0]);
            }
            if step > u64::from(*b.last().unwrap()) {
                r += f64::from(*v.last().unwrap());
            }
            for i in 0..b.len() - 1 {
                if step > u64::from(b[i]) && step <= u64::from(b[i + 1]) {
                    r += f64::from(v[i + 1]);
                }
            }
            r
        }
    }
}

/// The largest rate a schedule takes (the scale of its absolute rounding).
fn peak(schedule: &Lrs) -> f64 {
    (0..200).map(|s| keras(schedule, s)).fold(0.0, f64::max)
}

fn piecewise(boundaries: &[u32], values: &[f32]) -> Lrs {
    Lrs::piecewise_constant_decay(boundaries, values).unwrap()
}

/// One of each schedule and option.
fn schedules() -> Vec<Lrs> {
    let sixteen: Vec<u32> = (1..=16).map(|i| i * 3).collect();
    let values: Vec<f32> = (0..17).map(|i| 0.1 / (i + 1) as f32).collect();
    vec![
        Lrs::exponential_decay(0.1, 10, 0.5),
        Lrs::exponential_decay(0.1, 4, 0.96).with_staircase(true),
        Lrs::exponential_decay(0.01, 7, 1.5),
        Lrs::inverse_time_decay(0.1, 5, 0.5),
        Lrs::inverse_time_decay(0.1, 3, 2.0).with_staircase(true),
        Lrs::polynomial_decay(0.1, 20, 0.001, 1.0),
        Lrs::polynomial_decay(0.1, 20, 0.0, 0.5),
        Lrs::polynomial_decay(0.1, 6, 0.01, 2.0).with_cycle(true),
        Lrs::cosine_decay(0.1, 30, 0.0),
        Lrs::cosine_decay(0.1, 9, 0.1),
        Lrs::cosine_decay(0.0, 20, 0.0).with_warmup(0.1, 10),
        Lrs::cosine_decay(0.02, 8, 0.05).with_warmup(0.2, 3),
        Lrs::cosine_decay(0.05, 20, 0.1).with_warmup(0.2, 0),
        piecewise(&[3, 10, 11], &[0.1, 0.05, 0.025, 0.01]),
        piecewise(&sixteen, &values),
    ]
}

pub fn every_schedule_equals_keras_at_many_steps() {
    let mut steps: Vec<u64> = (0..=120).collect();
    // Far past every decay_steps (growth schedules excepted, which overflow in time).
    steps.extend([1000, 12_345, 1_000_000]);
    for schedule in schedules() {
        let scale = peak(&schedule);
        let growth = matches!(schedule, Lrs::ExponentialDecay { decay_rate, .. } if decay_rate > 1.0);
        for &s in steps.iter().filter(|&&s| !growth || s <= 120) {
            let (got, want) = (f64::from(schedule.value_at(s)), keras(&schedule, s));
            let tol = 2e-6 * want.abs() + 1e-7 * scale;
            assert!(
                (got - want).abs() <= tol,
                "{schedule} at step {s}: got {got:e}, Keras's formula gives {want:e} (tolerance {tol:e})"
            );
        }
    }
}

pub fn piecewise_boundaries_follow_keras_comparisons_exactly() {
    // Keras's docstring: 1.0 for the first 100001 steps, 0.5 for the next 10000, then 0.1.
    let s = piecewise(&[100_000, 110_000], &[1.0, 0.5, 0.1]);
    assert_eq!(s.value_at(0), 1.0);
    assert_eq!(s.value_at(100_000), 1.0);
    assert_eq!(s.value_at(100_001), 0.5);
    assert_eq!(s.value_at(110_000), 0.5);
    assert_eq!(s.value_at(110_001), 0.1);
    assert_eq!(s.value_at(u64::MAX), 0.1);
    for schedule in schedules() {
        if let Lrs::PiecewiseConstantDecay(pc) = schedule {
            for step in 0..60 {
                assert_eq!(
                    f64::from(schedule.value_at(step)),
                    keras(&schedule, step),
                    "step {step}"
                );
            }
            assert_eq!(pc.values().len(), pc.boundaries().len() + 1);
        }
    }
}

pub fn schedules_hold_their_end_values_past_decay_steps() {
    let cos = Lrs::cosine_decay(0.1, 30, 0.2);
    assert_eq!(cos.value_at(0), 0.1);
    for s in [30, 31, 1000] {
        assert!((cos.value_at(s) - 0.02).abs() < 1e-8, "alpha · initial from step 30 on");
    }
    let warm = Lrs::cosine_decay(0.0, 20, 0.0).with_warmup(0.1, 10);
    assert_eq!(warm.value_at(0), 0.0);
    assert!((warm.value_at(5) - 0.05).abs() < 1e-9, "half way up");
    assert_eq!(warm.value_at(10), 0.1, "the decay starts from the warmup target");
    assert!(warm.value_at(30).abs() < 1e-9 && warm.value_at(500).abs() < 1e-9);
    let poly = Lrs::polynomial_decay(0.1, 20, 0.001, 1.0);
    assert_eq!(
        (poly.value_at(20), poly.value_at(21), poly.value_at(999)),
        (0.001, 0.001, 0.001)
    );
    // Cycling restarts from the next multiple of decay_steps.
    let cyc = Lrs::polynomial_decay(0.1, 6, 0.01, 2.0).with_cycle(true);
    assert_eq!(cyc.value_at(6), 0.01);
    assert!(cyc.value_at(7) > 0.01 && cyc.value_at(7) < 0.1);
    assert!((cyc.value_at(12) - 0.01).abs() < 1e-9);
}

pub fn the_optimizer_evaluates_its_schedule_at_keras_iterations() {
    let schedule = Lrs::exponential_decay(0.1, 10, 0.5);
    let opt = Optimizer::adam().with_schedule(schedule);
    assert!(opt.is_scheduled() && !Optimizer::adam().is_scheduled());
    assert_eq!(opt.learning_rate_schedule(), schedule);
    // Step t (from 1) is Keras's iterations = t − 1.
    for t in 1..50 {
        assert_eq!(opt.learning_rate_at(t), schedule.value_at(t - 1));
    }
    assert_eq!(opt.learning_rate(), 0.1, "the first step's rate");
    assert_eq!(opt.slots(), 2);
    let constant = Optimizer::sgd();
    assert_eq!(
        (constant.learning_rate_at(1), constant.learning_rate_at(999)),
        (0.01, 0.01)
    );
    // with_learning_rate replaces a schedule with a constant.
    assert!(!opt.with_learning_rate(0.5).is_scheduled());
}

/// Runs `steps` optimizer steps from `p0` with the gradients `grads`; returns params and state.
fn run_steps(b: &mut dyn Backend, opt: &Optimizer, p0: &[f32], grads: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let n = p0.len();
    let p = b.upload(1, n, p0).unwrap();
    let g = b.zeros(1, n).unwrap();
    let slots: Vec<Tensor> = (0..opt.slots()).map(|_| b.zeros(1, n).unwrap()).collect();
    for (i, grad) in grads.iter().enumerate() {
        b.write(g, grad).unwrap();
        b.optimizer_step(&OptimizerStepOp::new(opt, i as u64 + 1, p, g).slots(&slots))
            .unwrap();
    }
    let mut out = vec![b.read(p).unwrap()];
    out.extend(slots.iter().map(|s| b.read(*s).unwrap()));
    out
}

fn optimizers() -> Vec<Optimizer> {
    vec![
        Optimizer::sgd(),
        Optimizer::sgd().with_momentum(0.9).with_weight_decay(Some(0.01)),
        Optimizer::adam(),
        Optimizer::adamw(),
        Optimizer::RmsProp {
            learning_rate: 0.01.into(),
            rho: 0.8,
            momentum: 0.5,
            epsilon: 1e-7,
            centered: true,
            weight_decay: Some(0.004),
        },
    ]
}

pub fn scheduled_steps_agree_on_gpu_and_cpu_and_differ_from_a_constant_rate() {
    let mut gpu = gpu_backend();
    // 257: not a multiple of the kernel's 64-wide workgroup.
    let n = 257;
    let mut rng = Rng::new(5);
    let p0 = rng.vec(n, -1.0, 1.0);
    let grads: Vec<Vec<f32>> = (0..14).map(|_| rng.vec(n, -1.0, 1.0)).collect();
    let mut worst = 0.0f32;
    for schedule in schedules() {
        for base in optimizers() {
            let opt = base.with_schedule(schedule);
            let g = run_steps(&mut gpu, &opt, &p0, &grads);
            let c = run_steps(&mut CpuBackend::new(), &opt, &p0, &grads);
            for (i, (g, c)) in g.iter().zip(&c).enumerate() {
                worst = g.iter().zip(c).map(|(a, b)| (a - b).abs()).fold(worst, f32::max);
                assert_close(
                    &format!("{} with {schedule}: tensor {i}", opt.name()),
                    g,
                    c,
                    Tolerance::new(1e-5, 1e-6),
                );
            }
            let constant = base.with_learning_rate(schedule.value_at(0));
            let k = run_steps(&mut CpuBackend::new(), &constant, &p0, &grads);
            let moved = c[0].iter().zip(&k[0]).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(
                moved > 1e-5,
                "{} with {schedule}: the schedule changed nothing ({moved:e})",
                opt.name()
            );
        }
    }
    println!("scheduled optimizer steps: largest GPU/CPU difference {worst:.3e} (values of magnitude ≤ 4)");
}

pub fn scheduled_sgd_equals_hand_computed_updates(d: TestDevice) {
    let n = 33;
    let mut rng = Rng::new(17);
    let p0 = rng.vec(n, -1.0, 1.0);
    let grads: Vec<Vec<f32>> = (0..15).map(|_| rng.vec(n, -1.0, 1.0)).collect();
    let mut backend = d.backend();
    for schedule in schedules() {
        for wd in [None, Some(0.1f32)] {
            let opt = Optimizer::sgd().with_weight_decay(wd).with_schedule(schedule);
            // Keras's SGD: p ← p − lr·wd·p (decoupled), then p ← p − lr·g, lr = schedule(t − 1).
            let mut want = p0.clone();
            for (t, g) in grads.iter().enumerate() {
                let lr = keras(&schedule, t as u64) as f32;
                for (x, &gi) in want.iter_mut().zip(g) {
                    if let Some(wd) = wd {
                        *x -= *x * wd * lr;
                    }
                    *x -= lr * gi;
                }
            }
            let tol = Tolerance::new(1e-6, 1e-6);
            let what = format!("SGD (weight decay {wd:?}) with {schedule}");
            let got = run_steps(backend.as_mut(), &opt, &p0, &grads);
            assert_close(&format!("{what} on the {}", d.name()), &got[0], &want, tol);
        }
    }
}

fn moons(n: usize) -> (Array2<f32>, Array2<f32>) {
    let mut rng = Rng::new(3);
    let x = Array2::from_shape_vec((n, 2), rng.vec(2 * n, -1.0, 1.0)).unwrap();
    let y = x
        .map_axis(ndarray::Axis(1), |r| if r[0] * r[1] > 0.0 { 1.0f32 } else { 0.0 })
        .insert_axis(ndarray::Axis(1));
    (x, y)
}

fn model(opt: Optimizer, device: Device) -> Model {
    Sequential::new(2)
        .add(Dense::new(6, Activation::Tanh))
        .add(Dense::new(1, Activation::Sigmoid))
        .seed(7)
        .compile(Loss::BinaryCrossentropy { from_logits: false }, opt, &[], device)
        .unwrap()
}

fn weights(m: &mut Model) -> Vec<f32> {
    common::flatten_weights(m.weights().unwrap())
}

/// 50 rows at batch 10 = 5 steps per epoch, 3 epochs = 15 steps.
fn fit_options() -> FitOptions {
    FitOptions::new(3, 10).seed(1)
}

/// The optimizers the training tests schedule.
fn scheduled_bases() -> [Optimizer; 2] {
    [Optimizer::sgd(), Optimizer::adam()]
}

pub fn training_with_each_schedule_logs_its_rates_and_differs_from_a_constant_rate(d: TestDevice) {
    let (x, y) = moons(50);
    for schedule in schedules() {
        for base in scheduled_bases() {
            let opt = base.with_schedule(schedule);
            let mut m = model(opt, d.device());
            let h = m.fit(x.view(), y.view(), fit_options()).unwrap();
            assert_eq!(m.steps(), 15);
            // The logged rate is Keras's `optimizer.learning_rate` after the epoch: the next step's.
            let logged = h.get("learning_rate").unwrap();
            for (e, &lr) in logged.iter().enumerate() {
                assert_eq!(
                    lr,
                    opt.learning_rate_at(5 * (e as u64 + 1) + 1),
                    "{schedule} on the {}: epoch {e}",
                    d.name()
                );
            }
            let w = weights(&mut m);
            let mut constant = model(base.with_learning_rate(schedule.value_at(0)), d.device());
            constant.fit(x.view(), y.view(), fit_options()).unwrap();
            let wk = weights(&mut constant);
            let moved = w.iter().zip(&wk).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
            assert!(
                moved > 1e-5,
                "{} with {schedule} on the {}: same weights as a constant rate",
                opt.name(),
                d.name()
            );
        }
    }
}

pub fn training_with_each_schedule_agrees_on_gpu_and_cpu() {
    let (x, y) = moons(50);
    for schedule in schedules() {
        for base in scheduled_bases() {
            let opt = base.with_schedule(schedule);
            let mut cpu = model(opt, Device::Cpu);
            cpu.fit(x.view(), y.view(), fit_options()).unwrap();
            let mut gpu = model(opt, Device::Gpu(Default::default()));
            gpu.fit(x.view(), y.view(), fit_options()).unwrap();
            assert_close(
                &format!("{} with {schedule}: weights after 15 steps", opt.name()),
                &weights(&mut gpu),
                &weights(&mut cpu),
                Tolerance::new(1e-5, 1e-6),
            );
        }
    }
}

fn invalid_detail(r: Result<(), Error>) -> String {
    match r {
        Err(Error::InvalidArgument { detail, .. }) => detail,
        other => panic!("expected an invalid-argument error, got {other:?}"),
    }
}

pub fn bad_schedules_are_typed_errors_that_say_why() {
    let cases: Vec<(Lrs, &str)> = vec![
        (Lrs::exponential_decay(0.1, 0, 0.5), "decay_steps must be > 0"),
        (Lrs::exponential_decay(f32::NAN, 10, 0.5), "initial_learning_rate"),
        (
            Lrs::exponential_decay(0.1, 10, 0.0),
            "decay_rate must be a finite number > 0",
        ),
        (Lrs::exponential_decay(0.1, 10, f32::INFINITY), "decay_rate"),
        (Lrs::inverse_time_decay(0.1, 10, -1.0), "decay_rate"),
        (Lrs::inverse_time_decay(-0.1, 10, 1.0), "initial_learning_rate"),
        (Lrs::polynomial_decay(0.1, 0, 0.0, 1.0), "decay_steps must be > 0"),
        (
            Lrs::polynomial_decay(0.1, 10, 0.0, 0.0),
            "power must be a finite number > 0",
        ),
        (Lrs::polynomial_decay(0.1, 10, f32::NAN, 1.0), "end_learning_rate"),
        (Lrs::cosine_decay(0.1, 0, 0.0), "decay_steps must be > 0"),
        (Lrs::cosine_decay(0.1, 10, -0.5), "alpha"),
        (
            Lrs::cosine_decay(0.1, 10, 0.0).with_warmup(f32::INFINITY, 5),
            "warmup_target",
        ),
        (Lrs::Constant(-1.0), "finite number ≥ 0"),
    ];
    for (schedule, words) in cases {
        let detail = invalid_detail(schedule.validate());
        assert!(detail.contains(words), "{schedule:?}: `{detail}` should say `{words}`");
        let detail = invalid_detail(Optimizer::adam().with_schedule(schedule).validate());
        assert!(detail.contains(words), "the optimizer reports it too: {detail}");
    }
    let piecewise_cases: Vec<(Vec<u32>, Vec<f32>, &str)> = vec![
        (vec![5, 5], vec![1.0, 0.5, 0.1], "strictly increase"),
        (vec![9, 5], vec![1.0, 0.5, 0.1], "strictly increase"),
        (vec![5], vec![1.0], "one more value than boundaries"),
        (vec![5], vec![1.0, 0.5, 0.1], "one more value than boundaries"),
        (vec![], vec![1.0], "1 to 16 boundaries"),
        (vec![5], vec![1.0, f32::NAN], "finite number ≥ 0"),
        ((1..=17).collect(), vec![0.1; 18], "at most 16"),
    ];
    for (b, v, words) in piecewise_cases {
        let detail = invalid_detail(Lrs::piecewise_constant_decay(&b, &v).map(|_| ()));
        assert!(detail.contains(words), "{b:?} {v:?}: `{detail}` should say `{words}`");
    }
    assert_eq!(MAX_BOUNDARIES, 16);
    let most: Vec<u32> = (1..=16).collect();
    assert!(Lrs::piecewise_constant_decay(&most, &[0.1; 17]).is_ok());
}

pub fn a_bad_schedule_fails_compile_and_the_optimizer_step() {
    let bad = Optimizer::sgd().with_schedule(Lrs::cosine_decay(0.1, 0, 0.0));
    let r = Sequential::new(2).add(Dense::new(1, Activation::Sigmoid)).compile(
        Loss::BinaryCrossentropy { from_logits: false },
        bad,
        &[],
        Device::Cpu,
    );
    assert!(matches!(r, Err(Error::InvalidArgument { .. })), "compile refuses it");
    let mut cpu = CpuBackend::new();
    let p = cpu.upload(1, 3, &[1.0, 2.0, 3.0]).unwrap();
    let g = cpu.upload(1, 3, &[1.0, 1.0, 1.0]).unwrap();
    assert!(
        cpu.optimizer_step(&OptimizerStepOp::new(&bad, 1, p, g)).is_err(),
        "the backend refuses it"
    );
    assert_eq!(cpu.read(p).unwrap(), vec![1.0, 2.0, 3.0], "nothing was updated");
}

pub fn a_scheduled_rate_cannot_be_set_nor_reduced_on_plateau() {
    let (x, y) = moons(20);
    let schedule = Lrs::exponential_decay(0.1, 10, 0.5);
    let mut m = model(Optimizer::sgd().with_schedule(schedule), Device::Cpu);
    let detail = invalid_detail(m.set_learning_rate(0.01));
    assert!(detail.contains("follows a schedule (ExponentialDecay"), "{detail}");
    assert_eq!(m.optimizer().learning_rate_schedule(), schedule, "unchanged");
    let r = m.fit(
        x.view(),
        y.view(),
        FitOptions::new(2, 10).reduce_lr(ReduceLrOnPlateau::new("loss")),
    );
    match r {
        Err(Error::InvalidArgument { what, detail }) => {
            assert_eq!(what, "ReduceLROnPlateau");
            assert!(detail.contains("schedule"), "{detail}");
        }
        other => panic!("expected ReduceLROnPlateau to be refused, got {other:?}"),
    }
    assert_eq!(m.steps(), 0, "refused before training");
    // A constant rate is still settable.
    let mut c = model(Optimizer::sgd(), Device::Cpu);
    c.set_learning_rate(0.5).unwrap();
    assert_eq!(c.optimizer().learning_rate(), 0.5);
}

pub fn a_scheduled_model_saves_and_loads_with_its_schedule() {
    let dir = tempfile::tempdir().unwrap();
    for (i, schedule) in schedules().into_iter().enumerate() {
        let optimizer = Optimizer::adam().with_schedule(schedule);
        let mut m = model(optimizer, Device::Cpu);
        let path = dir.path().join(format!("m{i}.safetensors"));
        m.save(&path, None).unwrap();
        let file = ModelFile::read(&path).unwrap();
        assert_eq!(
            file.optimizer, optimizer,
            "schedule {i} ({schedule}) comes back unchanged"
        );
        // The loaded schedule gives the same rates.
        for step in [1, 2, 50, 1000] {
            assert_eq!(file.optimizer.learning_rate_at(step), optimizer.learning_rate_at(step));
        }
    }
}

/// One case of tests/golden/schedules.json (written by Keras 3 on JAX,
/// tests/golden/generate_schedules.py) as our schedule.
fn golden_schedule(config: &serde_json::Value) -> Lrs {
    let f = |k: &str| config[k].as_f64().unwrap() as f32;
    let u = |k: &str| config[k].as_u64().unwrap() as u32;
    let b = |k: &str| config[k].as_bool().unwrap();
    match config["kind"].as_str().unwrap() {
        "exponential_decay" => {
            Lrs::exponential_decay(f("initial"), u("decay_steps"), f("rate")).with_staircase(b("staircase"))
        }
        "inverse_time_decay" => {
            Lrs::inverse_time_decay(f("initial"), u("decay_steps"), f("rate")).with_staircase(b("staircase"))
        }
        "polynomial_decay" => {
            Lrs::polynomial_decay(f("initial"), u("decay_steps"), f("end"), f("power")).with_cycle(b("cycle"))
        }
        "cosine_decay" => {
            let s = Lrs::cosine_decay(f("initial"), u("decay_steps"), f("alpha"));
            match config.get("warmup_target") {
                Some(_) => s.with_warmup(f("warmup_target"), u("warmup_steps")),
                None => s,
            }
        }
        "piecewise_constant_decay" => {
            let bounds: Vec<u32> = config["boundaries"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u32)
                .collect();
            let values: Vec<f32> = config["values"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            piecewise(&bounds, &values)
        }
        other => panic!("unknown schedule kind {other}"),
    }
}

fn golden_schedules() -> serde_json::Value {
    let path = format!("{}/tests/golden/schedules.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Keras's own values (not a transcription of its formulas): every schedule at every golden
/// step, on the host, and through the optimizer kernel itself on each device (SGD with a unit
/// gradient moves the parameter by exactly the step's rate).
pub fn schedules_equal_keras_golden_values(d: TestDevice) {
    let golden = golden_schedules();
    let steps: Vec<u64> = golden["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    let tol = Tolerance::new(2e-6, 1e-9);
    let mut backend = d.backend();
    let b = backend.as_mut();
    for case in golden["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let schedule = golden_schedule(&case["config"]);
        let want: Vec<f32> = case["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() as f32)
            .collect();
        let host: Vec<f32> = steps.iter().map(|&s| schedule.value_at(s)).collect();
        assert_close(&format!("{name} on the host"), &host, &want, tol);
        // The kernel's rate at iterations 0..=151 (optimizer steps 1..=152), as parameter moves.
        let opt = Optimizer::sgd().with_schedule(schedule);
        let p = b.upload(1, 1, &[0.0]).unwrap();
        let g = b.upload(1, 1, &[1.0]).unwrap();
        let mut last = 0.0f32;
        let mut moved = Vec::new();
        for step in 1..=152u64 {
            b.optimizer_step(&OptimizerStepOp::new(&opt, step, p, g)).unwrap();
            let now = b.read(p).unwrap()[0];
            moved.push(f64::from(last) - f64::from(now));
            last = now;
        }
        for (i, &s) in steps.iter().enumerate().filter(|(_, s)| **s < 152) {
            // The difference of two f32 parameters carries their rounding: 1e-6 of |p|.
            let slack = 1e-6 * f64::from(last.abs()).max(1.0) + 1e-7;
            let got = moved[s as usize];
            assert!(
                (got - f64::from(want[i])).abs() <= slack + 2e-6 * f64::from(want[i]).abs(),
                "{d:?} {name}: the kernel moved {got} at iterations {s}, Keras's rate is {}",
                want[i]
            );
        }
    }
}
