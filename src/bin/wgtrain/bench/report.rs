//! The bench report: every figure of a run, printed as a table (headed by the adapter and
//! the CPU's `dot` figure); its JSON shape is in `json.rs`.

use super::cache::CacheFigures;
use super::dot::DotFigure;
use super::measure::{Measurement, SweepPoint};
use wgtrain::backend::gpu::AdapterSummary;

/// Everything one `wgtrain bench` run measured.
#[derive(Clone, Debug, Default)]
pub struct BenchReport {
    /// The GPU adapter measured, when one was.
    pub gpu: Option<AdapterSummary>,
    /// Why the GPU was not measured, when it was asked for and could not be opened.
    pub gpu_skipped: Option<String>,
    /// The CPU's matrix-product figure, when the CPU was measured.
    pub cpu_dot: Option<DotFigure>,
    /// One entry per workload and backend, in run order.
    pub measurements: Vec<Measurement>,
    /// The GPU steps-per-submit sweep.
    pub sweep: Vec<SweepPoint>,
    /// Backend open time with and without the pipeline cache.
    pub pipeline_cache: Option<CacheFigures>,
    /// Workloads that failed on a backend: (workload, backend and executor, error).
    pub failures: Vec<(String, String, String)>,
    /// Workloads an executor did not run because it cannot (fused where the model does not
    /// fit one workgroup): (workload, backend and executor, why).
    pub not_run: Vec<(String, String, String)>,
}

impl Measurement {
    /// "cpu", "gpu layered" or "gpu fused": the backend and, on the GPU, the executor.
    pub fn label(&self) -> String {
        match self.backend.as_str() {
            "cpu" => "cpu".into(),
            b => format!("{b} {}", self.executor),
        }
    }
}

fn steps_label(steps: usize) -> String {
    if steps == usize::MAX {
        "epoch".into()
    } else {
        steps.to_string()
    }
}

/// Seconds with three significant digits, in the unit that reads best.
fn fmt_seconds(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// A ratio with three significant digits.
fn fmt_ratio(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.1}×")
    } else if r >= 0.1 {
        format!("{r:.2}×")
    } else {
        format!("{r:.4}×")
    }
}

/// A rate with an SI suffix (k, M).
fn fmt_rate(v: f64) -> String {
    if v >= 1e6 {
        format!("{:.2}M", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}k", v / 1e3)
    } else {
        format!("{v:.0}")
    }
}

impl BenchReport {
    /// The first measurement of `workload` on `backend` ("cpu" or "gpu"; on the GPU the
    /// layered executor's, which is measured first).
    pub fn get(&self, workload: &str, backend: &str) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|m| m.workload == workload && m.backend == backend)
    }

    /// The measurement of `workload` on `backend` through `executor` ("layered", "fused").
    pub fn get_executor(&self, workload: &str, backend: &str, executor: &str) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|m| m.workload == workload && m.backend == backend && m.executor == executor)
    }

    /// A measurement's samples/s over the CPU's for its workload.
    pub fn ratio_of(&self, m: &Measurement) -> Option<f64> {
        let c = self.get(&m.workload, "cpu")?;
        (c.samples_per_s > 0.0).then(|| m.samples_per_s / c.samples_per_s)
    }

    /// The fused executor's samples/s over the layered executor's, on the GPU.
    pub fn fused_over_layered(&self, workload: &str) -> Option<f64> {
        let f = self.get_executor(workload, "gpu", "fused")?;
        let l = self.get_executor(workload, "gpu", "layered")?;
        (l.samples_per_s > 0.0).then(|| f.samples_per_s / l.samples_per_s)
    }

    /// A CPU measurement's GFLOP/s as a fraction of the square `dot` figure of the header.
    pub fn dot_peak_fraction(&self, m: &Measurement) -> Option<f64> {
        let dot = self.cpu_dot?;
        (m.backend == "cpu" && dot.gflops > 0.0).then(|| m.gflops / dot.gflops)
    }

    /// A CPU measurement's samples/s as a fraction of the samples/s its step's matrix products
    /// alone reach through `dot` (1 minus it is the share of the step spent outside them).
    pub fn dot_step_fraction(&self, m: &Measurement) -> Option<f64> {
        let implied = m.dot_step_samples_per_s?;
        (implied > 0.0).then(|| m.samples_per_s / implied)
    }

    /// The workloads measured, in run order, each once.
    pub fn workloads(&self) -> Vec<&str> {
        let mut names: Vec<&str> = Vec::new();
        for m in &self.measurements {
            if !names.contains(&m.workload.as_str()) {
                names.push(&m.workload);
            }
        }
        names
    }

    /// The header lines: the adapter and API, and the CPU.
    fn header(&self) -> String {
        let mut s = String::from("wgtrain bench\n");
        match (&self.gpu, &self.gpu_skipped) {
            (Some(a), _) => s.push_str(&format!(
                "GPU: {} ({}, {}; driver {})\n",
                a.name, a.backend, a.device_type, a.driver
            )),
            (None, Some(why)) => s.push_str(&format!("GPU: not measured: {why}\n")),
            (None, None) => s.push_str("GPU: not requested\n"),
        }
        if let Some(d) = self.cpu_dot {
            s.push_str(&format!(
                "CPU: ndarray, {} matmul thread{}; dot {n}×{n}×{n}: {:.1} GFLOP/s\n",
                d.threads,
                if d.threads == 1 { "" } else { "s" },
                d.gflops,
                n = d.n
            ));
        }
        s
    }

    /// The report as a text table, with the sweep and the pipeline cache below it.
    pub fn to_table(&self) -> String {
        let mut s = self.header();
        s.push_str(
            "\nwarm = median epoch; GFLOP/s counts 6·batch·Σ in·out per step; counters are per warm epoch;\n\
             %dot = samples/s over the rate of the step's matrix products alone through ndarray dot\n\
             (CPU; the rest of the step is overhead); %pk = GFLOP/s over the square dot figure above\n",
        );
        s.push_str(&format!(
            "{:<10} {:<4} {:<7} {:>6} {:>5} {:>5} {:>9} {:>9} {:>9} {:>10} {:>8} {:>5} {:>5} {:>7} {:>5} {:>6} {:>8} {:>5} {:>8} {:>8}\n",
            "workload",
            "dev",
            "exec",
            "rows",
            "batch",
            "steps",
            "open",
            "cold",
            "warm ep",
            "samples/s",
            "GFLOP/s",
            "%dot",
            "%pk",
            "submits",
            "reads",
            "allocs",
            "dispatch",
            "bindg",
            "GPU/CPU",
            "fus/lay"
        ));
        for m in &self.measurements {
            let percent = |f: Option<f64>| f.map_or("-".to_string(), |f| format!("{:.0}%", f * 100.0));
            let ratio = match m.backend.as_str() {
                "gpu" => self.ratio_of(m).map_or("-".into(), fmt_ratio),
                _ => String::new(),
            };
            let speedup = match (m.backend.as_str(), m.executor.as_str()) {
                ("gpu", "fused") => self.fused_over_layered(&m.workload).map_or("-".into(), fmt_ratio),
                _ => String::new(),
            };
            let c = &m.per_epoch;
            let rows = if m.rows < m.full_rows {
                format!("{}*", m.rows)
            } else {
                m.rows.to_string()
            };
            s.push_str(&format!(
                "{:<10} {:<4} {:<7} {:>6} {:>5} {:>5} {:>9} {:>9} {:>9} {:>10} {:>8.2} {:>5} {:>5} {:>7} {:>5} {:>6} {:>8} {:>5} {:>8} {:>8}\n",
                m.workload,
                m.backend,
                m.executor,
                rows,
                m.batch,
                m.steps_per_epoch,
                fmt_seconds(m.open_s),
                fmt_seconds(m.cold_s),
                fmt_seconds(m.median_epoch_s),
                fmt_rate(m.samples_per_s),
                m.gflops,
                percent(self.dot_step_fraction(m)),
                percent(self.dot_peak_fraction(m)),
                c.submits,
                c.readbacks,
                c.buffer_allocations,
                c.dispatches,
                c.bind_groups,
                ratio,
                speedup
            ));
        }
        for m in self.measurements.iter().filter(|m| !m.matmul.is_empty()) {
            s.push_str(&format!(
                "{} {} {} matmul variants:\n",
                m.workload, m.backend, m.executor
            ));
            for choice in &m.matmul {
                s.push_str(&format!("  {choice}\n"));
            }
        }
        for (w, b, e) in &self.failures {
            s.push_str(&format!("{w:<10} {b} FAILED: {e}\n"));
        }
        for (w, b, why) in &self.not_run {
            s.push_str(&format!("{w:<10} {b}: not run: {why}\n"));
        }
        if self.measurements.iter().any(|m| m.rows < m.full_rows) {
            s.push_str(
                "* fewer rows per epoch than the workload defines, to fit the time budget (throughput is per step)\n",
            );
        }
        if !self.sweep.is_empty() {
            s.push_str("\nGPU steps per submit (warm epochs)\n");
            s.push_str(&format!(
                "{:<10} {:>8} {:>10} {:>11} {:>8}\n",
                "workload", "steps", "warm ep", "samples/s", "submits"
            ));
            for p in &self.sweep {
                s.push_str(&format!(
                    "{:<10} {:>8} {:>10} {:>11} {:>8}\n",
                    p.workload,
                    steps_label(p.steps_per_submit),
                    fmt_seconds(p.median_epoch_s),
                    fmt_rate(p.samples_per_s),
                    p.submits_per_epoch
                ));
            }
        }
        if let Some(c) = &self.pipeline_cache {
            s.push_str(&format!(
                "\nGPU backend open (device + pipelines): {} without the pipeline cache, {} with it ({}){}\n",
                fmt_seconds(c.without_s),
                fmt_seconds(c.with_s),
                c.status,
                c.path.as_ref().map_or(String::new(), |p| format!("; {p}"))
            ));
        }
        s
    }
}
