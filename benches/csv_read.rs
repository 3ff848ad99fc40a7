//! Issue 4, item 8: reading a ~100 MB all-numeric CSV (10 features and a 0/1 label, about
//! 1.1 M rows) with `load_csv`, one thread.
//!
//! Criterion reports the throughput (bytes of CSV per second) of the whole load (read, split,
//! standardize) and of the read alone (no split, no scaling). Before that, one load is
//! measured for memory two ways and printed: the peak of live heap bytes (a counting global
//! allocator) and the growth of the resident set's high-water mark (`VmHWM`, reset through
//! `/proc/self/clear_refs`), each against the budget of 1.5 × (the f32 matrices +
//! the file's longest line).
//!
//! Run: `cargo bench --bench csv_read` (`CSV_BENCH_MB=20` for a smaller file; under
//! `cargo test --benches` it is a 1 MB smoke test).

use std::alloc::{GlobalAlloc, Layout, System};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use wgtrain::data::{CsvOptions, Dataset, Scaling, SplitMode, load_csv};

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Feature columns of the generated file.
const FEATURES: usize = 10;

/// Writes an all-numeric CSV of about `target` bytes; returns (bytes, rows, longest line).
fn write_csv(path: &Path, target: usize) -> (usize, usize, usize) {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path).expect("create the CSV"));
    let mut line = String::new();
    for j in 0..FEATURES {
        line += &format!("f{j},");
    }
    line += "label\n";
    let (mut bytes, mut rows, mut longest) = (0usize, 0usize, 0usize);
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    while bytes < target {
        out.write_all(line.as_bytes()).expect("write the CSV");
        bytes += line.len();
        longest = longest.max(line.len());
        line.clear();
        for j in 0..FEATURES {
            let r = next();
            // A mix of the shapes numbers take in real files.
            let cell = match j % 4 {
                0 => format!("{}", r % 1000),
                1 => format!("{:.3}", (r % 2_000_000) as f64 / 1000.0 - 1000.0),
                2 => format!("{:.6}", (r % 1_000_000) as f64 / 1e6),
                _ => format!("{:e}", (r % 100_000) as f32 * 1.7e-3),
            };
            line += &cell;
            line.push(',');
        }
        line += if next() % 3 == 0 { "1\n" } else { "0\n" };
        rows += 1;
    }
    out.flush().expect("flush the CSV");
    (bytes, rows - 1, longest)
}

/// A `/proc/self/status` field in bytes.
fn status_bytes(field: &str) -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

fn matrix_bytes(d: &Dataset) -> usize {
    4 * (d.x_train.len() + d.y_train.len() + d.x_test.len() + d.y_test.len())
}

/// One measured load: time, peak heap, peak resident set.
fn measure(path: &Path, bytes: usize, longest: usize, opts: &CsvOptions, what: &str) {
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let rss0 = status_bytes("VmRSS:").unwrap_or(0);
    let live0 = LIVE.load(Ordering::Relaxed);
    PEAK.store(live0, Ordering::Relaxed);
    let start = Instant::now();
    let d = load_csv(path, opts).expect("load the CSV");
    let secs = start.elapsed().as_secs_f64();
    let heap = PEAK.load(Ordering::Relaxed) - live0;
    let hwm = status_bytes("VmHWM:").unwrap_or(0);
    let budget = matrix_bytes(&d) + longest;
    let mb = |b: usize| b as f64 / 1e6;
    println!(
        "{what}: {:.1} MB in {:.3} s = {:.0} MB/s; f32 matrices {:.1} MB + longest line {} B",
        mb(bytes),
        secs,
        mb(bytes) / secs,
        mb(matrix_bytes(&d)),
        longest
    );
    println!(
        "  peak heap {:.1} MB = {:.3} x budget",
        mb(heap),
        heap as f64 / budget as f64
    );
    if reset {
        let rss = hwm.saturating_sub(rss0);
        println!(
            "  peak RSS growth {:.1} MB = {:.3} x budget",
            mb(rss),
            rss as f64 / budget as f64
        );
    } else {
        println!("  (VmHWM could not be reset; RSS figure skipped)");
    }
    drop(d);
}

fn bench(c: &mut Criterion) {
    // `cargo test --benches` runs this without `--bench`: a 1 MB smoke test then.
    let default_mb = if std::env::args().any(|a| a == "--bench") {
        100
    } else {
        1
    };
    let mb: usize = std::env::var("CSV_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default_mb);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("numeric.csv");
    let (bytes, rows, longest) = write_csv(&path, mb * 1_000_000);
    println!("generated {rows} rows x {} columns, {bytes} bytes", FEATURES + 1);

    let full = CsvOptions::default();
    let read_only = CsvOptions::default()
        .test_fraction(0.0)
        .split(SplitMode::HeadTail)
        .scaling(Scaling::None);
    measure(&path, bytes, longest, &read_only, "read only");
    measure(&path, bytes, longest, &full, "full load (split + standardize)");

    let mut group = c.benchmark_group("csv_read");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.sampling_mode(SamplingMode::Flat);
    group.measurement_time(Duration::from_secs(12));
    group.bench_function("read_only", |b| b.iter(|| load_csv(&path, &read_only).expect("load")));
    group.bench_function("full_load", |b| b.iter(|| load_csv(&path, &full).expect("load")));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
