//! Layer 1 of the tests (DESIGN.md §6): golden values computed by Keras 3 on JAX in float32
//! (tests/golden/, copied from shared/golden), checked on both backends: each operation
//! through the Backend, and one whole training step through the model's real executor.

use ndarray::Array2;
use serde_json::Value;
use wgtrain::backend::{ActivationBackwardOp, Backend, LossOp, MatmulOp, OptimizerStepOp, SoftmaxOp, Tensor};
use wgtrain::model::{Dense, FitOptions, Sequential};
use wgtrain::nn::{Activation, Loss, Optimizer};

use crate::common::harness::TestDevice;
use crate::common::{Tolerance, assert_close};

/// Elementwise values: about 1e-6 relative (the golden README's figure) with a small floor.
const ELEMENTWISE: Tolerance = Tolerance::new(2e-6, 1e-6);
/// Derivatives: JAX computes gelu-tanh′ in f32, where tanh saturates to exactly −1 near
/// x = −5 and the derivative rounds to 0; its true value there is about −1.5e-6, which we
/// keep. The absolute floor allows that saturation and nothing larger.
const DERIVATIVE: Tolerance = Tolerance::new(2e-6, 3e-6);
/// Reductions and optimizer steps: about 1e-5 relative.
const REDUCTION: Tolerance = Tolerance::new(1e-5, 1e-6);

fn golden(name: &str) -> Value {
    let path = format!("{}/tests/golden/{name}.json", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// (shape, data) of a `{shape, data}` node.
fn array(v: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    (shape, data)
}

fn data(v: &Value) -> Vec<f32> {
    array(v).1
}

/// Uploads a golden array as a 2-D tensor (1-D arrays become one row).
fn upload(b: &mut dyn Backend, v: &Value) -> Tensor {
    let (shape, data) = array(v);
    let (rows, cols) = match shape[..] {
        [n] => (1, n),
        [r, c] => (r, c),
        _ => panic!("unexpected shape {shape:?}"),
    };
    b.upload(rows, cols, &data).unwrap()
}

fn activation_named(name: &str) -> Activation {
    match name {
        "linear" => Activation::Linear,
        "relu" => Activation::Relu,
        "leaky_relu_0.2" => Activation::LeakyRelu { alpha: 0.2 },
        "sigmoid" => Activation::Sigmoid,
        "tanh" => Activation::Tanh,
        "gelu_exact" => Activation::Gelu { approximate: false },
        "gelu_tanh" => Activation::Gelu { approximate: true },
        "elu_1.0" => Activation::Elu { alpha: 1.0 },
        other => panic!("unknown golden activation {other}"),
    }
}

pub fn activations(device: TestDevice) {
    let mut backend = device.backend();
    let b: &mut dyn Backend = backend.as_mut();
    let g = golden("activations");
    let x = data(&g["x"]);
    let n = x.len();
    let xt = b.upload(n, 1, &x).unwrap();
    let one = b.upload(1, 1, &[1.0]).unwrap();
    let ones = b.upload(n, 1, &vec![1.0; n]).unwrap();
    let acts = g["activations"].as_object().unwrap();
    assert_eq!(acts.len(), 8, "every activation has golden values");
    for (name, v) in acts {
        let act = activation_named(name);
        // y = act(x·[1]) through the matmul epilogue, act′ through activation_backward.
        let (y, z, dz) = (b.zeros(n, 1).unwrap(), b.zeros(n, 1).unwrap(), b.zeros(n, 1).unwrap());
        b.matmul(&MatmulOp::new(xt, one, y).epilogue(None, act, Some(z)))
            .unwrap();
        b.activation_backward(&ActivationBackwardOp::new(ones, z, act).dz(dz))
            .unwrap();
        assert_close(&format!("{name} y"), &b.read(y).unwrap(), &data(&v["y"]), ELEMENTWISE);
        let mut got = b.read(dz).unwrap();
        let want = data(&v["dy_dx"]);
        // relu′(0) may be taken from either side (golden README).
        for (i, &xi) in x.iter().enumerate() {
            if xi == 0.0 && matches!(act, Activation::Relu | Activation::LeakyRelu { .. }) {
                got[i] = want[i];
            }
        }
        assert_close(&format!("{name} dy/dx"), &got, &want, DERIVATIVE);
    }
}

pub fn softmax(device: TestDevice) {
    let mut backend = device.backend();
    let b: &mut dyn Backend = backend.as_mut();
    let g = golden("softmax");
    let z = upload(b, &g["z"]);
    let out = b.zeros(z.rows(), z.cols()).unwrap();
    b.softmax(&SoftmaxOp::new(z, out)).unwrap();
    assert_close("softmax", &b.read(out).unwrap(), &data(&g["softmax"]), ELEMENTWISE);
}

fn loss_named(name: &str) -> Loss {
    match name {
        "mean_squared_error" => Loss::MeanSquaredError,
        "mean_absolute_error" => Loss::MeanAbsoluteError,
        "binary_crossentropy" => Loss::BinaryCrossentropy { from_logits: false },
        "binary_crossentropy_from_logits" => Loss::BinaryCrossentropy { from_logits: true },
        "categorical_crossentropy" => Loss::CategoricalCrossentropy { from_logits: false },
        "categorical_crossentropy_from_logits" => Loss::CategoricalCrossentropy { from_logits: true },
        "sparse_categorical_crossentropy" => Loss::SparseCategoricalCrossentropy { from_logits: false },
        "sparse_categorical_crossentropy_from_logits" => Loss::SparseCategoricalCrossentropy { from_logits: true },
        other => panic!("unknown golden loss {other}"),
    }
}

pub fn losses(device: TestDevice) {
    let mut backend = device.backend();
    let b: &mut dyn Backend = backend.as_mut();
    let g = golden("losses");
    for (name, v) in g["losses"].as_object().unwrap() {
        let loss = loss_named(name);
        let pred = upload(b, &v["y_pred"]);
        let mut target = upload(b, &v["y_true"]);
        if loss.sparse_targets() {
            target = target.reshape(pred.rows(), 1).unwrap();
        }
        let row_loss = b.zeros(pred.rows(), 1).unwrap();
        let grad = b.zeros(pred.rows(), pred.cols()).unwrap();
        b.loss(&LossOp {
            loss,
            pred,
            target,
            weights: None,
            row_loss,
            grad: Some(grad),
            target_rows: None,
        })
        .unwrap();
        let mean: f32 = b.read(row_loss).unwrap().iter().sum::<f32>() / pred.rows() as f32;
        let want = v["loss"].as_f64().unwrap() as f32;
        assert!(REDUCTION.accepts(mean, want), "{name}: loss {mean} expected {want}");
        assert_close(
            &format!("{name} grad"),
            &b.read(grad).unwrap(),
            &data(&v["grad"]),
            REDUCTION,
        );
    }
}

/// Forward and backward of one Dense layer: y, dx, dw, db.
pub fn dense(device: TestDevice) {
    let mut backend = device.backend();
    let b: &mut dyn Backend = backend.as_mut();
    let g = golden("dense");
    let (x, w, bias, dy) = (
        upload(b, &g["x"]),
        upload(b, &g["w"]),
        upload(b, &g["b"]),
        upload(b, &g["dy"]),
    );
    let (batch, inputs, units) = (x.rows(), x.cols(), w.cols());
    for (name, v) in g["by_activation"].as_object().unwrap() {
        let act = activation_named(name);
        let (y, z) = (b.zeros(batch, units).unwrap(), b.zeros(batch, units).unwrap());
        b.matmul(&MatmulOp::new(x, w, y).epilogue(Some(bias), act, Some(z)))
            .unwrap();
        let (dz, db) = (b.zeros(batch, units).unwrap(), b.zeros(1, units).unwrap());
        b.activation_backward(&ActivationBackwardOp::new(dy, z, act).dz(dz).db(db))
            .unwrap();
        let (dx, dw) = (b.zeros(batch, inputs).unwrap(), b.zeros(inputs, units).unwrap());
        b.matmul(&MatmulOp::new(dz, w, dx).transposed(false, true)).unwrap();
        b.matmul(&MatmulOp::new(x, dz, dw).transposed(true, false)).unwrap();
        assert_close(
            &format!("dense {name} y"),
            &b.read(y).unwrap(),
            &data(&v["y"]),
            REDUCTION,
        );
        assert_close(
            &format!("dense {name} dx"),
            &b.read(dx).unwrap(),
            &data(&v["dx"]),
            REDUCTION,
        );
        assert_close(
            &format!("dense {name} dw"),
            &b.read(dw).unwrap(),
            &data(&v["dw"]),
            REDUCTION,
        );
        assert_close(
            &format!("dense {name} db"),
            &b.read(db).unwrap(),
            &data(&v["db"]),
            REDUCTION,
        );
    }
}

fn optimizer_from(config: &Value, name: &str) -> Optimizer {
    let f = |k: &str| config[k].as_f64().map(|x| x as f32);
    let lr = f("learning_rate").unwrap();
    let weight_decay = f("weight_decay");
    if name.starts_with("sgd") {
        Optimizer::Sgd {
            learning_rate: lr.into(),
            momentum: f("momentum").unwrap(),
            nesterov: config["nesterov"].as_bool().unwrap(),
            weight_decay,
        }
    } else if name.starts_with("adam") {
        Optimizer::Adam {
            learning_rate: lr.into(),
            beta_1: f("beta_1").unwrap(),
            beta_2: f("beta_2").unwrap(),
            epsilon: f("epsilon").unwrap(),
            weight_decay,
        }
    } else if name.starts_with("rmsprop") {
        Optimizer::RmsProp {
            learning_rate: lr.into(),
            rho: f("rho").unwrap(),
            momentum: f("momentum").unwrap(),
            epsilon: f("epsilon").unwrap(),
            centered: false,
            weight_decay,
        }
    } else {
        panic!("unknown golden optimizer {name}")
    }
}

pub fn optimizers(device: TestDevice) {
    let mut backend = device.backend();
    let b: &mut dyn Backend = backend.as_mut();
    let g = golden("optimizers");
    let params0 = data(&g["params0"]);
    let grads: Vec<Vec<f32>> = g["grads"].as_array().unwrap().iter().map(data).collect();
    let configs = g["optimizers"].as_object().unwrap();
    assert_eq!(configs.len(), 8);
    for (name, v) in configs {
        let opt = optimizer_from(&v["config"], name);
        // Keras's defaults are ours: the default-named configs must equal our constructors.
        if name == "adam_default" {
            assert_eq!(opt, Optimizer::adam());
        }
        if name == "rmsprop_default" {
            assert_eq!(opt, Optimizer::rmsprop());
        }
        let p = b.upload(1, params0.len(), &params0).unwrap();
        let gt = b.zeros(1, params0.len()).unwrap();
        let slots: Vec<Tensor> = (0..opt.slots()).map(|_| b.zeros(1, params0.len()).unwrap()).collect();
        for (step, expected) in v["params_after_step"].as_array().unwrap().iter().enumerate() {
            b.write(gt, &grads[step]).unwrap();
            b.optimizer_step(&OptimizerStepOp::new(&opt, step as u64 + 1, p, gt).slots(&slots))
                .unwrap();
            assert_close(
                &format!("{name} step {}", step + 1),
                &b.read(p).unwrap(),
                &data(expected),
                REDUCTION,
            );
        }
    }
}

/// The golden MLP step (Dense(8, relu) → Dense(1, sigmoid), bce) through the real training path: a compiled model with the golden
/// weights, one `fit` step over the whole batch (SGD, unshuffled). The epoch's loss is the
/// loss before the update, `gradients()` are the step's gradients, and the weights after it
/// are w − lr·g — all as Keras computed them.
pub fn mlp_step(device: TestDevice) {
    let g = golden("mlp_step");
    let (x_shape, x) = array(&g["x"]);
    let (_, y) = array(&g["y"]);
    let (inputs, rows) = (x_shape[1], x_shape[0]);
    let names = ["layers.0.kernel", "layers.0.bias", "layers.1.kernel", "layers.1.bias"];
    let [w0, b0, w1, b1] = names.map(|n| data(&g[n]));
    let hidden = b0.len();
    let lr = 0.1f32;
    let mut model = Sequential::new(inputs)
        .add(Dense::new(hidden, Activation::Relu))
        .add(Dense::new(1, Activation::Sigmoid))
        .compile(
            Loss::BinaryCrossentropy { from_logits: false },
            Optimizer::sgd().with_learning_rate(lr),
            &[],
            device.device(),
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
    assert_eq!(model.steps(), 1, "one step over the whole batch");

    let loss = history.last("loss").unwrap();
    let want = g["loss"].as_f64().unwrap() as f32;
    assert!(
        REDUCTION.accepts(loss, want),
        "{device:?}: mlp loss {loss} expected {want}"
    );
    let grads = model.gradients().unwrap();
    let weights = model.weights().unwrap();
    let before = [(&w0, &b0), (&w1, &b1)];
    for (layer, ((dk, db), (k, b))) in grads.iter().zip(&weights).enumerate() {
        let want_dk = data(&g["grads"][format!("layers.{layer}.kernel")]);
        let want_db = data(&g["grads"][format!("layers.{layer}.bias")]);
        let what = |t: &str| format!("{device:?} mlp layer {layer} {t}");
        assert_close(&what("dW"), dk, &want_dk, REDUCTION);
        assert_close(&what("db"), db.as_ref().unwrap(), &want_db, REDUCTION);
        // The update applied with Keras's gradients, in f64.
        let step = |w: &[f32], d: &[f32]| -> Vec<f32> {
            w.iter()
                .zip(d)
                .map(|(&w, &d)| (f64::from(w) - f64::from(lr) * f64::from(d)) as f32)
                .collect()
        };
        let (k0, b0) = before[layer];
        assert_close(&what("W after the step"), k, &step(k0, &want_dk), REDUCTION);
        assert_close(
            &what("b after the step"),
            b.as_ref().unwrap(),
            &step(b0, &want_db),
            REDUCTION,
        );
    }
}
