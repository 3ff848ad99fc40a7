//! `fit`: checks and splits the data, keeps it resident on the device, writes one permutation
//! per epoch, lets the executor record the epoch's steps, reads metrics and weights back once
//! per epoch and runs the callbacks. The loop is asynchronous (`fit_async` awaits the
//! read-back, so a browser's event loop keeps running); `fit` drives it to its end.

use ndarray::ArrayView2;

use super::callbacks::{Callback, Control, TerminateOnNaN};
use super::executor::EpochControl;
use super::fit_options::FitOptions;
use super::metrics::{History, Logs, logs_from};
use super::model::Model;
use super::resident::{DeviceData, HostData};
use crate::backend::{may_block, metric_slot};
use crate::nn::Loss;
use crate::rng::SeededRng;
use crate::{Error, Result};

/// Rows of (x, y) after checks, flattened row-major.
pub(crate) struct Checked {
    pub x: Vec<f32>,
    pub y: Vec<f32>,
    pub rows: usize,
}

impl Model {
    /// Checks x and y against the model and the loss and returns them flattened.
    pub(crate) fn check_data(&self, x: ArrayView2<f32>, y: ArrayView2<f32>, what: &str) -> Result<Checked> {
        let input = self.architecture.input_width;
        let out = self.architecture.output_width();
        let tw = self.network.head.target_width();
        let shape = |detail: String| {
            Err(Error::Shape {
                op: "fit",
                detail: format!("{what}: {detail}"),
            })
        };
        if x.ncols() != input {
            return shape(format!("x has {} columns, the model takes {input}", x.ncols()));
        }
        if y.nrows() != x.nrows() {
            return shape(format!("x has {} rows but y has {}", x.nrows(), y.nrows()));
        }
        if y.ncols() != tw {
            let hint = if self.loss.sparse_targets() {
                "sparse categorical cross-entropy takes one class index per row".to_string()
            } else {
                format!("one target per output ({out})")
            };
            return shape(format!("y has {} columns, {tw} needed: {hint}", y.ncols()));
        }
        if x.nrows() == 0 {
            return shape("no rows".into());
        }
        let xs: Vec<f32> = x.iter().copied().collect();
        let ys: Vec<f32> = y.iter().copied().collect();
        if let Some(i) = xs.iter().position(|v| !v.is_finite()) {
            return Err(Error::InvalidArgument {
                what: "x",
                detail: format!("{what}: row {}, column {} is {}", i / input, i % input, xs[i]),
            });
        }
        for (i, &v) in ys.iter().enumerate() {
            let ok = match self.loss {
                Loss::SparseCategoricalCrossentropy { .. } => v >= 0.0 && v.fract() == 0.0 && (v as usize) < out,
                Loss::BinaryCrossentropy { .. } | Loss::CategoricalCrossentropy { .. } => (0.0..=1.0).contains(&v),
                _ => v.is_finite(),
            };
            if !ok {
                let want = match self.loss {
                    Loss::SparseCategoricalCrossentropy { .. } => format!("a class index in 0..{out}"),
                    Loss::MeanSquaredError | Loss::MeanAbsoluteError => "a finite number".into(),
                    _ => "a value in [0, 1]".into(),
                };
                return Err(Error::InvalidArgument {
                    what: "y",
                    detail: format!(
                        "{what}: row {}, column {} is {v}; {} needs {want}",
                        i / tw,
                        i % tw,
                        self.loss.name()
                    ),
                });
            }
        }
        Ok(Checked {
            x: xs,
            y: ys,
            rows: x.nrows(),
        })
    }

    /// Class of each row for class weights.
    fn row_classes(&self, y: &[f32], rows: usize) -> Result<Vec<usize>> {
        let tw = self.network.head.target_width();
        match self.loss {
            Loss::SparseCategoricalCrossentropy { .. } => Ok(y.iter().map(|&v| v as usize).collect()),
            Loss::BinaryCrossentropy { .. } if tw == 1 => Ok(y.iter().map(|&v| usize::from(v > 0.5)).collect()),
            Loss::CategoricalCrossentropy { .. } => Ok((0..rows)
                .map(|i| {
                    let row = &y[i * tw..(i + 1) * tw];
                    (0..tw).fold(0, |best, j| if row[j] > row[best] { j } else { best })
                })
                .collect()),
            _ => Err(Error::InvalidArgument {
                what: "class_weight",
                detail: format!(
                    "needs a classification loss with one label per row, not {}",
                    self.loss.name()
                ),
            }),
        }
    }

    /// Trains the model (Keras's `fit`). Returns every epoch's logs. Blocks on each epoch's
    /// read-back; in a browser a GPU model refuses ([`Error::BlockingOnWeb`]): await
    /// [`Model::fit_async`] there.
    pub fn fit(&mut self, x: ArrayView2<f32>, y: ArrayView2<f32>, options: FitOptions) -> Result<History> {
        may_block(self.backend.as_ref(), "fit")?;
        pollster::block_on(self.fit_async(x, y, options))
    }

    /// [`Model::fit`], awaiting each epoch's read-back instead of blocking: the same steps,
    /// kernels and results. Callbacks run between epochs as in `fit`. The future is `Send`.
    /// On native the wait happens inside `device.poll` on the thread that polls the future;
    /// in a browser the future yields to the event loop until the read-back arrives.
    ///
    /// ```
    /// use ndarray::array;
    /// use wgtrain::model::{Dense, Device, FitOptions, Sequential};
    /// use wgtrain::nn::{Activation, Loss, Optimizer};
    /// let mut model = Sequential::new(1)
    ///     .add(Dense::new(1, Activation::Linear))
    ///     .compile(Loss::MeanSquaredError, Optimizer::sgd(), &[], Device::Cpu)
    ///     .unwrap();
    /// let (x, y) = (array![[0.0f32], [1.0]], array![[1.0f32], [3.0]]);
    /// let options = FitOptions { epochs: 3, batch_size: 2, ..FitOptions::default() };
    /// let history = pollster::block_on(model.fit_async(x.view(), y.view(), options)).unwrap();
    /// assert_eq!(history.get("loss").unwrap().len(), 3);
    /// ```
    pub async fn fit_async(
        &mut self,
        x: ArrayView2<'_, f32>,
        y: ArrayView2<'_, f32>,
        mut options: FitOptions,
    ) -> Result<History> {
        if options.batch_size == 0 {
            return Err(Error::InvalidArgument {
                what: "batch_size",
                detail: "must be at least 1".into(),
            });
        }
        if !(0.0..1.0).contains(&options.validation_split) {
            return Err(Error::InvalidArgument {
                what: "validation_split",
                detail: format!("must be in [0, 1), got {}", options.validation_split),
            });
        }
        let all = self.check_data(x, y, "training data")?;
        let (in_w, tw) = (self.architecture.input_width, self.network.head.target_width());
        let mut rng = SeededRng::new(options.seed);

        // Seeded split: shuffle row indices, the first `val_rows` validate.
        let (train_rows, val_rows): (Vec<usize>, Vec<usize>) =
            if options.validation_data.is_none() && options.validation_split > 0.0 {
                let mut order: Vec<usize> = (0..all.rows).collect();
                rng.shuffle(&mut order);
                // Keras's rounding: the training part is ⌊n·(1 − split)⌋ rows.
                let n_train = (all.rows as f64 * (1.0 - f64::from(options.validation_split))) as usize;
                let n_val = all.rows - n_train;
                let (val, train) = order.split_at(n_val);
                let mut train = train.to_vec();
                train.sort_unstable();
                if train.is_empty() || val.is_empty() {
                    return Err(Error::InvalidArgument {
                        what: "validation_split",
                        detail: format!("{} of {} rows leaves an empty side", options.validation_split, all.rows),
                    });
                }
                (train, val.to_vec())
            } else {
                ((0..all.rows).collect(), Vec::new())
            };
        let pick = |rows: &[usize], src: &[f32], w: usize| -> Vec<f32> {
            rows.iter()
                .flat_map(|&r| src[r * w..(r + 1) * w].iter().copied())
                .collect()
        };
        let train_x = pick(&train_rows, &all.x, in_w);
        let train_y = pick(&train_rows, &all.y, tw);
        let weights = match &options.class_weight {
            Some(cw) => {
                let classes = self.row_classes(&train_y, train_rows.len())?;
                Some(
                    classes
                        .iter()
                        .map(|c| cw.get(c).copied().unwrap_or(1.0))
                        .collect::<Vec<f32>>(),
                )
            }
            None => None,
        };
        let val = match options.validation_data.take() {
            Some((vx, vy)) => Some(self.check_data(vx.view(), vy.view(), "validation data")?),
            None if !val_rows.is_empty() => Some(Checked {
                x: pick(&val_rows, &all.x, in_w),
                y: pick(&val_rows, &all.y, tw),
                rows: val_rows.len(),
            }),
            None => None,
        };

        // A batch larger than the data set is the data set: the plan never holds more rows.
        self.prepare_training(options.batch_size.min(train_rows.len()))?;
        let train = HostData {
            x: &train_x,
            y: &train_y,
            weights: weights.as_deref(),
            rows: train_rows.len(),
            x_width: in_w,
            y_width: tw,
        };
        let mut callbacks = std::mem::take(&mut options.callbacks);
        if options.terminate_on_nan {
            callbacks.insert(0, Box::new(TerminateOnNaN));
        }
        let result = self.train_resident(&train, val.as_ref(), options, &mut callbacks).await;
        self.release.drain(self.backend.as_mut());
        result
    }

    /// Uploads the data sets (guards free them however this ends) and runs the epochs. The
    /// options come by value (their callbacks already taken out): a future holding no
    /// reference to them stays `Send`.
    async fn train_resident(
        &mut self,
        train: &HostData<'_>,
        val: Option<&Checked>,
        options: FitOptions,
        callbacks: &mut [Box<dyn Callback>],
    ) -> Result<History> {
        let batch = self.executor.batch().unwrap_or(1);
        let tw = train.y_width;
        let data = DeviceData::upload(self.backend.as_mut(), &self.release, train, batch)?;
        let val_data = val
            .map(|v| {
                let host = HostData {
                    x: &v.x,
                    y: &v.y,
                    weights: None,
                    rows: v.rows,
                    x_width: train.x_width,
                    y_width: tw,
                };
                DeviceData::upload(self.backend.as_mut(), &self.release, &host, batch)
            })
            .transpose()?;
        let keys = self.log_keys(val_data.is_some());
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self, &keys)?;
        }
        let mut history = History::default();
        let run = self
            .epochs(batch, &data, val_data.as_ref(), options, callbacks, &mut history)
            .await;
        let end = callbacks.iter_mut().try_for_each(|cb| cb.on_train_end(self, &history));
        run.and(end).map(|_| history)
    }

    /// The keys every epoch's logs hold (what callbacks may monitor), in the logs' order.
    fn log_keys(&self, with_val: bool) -> Vec<String> {
        let names: Vec<String> = std::iter::once("loss".to_string())
            .chain(self.metrics.iter().map(|m| m.name().to_string()))
            .collect();
        let mut keys: Vec<String> = names.clone();
        if with_val {
            keys.extend(names.iter().map(|n| format!("val_{n}")));
        }
        keys.push("learning_rate".into());
        keys.sort();
        keys
    }

    async fn epochs(
        &mut self,
        batch: usize,
        data: &DeviceData,
        val: Option<&DeviceData>,
        options: FitOptions,
        callbacks: &mut [Box<dyn Callback>],
        history: &mut History,
    ) -> Result<()> {
        let identity: Vec<u32> = (0..data.rows as u32).collect();
        let mut order = identity.clone();
        let control = EpochControl {
            steps_per_submit: options.steps_per_submit,
            stop: options.stop.as_ref(),
        };
        for epoch in 0..options.epochs {
            // A callback may have evaluated or predicted at another batch size: the training
            // plan comes back (nothing happens when it is still there).
            self.prepare(batch)?;
            if options.shuffle {
                // Each epoch's order depends only on the seed and the epoch's global number.
                let global = self.epochs_trained;
                let mut epoch_rng =
                    SeededRng::new(options.seed ^ global.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                order.copy_from_slice(&identity);
                epoch_rng.shuffle(&mut order);
                self.backend.write_u32(data.order, &order)?;
            }
            let (acc, val_acc) = (self.acc, self.val_acc);
            self.backend.fill(acc, 0.0)?;
            let (executor, mut run) = self.run_parts();
            let completed = executor.train_epoch(&mut run, data, acc, &control)?;
            if let Some(v) = val {
                run.backend.fill(val_acc, 0.0)?;
                executor.evaluate(&mut run, v, val_acc)?;
            }
            let logs = self.read_epoch(val.is_some()).await?;
            self.epochs_trained += 1;
            history.push(&logs);
            let mut stop = !completed;
            for cb in callbacks.iter_mut() {
                if cb.on_epoch_end(self, epoch, &logs)? == Control::Stop {
                    stop = true;
                }
            }
            if stop {
                break;
            }
        }
        Ok(())
    }

    /// The epoch's one read-back: training metrics, validation metrics and the weights (the
    /// host keeps finite weights as the last good ones, so a lost device still leaves them).
    async fn read_epoch(&mut self, with_val: bool) -> Result<Logs> {
        let n = metric_slot::COUNT;
        self.backend.copy(self.acc, self.epoch_out.view(0, 1, n)?)?;
        self.backend.copy(self.val_acc, self.epoch_out.view(n, 1, n)?)?;
        self.backend
            .copy(self.params, self.epoch_out.view(2 * n, 1, self.params.len())?)?;
        let out = self.backend.read_async(self.epoch_out).await?;
        let (acc, rest) = out.split_at(n);
        let (val_acc, weights) = rest.split_at(n);
        self.executor.check_epoch(acc)?;
        let mut logs = Logs::new();
        logs_from(acc, &self.metrics, "", &mut logs);
        if with_val {
            logs_from(val_acc, &self.metrics, "val_", &mut logs);
        }
        // Keras's `optimizer.learning_rate` after the epoch: the rate of the next step.
        logs.insert("learning_rate".into(), self.optimizer.learning_rate_at(self.step + 1));
        self.bad_parameter = weights.iter().position(|w| !w.is_finite()).map(|i| (i, weights[i]));
        let loss_ok = acc[metric_slot::NON_FINITE] == 0.0 && logs["loss"].is_finite();
        if loss_ok && self.bad_parameter.is_none() {
            self.host_weights.copy_from_slice(weights);
            self.backend.copy(self.params, self.last_good)?;
            for (slot, good) in self.slots.iter().zip(&self.last_good_slots) {
                self.backend.copy(*slot, *good)?;
            }
            self.last_good_step = self.step;
        }
        Ok(logs)
    }
}
