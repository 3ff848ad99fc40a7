//! `fit`. The training loop keeps the data on the device, writes one
//! permutation per epoch, records each step into the current submission (a new one every
//! `steps_per_submit` steps) and reads the metric accumulator back once per epoch.

use ndarray::ArrayView2;

use super::callbacks::{Control, StopHandle};
use super::compiled::Model;
use super::fit_options::FitOptions;
use super::metrics::{History, Logs, logs_from};
use super::plan::{DeviceData, Plan, target_width};
use crate::backend::metric_slot;
use crate::nn::Loss;
use crate::nn::init::SeededRng;
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
        let tw = target_width(self);
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
        let tw = target_width(self);
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

    /// Makes sure a plan for `batch` rows exists.
    pub(crate) fn ensure_plan(&mut self, batch: usize) -> Result<Plan> {
        match self.plan.take() {
            Some(plan) if plan.batch == batch => Ok(plan),
            other => {
                if let Some(old) = other {
                    old.free(self.backend.as_mut());
                }
                Plan::build(self, batch)
            }
        }
    }

    /// Trains the model (Keras's `fit`). Returns every epoch's logs.
    pub fn fit(&mut self, x: ArrayView2<f32>, y: ArrayView2<f32>, mut options: FitOptions) -> Result<History> {
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
        let (in_w, tw) = (self.architecture.input_width, target_width(self));
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
        let mut plan = self.ensure_plan(options.batch_size.min(train_rows.len()))?;
        let result = self.fit_with_plan(
            &mut plan,
            &train_x,
            &train_y,
            weights.as_deref(),
            val.as_ref(),
            &mut options,
        );
        self.plan = Some(plan);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn fit_with_plan(
        &mut self,
        plan: &mut Plan,
        x: &[f32],
        y: &[f32],
        weights: Option<&[f32]>,
        val: Option<&Checked>,
        options: &mut FitOptions,
    ) -> Result<History> {
        let (in_w, tw) = (self.architecture.input_width, target_width(self));
        let rows = x.len() / in_w;
        let backend = self.backend.as_mut();
        let data = DeviceData::upload(backend, x, y, weights, rows, in_w, tw, plan.batch)?;
        let val_data = match val.map(|v| DeviceData::upload(backend, &v.x, &v.y, None, v.rows, in_w, tw, plan.batch)) {
            Some(Err(e)) => {
                data.free(backend);
                return Err(e);
            }
            other => other.transpose()?,
        };
        let result = self.epochs(plan, &data, val_data.as_ref(), options);
        data.free(self.backend.as_mut());
        if let Some(v) = val_data {
            v.free(self.backend.as_mut());
        }
        result
    }

    fn epochs(
        &mut self,
        plan: &Plan,
        data: &DeviceData,
        val: Option<&DeviceData>,
        options: &mut FitOptions,
    ) -> Result<History> {
        let mut history = History::default();
        let identity: Vec<u32> = (0..data.rows as u32).collect();
        let mut order = identity.clone();
        let batch = plan.batch;
        let best = if options.early_stopping.as_ref().is_some_and(|e| e.restore_best_weights) {
            Some(self.backend.zeros(1, self.params.len())?)
        } else {
            None
        };
        let mut stop_requested = false;
        for epoch in 0..options.epochs {
            if options.shuffle {
                // Each epoch's order depends only on the seed and the epoch's global number.
                let global = self.epochs_trained;
                let mut epoch_rng =
                    SeededRng::new(options.seed ^ global.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                order.copy_from_slice(&identity);
                epoch_rng.shuffle(&mut order);
                self.backend.write_u32(data.order, &order)?;
            }
            self.backend.fill(plan.acc, 0.0)?;
            let mut steps_in_submit = 0;
            for first in (0..data.rows).step_by(batch) {
                let r = batch.min(data.rows - first);
                self.train_step(plan, data, first, r)?;
                steps_in_submit += 1;
                if steps_in_submit >= options.steps_per_submit {
                    self.backend.flush()?;
                    steps_in_submit = 0;
                }
                if options.stop.as_ref().is_some_and(StopHandle::is_stopped) {
                    stop_requested = true;
                    break;
                }
            }
            if let Some(v) = val {
                self.backend.fill(plan.val_acc, 0.0)?;
                self.evaluate_resident(plan, v, plan.val_acc)?;
            }
            // One read-back per epoch: training metrics, validation metrics and the weights
            // (the host keeps them, so a lost device still leaves the last good epoch's).
            let n = metric_slot::COUNT;
            self.backend.copy(plan.acc, self.epoch_out.view(0, 1, n)?)?;
            self.backend.copy(plan.val_acc, self.epoch_out.view(n, 1, n)?)?;
            self.backend
                .copy(self.params, self.epoch_out.view(2 * n, 1, self.params.len())?)?;
            let out = self.backend.read(self.epoch_out)?;
            let (acc, rest) = out.split_at(n);
            let (val_acc, weights) = rest.split_at(n);
            let mut logs = Logs::new();
            logs_from(acc, &self.metrics, "", &mut logs);
            if val.is_some() {
                logs_from(val_acc, &self.metrics, "val_", &mut logs);
            }
            let loss_bad = acc[metric_slot::NON_FINITE] > 0.0 || !logs["loss"].is_finite();
            let weight_bad = weights.iter().position(|w| !w.is_finite());
            if options.terminate_on_nan && (loss_bad || weight_bad.is_some()) {
                self.backend.copy(self.last_good, self.params)?;
                if let Some(b) = best {
                    let _ = self.backend.free(b);
                }
                let detail = match weight_bad {
                    Some(i) if !loss_bad => format!("parameter {i} became {} (NaN or infinite)", weights[i]),
                    _ => format!("the training loss became {} (NaN or infinite)", logs["loss"]),
                };
                return Err(Error::Diverged {
                    epoch: epoch + 1,
                    detail,
                });
            }
            self.host_weights.copy_from_slice(weights);
            self.backend.copy(self.params, self.last_good)?;
            self.epochs_trained += 1;
            logs.insert("learning_rate".into(), self.optimizer.learning_rate());
            if options.verbose > 0 {
                let parts: Vec<String> = logs.iter().map(|(k, v)| format!("{k}: {v:.4}")).collect();
                eprintln!("Epoch {}/{} - {}", epoch + 1, options.epochs, parts.join(" - "));
            }
            history.push(&logs);
            if let Some(c) = &options.checkpoint
                && (epoch + 1) % c.every == 0
            {
                self.save(&c.path, c.preprocessing.as_ref())?;
            }

            let mut stop = stop_requested;
            if let Some(es) = options.early_stopping.as_mut() {
                match logs.get(&es.monitor) {
                    Some(&value) => {
                        let (improved, halt) = es.observe(epoch, value);
                        if improved && let Some(b) = best {
                            self.backend.copy(self.params, b)?;
                        }
                        if halt {
                            stop = true;
                        }
                    }
                    None => return Err(missing_monitor(&es.monitor, &logs)),
                }
            }
            if let Some(rl) = options.reduce_lr.as_mut() {
                match logs.get(&rl.monitor) {
                    Some(&value) => {
                        if let Some(lr) = rl.observe(value, self.optimizer.learning_rate()) {
                            self.set_learning_rate(lr);
                        }
                    }
                    None => return Err(missing_monitor(&rl.monitor, &logs)),
                }
            }
            if let Some(hook) = options.on_epoch_end.as_mut()
                && hook(epoch, &logs) == Control::Stop
            {
                stop = true;
            }
            if stop {
                break;
            }
        }
        if let Some(b) = best {
            // As Keras 3 does at the end of training (stopped early or not): the best epoch's
            // weights come back.
            if options.early_stopping.as_ref().is_some_and(|e| e.state.best.is_some()) {
                self.backend.copy(b, self.params)?;
                self.backend.copy(b, self.last_good)?;
                self.host_weights = self.backend.read(self.params)?;
            }
            let _ = self.backend.free(b);
        }
        Ok(history)
    }
}

fn missing_monitor(monitor: &str, logs: &Logs) -> Error {
    let keys: Vec<&str> = logs.keys().map(String::as_str).collect();
    Error::InvalidArgument {
        what: "callback monitor",
        detail: format!("`{monitor}` is not in the logs; available: {}", keys.join(", ")),
    }
}
