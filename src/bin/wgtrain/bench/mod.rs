//! `wgtrain bench` (issues 6 and 11): the fixed workloads on every available backend and, on
//! the GPU, both executors (layered, and fused where the workload fits), side by side. Per
//! workload, backend and executor: cold time (backend open and pipeline build, plan build,
//! first epoch), warm samples/s (median epoch), effective GFLOP/s counted from the layer
//! shapes, the plan counters of one epoch and the GPU/CPU ratio; on the GPU also the
//! steps-per-submit sweep and the backend open time with and without the pipeline cache; on
//! the CPU the machine's `dot` figure the CPU backend is judged against.
//!
//! Each measurement opens a fresh backend, so "cold" covers the device and pipeline creation
//! (with the on-disk pipeline cache as it stands), compile, plan build, data upload and the
//! first epoch, in a process that has already loaded the driver once; the pipeline-cache
//! figures time that open alone, with the cache off and on. A time budget per workload and
//! backend keeps a slow backend (lavapipe) to fewer rows per epoch; the table marks them.
//!
//! On lavapipe the GPU figures are a functional check, not a speed claim (DESIGN.md §7).
//!
//! `run(&BenchOptions::default().workloads(&["seed"]).epochs(5))` gives a [`BenchReport`],
//! shown by `to_table()`, written by `to_json()` and drawn by `write_plot()`.

mod cache;
mod dot;
mod json;
mod measure;
mod report;
mod schedule;
mod step_products;
#[cfg(test)]
mod tests;
mod workload;

use std::path::Path;

use ndarray::{ArrayView2, s};

use dot::measure_dot;
use measure::BenchBackend;
pub use measure::SWEEP_SETTINGS;
pub use report::BenchReport;
use step_products::step_products_seconds;
pub use workload::{WORKLOAD_NAMES, Workload};

use schedule::Schedule;
use wgtrain::backend::GpuBackend;
use wgtrain::backend::gpu::AdapterChoice;
use wgtrain::model::Execution;
use wgtrain::{Error, Result};

/// What to run.
#[derive(Clone, Debug)]
pub struct BenchOptions {
    /// Workload names (see [`WORKLOAD_NAMES`]); empty runs all four.
    pub workloads: Vec<String>,
    /// Timed warm epochs per workload and backend; None uses each workload's default
    /// ([`default_epochs`]).
    pub epochs: Option<usize>,
    /// Train on this many rows instead of the workload's own count (for quick checks).
    pub rows: Option<usize>,
    /// Measure the CPU backend.
    pub cpu: bool,
    /// Measure this GPU adapter (None: CPU only). An adapter that cannot be opened is
    /// reported in [`BenchReport::gpu_skipped`], not as an error.
    pub gpu: Option<AdapterChoice>,
    /// Run the steps-per-submit sweep on the GPU.
    pub sweep: bool,
    /// Timed epochs per sweep setting (None: 2, 3 for tiny workloads).
    pub sweep_epochs: Option<usize>,
    /// Time the GPU backend open with and without the pipeline cache.
    pub pipeline_cache: bool,
    /// Side of the square product timed for the CPU `dot` figure (0 skips it).
    pub dot_size: usize,
    /// Seconds each workload may take on each backend, sweep included (None: no limit). A
    /// backend too slow for every row trains fewer rows per epoch (whole batches, at least
    /// one), measured after a one-step calibration; the report shows the rows trained.
    pub budget_s: Option<f64>,
    /// Print one line per measurement on stderr as the run goes.
    pub progress: bool,
    /// The GPU's executors: `Auto` measures layered and, where the workload fits, fused;
    /// `Layered` or `Fused` only that one (a workload fused cannot run is a failure). The CPU
    /// backend always runs layered.
    pub executor: Execution,
}

impl Default for BenchOptions {
    fn default() -> Self {
        BenchOptions {
            workloads: Vec::new(),
            epochs: None,
            rows: None,
            cpu: true,
            gpu: Some(AdapterChoice::Auto),
            sweep: true,
            sweep_epochs: None,
            pipeline_cache: true,
            dot_size: 1024,
            budget_s: Some(30.0),
            progress: false,
            executor: Execution::Auto,
        }
    }
}

impl BenchOptions {
    /// Narrows the run to these workloads.
    pub fn workloads(mut self, names: &[&str]) -> Self {
        self.workloads = names.iter().map(|s| s.to_string()).collect();
        self
    }

    /// Sets the timed warm epochs (at least 1).
    pub fn epochs(mut self, n: usize) -> Self {
        self.epochs = Some(n.max(1));
        self
    }

    /// Sets the row count of every workload.
    pub fn rows(mut self, n: usize) -> Self {
        self.rows = Some(n.max(1));
        self
    }

    /// The workloads to run, in report order.
    pub fn selected(&self) -> Result<Vec<Workload>> {
        if self.workloads.is_empty() {
            return Ok(self.resized(Workload::all()));
        }
        let picked = self
            .workloads
            .iter()
            .map(|name| {
                Workload::by_name(name).ok_or_else(|| Error::InvalidArgument {
                    what: "workload",
                    detail: format!("`{name}` is not one of {}", WORKLOAD_NAMES.join(", ")),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(self.resized(picked))
    }

    fn resized(&self, workloads: Vec<Workload>) -> Vec<Workload> {
        match self.rows {
            Some(r) => workloads.into_iter().map(|w| w.with_rows(r)).collect(),
            None => workloads,
        }
    }
}

/// Timed epochs per sweep setting when not set.
pub fn default_sweep_epochs(workload: &Workload) -> usize {
    if workload.name == "seed" { 3 } else { 2 }
}

/// Timed warm epochs when not set: enough for a stable median of cheap epochs, few for the
/// workloads whose epochs take seconds on a CPU-hosted GPU.
pub fn default_epochs(workload: &Workload) -> usize {
    match workload.name {
        "seed" => 15,
        "tabular" => 5,
        _ => 3,
    }
}

fn note(options: &BenchOptions, line: impl FnOnce() -> String) {
    if options.progress {
        eprintln!("wgtrain bench: {}", line());
    }
}

/// Runs the bench. Errors only for invalid options; a backend or workload that fails is
/// recorded in the report.
pub fn run(options: &BenchOptions) -> Result<BenchReport> {
    let workloads = options.selected()?;
    let mut report = BenchReport::default();
    let mut backends = Vec::new();
    if options.cpu {
        backends.push(BenchBackend::Cpu);
        if options.dot_size > 0 {
            let figure = measure_dot(options.dot_size, 0.5);
            note(options, || {
                format!("cpu dot {}³: {:.1} GFLOP/s", figure.n, figure.gflops)
            });
            report.cpu_dot = Some(figure);
        }
    }
    if let Some(choice) = &options.gpu {
        match GpuBackend::with_adapter(choice) {
            Ok(gpu) => {
                report.gpu = Some(gpu.adapter().clone());
                drop(gpu);
                backends.push(BenchBackend::Gpu(choice.clone()));
                if options.pipeline_cache {
                    match cache::measure_cache(choice, 3) {
                        Ok(figures) => report.pipeline_cache = Some(figures),
                        Err(e) => report
                            .failures
                            .push(("pipeline-cache".into(), "gpu".into(), e.to_string())),
                    }
                }
            }
            Err(e) => report.gpu_skipped = Some(e.to_string()),
        }
    }
    for workload in &workloads {
        let (x, y) = workload.data();
        for backend in &backends {
            for execution in executions(options.executor, backend) {
                let label = || format!("{} {}", backend.label(), executor_name(execution));
                match measure_one(options, workload, x.view(), y.view(), backend, execution, &mut report) {
                    Ok(()) => {}
                    // Auto measures fused only where the workload fits: the reason is shown.
                    Err(Error::ExecutorUnavailable { reason, .. }) if options.executor == Execution::Auto => {
                        report.not_run.push((workload.name.to_string(), label(), reason))
                    }
                    Err(e) => report
                        .failures
                        .push((workload.name.to_string(), label(), e.to_string())),
                }
            }
        }
    }
    Ok(report)
}

/// The executors measured on `backend` for the requested choice.
fn executions(requested: Execution, backend: &BenchBackend) -> Vec<Execution> {
    match (backend, requested) {
        (BenchBackend::Cpu, _) => vec![Execution::Layered],
        (BenchBackend::Gpu(_), Execution::Auto) => vec![Execution::Layered, Execution::Fused],
        (BenchBackend::Gpu(_), other) => vec![other],
    }
}

fn executor_name(e: Execution) -> &'static str {
    match e {
        Execution::Auto => "auto",
        Execution::Layered => "layered",
        Execution::Fused => "fused",
    }
}

/// Schedules, measures and (on the GPU) sweeps one workload on one backend.
fn measure_one(
    options: &BenchOptions,
    workload: &Workload,
    x: ArrayView2<f32>,
    y: ArrayView2<f32>,
    backend: &BenchBackend,
    execution: Execution,
    report: &mut BenchReport,
) -> Result<()> {
    let budget = match options.budget_s {
        Some(b) => Some((b, measure::step_seconds(workload, x, y, backend, execution, b / 200.0)?)),
        None => None,
    };
    // Steps per submit only matter to the layered executor's many dispatches.
    let schedule = Schedule::new(
        workload,
        options.epochs.unwrap_or_else(|| default_epochs(workload)),
        options.sweep && matches!(backend, BenchBackend::Gpu(_)) && execution != Execution::Fused,
        options.sweep_epochs.unwrap_or_else(|| default_sweep_epochs(workload)),
        budget,
    );
    if schedule.rows < workload.rows {
        note(options, || {
            format!(
                "{} on {}: {} of {} rows per epoch to stay within {:.0} s (one step took {:.3} s)",
                workload.name,
                backend.label(),
                schedule.rows,
                workload.rows,
                options.budget_s.unwrap_or_default(),
                budget.map_or(0.0, |b| b.1)
            )
        });
    }
    let run = workload.clone().with_rows(schedule.rows);
    let (x, y) = (x.slice(s![..schedule.rows, ..]), y.slice(s![..schedule.rows, ..]));
    let (mut m, mut session) = measure::measure(&run, x, y, backend, execution, schedule.epochs)?;
    m.full_rows = workload.rows;
    if matches!(backend, BenchBackend::Cpu) && options.dot_size > 0 {
        m.dot_step_samples_per_s = Some(run.batch as f64 / step_products_seconds(&run, 0.3));
    }
    note(options, || {
        format!(
            "{} on {} ({}): cold {:.3} s, warm epoch {:.4} s, {:.0} samples/s, {} dispatches per epoch",
            m.workload, m.backend, m.executor, m.cold_s, m.median_epoch_s, m.samples_per_s, m.per_epoch.dispatches
        )
    });
    if schedule.sweep {
        match measure::sweep(&mut session, schedule.sweep_epochs) {
            Ok(points) => report.sweep.extend(points),
            Err(e) => report
                .failures
                .push((format!("{} sweep", m.workload), m.backend.clone(), e.to_string())),
        }
    }
    report.measurements.push(m);
    Ok(())
}

impl BenchReport {
    /// The bar chart: warm samples/s per workload, one bar per backend, on a log axis when
    /// the figures are far apart (see [`crate::plot::bar_chart`]).
    pub fn chart(&self) -> crate::plot::Image {
        let groups: Vec<(String, Vec<(String, f32)>)> = self
            .workloads()
            .into_iter()
            .map(|w| {
                let bars = self
                    .measurements
                    .iter()
                    .filter(|m| m.workload == w)
                    .map(|m| (m.label(), m.samples_per_s as f32))
                    .collect();
                (w.to_string(), bars)
            })
            .collect();
        let title = match &self.gpu {
            Some(a) => format!("wgtrain bench: warm samples/s (GPU: {}, {})", a.name, a.backend),
            None => "wgtrain bench: warm samples/s".to_string(),
        };
        crate::plot::bar_chart(&title, "samples/s", &groups, crate::plot::YScale::Auto)
    }

    /// Writes the bar chart to `path` as a PNG (atomically).
    pub fn write_plot(&self, path: &Path) -> Result<()> {
        self.chart().write_png(path)
    }
}
