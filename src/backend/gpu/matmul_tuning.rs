//! The matmul autotune (issue 12 item 2): on the first product of a [`ShapeClass`], every
//! candidate variant runs the product on a capped shape of that class, once untimed (a
//! variant whose result disagrees with a host-side check of sampled entries is dropped; the
//! run also pays any compile-at-first-dispatch) and then in two interleaved timed rounds; the
//! fastest by its best time is kept for the class (`matmul_choices.rs`: for the process and
//! in a file beside the pipeline cache, so a second run measures nothing).
//!
//! All tuning in a process shares a budget of [`TUNE_BUDGET`]; once it is spent the remaining
//! classes take the built-in guess for the rest of the process (not written to the file, so a
//! later run measures them within its own budget). The
//! measurement uses its own tensors, and the backend's counters are restored afterwards, so
//! tuning never shows up in a step's dispatch or allocation counts. On the web (wasm32) nothing
//! is measured (a measurement blocks on read-backs): every class takes the built-in guess
//! (`matmul_choices.rs`).

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use web_time::Instant;

use super::GpuBackend;
use super::matmul_choices::{CHOICES, forget_choices};
use super::matmul_variants::{
    ChoiceSource, MatmulChoice, MatmulVariant, Selection, ShapeClass, candidates, default_variant,
};
use super::product::Product;
use crate::backend::Tensor;
use crate::backend::backend_impl::BackendImpl;
use crate::nn::Activation;
use crate::rng::SeededRng;
use crate::{Error, Result};

/// The most time all tuning in one process may take.
pub const TUNE_BUDGET: Duration = Duration::from_secs(1);

/// The tuning shape's caps: rows and columns of the product (512: an operand footprint past
/// the caches, as the large products of the class have; a shape that fits in cache ranks the
/// variants differently), its K, and the multiply-adds of one run (K shrinks for wide
/// outputs, down to `TUNE_MIN_K`).
const TUNE_MN: usize = 512;
const TUNE_K: usize = 2048;
const TUNE_MIN_K: usize = 256;
const TUNE_MACS: usize = 1 << 26;

/// Sampled entries checked against the host per candidate.
const CHECKED_ENTRIES: usize = 64;

/// Tuning spent in this process so far.
static SPENT: Mutex<Duration> = Mutex::new(Duration::ZERO);

/// Forgets this process's choices and spent budget, as a new process would start. For tests
/// of the tuning file; not part of the API.
#[doc(hidden)]
pub fn reset_for_tests() {
    *SPENT.lock().unwrap_or_else(|e| e.into_inner()) = Duration::ZERO;
    forget_choices();
}

/// Deterministic operand values in [-1, 1), from the engine's seeded generator.
fn operand(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = SeededRng::new(seed);
    (0..len).map(|_| (rng.next_f64() * 2.0 - 1.0) as f32).collect()
}

/// The tuning problem for one class: op(A) [m, k], op(B) [k, n] with host copies.
struct Trial {
    m: usize,
    k: usize,
    n: usize,
    trans_a: bool,
    trans_b: bool,
    a: Vec<f32>,
    b: Vec<f32>,
}

impl Trial {
    fn of(p: &Product, trans_a: bool, trans_b: bool) -> Self {
        let (m, n) = (p.rows.clamp(1, TUNE_MN), p.n.clamp(1, TUNE_MN));
        let k = p.k.clamp(1, (TUNE_MACS / (m * n)).clamp(TUNE_MIN_K, TUNE_K));
        Trial {
            m,
            k,
            n,
            trans_a,
            trans_b,
            a: operand(m * k, 1),
            b: operand(k * n, 2),
        }
    }

    fn op_a(&self, i: usize, k: usize) -> f64 {
        f64::from(if self.trans_a {
            self.a[k * self.m + i]
        } else {
            self.a[i * self.k + k]
        })
    }

    fn op_b(&self, k: usize, j: usize) -> f64 {
        f64::from(if self.trans_b {
            self.b[j * self.k + k]
        } else {
            self.b[k * self.n + j]
        })
    }

    /// Whether `out` agrees with the host at sampled entries (the corners and a spread).
    fn agrees(&self, out: &[f32]) -> bool {
        let total = self.m * self.n;
        let step = (total / CHECKED_ENTRIES).max(1);
        (0..total).step_by(step).chain([total - 1]).all(|e| {
            let (i, j) = (e / self.n, e % self.n);
            let (mut sum, mut scale) = (0.0f64, 0.0f64);
            for k in 0..self.k {
                let term = self.op_a(i, k) * self.op_b(k, j);
                sum += term;
                scale += term.abs();
            }
            (f64::from(out[e]) - sum).abs() <= 1e-5 * scale + 1e-6
        })
    }
}

impl GpuBackend {
    /// The variant that runs `p`: forced, known for its class, or tuned now.
    pub(super) fn matmul_variant(&mut self, p: &Product) -> Result<MatmulVariant> {
        let trans_a = p.a.is_some_and(|(_, t)| t);
        let trans_b = p.b.1;
        let class = ShapeClass::of(p.rows, p.k, p.n, trans_a, trans_b);
        if !self.tuning.used.contains(&class) {
            self.tuning.used.push(class);
        }
        if let Some(v) = self.tuning.forced {
            return Ok(v);
        }
        let (available, software) = (self.tuning.available.clone(), self.tuning.software);
        match self.tuning.selection {
            Selection::Force(v) if available.contains(&v) => return Ok(v),
            Selection::Force(_) | Selection::Default => return Ok(default_variant(&class, &available, software)),
            Selection::Tune => {}
        }
        if let Some(choice) = self.tuning.known(&class) {
            return Ok(choice.variant);
        }
        let choice = self.tune(class, p)?;
        let variant = choice.variant;
        self.tuning.remember(choice);
        self.tuning.save();
        Ok(variant)
    }

    /// Measures every candidate for `class` on a capped shape of it (or takes the guess once
    /// the process's budget is spent).
    fn tune(&mut self, class: ShapeClass, p: &Product) -> Result<MatmulChoice> {
        let (available, software) = (self.tuning.available.clone(), self.tuning.software);
        let guess = MatmulChoice {
            class,
            variant: default_variant(&class, &available, software),
            source: ChoiceSource::Default,
            timings_us: Vec::new(),
        };
        let spent_before = *SPENT.lock().unwrap_or_else(|e| e.into_inner());
        if spent_before >= TUNE_BUDGET {
            return Ok(guess);
        }
        let started = Instant::now();
        let saved = self.counters;
        let trial = Trial::of(p, class.trans_a, class.trans_b);
        let measured = self.measure(&trial, &candidates(&class, &available, software));
        self.counters = saved;
        *SPENT.lock().unwrap_or_else(|e| e.into_inner()) += started.elapsed();
        let timings = measured?;
        let best = timings.iter().min_by(|x, y| x.1.total_cmp(&y.1)).map(|&(v, _)| v);
        Ok(match best {
            Some(variant) => MatmulChoice {
                class,
                variant,
                source: ChoiceSource::Tuned,
                timings_us: timings,
            },
            None => guess,
        })
    }

    /// Times each candidate on `trial`; those whose result disagrees with the host are left
    /// out. The trial's tensors are freed whatever happens.
    fn measure(&mut self, trial: &Trial, candidates: &[MatmulVariant]) -> Result<Vec<(MatmulVariant, f64)>> {
        let mut owned = Vec::new();
        let result = self.measure_with(trial, candidates, &mut owned);
        for storage in owned {
            self.free_impl(storage);
        }
        result
    }

    fn measure_with(
        &mut self,
        trial: &Trial,
        candidates: &[MatmulVariant],
        owned: &mut Vec<crate::backend::StorageId>,
    ) -> Result<Vec<(MatmulVariant, f64)>> {
        let mut tensor = |be: &mut GpuBackend, rows: usize, cols: usize, data: Option<&[f32]>| -> Result<Tensor> {
            let t = be.zeros_impl(rows, cols, rows * cols)?;
            owned.push(t.storage);
            if let Some(data) = data {
                be.write_impl(t, data)?;
            }
            Ok(t)
        };
        let a = match trial.trans_a {
            true => tensor(self, trial.k, trial.m, Some(&trial.a))?,
            false => tensor(self, trial.m, trial.k, Some(&trial.a))?,
        };
        let b = match trial.trans_b {
            true => tensor(self, trial.n, trial.k, Some(&trial.b))?,
            false => tensor(self, trial.k, trial.n, Some(&trial.b))?,
        };
        let out = tensor(self, trial.m, trial.n, None)?;
        let product = Product {
            rows: trial.m,
            a_rows: trial.m,
            k: trial.k,
            n: trial.n,
            a: Some((a, trial.trans_a)),
            b: (b, trial.trans_b),
            bias: None,
            activation: Activation::Linear,
            out,
            z: None,
            a_index: None,
            deriv_z: None,
        };
        let run = |be: &mut GpuBackend, variant: MatmulVariant, reps: u32| -> Result<Duration> {
            let t = Instant::now();
            for _ in 0..reps {
                be.record_product_as(&product, variant)?;
            }
            be.synchronize_impl()?;
            Ok(t.elapsed() / reps)
        };
        // A first, untimed run of each candidate is checked against the host; it also takes
        // the costs of first use out of the timing: building the pipeline, and the compile a
        // driver may do at its first dispatch (lavapipe does, for hundreds of milliseconds).
        let mut correct = Vec::new();
        for &variant in candidates {
            run(self, variant, 1)?;
            if trial.agrees(&self.read_impl(out)?) {
                correct.push(variant);
            }
        }
        let mut best = Vec::new();
        for &variant in &correct {
            best.push((variant, run(self, variant, 1)?));
        }
        // Then a second round over the candidates still in the race (within 3× of the
        // fastest), interleaved so that a moment of load elsewhere on the machine weighs on
        // all of them alike; a short run is repeated three times, so timer noise does not
        // decide. Each keeps its best.
        let leader = best.iter().map(|&(_, t)| t).min().unwrap_or_default();
        for (variant, time) in &mut best {
            if *time <= leader * 3 {
                let reps = if *time < Duration::from_millis(2) { 3 } else { 1 };
                *time = (*time).min(run(self, *variant, reps)?);
            }
        }
        Ok(best.into_iter().map(|(v, t)| (v, t.as_secs_f64() * 1e6)).collect())
    }

    /// The matmul variants this device can run.
    pub fn matmul_variants(&self) -> Vec<MatmulVariant> {
        self.tuning.available().to_vec()
    }

    /// Runs every later product with `variant` (None: back to the selection); an error for a
    /// variant the device cannot run. Benches and tests use it to measure or check one design.
    pub fn force_matmul_variant(&mut self, variant: Option<MatmulVariant>) -> Result<()> {
        if let Some(v) = variant
            && !self.tuning.available.contains(&v)
        {
            return Err(Error::InvalidArgument {
                what: "matmul variant",
                detail: format!(
                    "{v} is not available on {} (available: {})",
                    self.tuning.adapter,
                    self.tuning
                        .available
                        .iter()
                        .map(|v| v.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            });
        }
        self.tuning.forced = variant;
        Ok(())
    }

    /// The variant used for each shape class this backend has run a product of, in first-use
    /// order, and how it was decided.
    pub fn matmul_choices(&self) -> Vec<MatmulChoice> {
        let (available, software) = (&self.tuning.available, self.tuning.software);
        self.tuning
            .used
            .iter()
            .map(|class| {
                let decided = |variant, source| MatmulChoice {
                    class: *class,
                    variant,
                    source,
                    timings_us: Vec::new(),
                };
                if let Some(v) = self.tuning.forced {
                    return decided(v, ChoiceSource::Forced);
                }
                match self.tuning.selection {
                    Selection::Force(v) if available.contains(&v) => decided(v, ChoiceSource::Forced),
                    Selection::Force(_) | Selection::Default => {
                        decided(default_variant(class, available, software), ChoiceSource::Default)
                    }
                    Selection::Tune => self
                        .tuning
                        .known(class)
                        .unwrap_or_else(|| decided(default_variant(class, available, software), ChoiceSource::Default)),
                }
            })
            .collect()
    }

    /// Every choice known for this adapter (from the tuning file and this process).
    pub fn known_matmul_choices(&self) -> Vec<MatmulChoice> {
        let table = CHOICES.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<_> = table
            .as_ref()
            .and_then(|t| t.get(&self.tuning.key))
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default();
        all.sort_by_key(|c: &MatmulChoice| c.class);
        all
    }

    /// The tuning file of this adapter (whether or not it exists yet).
    pub fn matmul_tuning_file(&self) -> Option<PathBuf> {
        self.tuning.file()
    }
}
