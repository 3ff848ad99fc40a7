//! `evaluate` and `predict`: forward passes over data resident on the device (or streamed
//! through it a chunk at a time), with one read-back per call.

use ndarray::{Array2, ArrayView2};

use super::compiled::Model;
use super::metrics::{Logs, logs_from};
use super::plan::{DeviceData, Plan, target_width};
use crate::{Error, Result};

impl Model {
    /// Forward, loss and metrics over a resident data set into `acc`.
    pub(crate) fn evaluate_resident(
        &mut self,
        plan: &Plan,
        data: &DeviceData,
        acc: crate::backend::Tensor,
    ) -> Result<()> {
        for first in (0..data.rows).step_by(plan.batch) {
            let r = plan.batch.min(data.rows - first);
            self.eval_batch(plan, data, first, r, acc)?;
        }
        Ok(())
    }

    /// Loss and metrics on (x, y) (Keras's `evaluate`), by name.
    pub fn evaluate(&mut self, x: ArrayView2<f32>, y: ArrayView2<f32>, batch_size: usize) -> Result<Logs> {
        let checked = self.check_data(x, y, "evaluation data")?;
        let rows_for_plan = checked.rows;
        let (in_w, tw) = (self.architecture.input_width, target_width(self));
        let plan = self.ensure_plan(batch_size.clamp(1, rows_for_plan))?;
        let result = (|| {
            let data = DeviceData::upload(
                self.backend.as_mut(),
                &checked.x,
                &checked.y,
                None,
                checked.rows,
                in_w,
                tw,
                plan.batch,
            )?;
            self.backend.fill(plan.val_acc, 0.0)?;
            let r = self.evaluate_resident(&plan, &data, plan.val_acc);
            let acc = r.and_then(|_| self.backend.read(plan.val_acc));
            data.free(self.backend.as_mut());
            let mut logs = Logs::new();
            logs_from(&acc?, &self.metrics, "", &mut logs);
            Ok(logs)
        })();
        self.plan = Some(plan);
        result
    }

    /// The model's outputs for x (Keras's `predict`): probabilities for sigmoid and softmax
    /// outputs, raw values otherwise. Read back once.
    pub fn predict(&mut self, x: ArrayView2<f32>, batch_size: usize) -> Result<Array2<f32>> {
        let (in_w, out_w) = (self.architecture.input_width, self.architecture.output_width());
        if x.ncols() != in_w {
            return Err(Error::Shape {
                op: "predict",
                detail: format!("x has {} columns, the model takes {in_w}", x.ncols()),
            });
        }
        let rows = x.nrows();
        if rows == 0 {
            return Ok(Array2::zeros((0, out_w)));
        }
        let xs: Vec<f32> = x.iter().copied().collect();
        let rows_for_plan = rows;
        let plan = self.ensure_plan(batch_size.clamp(1, rows_for_plan))?;
        let result = (|| {
            // Inputs and outputs go through the device a chunk at a time when they are larger
            // than one binding.
            let chunk =
                super::plan::chunk_rows(self.backend.as_ref(), rows, in_w.max(out_w), plan.batch, "the inputs")?;
            let mut values = Vec::with_capacity(rows * out_w);
            for base in (0..rows).step_by(chunk) {
                let n = chunk.min(rows - base);
                let input = self.backend.upload(n, in_w, &xs[base * in_w..(base + n) * in_w])?;
                let output = match self.backend.zeros(n, out_w) {
                    Ok(t) => t,
                    Err(e) => {
                        let _ = self.backend.free(input);
                        return Err(e);
                    }
                };
                let run = (|| {
                    for first in (0..n).step_by(plan.batch) {
                        let r = plan.batch.min(n - first);
                        let forward = self.forward(&plan, input.rows_range(first, r)?, None)?;
                        self.backend.copy(forward.output, output.rows_range(first, r)?)?;
                    }
                    self.backend.read(output)
                })();
                let _ = self.backend.free(input);
                let _ = self.backend.free(output);
                values.extend(run?);
            }
            Ok(Array2::from_shape_vec((rows, out_w), values).expect("rows × outputs values"))
        })();
        self.plan = Some(plan);
        result
    }
}
