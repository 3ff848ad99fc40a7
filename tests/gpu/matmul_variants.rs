//! Every matmul variant (tiled, blocked, skinny, subgroup) forced in turn against the CPU:
//! every transpose form over shapes that are not tile multiples, views at odd offsets, the
//! ones row of a bias gradient, the epilogue (bias, z, every activation) and a K long enough
//! to be split over workgroup layers; and the autotune: it measures the candidates of a class
//! once, keeps the fastest correct one, writes it beside the pipeline cache, and a fresh
//! process reads it back instead of measuring again.

use std::cell::RefCell;

use super::parity::*;
use crate::common::harness::gpu_backend;
use crate::common::{Rng, Tolerance, assert_close};
use proptest::prelude::*;
use wgtrain::backend::gpu::matmul_variants::{ChoiceSource, MatmulVariant, ShapeClass};
use wgtrain::backend::gpu::{matmul_tuning_reset_for_tests, pipeline_cache};
use wgtrain::backend::{Backend, CpuBackend, GpuBackend, MatmulOp};
use wgtrain::nn::{ALL_ACTIVATIONS, Activation};

fn tol(k: usize) -> Tolerance {
    Tolerance::new(1e-4, 2e-7 * k as f32 + 1e-6)
}

/// One product: op(A)·op(B) (+ ones row) with an optional bias + activation epilogue keeping
/// z; returns out (and z when kept).
struct Case {
    m: usize,
    k: usize,
    n: usize,
    ta: bool,
    tb: bool,
    ones_row: bool,
    epilogue: Option<(Activation, bool)>,
    seed: u64,
}

impl Case {
    fn run(&self, b: &mut dyn Backend) -> Vec<Vec<f32>> {
        let Case { m, k, n, ta, tb, .. } = *self;
        let mut rng = Rng::new(self.seed);
        let (ar, ac) = if ta { (k, m) } else { (m, k) };
        let (br, bc) = if tb { (n, k) } else { (k, n) };
        let a = b.upload(ar, ac, &rng.vec(m * k, -1.0, 1.0)).unwrap();
        let bm = b.upload(br, bc, &rng.vec(k * n, -1.0, 1.0)).unwrap();
        let rows = m + usize::from(self.ones_row);
        let out = b.zeros(rows, n).unwrap();
        let mut op = MatmulOp::new(a, bm, out).transposed(ta, tb).ones_row(self.ones_row);
        let mut z = None;
        if let Some((act, with_bias)) = self.epilogue {
            let bias = with_bias.then(|| b.upload(1, n, &rng.vec(n, -1.0, 1.0)).unwrap());
            z = Some(b.zeros(rows, n).unwrap());
            op = op.epilogue(bias, act, z);
        }
        b.matmul(&op).unwrap();
        let mut got = vec![b.read(out).unwrap()];
        if let Some(z) = z {
            got.push(b.read(z).unwrap());
        }
        got
    }

    /// Runs on `gpu` and the CPU, asserts they agree, and returns both.
    fn check(&self, gpu: &mut GpuBackend, variant: MatmulVariant) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let g = self.run(gpu);
        let c = self.run(&mut CpuBackend::new());
        for (i, (g, c)) in g.iter().zip(&c).enumerate() {
            let Case { m, k, n, ta, tb, .. } = *self;
            let what = format!(
                "{variant} {m}x{k}x{n} ta={ta} tb={tb} ones={} epilogue={:?} output {i}",
                self.ones_row, self.epilogue
            );
            assert_close(&what, g, c, tol(k));
        }
        (g, c)
    }
}

/// A backend forced to each variant the device has, in turn.
fn for_each_variant(mut f: impl FnMut(&mut GpuBackend, MatmulVariant)) {
    let mut gpu = gpu_backend();
    let variants = gpu.matmul_variants();
    assert!(variants.contains(&MatmulVariant::Tiled) && variants.contains(&MatmulVariant::Blocked));
    for v in variants {
        gpu.force_matmul_variant(Some(v)).unwrap();
        f(&mut gpu, v);
    }
}

pub fn every_variant_matches_cpu_in_every_form_and_edge_shape() {
    let plain = |m, k, n, ta, tb| Case {
        m,
        k,
        n,
        ta,
        tb,
        ones_row: false,
        epilogue: None,
        seed: (m * 31 + k * 7 + n) as u64,
    };
    for_each_variant(|gpu, v| {
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 65, 3),
            (64, 64, 64),
            (4, 4, 4),
            (1, 257, 1),
            (129, 3, 131),
            (65, 9, 70),
        ] {
            for (ta, tb) in [(false, false), (false, true), (true, false), (true, true)] {
                plain(m, k, n, ta, tb).check(gpu, v);
            }
        }
        // A weight gradient with its bias row ([x | 1]ᵀ·dz), and a K split over layers.
        for (m, k, n) in [(13, 37, 10), (3, 9000, 5), (130, 300, 7)] {
            Case {
                ones_row: true,
                ..plain(m, k, n, true, false)
            }
            .check(gpu, v);
        }
        plain(2, 20_000, 3, true, false).check(gpu, v);
        plain(70, 5000, 66, false, true).check(gpu, v);
    });
}

pub fn every_variant_matches_cpu_on_random_shapes_and_epilogues() {
    let gpu = RefCell::new(gpu_backend());
    let variants = gpu.borrow().matmul_variants();
    let worst = Worst::new("matmul variants");
    runner(40)
        .run(
            &(
                (dim(), dim(), dim()),
                (any::<bool>(), any::<bool>(), any::<bool>()),
                (0..ALL_ACTIVATIONS.len(), any::<bool>()),
                (0..variants.len(), any::<u64>()),
            ),
            |((m, k, n), (ta, tb, ones_row), (ai, with_bias), (vi, seed))| {
                let case = Case {
                    m,
                    k,
                    n,
                    ta,
                    tb,
                    ones_row,
                    epilogue: Some((ALL_ACTIVATIONS[ai], with_bias)),
                    seed,
                };
                let mut gpu = gpu.borrow_mut();
                gpu.force_matmul_variant(Some(variants[vi])).unwrap();
                let (g, c) = case.check(&mut gpu, variants[vi]);
                for (g, c) in g.iter().zip(&c) {
                    worst.see(g, c);
                }
                Ok(())
            },
        )
        .unwrap();
}

pub fn every_variant_handles_views_at_odd_offsets() {
    for_each_variant(|gpu, v| {
        let run = |b: &mut dyn Backend| {
            let mut rng = Rng::new(5);
            let (m, k, n) = (9, 12, 8);
            let big_a = b.upload(1, 3 + m * k, &rng.vec(3 + m * k, -1.0, 1.0)).unwrap();
            let big_b = b.upload(1, 5 + k * n, &rng.vec(5 + k * n, -1.0, 1.0)).unwrap();
            let big_out = b.zeros(1, 2 + m * n).unwrap();
            let a = big_a.view(3, m, k).unwrap();
            let bm = big_b.view(5, k, n).unwrap();
            let out = big_out.view(2, m, n).unwrap();
            b.matmul(&MatmulOp::new(a, bm, out)).unwrap();
            vec![b.read(big_out).unwrap()]
        };
        let (g, c) = both(gpu, run);
        assert_close(&format!("{v} on views"), &g[0], &c[0], tol(12));
        assert_eq!(g[0][..2], [0.0, 0.0], "{v}: elements before the view are untouched");
    });
}

pub fn autotune_measures_once_keeps_a_correct_variant_and_caches_it() {
    let dir = tempfile::tempdir().unwrap();
    pipeline_cache::set_directory(Some(dir.path().to_path_buf()));
    matmul_tuning_reset_for_tests();
    // A class no other test in this binary runs (both operands transposed, K over 1 024), so
    // a test running beside this one cannot tune it into the shared table first.
    let case = Case {
        m: 40,
        k: 1500,
        n: 24,
        ta: true,
        tb: true,
        ones_row: false,
        epilogue: None,
        seed: 3,
    };
    let class = ShapeClass::of(40, 1500, 24, true, true);
    let mut gpu = gpu_backend();
    case.check(&mut gpu, MatmulVariant::Tiled);
    let choice = gpu.matmul_choices().into_iter().find(|c| c.class == class).unwrap();
    assert_eq!(choice.source, ChoiceSource::Tuned, "{choice}");
    let measured: Vec<_> = choice.timings_us.iter().map(|t| t.0).collect();
    assert!(
        measured.contains(&MatmulVariant::Skinny),
        "a skinny class tries skinny: {choice}"
    );
    assert!(measured.contains(&choice.variant) && choice.timings_us.iter().all(|t| t.1 > 0.0));
    let file = gpu.matmul_tuning_file().unwrap();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("\"skinny\""), "{text}");
    // A new process (the in-memory table forgotten) reads the file and measures nothing.
    drop(gpu);
    matmul_tuning_reset_for_tests();
    let mut again = gpu_backend();
    case.check(&mut again, choice.variant);
    let reread = again.matmul_choices().into_iter().find(|c| c.class == class).unwrap();
    assert_eq!((reread.source, reread.variant), (ChoiceSource::Cached, choice.variant));
    // The file's measurement, not a new one (equal up to the JSON round trip of the floats).
    assert_eq!(reread.timings_us.len(), choice.timings_us.len());
    for (r, c) in reread.timings_us.iter().zip(&choice.timings_us) {
        assert!(
            r.0 == c.0 && (r.1 - c.1).abs() <= 1e-9 * c.1,
            "{reread} against {choice}"
        );
    }
    pipeline_cache::set_directory(None);
}
