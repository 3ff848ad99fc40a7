//! The bench report's JSON shape, serialized by serde. The structs borrow from the
//! [`BenchReport`] and name the keys consumers parse (`results[i].samples_per_s`,
//! `counters_per_epoch.dispatches`, …), so the shape is stated once here and does not follow
//! the engine's field names. Numbers that are not finite are written as `null` (serde_json's
//! rule for floats).

use serde::Serialize;

use super::report::BenchReport;
use wgtrain::backend::Counters;

/// The whole report.
#[derive(Serialize)]
struct ReportJson<'a> {
    gpu: Option<GpuJson<'a>>,
    gpu_skipped: Option<&'a str>,
    cpu_dot: Option<DotJson>,
    results: Vec<ResultJson<'a>>,
    ratios: Vec<RatioJson<'a>>,
    steps_per_submit: Vec<SweepJson<'a>>,
    pipeline_cache: Option<CacheJson<'a>>,
    failures: Vec<FailureJson<'a>>,
    not_run: Vec<NotRunJson<'a>>,
}

/// `gpu`: the adapter measured.
#[derive(Serialize)]
struct GpuJson<'a> {
    name: &'a str,
    backend: &'a str,
    device_type: &'a str,
    driver: &'a str,
}

/// `cpu_dot`: the CPU's square matrix-product figure.
#[derive(Serialize)]
struct DotJson {
    n: usize,
    gflops: f64,
    threads: usize,
}

/// One entry of `results`: a workload on a backend.
#[derive(Serialize)]
struct ResultJson<'a> {
    workload: &'a str,
    backend: &'a str,
    executor: &'a str,
    backend_name: &'a str,
    rows: usize,
    full_rows: usize,
    batch: usize,
    steps_per_epoch: usize,
    open_s: f64,
    cold_s: f64,
    epoch_s: &'a [f64],
    median_epoch_s: f64,
    samples_per_s: f64,
    gflops: f64,
    dot_step_samples_per_s: Option<f64>,
    dot_step_fraction: Option<f64>,
    dot_peak_fraction: Option<f64>,
    counters_per_epoch: CountersJson,
    last_loss: f32,
    /// The matmul variant per shape class (GPU layered runs).
    matmul_variants: &'a [String],
}

/// `counters_per_epoch`.
#[derive(Serialize)]
struct CountersJson {
    submits: u64,
    readbacks: u64,
    buffer_allocations: u64,
    dispatches: u64,
    bind_groups: u64,
}

/// One entry of `ratios`: a GPU measurement's samples/s over the CPU's, and for the fused
/// executor over the layered one's.
#[derive(Serialize)]
struct RatioJson<'a> {
    workload: &'a str,
    executor: &'a str,
    gpu_over_cpu: f64,
    over_layered: Option<f64>,
}

/// One entry of `steps_per_submit`.
#[derive(Serialize)]
struct SweepJson<'a> {
    workload: &'a str,
    steps_per_submit: StepsJson,
    median_epoch_s: f64,
    samples_per_s: f64,
    submits_per_epoch: u64,
}

/// A steps-per-submit setting: a count, or `"epoch"` for a whole epoch per submit.
#[derive(Serialize)]
#[serde(untagged)]
enum StepsJson {
    Count(usize),
    Epoch(&'static str),
}

/// `pipeline_cache`.
#[derive(Serialize)]
struct CacheJson<'a> {
    open_without_cache_s: f64,
    open_with_cache_s: f64,
    status: &'a str,
    path: Option<&'a str>,
}

/// One entry of `failures`.
#[derive(Serialize)]
struct FailureJson<'a> {
    workload: &'a str,
    backend: &'a str,
    error: &'a str,
}

/// One entry of `not_run`: an executor that cannot run a workload, and why.
#[derive(Serialize)]
struct NotRunJson<'a> {
    workload: &'a str,
    backend: &'a str,
    reason: &'a str,
}

impl From<&Counters> for CountersJson {
    fn from(c: &Counters) -> Self {
        CountersJson {
            submits: c.submits,
            readbacks: c.readbacks,
            buffer_allocations: c.buffer_allocations,
            dispatches: c.dispatches,
            bind_groups: c.bind_groups,
        }
    }
}

impl BenchReport {
    /// The report as one JSON object on one line (seconds, samples/s, GFLOP/s as plain
    /// numbers; `null` for what was not measured).
    pub fn to_json(&self) -> String {
        let doc = ReportJson {
            gpu: self.gpu.as_ref().map(|a| GpuJson {
                name: &a.name,
                backend: &a.backend,
                device_type: &a.device_type,
                driver: &a.driver,
            }),
            gpu_skipped: self.gpu_skipped.as_deref(),
            cpu_dot: self.cpu_dot.map(|d| DotJson {
                n: d.n,
                gflops: d.gflops,
                threads: d.threads,
            }),
            results: self
                .measurements
                .iter()
                .map(|m| ResultJson {
                    workload: &m.workload,
                    backend: &m.backend,
                    executor: &m.executor,
                    backend_name: &m.backend_name,
                    rows: m.rows,
                    full_rows: m.full_rows,
                    batch: m.batch,
                    steps_per_epoch: m.steps_per_epoch,
                    open_s: m.open_s,
                    cold_s: m.cold_s,
                    epoch_s: &m.epoch_s,
                    median_epoch_s: m.median_epoch_s,
                    samples_per_s: m.samples_per_s,
                    gflops: m.gflops,
                    dot_step_samples_per_s: m.dot_step_samples_per_s,
                    matmul_variants: &m.matmul,
                    dot_step_fraction: self.dot_step_fraction(m),
                    dot_peak_fraction: self.dot_peak_fraction(m),
                    counters_per_epoch: (&m.per_epoch).into(),
                    last_loss: m.last_loss,
                })
                .collect(),
            ratios: self
                .measurements
                .iter()
                .filter(|m| m.backend == "gpu")
                .filter_map(|m| {
                    self.ratio_of(m).map(|r| RatioJson {
                        workload: &m.workload,
                        executor: &m.executor,
                        gpu_over_cpu: r,
                        over_layered: (m.executor == "fused")
                            .then(|| self.fused_over_layered(&m.workload))
                            .flatten(),
                    })
                })
                .collect(),
            steps_per_submit: self
                .sweep
                .iter()
                .map(|p| SweepJson {
                    workload: &p.workload,
                    steps_per_submit: match p.steps_per_submit {
                        usize::MAX => StepsJson::Epoch("epoch"),
                        n => StepsJson::Count(n),
                    },
                    median_epoch_s: p.median_epoch_s,
                    samples_per_s: p.samples_per_s,
                    submits_per_epoch: p.submits_per_epoch,
                })
                .collect(),
            pipeline_cache: self.pipeline_cache.as_ref().map(|c| CacheJson {
                open_without_cache_s: c.without_s,
                open_with_cache_s: c.with_s,
                status: &c.status,
                path: c.path.as_deref(),
            }),
            failures: self
                .failures
                .iter()
                .map(|(w, b, e)| FailureJson {
                    workload: w,
                    backend: b,
                    error: e,
                })
                .collect(),
            not_run: self
                .not_run
                .iter()
                .map(|(w, b, r)| NotRunJson {
                    workload: w,
                    backend: b,
                    reason: r,
                })
                .collect(),
        };
        // Borrowed strings and numbers only: serde_json cannot fail on this shape.
        serde_json::to_string(&doc).expect("bench report serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::cache::CacheFigures;
    use crate::bench::measure::{Measurement, SweepPoint};

    fn measurement(median_epoch_s: f64) -> Measurement {
        Measurement {
            workload: "seed".into(),
            backend: "cpu".into(),
            executor: "layered".into(),
            backend_name: "cpu (ndarray)".into(),
            rows: 10,
            full_rows: 20,
            batch: 5,
            steps_per_epoch: 2,
            open_s: 0.0,
            cold_s: 1e-7,
            epoch_s: vec![0.5, 0.25],
            median_epoch_s,
            samples_per_s: 40.0,
            gflops: 0.1,
            per_epoch: Counters {
                dispatches: 7,
                ..Default::default()
            },
            last_loss: f32::INFINITY,
            dot_step_samples_per_s: None,
            matmul: Vec::new(),
        }
    }

    fn sweep_point(steps_per_submit: usize) -> SweepPoint {
        SweepPoint {
            workload: "seed".into(),
            steps_per_submit,
            median_epoch_s: 0.5,
            samples_per_s: 20.0,
            submits_per_epoch: 1,
        }
    }

    #[test]
    fn keys_nulls_and_escapes() {
        let report = BenchReport {
            gpu_skipped: Some("no \"adapter\"\n".into()),
            measurements: vec![measurement(f64::NAN)],
            sweep: vec![sweep_point(usize::MAX), sweep_point(8)],
            pipeline_cache: Some(CacheFigures {
                without_s: 2.0,
                with_s: 1.0,
                status: "hit".into(),
                path: None,
            }),
            failures: vec![("wide".into(), "gpu".into(), "out of memory".into())],
            ..Default::default()
        };
        let text = report.to_json();
        assert!(!text.contains('\n'), "one line: {text}");
        let j: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(j["gpu"], serde_json::Value::Null);
        assert_eq!(j["gpu_skipped"], "no \"adapter\"\n");
        let r = &j["results"][0];
        assert_eq!(r["median_epoch_s"], serde_json::Value::Null, "NaN is null");
        assert_eq!(r["last_loss"], serde_json::Value::Null, "infinity is null");
        assert_eq!(r["cold_s"], 1e-7);
        assert_eq!(r["epoch_s"], serde_json::json!([0.5, 0.25]));
        assert_eq!(r["counters_per_epoch"]["dispatches"], 7);
        assert_eq!(r["dot_step_fraction"], serde_json::Value::Null);
        assert_eq!(j["steps_per_submit"][0]["steps_per_submit"], "epoch");
        assert_eq!(j["steps_per_submit"][1]["steps_per_submit"], 8);
        assert_eq!(j["pipeline_cache"]["open_with_cache_s"], 1.0);
        assert_eq!(j["pipeline_cache"]["path"], serde_json::Value::Null);
        assert_eq!(j["failures"][0]["error"], "out of memory");
        assert_eq!(j["ratios"], serde_json::json!([]));
    }
}
