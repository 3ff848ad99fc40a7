//! The bench runner end to end on tiny row counts: every workload on every backend appears in
//! the table and the JSON, the plan counters of a warm epoch are those of the execution model,
//! the sweep and the pipeline-cache figures are present, and options are checked. Timing never
//! decides a test: only structure and counters are asserted.

use wgtrain::Error;

use super::dot::measure_dot;
use super::{BenchOptions, BenchReport, SWEEP_SETTINGS, WORKLOAD_NAMES, Workload, run};
use crate::common;

/// A quick run: every workload, 48 rows, one warm epoch, one epoch per sweep setting.
fn quick(gpu: bool) -> BenchOptions {
    let mut o = BenchOptions::default().rows(48).epochs(1);
    o.sweep_epochs = Some(1);
    o.dot_size = 64;
    o.budget_s = None;
    if !gpu {
        o.gpu = None;
    }
    o
}

/// The keys of a JSON object, sorted.
fn keys(v: &serde_json::Value) -> Vec<&str> {
    let mut k: Vec<&str> = v.as_object().expect("an object").keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

fn check_counters(report: &BenchReport) {
    for m in &report.measurements {
        let c = m.per_epoch;
        let what = format!("{} on {}", m.workload, m.backend);
        assert_eq!(c.readbacks, 1, "{what}: one read-back per epoch");
        assert_eq!(c.buffer_allocations, 0, "{what}: a warm epoch allocates nothing");
        assert_eq!(c.bind_groups, 0, "{what}: a warm epoch creates no bind group");
        let what = format!("{what} ({})", m.executor);
        match m.executor.as_str() {
            // Many steps per dispatch, or a split step's two dispatches.
            "fused" => assert!(
                (1..=2 * m.steps_per_epoch as u64).contains(&c.dispatches),
                "{what}: {c:?}"
            ),
            // At least 3L + 1 per step for L Dense layers (forward, head, dW, dx, optimizer).
            _ => {
                let layers = Workload::by_name(&m.workload).expect("a workload").layers.len();
                let per_step = 3 * layers as u64 + 1;
                assert!(c.dispatches >= per_step * m.steps_per_epoch as u64, "{what}: {c:?}")
            }
        }
        assert!(m.last_loss.is_finite(), "{what}: loss {}", m.last_loss);
        assert!(m.cold_s >= m.open_s && m.median_epoch_s > 0.0, "{what}");
        match m.backend.as_str() {
            "cpu" => assert_eq!(c.submits, 0, "{what}"),
            _ => assert!((1..=3).contains(&c.submits), "{what}: one epoch, one submission: {c:?}"),
        }
    }
}

#[test]
fn every_workload_and_backend_is_measured_and_reported() {
    let gpu = common::gpu().is_some();
    let report = run(&quick(gpu)).expect("bench runs");
    assert!(report.failures.is_empty(), "{:?}", report.failures);
    let backends: &[&str] = if gpu { &["cpu", "gpu"] } else { &["cpu"] };
    for name in WORKLOAD_NAMES {
        for backend in backends {
            let m = report
                .get(name, backend)
                .unwrap_or_else(|| panic!("{name} on {backend}"));
            assert_eq!((m.rows, m.full_rows), (48, 48));
            assert_eq!(m.batch, Workload::by_name(name).unwrap().batch);
        }
    }
    check_counters(&report);
    // On the GPU both executors run where the workload fits one workgroup; where it does not,
    // the reason is reported.
    if gpu {
        for name in WORKLOAD_NAMES {
            let fused = report.get_executor(name, "gpu", "fused").is_some();
            let reason = report.not_run.iter().any(|(w, b, _)| w == name && b == "gpu fused");
            assert!(
                fused != reason,
                "{name}: fused measured or its reason given: {:?}",
                report.not_run
            );
        }
        for name in ["seed", "digits"] {
            assert!(report.get_executor(name, "gpu", "fused").is_some(), "{name} runs fused");
            assert!(report.fused_over_layered(name).is_some_and(|r| r > 0.0));
        }
    }

    let table = report.to_table();
    for name in WORKLOAD_NAMES {
        assert!(table.contains(name), "{table}");
    }
    assert!(table.contains("dot 64×64×64"), "{table}");
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).expect("valid JSON");
    let results = json["results"].as_array().expect("results");
    assert_eq!(results.len(), report.measurements.len());
    assert!(results.len() >= WORKLOAD_NAMES.len() * backends.len());
    for r in results {
        assert!(r["counters_per_epoch"]["dispatches"].as_u64().unwrap() > 0);
        assert!(r["samples_per_s"].as_f64().unwrap() > 0.0);
    }
    // The key names consumers parse.
    assert_eq!(
        keys(&json),
        [
            "cpu_dot",
            "failures",
            "gpu",
            "gpu_skipped",
            "not_run",
            "pipeline_cache",
            "ratios",
            "results",
            "steps_per_submit"
        ]
    );
    assert_eq!(keys(&json["cpu_dot"]), ["gflops", "n", "threads"]);
    assert_eq!(
        keys(&results[0]),
        [
            "backend",
            "backend_name",
            "batch",
            "cold_s",
            "counters_per_epoch",
            "dot_peak_fraction",
            "dot_step_fraction",
            "dot_step_samples_per_s",
            "epoch_s",
            "executor",
            "full_rows",
            "gflops",
            "last_loss",
            "matmul_variants",
            "median_epoch_s",
            "open_s",
            "rows",
            "samples_per_s",
            "steps_per_epoch",
            "workload"
        ]
    );
    assert_eq!(
        keys(&results[0]["counters_per_epoch"]),
        [
            "bind_groups",
            "buffer_allocations",
            "dispatches",
            "readbacks",
            "submits"
        ]
    );

    if gpu {
        let adapter = report.gpu.as_ref().expect("adapter summary");
        assert!(table.starts_with("wgtrain bench\nGPU: "), "{table}");
        assert!(table.contains(&adapter.name), "the adapter heads the table");
        assert!(
            table.contains("steps per submit") && table.contains("pipeline cache"),
            "{table}"
        );
        let gpu_rows = report.measurements.iter().filter(|m| m.backend == "gpu").count();
        assert_eq!(json["ratios"].as_array().unwrap().len(), gpu_rows);
        let mnist = report.get("mnist-mlp", "gpu").unwrap();
        assert!(report.ratio_of(mnist).is_some_and(|r| r > 0.0));
        assert_eq!(report.sweep.len(), WORKLOAD_NAMES.len() * SWEEP_SETTINGS.len());
        for p in report.sweep.iter().filter(|p| p.steps_per_submit == 1) {
            let steps = report.get(&p.workload, "gpu").unwrap().steps_per_epoch as u64;
            assert!(p.submits_per_epoch >= steps, "{p:?}: a submit per step");
        }
        let cache = report.pipeline_cache.as_ref().expect("pipeline cache figures");
        assert!(cache.without_s > 0.0 && cache.with_s > 0.0);
        assert_eq!(json["steps_per_submit"].as_array().unwrap().len(), report.sweep.len());
        assert_eq!(keys(&json["gpu"]), ["backend", "device_type", "driver", "name"]);
        assert_eq!(
            keys(&json["ratios"][0]),
            ["executor", "gpu_over_cpu", "over_layered", "workload"]
        );
        assert_eq!(
            keys(&json["steps_per_submit"][0]),
            [
                "median_epoch_s",
                "samples_per_s",
                "steps_per_submit",
                "submits_per_epoch",
                "workload"
            ]
        );
        assert_eq!(
            keys(&json["pipeline_cache"]),
            ["open_with_cache_s", "open_without_cache_s", "path", "status"]
        );
    } else {
        assert!(table.contains("GPU: not requested"), "{table}");
    }
}

#[test]
fn a_tight_budget_trains_whole_batches_and_says_so() {
    let mut options = BenchOptions::default().workloads(&["seed", "tabular"]).epochs(1);
    options.gpu = None;
    options.dot_size = 0;
    options.budget_s = Some(1e-9);
    let report = run(&options).expect("bench runs");
    for (name, batch, full) in [("seed", 10, 1000), ("tabular", 32, 20_000)] {
        let m = report.get(name, "cpu").expect("measured");
        assert_eq!((m.rows, m.full_rows, m.steps_per_epoch), (batch, full, 1));
    }
    assert!(report.to_table().contains(&format!("{:>6}", "10*")));
    assert!(report.cpu_dot.is_none() && report.dot_step_fraction(&report.measurements[0]).is_none());
}

#[test]
fn unknown_workloads_are_refused_with_the_names_that_exist() {
    let err = run(&BenchOptions::default().workloads(&["seed", "resnet"])).unwrap_err();
    match err {
        Error::InvalidArgument { what, detail } => {
            assert_eq!(what, "workload");
            assert!(detail.contains("resnet") && detail.contains("mnist-mlp"), "{detail}");
        }
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn workloads_match_the_issue() {
    let shapes: Vec<(usize, Vec<usize>, usize, usize)> = Workload::all()
        .iter()
        .map(|w| (w.input, w.layers.iter().map(|l| l.0).collect(), w.batch, w.rows))
        .collect();
    assert_eq!(
        shapes,
        vec![
            (1, vec![10, 1], 10, 1000),
            (64, vec![64, 10], 32, 1797),
            (30, vec![64, 64, 1], 32, 20_000),
            (784, vec![256, 128, 10], 128, 20_000),
            (1024, vec![1024, 1024, 10], 512, 8192),
        ]
    );
    let (x, y) = Workload::mnist_mlp().with_rows(100).data();
    assert_eq!((x.dim(), y.dim()), ((100, 784), (100, 1)));
    assert!(y.iter().all(|&c| c.fract() == 0.0 && (0.0..10.0).contains(&c)));
    assert_eq!(
        Workload::tabular().with_rows(5).data(),
        Workload::tabular().with_rows(5).data()
    );
    assert_eq!(
        Workload::wide().flops_per_sample(),
        6.0 * (1024.0 * 1024.0 * 2.0 + 10240.0)
    );
    assert_eq!(Workload::by_name("seed"), Some(Workload::seed()));
    assert_eq!(Workload::seed().flops_per_sample(), 6.0 * (1.0 * 10.0 + 10.0 * 1.0));
}

#[test]
fn options_build_up_from_the_defaults() {
    let options = BenchOptions::default().workloads(&["seed", "wide"]).epochs(3).rows(64);
    assert_eq!(options.workloads, vec!["seed", "wide"]);
    assert_eq!((options.epochs, options.rows), (Some(3), Some(64)));
    assert!(options.cpu && options.gpu.is_some());
}

#[test]
fn the_chart_is_a_png_written_atomically() {
    let mut options = BenchOptions::default().workloads(&["seed"]).epochs(1).rows(20);
    options.gpu = None;
    options.dot_size = 0;
    let report = run(&options).expect("bench runs");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bench.png");
    report.write_plot(&path).expect("plot written");
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let err = report
        .write_plot(&dir.path().join("missing/dir/bench.png"))
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err}");
}

#[test]
fn a_small_product_has_a_rate() {
    let figure = measure_dot(64, 0.01);
    assert_eq!(figure.n, 64);
    assert!(figure.gflops > 0.0 && figure.threads >= 1, "{figure:?}");
}
