//! The generator without a device: every kind of model gives a module that naga accepts under
//! WebGPU's default limits (or the layout says why it does not fit), the layouts respect the
//! loop bound, and a step shortfall is an error.

use super::design::{Design, ITERATION_BUDGET};
use super::{check_steps, wgsl};
use crate::backend::gpu::validate::{ShaderTarget, validate};
use crate::backend::{ProgramLimits, metric_slot};
use crate::model::{Dense, Dropout, Sequential};
use crate::nn::{Activation, Loss, Optimizer};
use crate::{Error, Result};

fn design(model: &Sequential, loss: Loss, optimizer: &Optimizer) -> Design {
    let head = crate::model::head::LossHead::new(loss, &model.layers, model.output_width());
    Design::new(
        model,
        head.computed_loss(),
        head.softmax_fused(),
        head.accuracy(),
        head.target_width(),
        optimizer,
    )
}

#[test]
fn generated_modules_validate_for_every_model_kind() -> Result<()> {
    let target = ShaderTarget::default();
    let limits = ProgramLimits::WEBGPU_DEFAULTS;
    let models = [
        (
            Sequential::new(3)
                .add(Dense::new(5, Activation::Gelu { approximate: true }))
                .add(Dropout::new(0.3))
                .add(Dense::new(4, Activation::Softmax)),
            Loss::SparseCategoricalCrossentropy { from_logits: false },
        ),
        (
            Sequential::new(2)
                .add(Dropout::new(0.1))
                .add(Dense::new(3, Activation::Elu { alpha: 0.5 }).use_bias(false))
                .add(Dense::new(3, Activation::Softmax)),
            Loss::MeanSquaredError,
        ),
        (
            Sequential::new(4).add(Dense::new(1, Activation::Linear)),
            Loss::BinaryCrossentropy { from_logits: true },
        ),
        (
            Sequential::new(6)
                .add(Dense::new(7, Activation::LeakyRelu { alpha: 0.1 }))
                .add(Dense::new(2, Activation::Sigmoid)),
            Loss::CategoricalCrossentropy { from_logits: false },
        ),
    ];
    let first = design(&models[0].0, models[0].1, &Optimizer::sgd());
    let roomy = ProgramLimits {
        storage_buffers: 16,
        ..limits
    };
    assert!(
        first.layout(400, &roomy).unwrap().slices > 1,
        "400 rows of the first model are split"
    );
    for (model, loss) in &models {
        for optimizer in [
            Optimizer::sgd(),
            Optimizer::sgd().with_momentum(0.9),
            Optimizer::rmsprop(),
        ] {
            let d = design(model, *loss, &optimizer);
            // 400 rows do not fit 16 KiB: the step is split (one more storage buffer).
            let roomy = ProgramLimits {
                storage_buffers: 16,
                ..limits
            };
            for (batch, limits) in [(1, limits), (5, limits), (16, limits), (400, roomy)] {
                let layout = d.layout(batch, &limits).map_err(|why| Error::InvalidArgument {
                    what: "layout",
                    detail: why,
                })?;
                assert!(layout.iterations_per_step * u64::from(layout.steps_per_dispatch) <= ITERATION_BUDGET);
                validate(&wgsl::module(&d, &layout, false), &target)?;
            }
        }
        // Adam binds nine storage buffers: more than WebGPU's default eight.
        let adam = design(model, *loss, &Optimizer::adam());
        let why = adam.layout(4, &limits).unwrap_err();
        assert!(why.contains("9 storage buffers"), "{why}");
        let roomy = ProgramLimits {
            storage_buffers: 16,
            ..limits
        };
        let layout = adam.layout(4, &roomy).unwrap();
        validate(&wgsl::module(&adam, &layout, true), &ShaderTarget::default())?;
    }
    Ok(())
}

#[test]
fn layouts_grow_with_the_batch_until_memory_runs_out() {
    let model = Sequential::new(64)
        .add(Dense::new(64, Activation::Relu))
        .add(Dense::new(10, Activation::Softmax));
    let d = design(
        &model,
        Loss::SparseCategoricalCrossentropy { from_logits: false },
        &Optimizer::sgd(),
    );
    let limits = ProgramLimits::WEBGPU_DEFAULTS;
    let max = d.max_batch(&limits);
    assert!(max >= 8, "{max}");
    assert!(d.layout(max, &limits).is_ok());
    let why = d.layout(max + 1, &limits).unwrap_err();
    assert!(why.contains("workgroup memory"), "{why}");
}

#[test]
fn a_step_shortfall_is_an_error() {
    let mut acc = vec![0.0f32; metric_slot::COUNT];
    acc[metric_slot::USED] = 100.0;
    assert!(check_steps(100, &acc).is_ok());
    assert!(check_steps(0, &acc).is_ok(), "nothing recorded fused: nothing to check");
    match check_steps(101, &acc) {
        Err(Error::IncompleteDispatch {
            expected: 101,
            completed: 100,
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
}
