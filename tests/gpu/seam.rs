//! The checked seam: freed and foreign tensors are refused by every operation, and both
//! backends reject each mistake (shapes, storages, arguments) with the same words.

use wgtrain::Error;
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, DropoutBackwardOp, DropoutOp, GatherRowsOp, IndexedRows, LossOp,
    MatmulOp, MetricsOp, OptimizerStepOp, SoftmaxBackwardOp, SoftmaxOp, Tensor, metric_slot,
};
use wgtrain::nn::{Activation, Loss, Optimizer};

use crate::common::harness::{TestDevice, gpu_backend};

/// Operations on a freed tensor are `UnknownTensor` naming the operation, on both backends.
fn freed_tensor_is_unknown(be: &mut dyn Backend) {
    let a = be.upload(2, 2, &[1.0; 4]).unwrap();
    let b = be.upload(2, 2, &[1.0; 4]).unwrap();
    let c = be.zeros(2, 2).unwrap();
    be.free(a).unwrap();
    be.free(a).unwrap(); // freeing twice is harmless
    let id = a.storage();
    #[track_caller]
    fn expect_unknown<T: std::fmt::Debug>(result: wgtrain::Result<T>, op_name: &str, id: u32) {
        match result {
            Err(Error::UnknownTensor { op, storage }) => assert_eq!((op, storage), (op_name, id)),
            other => panic!("{op_name} on a freed tensor gave {other:?}"),
        }
    }
    expect_unknown(be.read(a), "read", id);
    expect_unknown(be.matmul(&MatmulOp::new(a, b, c)), "matmul", id);
    expect_unknown(be.write(a, &[0.0; 4]), "write", id);
    expect_unknown(be.copy(b, a), "copy", id);
    // Other tensors are unaffected.
    let d = be.upload(2, 2, &[1.0; 4]).unwrap();
    be.matmul(&MatmulOp::new(b, d, c)).unwrap();
    assert_eq!(be.read(c).unwrap(), vec![2.0; 4]);
}

pub fn freed_tensor_is_unknown_tensor(device: TestDevice) {
    freed_tensor_is_unknown(device.backend().as_mut());
}

/// Every operation of `be` refuses `foreign` (a [2, 2] tensor of another backend) with
/// `ForeignTensor` naming the operation and both backends, and leaves `be`'s own storages
/// (whose numbers the foreign tensor's storage may share) as they were.
fn refuses_foreign_tensor(be: &mut dyn Backend, foreign: Tensor) {
    let own = [1.0, 2.0, 3.0, 4.0];
    // Allocated first, so it has the lowest storage number this backend hands out.
    let mine = be.upload(2, 2, &own).unwrap();
    let out = be.zeros(2, 2).unwrap();
    let (col, acc) = (be.zeros(2, 1).unwrap(), be.zeros(1, metric_slot::COUNT).unwrap());
    let idx = be.upload_u32(&[0, 1]).unwrap();
    let adam = Optimizer::adam();
    let slots = [be.zeros(2, 2).unwrap(), be.zeros(2, 2).unwrap()];
    let foreign_slots = [slots[0], foreign];
    let (theirs, ours) = (foreign.backend(), be.id());
    assert_ne!(theirs, ours);
    let expect_foreign = |result: wgtrain::Result<()>, op_name: &str| match result {
        Err(err @ Error::ForeignTensor { .. }) => {
            let Error::ForeignTensor {
                op,
                tensor_backend,
                backend,
            } = &err
            else {
                unreachable!()
            };
            assert_eq!((*op, *tensor_backend, *backend), (op_name, theirs, ours));
            let message = err.to_string();
            for named in [op_name.to_string(), theirs.to_string(), ours.to_string()] {
                assert!(message.contains(&named), "`{named}` missing from: {message}");
            }
        }
        other => panic!("{}: {op_name} with a foreign tensor gave {other:?}", be_name(ours)),
    };
    expect_foreign(be.read(foreign).map(drop), "read");
    expect_foreign(be.write(foreign, &own), "write");
    expect_foreign(be.write_u32(foreign, &[0; 4]), "write_u32");
    expect_foreign(be.fill(foreign, 1.0), "fill");
    expect_foreign(be.copy(foreign, out), "copy");
    expect_foreign(be.copy(mine, foreign), "copy");
    expect_foreign(be.free(foreign), "free");
    expect_foreign(be.matmul(&MatmulOp::new(mine, foreign, out)), "matmul");
    expect_foreign(
        be.matmul(&MatmulOp::new(mine, mine, out).epilogue(
            Some(foreign.view(0, 1, 2).unwrap()),
            Activation::Relu,
            None,
        )),
        "matmul",
    );
    expect_foreign(
        be.activation_backward(&ActivationBackwardOp::new(mine, mine, Activation::Relu).dz(foreign)),
        "activation_backward",
    );
    expect_foreign(be.softmax(&SoftmaxOp::new(foreign, out)), "softmax");
    expect_foreign(
        be.softmax_backward(&SoftmaxBackwardOp::new(mine, foreign, out)),
        "softmax_backward",
    );
    expect_foreign(be.dropout(&DropoutOp::new(mine, foreign, out, 0.5)), "dropout");
    expect_foreign(
        be.dropout_backward(&DropoutBackwardOp::new(mine, mine, foreign, 0.5)),
        "dropout_backward",
    );
    let column = foreign.reshape(4, 1).unwrap().rows_range(0, 2).unwrap();
    expect_foreign(
        be.loss(&LossOp::new(
            Loss::MeanSquaredError,
            col,
            column,
            out.view(0, 2, 1).unwrap(),
        )),
        "loss",
    );
    expect_foreign(
        be.accumulate_metrics(&MetricsOp::new(col, col, column, acc)),
        "accumulate_metrics",
    );
    expect_foreign(
        be.optimizer_step(&OptimizerStepOp::new(&adam, 1, mine, out).slots(&foreign_slots)),
        "optimizer_step",
    );
    expect_foreign(be.gather_rows(&GatherRowsOp::new(foreign, idx, 0, out)), "gather_rows");
    // The index an operand is read through, and the derivative's z.
    let through = IndexedRows::new(foreign, 0, 2);
    expect_foreign(
        be.matmul(&MatmulOp::new(mine, mine, out).a_rows_through(through)),
        "matmul",
    );
    expect_foreign(
        be.matmul(&MatmulOp::new(mine, mine, out).derivative((Activation::Relu, foreign))),
        "matmul",
    );
    expect_foreign(
        be.loss(&LossOp::new(Loss::MeanSquaredError, col, col, out.view(0, 2, 1).unwrap()).target_rows(through)),
        "loss",
    );
    expect_foreign(
        be.accumulate_metrics(&MetricsOp::new(col, col, col, acc).target_rows(through)),
        "accumulate_metrics",
    );
    // Nothing of this backend was touched (no foreign storage number was taken for its own).
    assert_eq!(be.read(mine).unwrap(), own.to_vec());
    assert_eq!(be.read(out).unwrap(), vec![0.0; 4]);
}

fn be_name(id: wgtrain::backend::BackendId) -> String {
    id.to_string()
}

pub fn a_tensor_of_another_cpu_backend_is_refused() {
    let mut first = CpuBackend::new();
    let theirs = first.upload(2, 2, &[9.0; 4]).unwrap();
    let mut second = CpuBackend::new();
    // Views keep the identity of the tensor they view.
    let view = theirs.view(1, 1, 2).unwrap();
    assert_eq!((view.backend(), theirs.backend()), (first.id(), first.id()));
    refuses_foreign_tensor(&mut second, theirs);
    refuses_foreign_tensor(&mut second, theirs.reshape(4, 1).unwrap().reshape(2, 2).unwrap());
    // The tensor is still good on its own backend (the refused free did not free it).
    assert_eq!(first.read(theirs).unwrap(), vec![9.0; 4]);
}

pub fn tensors_do_not_cross_between_gpu_and_cpu() {
    let mut gpu = gpu_backend();
    let mut cpu = CpuBackend::new();
    let on_gpu = gpu.upload(2, 2, &[9.0; 4]).unwrap();
    refuses_foreign_tensor(&mut cpu, on_gpu);
    let on_cpu = cpu.upload(2, 2, &[7.0; 4]).unwrap();
    refuses_foreign_tensor(&mut gpu, on_cpu);
    assert_eq!(gpu.read(on_gpu).unwrap(), vec![9.0; 4]);
    assert_eq!(cpu.read(on_cpu).unwrap(), vec![7.0; 4]);
}

/// The messages of a list of mistakes, each made on a fresh set of tensors of `be` (storage
/// numbers, which differ between backends, are replaced by `#`).
fn mistake_messages(be: &mut dyn Backend) -> Vec<String> {
    let a = be.zeros(2, 3).unwrap();
    let b = be.zeros(4, 5).unwrap();
    let out = be.zeros(2, 5).unwrap();
    let sq = be.zeros(2, 2).unwrap();
    let sq2 = be.zeros(2, 2).unwrap();
    let col = be.zeros(2, 1).unwrap();
    let acc = be.zeros(1, 3).unwrap();
    let idx = be.upload_u32(&[0, 1]).unwrap();
    let sgd = Optimizer::sgd();
    let adam = Optimizer::adam();
    let results: Vec<wgtrain::Result<()>> = vec![
        be.zeros(usize::MAX, 2).map(drop),
        be.upload(2, 2, &[1.0; 3]).map(drop),
        be.write(sq, &[1.0; 5]),
        be.copy(a, sq),
        be.copy(sq, sq),
        be.matmul(&MatmulOp::new(a, b, out)),
        be.matmul(&MatmulOp::new(sq, sq2, sq)),
        be.matmul(&MatmulOp::new(sq, sq2, sq).epilogue(None, Activation::Softmax, None)),
        be.activation_backward(&ActivationBackwardOp::new(sq, sq2, Activation::Tanh)),
        be.activation_backward(&ActivationBackwardOp::new(sq, a, Activation::Tanh).dz(sq2)),
        be.activation_backward(&ActivationBackwardOp::bias_grad(sq, out)),
        be.softmax(&SoftmaxOp::new(sq, a)),
        be.softmax_backward(&SoftmaxBackwardOp::new(sq, a, sq2)),
        be.dropout(&DropoutOp::new(sq, sq2, out, 0.5)),
        be.dropout(&DropoutOp::new(sq, sq2, sq2, 0.5)),
        be.dropout_backward(&DropoutBackwardOp::new(sq, sq2, a, 1.0)),
        be.dropout_backward(&DropoutBackwardOp::new(sq, sq2, out.view(0, 2, 2).unwrap(), 1.5)),
        be.loss(&LossOp::new(
            Loss::MeanSquaredError,
            sq,
            col,
            sq2.view(0, 2, 1).unwrap(),
        )),
        be.loss(&LossOp::new(Loss::MeanSquaredError, col, col, acc)),
        be.accumulate_metrics(&MetricsOp::new(col, col, col.view(0, 2, 1).unwrap(), acc)),
        be.optimizer_step(&OptimizerStepOp::new(&sgd, 0, sq, sq2)),
        be.optimizer_step(&OptimizerStepOp::new(&adam, 1, sq, sq2)),
        be.optimizer_step(&OptimizerStepOp::new(&sgd, 1, sq, a)),
        be.optimizer_step(&OptimizerStepOp::new(&sgd.with_learning_rate(-1.0), 1, sq, sq2)),
        be.gather_rows(&GatherRowsOp::new(sq, idx, 1, sq2)),
        be.gather_rows(&GatherRowsOp::new(a, idx, 0, sq2)),
        // Operands read through an index, and the derivative epilogue.
        be.matmul(&MatmulOp::new(a, b, out).a_rows_through(IndexedRows::new(idx, 1, 2))),
        be.matmul(&MatmulOp::new(sq, a, out).a_rows_through(IndexedRows::new(idx, 0, 2))),
        be.matmul(&MatmulOp::new(sq, sq2, out.view(0, 2, 2).unwrap()).a_rows_through(IndexedRows::new(out, 0, 2))),
        be.matmul(
            &MatmulOp::new(sq, sq2, out.view(0, 2, 2).unwrap())
                .epilogue(Some(col), Activation::Linear, None)
                .derivative((Activation::Relu, a)),
        ),
        be.matmul(&MatmulOp::new(sq, sq2, out.view(0, 2, 2).unwrap()).derivative((Activation::Softmax, sq))),
        be.matmul(&MatmulOp::new(sq, sq2, out.view(0, 2, 2).unwrap()).derivative((Activation::Relu, a))),
        be.loss(
            &LossOp::new(Loss::MeanSquaredError, col, b, acc.view(0, 1, 2).unwrap())
                .target_rows(IndexedRows::new(idx, 1, 2)),
        ),
        be.loss(
            &LossOp::new(Loss::MeanSquaredError, col, b, acc.view(0, 1, 2).unwrap())
                .target_rows(IndexedRows::new(idx, 0, 1)),
        ),
        be.loss(
            &LossOp::new(
                Loss::MeanSquaredError,
                col,
                a.view(0, 3, 1).unwrap(),
                acc.view(0, 1, 2).unwrap(),
            )
            .weights(sq)
            .target_rows(IndexedRows::new(idx, 0, 2)),
        ),
        be.accumulate_metrics(
            &MetricsOp::new(col, a.view(0, 3, 1).unwrap(), sq2.view(0, 2, 1).unwrap(), acc)
                .target_rows(IndexedRows::new(idx, 1, 2)),
        ),
    ];
    let mut messages = Vec::new();
    for (i, r) in results.into_iter().enumerate() {
        let mut message = match r {
            Err(e) => e.to_string(),
            Ok(()) => panic!("{}: mistake {i} was accepted", be.name()),
        };
        for t in [a, b, out, sq, sq2, col, acc, idx] {
            message = message.replace(&format!("storage {}", t.storage()), "storage #");
        }
        messages.push(message);
    }
    messages
}

pub fn both_backends_reject_each_mistake_with_the_same_words() {
    let cpu = mistake_messages(&mut CpuBackend::new());
    // Two CPU backends agree with each other (the storage numbers are normalized)…
    assert_eq!(cpu, mistake_messages(&mut CpuBackend::new()));
    for m in &cpu {
        println!("{m}");
    }
    // …and the GPU says exactly the same.
    assert_eq!(mistake_messages(&mut gpu_backend()), cpu);
}

/// Shape mismatches are `Error::Shape` naming the operation, with both shapes in the message.
fn mismatched_shapes_are_shape_errors(be: &mut dyn Backend) {
    #[track_caller]
    fn expect_shape_error(backend: &str, result: wgtrain::Result<()>, op_name: &str, shapes: [&str; 2]) {
        match result {
            Err(err @ Error::Shape { .. }) => {
                let Error::Shape { op, .. } = &err else { unreachable!() };
                assert_eq!(*op, op_name, "{backend}");
                let message = err.to_string();
                for s in shapes {
                    assert!(message.contains(s), "{backend}: `{s}` missing from: {message}");
                }
            }
            other => panic!("{backend}: {op_name} gave {other:?}, not a shape error"),
        }
    }
    let name = be.name();
    let a23 = be.zeros(2, 3).unwrap();
    let b45 = be.zeros(4, 5).unwrap();
    let b35 = be.zeros(3, 5).unwrap();
    let out25 = be.zeros(2, 5).unwrap();
    let out52 = be.zeros(5, 2).unwrap();
    expect_shape_error(
        &name,
        be.matmul(&MatmulOp::new(a23, b45, out25)),
        "matmul",
        ["[2, 3]", "[4, 5]"],
    );
    expect_shape_error(
        &name,
        be.matmul(&MatmulOp::new(a23, b35, out52)),
        "matmul",
        ["[5, 2]", "[2, 5]"],
    );
    // Aᵀ·B with A [2, 3]: op(A) is [3, 2], which does not fit B [3, 5].
    expect_shape_error(
        &name,
        be.matmul(&MatmulOp::new(a23, b35, out25).transposed(true, false)),
        "matmul",
        ["[3, 2]", "[3, 5]"],
    );

    let dy = be.zeros(4, 3).unwrap();
    let z = be.zeros(3, 4).unwrap();
    let dz = be.zeros(4, 3).unwrap();
    expect_shape_error(
        &name,
        be.activation_backward(&ActivationBackwardOp::new(dy, z, Activation::Tanh).dz(dz)),
        "activation_backward",
        ["[3, 4]", "[4, 3]"],
    );

    let pred = be.zeros(4, 3).unwrap();
    let target = be.zeros(4, 2).unwrap();
    let row_loss = be.zeros(4, 1).unwrap();
    expect_shape_error(
        &name,
        be.loss(&LossOp {
            loss: Loss::MeanSquaredError,
            pred,
            target,
            weights: None,
            row_loss,
            grad: None,
            target_rows: None,
        }),
        "loss",
        ["[4, 2]", "[4, 3]"],
    );

    let soft_out = be.zeros(3, 4).unwrap();
    expect_shape_error(
        &name,
        be.softmax(&SoftmaxOp::new(pred, soft_out)),
        "softmax",
        ["[3, 4]", "[4, 3]"],
    );
}

pub fn mismatched_shapes_are_shape_errors_with_both_shapes(device: TestDevice) {
    mismatched_shapes_are_shape_errors(device.backend().as_mut());
}
