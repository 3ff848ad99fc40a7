//! Layer 1 of the tests (DESIGN.md §6): golden values computed by Keras 3 on JAX in float32
//! (tests/golden/, copied from shared/golden), checked on both backends through the same
//! Backend operations a training step uses.

mod common;

use common::{Tolerance, assert_close};
use serde_json::Value;
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, LossOp, MatmulOp, OptimizerStepOp, SoftmaxOp, Tensor,
};
use wgtrain::nn::{Activation, Loss, Optimizer};

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

fn activations(b: &mut dyn Backend) {
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

fn softmax(b: &mut dyn Backend) {
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

fn losses(b: &mut dyn Backend) {
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
fn dense(b: &mut dyn Backend) {
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
            learning_rate: lr,
            momentum: f("momentum").unwrap(),
            nesterov: config["nesterov"].as_bool().unwrap(),
            weight_decay,
        }
    } else if name.starts_with("adam") {
        Optimizer::Adam {
            learning_rate: lr,
            beta_1: f("beta_1").unwrap(),
            beta_2: f("beta_2").unwrap(),
            epsilon: f("epsilon").unwrap(),
            weight_decay,
        }
    } else if name.starts_with("rmsprop") {
        Optimizer::RmsProp {
            learning_rate: lr,
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

fn optimizers(b: &mut dyn Backend) {
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

/// A whole MLP step: Dense(8, relu) → Dense(1, sigmoid), bce; the loss and every gradient.
fn mlp_step(b: &mut dyn Backend) {
    let g = golden("mlp_step");
    let (x, y) = (upload(b, &g["x"]), upload(b, &g["y"]));
    let w0 = upload(b, &g["layers.0.kernel"]);
    let b0 = upload(b, &g["layers.0.bias"]);
    let w1 = upload(b, &g["layers.1.kernel"]);
    let b1 = upload(b, &g["layers.1.bias"]);
    let (batch, hidden) = (x.rows(), w0.cols());
    let (h, z0) = (b.zeros(batch, hidden).unwrap(), b.zeros(batch, hidden).unwrap());
    let (p, z1) = (b.zeros(batch, 1).unwrap(), b.zeros(batch, 1).unwrap());
    b.matmul(&MatmulOp::new(x, w0, h).epilogue(Some(b0), Activation::Relu, Some(z0)))
        .unwrap();
    b.matmul(&MatmulOp::new(h, w1, p).epilogue(Some(b1), Activation::Sigmoid, Some(z1)))
        .unwrap();
    let (row_loss, dp) = (b.zeros(batch, 1).unwrap(), b.zeros(batch, 1).unwrap());
    let loss = Loss::BinaryCrossentropy { from_logits: false };
    b.loss(&LossOp {
        loss,
        pred: p,
        target: y,
        weights: None,
        row_loss,
        grad: Some(dp),
    })
    .unwrap();
    let (dz1, db1, dw1) = (
        b.zeros(batch, 1).unwrap(),
        b.zeros(1, 1).unwrap(),
        b.zeros(hidden, 1).unwrap(),
    );
    b.activation_backward(&ActivationBackwardOp::new(dp, z1, Activation::Sigmoid).dz(dz1).db(db1))
        .unwrap();
    b.matmul(&MatmulOp::new(h, dz1, dw1).transposed(true, false)).unwrap();
    let dh = b.zeros(batch, hidden).unwrap();
    b.matmul(&MatmulOp::new(dz1, w1, dh).transposed(false, true)).unwrap();
    let (dz0, db0, dw0) = (
        b.zeros(batch, hidden).unwrap(),
        b.zeros(1, hidden).unwrap(),
        b.zeros(x.cols(), hidden).unwrap(),
    );
    b.activation_backward(&ActivationBackwardOp::new(dh, z0, Activation::Relu).dz(dz0).db(db0))
        .unwrap();
    b.matmul(&MatmulOp::new(x, dz0, dw0).transposed(true, false)).unwrap();

    let mean = b.read(row_loss).unwrap().iter().sum::<f32>() / batch as f32;
    let want = g["loss"].as_f64().unwrap() as f32;
    assert!(REDUCTION.accepts(mean, want), "mlp loss {mean} expected {want}");
    let grads = &g["grads"];
    assert_close(
        "mlp dW0",
        &b.read(dw0).unwrap(),
        &data(&grads["layers.0.kernel"]),
        REDUCTION,
    );
    assert_close(
        "mlp db0",
        &b.read(db0).unwrap(),
        &data(&grads["layers.0.bias"]),
        REDUCTION,
    );
    assert_close(
        "mlp dW1",
        &b.read(dw1).unwrap(),
        &data(&grads["layers.1.kernel"]),
        REDUCTION,
    );
    assert_close(
        "mlp db1",
        &b.read(db1).unwrap(),
        &data(&grads["layers.1.bias"]),
        REDUCTION,
    );
}

/// Stamps each golden check out once per backend.
macro_rules! per_backend {
    ($($check:ident),* $(,)?) => {
        mod cpu {
            $(#[test] fn $check() { super::$check(&mut wgtrain::backend::CpuBackend::new()); })*
        }
        mod gpu {
            $(#[test] fn $check() { if let Some(mut g) = super::common::gpu() { super::$check(&mut g); } })*
        }
    };
}

per_backend!(activations, softmax, losses, dense, optimizers, mlp_step);

#[test]
fn cpu_backend_constructs() {
    let _ = CpuBackend::new();
}
