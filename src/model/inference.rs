//! `evaluate` and `predict`: forward passes over data resident on the device (or streamed
//! through it a chunk at a time), with one read-back per call. Both are asynchronous at heart
//! (the `_async` forms await the read-back); the blocking forms drive them to their end.

use ndarray::{Array2, ArrayView2};

use super::metrics::{Logs, logs_from};
use super::model::Model;
use super::owned::OwnedTensors;
use super::resident::{DeviceData, HostData, chunk_rows};
use crate::backend::may_block;
use crate::{Error, Result};

impl Model {
    /// Loss and metrics on (x, y) (Keras's `evaluate`), by name. Blocks on the read-back; in a
    /// browser a GPU model refuses ([`Error::BlockingOnWeb`]): await [`Model::evaluate_async`].
    pub fn evaluate(&mut self, x: ArrayView2<f32>, y: ArrayView2<f32>, batch_size: usize) -> Result<Logs> {
        may_block(self.backend.as_ref(), "evaluate")?;
        pollster::block_on(self.evaluate_async(x, y, batch_size))
    }

    /// [`Model::evaluate`], awaiting the read-back instead of blocking (the same values).
    pub async fn evaluate_async(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: ArrayView2<'_, f32>,
        batch_size: usize,
    ) -> Result<Logs> {
        let result = self.evaluate_once(x, y, batch_size).await;
        // The resident data set's guard has dropped however that ended: free it now.
        self.release.drain(self.backend.as_mut());
        result
    }

    async fn evaluate_once(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: ArrayView2<'_, f32>,
        batch_size: usize,
    ) -> Result<Logs> {
        let checked = self.check_data(x, y, "evaluation data")?;
        self.prepare(batch_size.clamp(1, checked.rows))?;
        let batch = self.executor.batch().unwrap_or(1);
        let host = HostData {
            x: &checked.x,
            y: &checked.y,
            weights: None,
            rows: checked.rows,
            x_width: self.architecture.input_width,
            y_width: self.network.head.target_width(),
        };
        let data = DeviceData::upload(self.backend.as_mut(), &self.release, &host, batch)?;
        let acc = self.val_acc;
        self.backend.fill(acc, 0.0)?;
        let (executor, mut run) = self.run_parts();
        executor.evaluate(&mut run, &data, acc)?;
        let values = self.backend.read_async(acc).await?;
        drop(data);
        let mut logs = Logs::new();
        logs_from(&values, &self.metrics, "", &mut logs);
        Ok(logs)
    }

    /// The model's outputs for x (Keras's `predict`): probabilities for sigmoid and softmax
    /// outputs, raw values otherwise. Read back once per chunk of rows that fits a binding;
    /// blocks on each read-back (in a browser a GPU model refuses: await
    /// [`Model::predict_async`]).
    pub fn predict(&mut self, x: ArrayView2<f32>, batch_size: usize) -> Result<Array2<f32>> {
        may_block(self.backend.as_ref(), "predict")?;
        pollster::block_on(self.predict_async(x, batch_size))
    }

    /// [`Model::predict`], awaiting each read-back instead of blocking (the same values).
    pub async fn predict_async(&mut self, x: ArrayView2<'_, f32>, batch_size: usize) -> Result<Array2<f32>> {
        let result = self.predict_once(x, batch_size).await;
        // Staging tensors' guards have dropped however that ended: free them now.
        self.release.drain(self.backend.as_mut());
        result
    }

    async fn predict_once(&mut self, x: ArrayView2<'_, f32>, batch_size: usize) -> Result<Array2<f32>> {
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
        self.prepare(batch_size.clamp(1, rows))?;
        let batch = self.executor.batch().unwrap_or(1);
        // Inputs and outputs go through the device a chunk at a time when they are larger than
        // one binding.
        let chunk = chunk_rows(self.backend.as_ref(), rows, in_w.max(out_w), batch, "the inputs")?;
        let mut values = Vec::with_capacity(rows * out_w);
        for base in (0..rows).step_by(chunk) {
            let n = chunk.min(rows - base);
            let mut owned = OwnedTensors::new(&self.release);
            let input = owned.upload(self.backend.as_mut(), n, in_w, &xs[base * in_w..(base + n) * in_w])?;
            let output = owned.zeros(self.backend.as_mut(), n, out_w)?;
            let (executor, mut run) = self.run_parts();
            executor.predict(&mut run, input, output)?;
            values.extend(self.backend.read_async(output).await?);
        }
        Ok(Array2::from_shape_vec((rows, out_w), values).expect("rows × outputs values"))
    }
}
