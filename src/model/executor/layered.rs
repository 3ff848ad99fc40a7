//! The layered executor: one dispatch per operation over a static plan (DESIGN.md §3). The
//! plan holds every buffer a step needs at one batch size — the gathered batch (x, targets,
//! sample weights) and each layer's and the head's buffers — allocated once, checked against
//! the device's limits first, owned by a guard. A step is: the layers' forward passes, loss +
//! gradient + output-activation derivative + metric accumulation in the head (one kernel),
//! the layers' backward passes in reverse, one optimizer dispatch over all parameters. A
//! short last batch uses the first r rows of every buffer.
//!
//! Nothing is gathered when the data set is one resident chunk and the first layer reads its
//! input through an index: its x·W and xᵀ·dz products read the shuffled rows through the
//! epoch's permutation, and the head reads the targets and weights through it too. A hidden
//! layer's activation derivative rides on the next layer's dx product (a matmul epilogue).
//! So a step of Dense layers is 3L + 1 dispatches for L layers: L forward products, the head,
//! L weight-gradient products (the bias gradient in the same product, as a ones row), L − 1
//! dx products, the optimizer — 7 for two layers. Data split into chunks (larger than one
//! storage binding) is gathered first, one gather per chunk and tensor.

use super::{EpochControl, Executor, RunContext};
use crate::backend::{BackendKind, GatherRowsOp, IndexedRows, OptimizerStepOp, Tensor};
use crate::model::head::Targets;
use crate::model::layer::StepContext;
use crate::model::network::{Input, Network};
use crate::model::owned::OwnedTensors;
use crate::model::resident::DeviceData;
use crate::{Error, Result};

/// The plan at one batch size.
struct Plan {
    batch: usize,
    /// Gathered rows of one batch: features [B, in], targets [B, t], sample weights [B, 1]
    /// (used where the data is split into chunks or the first layer reads no index).
    x: Tensor,
    y: Tensor,
    weights: Tensor,
    _owned: OwnedTensors,
}

/// Shapes of the executor's own buffers (the gathered batch), before the network's.
fn own_shapes(network: &Network, batch: usize) -> [(usize, usize); 3] {
    [
        (batch, network.input_width),
        (batch, network.head.target_width()),
        (batch, 1),
    ]
}

/// The layered executor.
#[derive(Default)]
pub(crate) struct LayeredExecutor {
    plan: Option<Plan>,
}

impl LayeredExecutor {
    fn plan(&self) -> Result<&Plan> {
        self.plan.as_ref().ok_or_else(|| Error::InvalidArgument {
            what: "layered executor",
            detail: "used before a plan was prepared".into(),
        })
    }
}

fn step_context<'a>(
    run: &'a mut RunContext,
    rows: usize,
    training_step: Option<u32>,
) -> (StepContext<'a>, &'a mut Network) {
    (
        StepContext {
            backend: &mut *run.backend,
            params: run.params,
            grads: run.grads,
            rows,
            training_step,
        },
        &mut *run.network,
    )
}

impl Executor for LayeredExecutor {
    fn plan_bytes(&self, network: &Network, batch: usize) -> u64 {
        own_shapes(network, batch)
            .into_iter()
            .chain(network.buffer_shapes(batch))
            .map(|(r, c)| (r as u64).saturating_mul(c as u64).saturating_mul(4))
            .fold(0u64, u64::saturating_add)
    }

    fn batch(&self) -> Option<usize> {
        self.plan.as_ref().map(|p| p.batch)
    }

    fn prepare(&mut self, run: &mut RunContext, batch: usize) -> Result<()> {
        if self.batch() == Some(batch) {
            return Ok(());
        }
        // The old plan goes first, so its memory is free for the new one.
        self.plan = None;
        run.release.drain(run.backend);
        let own = own_shapes(run.network, batch);
        let network_shapes = run.network.buffer_shapes(batch);
        let (max_bytes, limit) = run.backend.max_tensor_bytes();
        for &(r, c) in own.iter().chain(&network_shapes) {
            let bytes = (r as u64).saturating_mul(c as u64).saturating_mul(4);
            if bytes > max_bytes {
                return Err(Error::LimitExceeded {
                    what: format!("a [{r}, {c}] activation buffer at batch size {batch}"),
                    limit,
                    max: max_bytes,
                    requested: bytes,
                });
            }
        }
        // The whole plan against the memory the process may use (on the CPU the tensors are
        // host memory): one error with the size, not a kill halfway through allocating.
        if run.backend.id().kind() == BackendKind::Cpu {
            crate::memory::check(
                &format!("the training plan at batch size {batch}"),
                self.plan_bytes(run.network, batch),
            )?;
        }
        let mut owned = OwnedTensors::new(run.release);
        let [x, y, weights] = own.map(|(r, c)| owned.zeros(run.backend, r, c));
        let (x, y, weights) = (x?, y?, weights?);
        let network_buffers = network_shapes
            .iter()
            .map(|&(r, c)| owned.zeros(run.backend, r, c))
            .collect::<Result<Vec<_>>>()?;
        run.network.bind_buffers(batch, &network_buffers);
        self.plan = Some(Plan {
            batch,
            x,
            y,
            weights,
            _owned: owned,
        });
        Ok(())
    }

    fn train_epoch(
        &mut self,
        run: &mut RunContext,
        data: &DeviceData,
        acc: Tensor,
        control: &EpochControl,
    ) -> Result<bool> {
        let plan = self.plan()?;
        let (batch, px, py, pw) = (plan.batch, plan.x, plan.y, plan.weights);
        let single = data.chunks.len() == 1;
        // One resident chunk, read through the permutation where it is used: no gather.
        let indexed = single && run.network.reads_indexed_input();
        let mut steps_in_submit = 0;
        for first in (0..data.rows).step_by(batch) {
            let r = batch.min(data.rows - first);
            let (input, targets) = if indexed {
                let c = &data.chunks[0];
                let rows = IndexedRows::new(data.order, first, r).row_base(c.row_base);
                let targets = Targets {
                    values: c.y,
                    weights: c.weights,
                    rows: Some(rows),
                };
                (Input::Indexed { data: c.x, rows }, targets)
            } else {
                let (x, y, w) = (px.rows_range(0, r)?, py.rows_range(0, r)?, pw.rows_range(0, r)?);
                for c in &data.chunks {
                    let gather = |src, out| GatherRowsOp::new(src, data.order, first, out).chunk(c.row_base, single);
                    run.backend.gather_rows(&gather(c.x, x))?;
                    run.backend.gather_rows(&gather(c.y, y))?;
                    if let Some(cw) = c.weights {
                        run.backend.gather_rows(&gather(cw, w))?;
                    }
                }
                let targets = Targets {
                    values: y,
                    weights: data.chunks[0].weights.map(|_| w),
                    rows: None,
                };
                (Input::Rows(x), targets)
            };
            let step = *run.step + 1;
            let (mut ctx, network) = step_context(run, r, Some(step as u32));
            network.step(&mut ctx, input, targets, acc)?;
            run.backend
                .optimizer_step(&OptimizerStepOp::new(run.optimizer, step, run.params, run.grads).slots(run.slots))?;
            *run.step = step;
            steps_in_submit += 1;
            if steps_in_submit >= control.steps_per_submit {
                run.backend.flush()?;
                steps_in_submit = 0;
            }
            if control.stop.is_some_and(|s| s.is_stopped()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn evaluate(&mut self, run: &mut RunContext, data: &DeviceData, acc: Tensor) -> Result<()> {
        let batch = self.plan()?.batch;
        for first in (0..data.rows).step_by(batch) {
            let r = batch.min(data.rows - first);
            let chunk = data.chunk_of(first);
            let x = chunk.x.rows_range(first - chunk.row_base, r)?;
            let targets = Targets {
                values: chunk.y.rows_range(first - chunk.row_base, r)?,
                weights: None,
                rows: None,
            };
            let (mut ctx, network) = step_context(run, r, None);
            network.step(&mut ctx, Input::Rows(x), targets, acc)?;
        }
        Ok(())
    }

    fn predict(&mut self, run: &mut RunContext, input: Tensor, output: Tensor) -> Result<()> {
        let batch = self.plan()?.batch;
        let rows = input.rows();
        for first in (0..rows).step_by(batch) {
            let r = batch.min(rows - first);
            let (mut ctx, network) = step_context(run, r, None);
            let out = network.predict(&mut ctx, input.rows_range(first, r)?)?;
            run.backend.copy(out, output.rows_range(first, r)?)?;
        }
        Ok(())
    }
}
