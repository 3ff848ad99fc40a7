//! Matrix-product throughput (DESIGN.md §7) for the three transpose forms the training step
//! uses — A·B (forward), A·Bᵀ (dx = dz·Wᵀ), Aᵀ·B (dW = xᵀ·dz) — on 128×784×256 (an MNIST-sized
//! layer), 1024×1024×1024 (a large product), 11×8192×10 (a narrow layer's weight gradient over
//! a big batch), 10×1×10 (the seed model's tiny layer) and, on hardware adapters or with
//! `WGTRAIN_BENCH_4096=1`, 4096×4096×4096; on the CPU backend and, when an adapter exists, on
//! the GPU backend once per matmul variant (forced) and once as the autotune chooses
//! (`gpu-auto`). The skinny variant runs only on the shapes it is a candidate for.
//!
//! Shapes are written M×K×N: op(A) is [M, K], op(B) is [K, N]. Criterion's throughput is
//! `Elements(2·M·N·K)`, so its "elem/s" reads as FLOP/s. Operands are uploaded once, outside
//! the timed loop; each iteration records one product and calls `synchronize()` (a no-op on
//! the CPU), so a GPU figure includes the submit and the wait, as a training step would pay.
//! Before timing, every GPU result is checked against the CPU backend so that no number is
//! reported for a wrong kernel. A GFLOP/s table with the GPU/CPU ratio is printed at the end.
//!
//! Run: `cargo bench --bench matmul` (add a filter such as `-- matmul_cpu` to run part).

use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use wgtrain::backend::gpu::matmul_variants::{MatmulVariant, ShapeClass};
use wgtrain::backend::{Backend, CpuBackend, GpuBackend, MatmulOp};

/// Samples per benchmark; short, so the whole run takes minutes on 2 cores with lavapipe.
const SAMPLES: usize = 10;

/// Measurement time per benchmark, unless one product takes longer than a tenth of it.
const MEASUREMENT: Duration = Duration::from_secs(2);

/// (M, K, N).
const SHAPES: [(usize, usize, usize); 5] = [
    (128, 784, 256),
    (1024, 1024, 1024),
    (11, 8192, 10),
    (10, 1, 10),
    (4096, 4096, 4096),
];

/// The shape only hardware adapters (and the CPU) run by default: on a software adapter one
/// product of the slowest variant takes minutes.
const LARGE: (usize, usize, usize) = (4096, 4096, 4096);

/// The transpose forms, as (name, trans_a, trans_b).
const FORMS: [(&str, bool, bool); 3] = [("AB", false, false), ("ABt", false, true), ("AtB", true, false)];

/// One benchmark's measured samples: (iterations, elapsed).
struct Record {
    backend: String,
    form: &'static str,
    shape: (usize, usize, usize),
    samples: Vec<(u64, Duration)>,
    /// Relative error against the CPU backend (GPU only).
    error: Option<f32>,
}

impl Record {
    /// GFLOP/s over the measured samples (the last `SAMPLES` routine calls; criterion's
    /// warm-up calls come first), or None when the benchmark was filtered out.
    fn gflops(&self) -> Option<f64> {
        let measured = &self.samples[self.samples.len().saturating_sub(SAMPLES)..];
        let iters: u64 = measured.iter().map(|s| s.0).sum();
        let secs: f64 = measured.iter().map(|s| s.1.as_secs_f64()).sum();
        let (m, k, n) = self.shape;
        (iters > 0 && secs > 0.0).then(|| (2 * m * k * n) as f64 * iters as f64 / secs / 1e9)
    }
}

/// Deterministic operands in [-1, 1) (xorshift), so runs are comparable.
fn operand(len: usize, seed: u64) -> Vec<f32> {
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

/// Stored shapes of A and B for a form: A is [K, M] when transposed, B is [N, K].
fn stored(shape: (usize, usize, usize), trans_a: bool, trans_b: bool) -> ((usize, usize), (usize, usize)) {
    let (m, k, n) = shape;
    let a = if trans_a { (k, m) } else { (m, k) };
    let b = if trans_b { (n, k) } else { (k, n) };
    (a, b)
}

/// Uploads the operands of one case and returns the product op.
fn setup(be: &mut impl Backend, shape: (usize, usize, usize), trans_a: bool, trans_b: bool) -> MatmulOp {
    let ((ar, ac), (br, bc)) = stored(shape, trans_a, trans_b);
    let a = be.upload(ar, ac, &operand(ar * ac, 1)).expect("upload A");
    let b = be.upload(br, bc, &operand(br * bc, 2)).expect("upload B");
    let out = be.zeros(shape.0, shape.2).expect("allocate out");
    MatmulOp::new(a, b, out).transposed(trans_a, trans_b)
}

fn release(be: &mut impl Backend, op: &MatmulOp) {
    for t in [op.a, op.b, op.out] {
        be.free(t).unwrap();
    }
}

/// The CPU backend's result for one case: the reference a GPU result is checked against.
fn cpu_reference(shape: (usize, usize, usize), trans_a: bool, trans_b: bool) -> Vec<f32> {
    let mut cpu = CpuBackend::new();
    let op = setup(&mut cpu, shape, trans_a, trans_b);
    cpu.matmul(&op).expect("cpu matmul");
    cpu.read(op.out).expect("cpu read")
}

/// max |got − want| / max |want|: one number per case, robust to entries near 0.
fn relative_error(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(f32::MIN_POSITIVE);
    got.iter().zip(want).fold(0.0f32, |m, (g, w)| m.max((g - w).abs())) / scale
}

/// Benchmarks every shape and form on one backend, appending a record per case. For the GPU
/// (`check` set) each result is first compared with the CPU backend's; a wrong kernel aborts.
fn bench_backend(
    c: &mut Criterion,
    be: &mut impl Backend,
    backend: &str,
    check: bool,
    shapes: &[(usize, usize, usize)],
    records: &mut Vec<Record>,
) {
    let mut group = c.benchmark_group(format!("matmul_{backend}"));
    group
        .sample_size(SAMPLES)
        .warm_up_time(Duration::from_millis(500))
        // Flat sampling: equal iteration counts per sample, so a 1024³ product that takes a
        // fraction of a second on lavapipe does not need 55 iterations as linear sampling would.
        .sampling_mode(SamplingMode::Flat);
    for &shape in shapes {
        let (m, k, n) = shape;
        for (form, trans_a, trans_b) in FORMS {
            if backend == "gpu-skinny" && !ShapeClass::of(m, k, n, trans_a, trans_b).suits_skinny() {
                continue;
            }
            let op = setup(be, shape, trans_a, trans_b);
            // Untimed first run: pipeline and bind-group creation are cold-start costs. Its
            // duration sizes the measurement so that slow cases (1024³ on lavapipe takes
            // seconds) get their 10 samples without criterion's "unable to complete" warning.
            let cold = Instant::now();
            be.matmul(&op).expect("matmul");
            be.synchronize().expect("synchronize");
            let per_iteration = cold.elapsed();
            group.measurement_time(MEASUREMENT.max(per_iteration * (SAMPLES as u32 + 2)));
            let error = check.then(|| {
                let got = be.read(op.out).expect("read");
                let err = relative_error(&got, &cpu_reference(shape, trans_a, trans_b));
                assert!(
                    err < 1e-4,
                    "{backend} {form} {m}x{k}x{n}: relative error {err:e} against the CPU backend"
                );
                err
            });
            let mut samples = Vec::new();
            group.throughput(Throughput::Elements((2 * m * k * n) as u64));
            group.bench_function(BenchmarkId::new(form, format!("{m}x{k}x{n}")), |bencher| {
                bencher.iter_custom(|iters| {
                    let start = Instant::now();
                    for _ in 0..iters {
                        be.matmul(&op).expect("matmul");
                        be.synchronize().expect("synchronize");
                    }
                    let elapsed = start.elapsed();
                    samples.push((iters, elapsed));
                    elapsed
                })
            });
            release(be, &op);
            records.push(Record {
                backend: backend.to_string(),
                form,
                shape,
                samples,
                error,
            });
        }
    }
    group.finish();
}

fn print_table(
    records: &[Record],
    adapter: Option<&str>,
    gpu_columns: &[String],
    chosen: &[(ShapeClass, MatmulVariant)],
) {
    println!();
    println!("matmul GFLOP/s (mean over the measured samples; one synchronize per product)");
    println!(
        "  CPU: ndarray general_mat_mul; GPU: {}",
        adapter.unwrap_or("none (skipped)")
    );
    let mut header = format!("  {:<16} {:<5} {:>9}", "M x K x N", "form", "cpu");
    for column in gpu_columns {
        header.push_str(&format!(" {:>12}", column));
    }
    println!("{header} {:>9} {:>9}  auto runs", "best/CPU", "rel err");
    let find = |backend: &str, form: &str, shape| {
        records
            .iter()
            .find(|r| r.backend == backend && r.form == form && r.shape == shape)
    };
    for shape in SHAPES {
        for (form, trans_a, trans_b) in FORMS {
            let cpu = find("cpu", form, shape).and_then(Record::gflops);
            let gpus: Vec<Option<f64>> = gpu_columns
                .iter()
                .map(|b| find(b, form, shape).and_then(Record::gflops))
                .collect();
            if cpu.is_none() && gpus.iter().all(Option::is_none) {
                continue;
            }
            let cell = |v: Option<f64>| v.map_or("-".to_string(), |g| format!("{g:.3}"));
            let best = gpus
                .iter()
                .flatten()
                .copied()
                .fold(None, |m: Option<f64>, g| Some(m.map_or(g, |m| m.max(g))));
            let ratio = match (cpu, best) {
                (Some(c), Some(g)) => format!("{:.3}", g / c),
                _ => "-".to_string(),
            };
            let err = gpu_columns
                .iter()
                .filter_map(|b| find(b, form, shape).and_then(|r| r.error))
                .fold(None, |m: Option<f32>, e| Some(m.map_or(e, |m| m.max(e))));
            let (m, k, n) = shape;
            let class = ShapeClass::of(m, k, n, trans_a, trans_b);
            let auto = chosen
                .iter()
                .find(|c| c.0 == class)
                .map_or("-".to_string(), |c| c.1.to_string());
            let mut line = format!("  {:<16} {:<5} {:>9}", format!("{m}x{k}x{n}"), form, cell(cpu));
            for g in &gpus {
                line.push_str(&format!(" {:>12}", cell(*g)));
            }
            println!(
                "{line} {:>9} {:>9}  {auto}",
                ratio,
                err.map_or("-".to_string(), |e| format!("{e:.1e}"))
            );
        }
    }
}

fn main() {
    let mut criterion = Criterion::default().without_plots().configure_from_args();
    let mut records = Vec::new();

    let gpu = GpuBackend::new();
    // 4096³ runs where a GPU would finish it in reasonable time (the CPU row beside it).
    let large = std::env::var("WGTRAIN_BENCH_4096").is_ok_and(|v| v == "1")
        || gpu.as_ref().is_ok_and(|g| !g.adapter().software);
    let shapes: Vec<_> = SHAPES.into_iter().filter(|&s| large || s != LARGE).collect();
    let mut cpu = CpuBackend::new();
    bench_backend(&mut criterion, &mut cpu, "cpu", false, &shapes, &mut records);

    let mut gpu_columns = Vec::new();
    let mut chosen = Vec::new();
    let adapter = match gpu {
        Ok(mut gpu) => {
            let name = gpu.name();
            for variant in gpu.matmul_variants() {
                gpu.force_matmul_variant(Some(variant)).expect("an available variant");
                let column = format!("gpu-{variant}");
                bench_backend(&mut criterion, &mut gpu, &column, true, &shapes, &mut records);
                gpu_columns.push(column);
            }
            gpu.force_matmul_variant(None).expect("back to the tuner");
            bench_backend(&mut criterion, &mut gpu, "gpu-auto", true, &shapes, &mut records);
            gpu_columns.push("gpu-auto".to_string());
            chosen = gpu.matmul_choices().into_iter().map(|c| (c.class, c.variant)).collect();
            println!("\nautotune choices on {name}:");
            for choice in gpu.matmul_choices() {
                println!("  {choice}");
            }
            Some(name)
        }
        Err(e) => {
            println!("\n*** SKIPPING GPU matmul benchmarks: no GPU backend ({e}) ***\n");
            None
        }
    };

    criterion.final_summary();
    print_table(&records, adapter.as_deref(), &gpu_columns, &chosen);
}
