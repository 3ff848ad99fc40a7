//! Training-step kernels (issue 6 item 2) at the shapes the bench workloads run, on the CPU
//! backend and, when an adapter exists, on the GPU backend:
//! - the matrix product in its three transpose forms (forward x·W, dx = dz·Wᵀ, dW = xᵀ·dz)
//!   for the `mnist-mlp` and `wide` layers, and the forward product with its fused
//!   bias + relu epilogue (keeping z), as the training step records it;
//! - the relu backward with the bias gradient, the fused softmax + sparse cross-entropy loss
//!   with its gradient, and the whole-model Adam update, which move memory rather than
//!   compute: they are reported in GB/s (bytes each must read and write once).
//!
//! Every iteration records `REPEAT` operations and calls `synchronize()` once, so a GPU figure
//! includes submitting and waiting, amortized as a training step amortizes them. Before
//! timing, each GPU result is checked against the CPU backend's, so no figure is printed for a
//! wrong kernel. The table at the end sets each product against the machine's measured CPU
//! `dot` figure (ndarray `general_mat_mul`, 1024³, best of a half second).
//!
//! Run: `cargo bench --bench training` (a filter such as `-- adam` times only the matching
//! cases; the others still run once, untimed, and show no figure).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use dot::{DotFigure, measure_dot};
use wgtrain::backend::{
    ActivationBackwardOp, Backend, CpuBackend, GpuBackend, LossOp, MatmulOp, OptimizerStepOp, Tensor,
};
use wgtrain::nn::{Activation, Loss, Optimizer};

/// The CPU `dot` figure, measured by the same code as `wgtrain bench`'s.
#[path = "../src/bin/wgtrain/bench/dot.rs"]
mod dot;

/// Samples per benchmark: few, so the run takes minutes with lavapipe on 2 cores.
const SAMPLES: usize = 10;

/// Measurement time per benchmark, unless one iteration takes longer than a tenth of it.
const MEASUREMENT: Duration = Duration::from_secs(1);

/// What one case runs.
#[derive(Clone, Copy, Debug)]
enum Kernel {
    /// op(A)·op(B) with (M, K, N), the transpose flags and the bias + relu epilogue.
    Matmul {
        shape: (usize, usize, usize),
        trans_a: bool,
        trans_b: bool,
        epilogue: bool,
    },
    /// dz = dy ⊙ relu′(z) and db = Σ_rows dz over [rows, cols].
    ReluBackward { rows: usize, cols: usize },
    /// Softmax fused with sparse cross-entropy on [rows, classes] logits, with the gradient.
    SoftmaxCe { rows: usize, classes: usize },
    /// One Adam step over `n` parameters.
    Adam { n: usize },
}

/// Parameters of the workloads' models (Σ in·out + out).
const MNIST_PARAMS: usize = 784 * 256 + 256 + 256 * 128 + 128 + 128 * 10 + 10;
const WIDE_PARAMS: usize = 1024 * 1024 + 1024 + 1024 * 1024 + 1024 + 1024 * 10 + 10;

/// (name, kernel, operations recorded per synchronize).
fn cases() -> Vec<(&'static str, Kernel, usize)> {
    let mm = |shape, trans_a, trans_b, epilogue| Kernel::Matmul {
        shape,
        trans_a,
        trans_b,
        epilogue,
    };
    vec![
        ("mnist fwd x·W", mm((128, 784, 256), false, false, false), 4),
        ("mnist fwd x·W+b,relu", mm((128, 784, 256), false, false, true), 4),
        ("mnist dx dz·Wᵀ", mm((128, 128, 256), false, true, false), 4),
        ("mnist dW xᵀ·dz", mm((784, 128, 256), true, false, false), 4),
        ("wide fwd x·W", mm((512, 1024, 1024), false, false, false), 1),
        ("wide fwd x·W+b,relu", mm((512, 1024, 1024), false, false, true), 1),
        ("wide dx dz·Wᵀ", mm((512, 1024, 1024), false, true, false), 1),
        ("wide dW xᵀ·dz", mm((1024, 512, 1024), true, false, false), 1),
        (
            "relu bwd + db 128×256",
            Kernel::ReluBackward { rows: 128, cols: 256 },
            16,
        ),
        (
            "relu bwd + db 512×1024",
            Kernel::ReluBackward { rows: 512, cols: 1024 },
            8,
        ),
        ("softmax-CE 128×10", Kernel::SoftmaxCe { rows: 128, classes: 10 }, 16),
        ("softmax-CE 512×10", Kernel::SoftmaxCe { rows: 512, classes: 10 }, 16),
        ("adam mnist-mlp", Kernel::Adam { n: MNIST_PARAMS }, 8),
        ("adam wide", Kernel::Adam { n: WIDE_PARAMS }, 4),
    ]
}

impl Kernel {
    /// (work per operation, true when the work is FLOPs, false when bytes).
    fn work(&self) -> (f64, bool) {
        match *self {
            Kernel::Matmul { shape: (m, k, n), .. } => ((2 * m * k * n) as f64, true),
            // Read dy and z, write dz (db is one row).
            Kernel::ReluBackward { rows, cols } => ((3 * rows * cols * 4) as f64, false),
            // Read logits and labels, write the gradient and the row losses.
            Kernel::SoftmaxCe { rows, classes } => (((2 * classes + 2) * rows * 4) as f64, false),
            // Read p, g, m, v; write p, m, v.
            Kernel::Adam { n } => ((7 * n * 4) as f64, false),
        }
    }
}

/// Deterministic values in [-1, 1) (xorshift), so runs are comparable.
fn values(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// A case's operands on one backend.
struct Prepared {
    kernel: Kernel,
    tensors: Vec<Tensor>,
    /// The output compared with the CPU backend.
    output: Tensor,
}

fn upload(be: &mut dyn Backend, rows: usize, cols: usize, seed: u64) -> Tensor {
    be.upload(rows, cols, &values(rows * cols, seed)).expect("upload")
}

fn prepare(be: &mut dyn Backend, kernel: Kernel) -> Prepared {
    let zeros = |be: &mut dyn Backend, r, c| be.zeros(r, c).expect("allocate");
    let tensors = match kernel {
        Kernel::Matmul {
            shape: (m, k, n),
            trans_a,
            trans_b,
            ..
        } => {
            let (ar, ac) = if trans_a { (k, m) } else { (m, k) };
            let (br, bc) = if trans_b { (n, k) } else { (k, n) };
            vec![
                upload(be, ar, ac, 1),
                upload(be, br, bc, 2),
                upload(be, 1, n, 3),
                zeros(be, m, n),
                zeros(be, m, n),
            ]
        }
        Kernel::ReluBackward { rows, cols } => vec![
            upload(be, rows, cols, 4),
            upload(be, rows, cols, 5),
            zeros(be, rows, cols),
            zeros(be, 1, cols),
        ],
        Kernel::SoftmaxCe { rows, classes } => {
            let labels: Vec<f32> = (0..rows).map(|i| (i % classes) as f32).collect();
            vec![
                upload(be, rows, classes, 6),
                be.upload(rows, 1, &labels).expect("upload"),
                zeros(be, rows, 1),
                zeros(be, rows, classes),
            ]
        }
        Kernel::Adam { n } => {
            let v: Vec<f32> = values(n, 9).iter().map(|x| x.abs() * 1e-3).collect();
            vec![
                upload(be, 1, n, 7),
                upload(be, 1, n, 8),
                upload(be, 1, n, 10),
                be.upload(1, n, &v).expect("upload"),
            ]
        }
    };
    let output = match kernel {
        Kernel::Matmul { .. } => tensors[3],
        Kernel::ReluBackward { .. } => tensors[2],
        Kernel::SoftmaxCe { .. } => tensors[3],
        Kernel::Adam { .. } => tensors[0],
    };
    Prepared {
        kernel,
        tensors,
        output,
    }
}

/// Records the case's operation once.
fn record(be: &mut dyn Backend, p: &Prepared) {
    let t = &p.tensors;
    match p.kernel {
        Kernel::Matmul {
            trans_a,
            trans_b,
            epilogue,
            ..
        } => {
            let mut op = MatmulOp::new(t[0], t[1], t[3]).transposed(trans_a, trans_b);
            if epilogue {
                op = op.epilogue(Some(t[2]), Activation::Relu, Some(t[4]));
            }
            be.matmul(&op).expect("matmul");
        }
        Kernel::ReluBackward { .. } => be
            .activation_backward(
                &ActivationBackwardOp::new(t[0], t[1], Activation::Relu)
                    .dz(t[2])
                    .db(t[3]),
            )
            .expect("activation_backward"),
        Kernel::SoftmaxCe { .. } => be
            .loss(&LossOp {
                loss: Loss::SparseCategoricalCrossentropy { from_logits: true },
                pred: t[0],
                target: t[1],
                weights: None,
                row_loss: t[2],
                grad: Some(t[3]),
                target_rows: None,
            })
            .expect("loss"),
        // A fixed step number: each call is the same amount of work.
        Kernel::Adam { .. } => be
            .optimizer_step(&OptimizerStepOp::new(&Optimizer::adam(), 10, t[0], t[1]).slots(&t[2..4]))
            .expect("optimizer_step"),
    }
}

/// Runs the case once on a fresh backend and returns its output (the state after one step).
fn result_once(be: &mut dyn Backend, kernel: Kernel) -> Vec<f32> {
    let p = prepare(be, kernel);
    record(be, &p);
    let out = be.read(p.output).expect("read");
    for t in p.tensors {
        be.free(t).unwrap();
    }
    out
}

/// max |got − want| / max |want|.
fn relative_error(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
    got.iter().zip(want).fold(0.0f32, |m, (g, w)| m.max((g - w).abs())) / scale
}

/// One case's measured rate on one backend.
struct Row {
    name: &'static str,
    backend: &'static str,
    /// GFLOP/s or GB/s.
    rate: Option<f64>,
}

fn bench_backend(c: &mut Criterion, be: &mut dyn Backend, backend: &'static str, gpu: bool, rows: &mut Vec<Row>) {
    let mut group = c.benchmark_group(format!("training_{backend}"));
    group
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_millis(300))
        .sampling_mode(SamplingMode::Flat);
    for (name, kernel, repeat) in cases() {
        if gpu {
            let want = result_once(&mut CpuBackend::new(), kernel);
            let got = result_once(be, kernel);
            let err = relative_error(&got, &want);
            assert!(err < 1e-4, "{name}: GPU relative error {err:e} against the CPU backend");
        }
        let p = prepare(be, kernel);
        // An untimed first iteration (pipeline and bind-group creation are cold costs) sizes
        // the measurement so slow cases still get their samples.
        let cold = Instant::now();
        for _ in 0..repeat {
            record(be, &p);
        }
        be.synchronize().expect("synchronize");
        group.measurement_time(MEASUREMENT.max(cold.elapsed() * (SAMPLES as u32 + 2)));
        let (work, _) = kernel.work();
        group.throughput(Throughput::Elements((work * repeat as f64) as u64));
        let mut samples: Vec<(u64, Duration)> = Vec::new();
        group.bench_function(BenchmarkId::new(name, ""), |bencher| {
            bencher.iter_custom(|iters| {
                let start = Instant::now();
                for _ in 0..iters {
                    for _ in 0..repeat {
                        record(be, &p);
                    }
                    be.synchronize().expect("synchronize");
                }
                let elapsed = start.elapsed();
                samples.push((iters, elapsed));
                elapsed
            })
        });
        for t in p.tensors {
            be.free(t).unwrap();
        }
        // The measured samples are the last SAMPLES calls (criterion's warm-up comes first).
        let measured = &samples[samples.len().saturating_sub(SAMPLES)..];
        let iters: u64 = measured.iter().map(|s| s.0).sum();
        let secs: f64 = measured.iter().map(|s| s.1.as_secs_f64()).sum();
        let rate = (iters > 0 && secs > 0.0).then(|| work * (iters * repeat as u64) as f64 / secs / 1e9);
        rows.push(Row { name, backend, rate });
    }
    group.finish();
}

fn print_table(rows: &[Row], adapter: Option<&str>, dot: DotFigure) {
    let dot_gflops = dot.gflops;
    println!();
    println!("training kernels: products in GFLOP/s, memory-bound kernels in GB/s (mean of the measured samples)");
    println!(
        "  CPU: ndarray, {} matmul thread(s); dot {n}×{n}×{n} = {dot_gflops:.1} GFLOP/s; GPU: {}",
        dot.threads,
        adapter.unwrap_or("none (skipped)"),
        n = dot.n,
    );
    println!(
        "  {:<24} {:>8} {:>10} {:>10} {:>9} {:>9} {:>9}",
        "kernel", "unit", "CPU", "GPU", "CPU/dot", "GPU/dot", "GPU/CPU"
    );
    let find = |name: &str, backend: &str| rows.iter().find(|r| r.name == name && r.backend == backend);
    for (name, kernel, _) in cases() {
        let (cpu, gpu) = (find(name, "cpu"), find(name, "gpu"));
        let rate = |r: Option<&Row>| r.and_then(|r| r.rate);
        let cell = |v: Option<f64>| v.map_or("-".to_string(), |g| format!("{g:.2}"));
        let flops = kernel.work().1;
        let vs_dot = |v: Option<f64>| match v {
            Some(g) if flops && dot_gflops > 0.0 => format!("{:.0}%", 100.0 * g / dot_gflops),
            _ => "-".to_string(),
        };
        let ratio = match (rate(cpu), rate(gpu)) {
            (Some(c), Some(g)) if c > 0.0 => format!("{:.3}", g / c),
            _ => "-".to_string(),
        };
        println!(
            "  {:<24} {:>8} {:>10} {:>10} {:>9} {:>9} {:>9}",
            name,
            if flops { "GFLOP/s" } else { "GB/s" },
            cell(rate(cpu)),
            cell(rate(gpu)),
            vs_dot(rate(cpu)),
            vs_dot(rate(gpu)),
            ratio
        );
    }
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    let dot = measure_dot(1024, 0.5);
    let mut rows = Vec::new();

    let mut cpu = CpuBackend::new();
    bench_backend(&mut criterion, &mut cpu, "cpu", false, &mut rows);

    let adapter = match GpuBackend::new() {
        Ok(mut gpu) => {
            let name = gpu.name();
            bench_backend(&mut criterion, &mut gpu, "gpu", true, &mut rows);
            Some(name)
        }
        Err(e) => {
            println!("\n*** SKIPPING GPU training-kernel benchmarks: no GPU backend ({e}) ***\n");
            None
        }
    };

    criterion.final_summary();
    print_table(&rows, adapter.as_deref(), dot);
}
