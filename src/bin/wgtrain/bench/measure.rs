//! Measuring one workload on one backend: cold time, warm epochs and the plan counters of a
//! steady-state epoch; on the GPU, optionally the steps-per-submit sweep on the same model.
//!
//! How each figure is taken (every epoch ends with the one read-back of the metric
//! accumulator, which waits for the device, so host clocks bracket finished work):
//! - cold: from opening the backend (device, pipelines) through compile, plan build, the data
//!   upload and the first epoch;
//! - warm: one `fit` of E + 1 epochs, timed at each epoch's end by the epoch hook; the E gaps
//!   between consecutive ends are the samples (no data upload inside them), reported by median;
//! - counters per epoch: the counters of that fit minus those of a one-epoch fit, over E, so
//!   the per-fit costs (data upload, its bind groups) cancel exactly;
//! - the sweep: per setting one fit of S + 1 epochs timed the same way; its submits per epoch
//!   are that fit's submits over S + 1 (the data upload submits nothing).

use std::sync::{Arc, Mutex};
use std::time::Instant;

use ndarray::{ArrayView2, s};

use super::workload::Workload;
use wgtrain::Result;
use wgtrain::backend::gpu::AdapterChoice;
use wgtrain::backend::{Backend, Counters, CpuBackend, GpuBackend};
use wgtrain::model::{Execution, ExecutorKind, FitOptions, Metric, Model};

/// A backend the bench runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BenchBackend {
    /// The ndarray CPU backend.
    Cpu,
    /// A GPU adapter.
    Gpu(AdapterChoice),
}

impl BenchBackend {
    /// "cpu" or "gpu".
    pub fn label(&self) -> &'static str {
        match self {
            BenchBackend::Cpu => "cpu",
            BenchBackend::Gpu(_) => "gpu",
        }
    }

    /// Opens a fresh backend (on the GPU: device and pipelines).
    pub fn open(&self) -> Result<Box<dyn Backend>> {
        Ok(match self {
            BenchBackend::Cpu => Box::new(CpuBackend::new()),
            BenchBackend::Gpu(choice) => Box::new(GpuBackend::with_adapter(choice)?),
        })
    }
}

/// The figures of one workload on one backend.
#[derive(Clone, Debug)]
pub struct Measurement {
    /// Workload name.
    pub workload: String,
    /// "cpu" or "gpu".
    pub backend: String,
    /// The executor that ran ("layered" or "fused").
    pub executor: String,
    /// The backend's own name (the adapter for a GPU).
    pub backend_name: String,
    /// Rows trained per epoch (fewer than `full_rows` when the time budget asked for it).
    pub rows: usize,
    /// The workload's own row count.
    pub full_rows: usize,
    /// Rows per step.
    pub batch: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// Seconds to open the backend and compile the model (GPU: device and pipelines).
    pub open_s: f64,
    /// Seconds from opening the backend to the end of the first epoch.
    pub cold_s: f64,
    /// Each timed warm epoch, seconds.
    pub epoch_s: Vec<f64>,
    /// Median of `epoch_s`.
    pub median_epoch_s: f64,
    /// Rows trained per second at the median epoch.
    pub samples_per_s: f64,
    /// Effective GFLOP/s (6·Σ in·out per row) at the median epoch.
    pub gflops: f64,
    /// Work counters of one steady-state epoch.
    pub per_epoch: Counters,
    /// Training loss of the last epoch (a sanity check: finite, and falling).
    pub last_loss: f32,
    /// CPU only: the samples/s a step made only of its matrix products would reach at
    /// ndarray `dot` speed ([`super::step_products::step_products_seconds`]).
    pub dot_step_samples_per_s: Option<f64>,
    /// GPU: the matmul variant run per shape class and how it was chosen.
    pub matmul: Vec<String>,
}

/// One point of the steps-per-submit sweep.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// Workload name.
    pub workload: String,
    /// Steps recorded per submission (`usize::MAX`: the whole epoch).
    pub steps_per_submit: usize,
    /// Median warm epoch, seconds.
    pub median_epoch_s: f64,
    /// Rows per second at the median epoch.
    pub samples_per_s: f64,
    /// Submissions per epoch.
    pub submits_per_epoch: u64,
}

/// The median of `v` (the mean of the middle two for an even count; 0 when empty).
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let mid = s.len() / 2;
    if s.len() % 2 == 1 {
        s[mid]
    } else {
        (s[mid - 1] + s[mid]) / 2.0
    }
}

fn seconds(since: Instant) -> f64 {
    since.elapsed().as_secs_f64()
}

fn per_epoch(total: Counters, one_epoch_fit: Counters, epochs: usize) -> Counters {
    let n = epochs.max(1) as u64;
    let steady = Counters {
        submits: total.submits.saturating_sub(one_epoch_fit.submits),
        readbacks: total.readbacks.saturating_sub(one_epoch_fit.readbacks),
        buffer_allocations: total
            .buffer_allocations
            .saturating_sub(one_epoch_fit.buffer_allocations),
        dispatches: total.dispatches.saturating_sub(one_epoch_fit.dispatches),
        bind_groups: total.bind_groups.saturating_sub(one_epoch_fit.bind_groups),
    };
    Counters {
        submits: steady.submits / n,
        readbacks: steady.readbacks / n,
        buffer_allocations: steady.buffer_allocations / n,
        dispatches: steady.dispatches / n,
        bind_groups: steady.bind_groups / n,
    }
}

/// A trained model with its data, kept between the measurement and the sweep.
pub(crate) struct Session<'a> {
    workload: &'a Workload,
    x: ArrayView2<'a, f32>,
    y: ArrayView2<'a, f32>,
    model: Model,
}

/// What a warm run gives: epoch samples, counters per epoch, last loss.
struct Warm {
    epoch_s: Vec<f64>,
    per_epoch: Counters,
    last_loss: f32,
}

impl<'a> Session<'a> {
    fn options(&self, epochs: usize, steps_per_submit: usize) -> FitOptions {
        FitOptions::new(epochs, self.workload.batch)
            .seed(7)
            .steps_per_submit(steps_per_submit)
    }

    /// A one-epoch fit then an (epochs + 1)-epoch fit timed per epoch.
    fn warm(&mut self, epochs: usize, steps_per_submit: usize) -> Result<Warm> {
        let before = self.model.counters();
        self.model.fit(self.x, self.y, self.options(1, steps_per_submit))?;
        let one = self.model.counters().since(&before);
        self.timed(epochs, steps_per_submit, Some(one))
    }

    /// One fit of epochs + 1 epochs timed at each epoch's end. Counters per epoch: the fit's
    /// minus those of a one-epoch fit (`one_epoch_fit`) over `epochs`, or without one, the
    /// fit's over epochs + 1.
    fn timed(&mut self, epochs: usize, steps_per_submit: usize, one_epoch_fit: Option<Counters>) -> Result<Warm> {
        let stamps = Arc::new(Mutex::new(Vec::with_capacity(epochs + 1)));
        let hook_stamps = stamps.clone();
        let options = self.options(epochs + 1, steps_per_submit).on_epoch_end(move |_, _| {
            hook_stamps
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(Instant::now());
            wgtrain::model::Control::Continue
        });
        let before = self.model.counters();
        let history = self.model.fit(self.x, self.y, options)?;
        let total = self.model.counters().since(&before);
        let stamps = stamps.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let epoch_s = stamps.windows(2).map(|w| (w[1] - w[0]).as_secs_f64()).collect();
        Ok(Warm {
            epoch_s,
            per_epoch: match one_epoch_fit {
                Some(one) => per_epoch(total, one, epochs),
                None => per_epoch(total, Counters::default(), epochs + 1),
            },
            last_loss: history.last("loss").unwrap_or(f32::NAN),
        })
    }
}

/// Opens `backend`, compiles the workload's model, trains the cold epoch and `epochs` timed
/// warm epochs. Returns the figures and the session (for the sweep).
pub(crate) fn measure<'a>(
    workload: &'a Workload,
    x: ArrayView2<'a, f32>,
    y: ArrayView2<'a, f32>,
    backend: &BenchBackend,
    execution: Execution,
    epochs: usize,
) -> Result<(Measurement, Session<'a>)> {
    let start = Instant::now();
    let opened = backend.open()?;
    let backend_name = opened.name();
    let model = workload.model().compile_on_with(
        workload.loss(),
        workload.optimizer(),
        &[Metric::Accuracy],
        opened,
        execution,
    )?;
    let open_s = seconds(start);
    let mut session = Session { workload, x, y, model };
    session.model.fit(x, y, session.options(1, usize::MAX))?;
    let cold_s = seconds(start);

    let warm = session.warm(epochs.max(1), usize::MAX)?;
    let median_epoch_s = median(&warm.epoch_s);
    let rate = |s: f64| if s > 0.0 { workload.rows as f64 / s } else { 0.0 };
    let measurement = Measurement {
        workload: workload.name.to_string(),
        backend: backend.label().to_string(),
        executor: session.model.executor().kind.name().to_string(),
        backend_name,
        rows: workload.rows,
        full_rows: workload.rows,
        batch: workload.batch,
        steps_per_epoch: workload.steps_per_epoch(),
        open_s,
        cold_s,
        median_epoch_s,
        samples_per_s: rate(median_epoch_s),
        gflops: rate(median_epoch_s) * workload.flops_per_sample() / 1e9,
        per_epoch: warm.per_epoch,
        epoch_s: warm.epoch_s,
        last_loss: warm.last_loss,
        dot_step_samples_per_s: None,
        matmul: session.model.matmul_choices().iter().map(ToString::to_string).collect(),
    };
    Ok((measurement, session))
}

/// The steps-per-submit settings the sweep tries; `usize::MAX` is the whole epoch (the default
/// of [`FitOptions`]).
pub const SWEEP_SETTINGS: [usize; 4] = [1, 4, 16, usize::MAX];

/// Runs every sweep setting on an already warm session, one timed fit of `epochs` + 1 epochs
/// each, the whole epoch included (so all points share the same conditions).
pub(crate) fn sweep(session: &mut Session<'_>, epochs: usize) -> Result<Vec<SweepPoint>> {
    let mut points = Vec::new();
    for &setting in &SWEEP_SETTINGS {
        let warm = session.timed(epochs.max(1), setting, None)?;
        let median_epoch_s = median(&warm.epoch_s);
        points.push(SweepPoint {
            workload: session.workload.name.to_string(),
            steps_per_submit: setting,
            median_epoch_s,
            samples_per_s: if median_epoch_s > 0.0 {
                session.workload.rows as f64 / median_epoch_s
            } else {
                0.0
            },
            submits_per_epoch: warm.per_epoch.submits,
        });
    }
    Ok(points)
}

/// Seconds of one training step of `workload` on a fresh `backend`, for fitting a run into a
/// time budget: a one-step fit (which includes the plan build and first-use costs, so it
/// overestimates); when that was quicker than `quick_s`, a second fit of up to 8 steps, timed
/// whole, gives the estimate (still including the per-fit data upload: the safe side).
pub(crate) fn step_seconds(
    workload: &Workload,
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    backend: &BenchBackend,
    execution: Execution,
    quick_s: f64,
) -> Result<f64> {
    let opened = backend.open()?;
    let mut model = workload.model().compile_on_with(
        workload.loss(),
        workload.optimizer(),
        &[Metric::Accuracy],
        opened,
        execution,
    )?;
    let fused = model.executor().kind == ExecutorKind::Fused;
    let mut time_steps = |steps: usize| -> Result<f64> {
        let rows = (steps * workload.batch).min(x.nrows());
        let start = Instant::now();
        model.fit(
            x.slice(s![..rows, ..]),
            y.slice(s![..rows, ..]),
            FitOptions::new(1, workload.batch),
        )?;
        Ok(seconds(start) / rows.div_ceil(workload.batch) as f64)
    };
    let first = time_steps(1)?;
    // The fused executor's first fit builds its kernel (most of that time): time it again.
    if first > quick_s && !fused {
        return Ok(first);
    }
    time_steps(workload.steps_per_epoch().min(8))
}
