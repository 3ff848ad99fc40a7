//! Which executor runs: `auto` picks fused on the GPU where the model fits one workgroup and
//! layered otherwise, with the reason in `summary()`; an explicit `fused` that cannot run is an
//! error that says why.

use crate::common::harness::TestDevice;
use ndarray::Array2;
use wgtrain::Error;
use wgtrain::model::{Dense, Device, Execution, ExecutorKind, FitOptions, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

const BCE: Loss = Loss::BinaryCrossentropy { from_logits: false };

fn seed_model(execution: Execution, device: Device) -> wgtrain::Result<wgtrain::model::Model> {
    Sequential::new(1)
        .add(Dense::new(10, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile_with(BCE, Optimizer::adam(), &[], device, execution)
}

pub fn cpu_runs_layered_and_refuses_fused(d: TestDevice) {
    if d == TestDevice::Gpu {
        // The GPU's choice is tested by gpu_auto_picks_fused_where_it_fits.
        return;
    }
    let model = seed_model(Execution::Auto, Device::Cpu).unwrap();
    assert_eq!(model.executor().kind, ExecutorKind::Layered);
    assert!(
        model.executor().reason.contains("the CPU backend runs layered"),
        "{}",
        model.executor().reason
    );
    assert!(model.summary(10).contains("Executor: layered"), "{}", model.summary(10));
    match seed_model(Execution::Fused, Device::Cpu) {
        Err(Error::ExecutorUnavailable {
            executor: "fused",
            reason,
        }) => {
            assert!(reason.contains("CPU") || reason.contains("cpu"), "{reason}")
        }
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("fused on the CPU must be refused"),
    }
}

pub fn gpu_auto_picks_fused_where_it_fits() {
    let device = Device::Gpu(Default::default());
    let mut model = seed_model(Execution::Auto, device.clone()).unwrap();
    assert_eq!(
        model.executor().kind,
        ExecutorKind::Fused,
        "{}",
        model.executor().reason
    );
    let summary = model.summary(10);
    assert!(summary.contains("Executor: fused"), "{summary}");
    let x = Array2::from_shape_fn((50, 1), |(i, _)| i as f32 / 50.0);
    let y = x.mapv(|v| f32::from(v > 0.5));
    model.fit(x.view(), y.view(), FitOptions::new(1, 10)).unwrap();
    assert_eq!(model.executor().kind, ExecutorKind::Fused);
    assert!(
        model.executor().reason.contains("batch size 10"),
        "{}",
        model.executor().reason
    );
    let layered = seed_model(Execution::Layered, device).unwrap();
    assert_eq!(layered.executor().kind, ExecutorKind::Layered);
    assert_eq!(layered.executor().reason, "requested");
}

pub fn too_wide_model_falls_back_or_refuses() {
    let device = Device::Gpu(Default::default());
    // 9 000 inputs: even one row needs more workgroup memory than any device here grants.
    let wide = || {
        Sequential::new(9_000)
            .add(Dense::new(4, Activation::Relu))
            .add(Dense::new(1, Activation::Sigmoid))
    };
    let model = wide()
        .compile_with(BCE, Optimizer::sgd(), &[], device.clone(), Execution::Auto)
        .unwrap();
    assert_eq!(model.executor().kind, ExecutorKind::Layered);
    assert!(
        model.executor().reason.starts_with("auto: "),
        "{}",
        model.executor().reason
    );
    assert!(
        model.summary(32).contains("Executor: layered (auto: "),
        "{}",
        model.summary(32)
    );
    match wide().compile_with(BCE, Optimizer::sgd(), &[], device.clone(), Execution::Fused) {
        Err(Error::ExecutorUnavailable { .. }) => {}
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a model that does not fit must be refused"),
    }
    // A model whose large batches do not fit one workgroup: auto splits a step over at most 4
    // workgroups and otherwise runs layered (and says so); an explicit fused splits it over
    // up to 64 and refuses beyond.
    let mid = || {
        Sequential::new(32)
            .add(Dense::new(64, Activation::Relu))
            .add(Dense::new(1, Activation::Sigmoid))
    };
    let mut auto = mid()
        .compile_with(BCE, Optimizer::sgd(), &[], device.clone(), Execution::Auto)
        .unwrap();
    assert_eq!(auto.executor().kind, ExecutorKind::Fused);
    let x = Array2::from_shape_fn((4000, 32), |(i, j)| ((i * 7 + j) % 11) as f32 / 11.0);
    let y = Array2::from_shape_fn((4000, 1), |(i, _)| (i % 2) as f32);
    auto.fit(x.view(), y.view(), FitOptions::new(1, 600)).unwrap();
    assert_eq!(
        auto.executor().kind,
        ExecutorKind::Layered,
        "{}",
        auto.executor().reason
    );
    assert!(
        auto.executor().reason.contains("split over"),
        "{}",
        auto.executor().reason
    );
    let mut fused = mid()
        .compile_with(BCE, Optimizer::sgd(), &[], device, Execution::Fused)
        .unwrap();
    fused.fit(x.view(), y.view(), FitOptions::new(1, 600)).unwrap();
    assert_eq!(fused.executor().kind, ExecutorKind::Fused);
    assert!(
        fused.executor().reason.contains("split over"),
        "{}",
        fused.executor().reason
    );
    // Evaluation and prediction run layered at any batch size, even with fused requested.
    assert_eq!(fused.predict(x.view(), 4000).unwrap().dim(), (4000, 1));
    assert!(fused.evaluate(x.view(), y.view(), 4000).unwrap()["loss"].is_finite());
    match fused.fit(x.view(), y.view(), FitOptions::new(1, 4000)) {
        Err(Error::ExecutorUnavailable { reason, .. }) => assert!(reason.contains("batch size 4000"), "{reason}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("fused at a batch that does not fit must be refused"),
    }
}

/// Under WebGPU's default limits (what a browser grants without asking: 256 invocations,
/// 16 KiB of workgroup memory, 8 storage buffers) small models still run fused; Adam's nine
/// storage buffers do not, and say so; a 64 → 64 → 10 model at batch 32 (25 KiB) splits its
/// steps over two workgroups.
pub fn webgpu_default_limits_decide_the_fit() {
    use wgtrain::backend::GpuBackend;
    use wgtrain::backend::gpu::{AdapterChoice, GpuContext};
    let backend = || {
        let ctx = GpuContext::with_limits(&AdapterChoice::Auto, Some(wgpu::Limits::default())).unwrap();
        Box::new(GpuBackend::from_context(ctx).unwrap())
    };
    let seed = |optimizer| {
        Sequential::new(1)
            .add(Dense::new(10, Activation::Relu))
            .add(Dense::new(1, Activation::Sigmoid))
            .compile_on_with(BCE, optimizer, &[], backend(), Execution::Auto)
            .unwrap()
    };
    let sgd = seed(Optimizer::sgd());
    assert_eq!(sgd.executor().kind, ExecutorKind::Fused, "{}", sgd.executor().reason);
    let adam = seed(Optimizer::adam());
    assert_eq!(adam.executor().kind, ExecutorKind::Layered);
    assert!(
        adam.executor().reason.contains("storage buffers"),
        "{}",
        adam.executor().reason
    );
    let digits = Sequential::new(64)
        .add(Dense::new(64, Activation::Relu))
        .add(Dense::new(10, Activation::Softmax))
        .compile_on_with(
            Loss::SparseCategoricalCrossentropy { from_logits: false },
            Optimizer::sgd(),
            &[],
            backend(),
            Execution::Auto,
        )
        .unwrap();
    assert!(digits.summary(8).contains("Executor: fused"), "{}", digits.summary(8));
    // At batch 32 it needs 25 KiB: each step is split over two workgroups.
    let at_32 = digits.summary(32);
    assert!(
        at_32.contains("Executor: fused (auto: each step split over 2 workgroups"),
        "{at_32}"
    );
}
