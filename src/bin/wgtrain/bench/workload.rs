//! The fixed benchmark workloads of `wgtrain bench` (issues 6 and 11), with their data generated
//! in memory from a fixed seed so every run and every backend trains on identical rows.
//!
//! FLOPs are counted from the layer shapes: a Dense layer [in, out] costs 2·in·out per row
//! forward and 4·in·out backward (dx = dz·Wᵀ and dW = xᵀ·dz), so a training step over B rows
//! costs ≈ 6·B·Σ in·out. Elementwise work (activations, loss, Adam) is not counted.

use ndarray::Array2;

use wgtrain::model::{Dense, Sequential};
use wgtrain::nn::init::SeededRng;
use wgtrain::nn::{Activation, Loss, Optimizer};

/// What a workload's targets are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Task {
    /// One 0/1 label per row (sigmoid output, binary cross-entropy).
    Binary,
    /// One class index per row out of `classes` (softmax output, sparse cross-entropy).
    Classes(usize),
}

/// One benchmark workload: an MLP, a batch size and a synthetic data set.
#[derive(Clone, Debug, PartialEq)]
pub struct Workload {
    /// The name used on the command line and in reports.
    pub name: &'static str,
    /// Input width.
    pub input: usize,
    /// Each Dense layer's units and activation, in order.
    pub layers: Vec<(usize, Activation)>,
    /// Rows per training step.
    pub batch: usize,
    /// Rows in the training set.
    pub rows: usize,
    /// The targets.
    pub task: Task,
}

/// The names of the fixed workloads, in report order.
pub const WORKLOAD_NAMES: [&str; 5] = ["seed", "digits", "tabular", "mnist-mlp", "wide"];

impl Workload {
    /// `seed`: 1 → Dense(10, relu) → Dense(1, sigmoid), bce, adam, batch 10, 1 000 rows.
    pub fn seed() -> Self {
        Workload {
            name: "seed",
            input: 1,
            layers: vec![(10, Activation::Relu), (1, Activation::Sigmoid)],
            batch: 10,
            rows: 1000,
            task: Task::Binary,
        }
    }

    /// `digits`: 64 → Dense(64, relu) → Dense(10, softmax), sparse cce, adam, batch 32, 1 797
    /// rows (the size of the 8×8 digits set): the small softmax model of issue 11.
    pub fn digits() -> Self {
        Workload {
            name: "digits",
            input: 64,
            layers: vec![(64, Activation::Relu), (10, Activation::Softmax)],
            batch: 32,
            rows: 1797,
            task: Task::Classes(10),
        }
    }

    /// `tabular`: 30 → 64 → 64 → 1, bce, adam, batch 32, 20 000 rows.
    pub fn tabular() -> Self {
        Workload {
            name: "tabular",
            input: 30,
            layers: vec![(64, Activation::Relu), (64, Activation::Relu), (1, Activation::Sigmoid)],
            batch: 32,
            rows: 20_000,
            task: Task::Binary,
        }
    }

    /// `mnist-mlp`: 784 → 256 → 128 → 10 softmax, sparse cce, adam, batch 128, 20 000 rows.
    pub fn mnist_mlp() -> Self {
        Workload {
            name: "mnist-mlp",
            input: 784,
            layers: vec![
                (256, Activation::Relu),
                (128, Activation::Relu),
                (10, Activation::Softmax),
            ],
            batch: 128,
            rows: 20_000,
            task: Task::Classes(10),
        }
    }

    /// `wide`: 1024 → 1024 → 1024 → 10 softmax, sparse cce, adam, batch 512, 8 192 rows.
    pub fn wide() -> Self {
        Workload {
            name: "wide",
            input: 1024,
            layers: vec![
                (1024, Activation::Relu),
                (1024, Activation::Relu),
                (10, Activation::Softmax),
            ],
            batch: 512,
            rows: 8192,
            task: Task::Classes(10),
        }
    }

    /// Every workload, in report order.
    pub fn all() -> Vec<Workload> {
        vec![
            Self::seed(),
            Self::digits(),
            Self::tabular(),
            Self::mnist_mlp(),
            Self::wide(),
        ]
    }

    /// The workload called `name` (see [`WORKLOAD_NAMES`]).
    pub fn by_name(name: &str) -> Option<Workload> {
        Self::all()
            .into_iter()
            .find(|w| w.name.eq_ignore_ascii_case(name.trim()))
    }

    /// The same workload on `rows` rows (tests use tiny row counts).
    pub fn with_rows(mut self, rows: usize) -> Self {
        self.rows = rows.max(1);
        self
    }

    /// The loss: binary or sparse categorical cross-entropy on probabilities.
    pub fn loss(&self) -> Loss {
        match self.task {
            Task::Binary => Loss::BinaryCrossentropy { from_logits: false },
            Task::Classes(_) => Loss::SparseCategoricalCrossentropy { from_logits: false },
        }
    }

    /// The optimizer: Adam with Keras's defaults.
    pub fn optimizer(&self) -> Optimizer {
        Optimizer::adam()
    }

    /// The uncompiled model (weights seeded, so identical on every backend).
    pub fn model(&self) -> Sequential {
        self.layers
            .iter()
            .fold(Sequential::new(self.input).seed(1), |m, &(units, act)| {
                m.add(Dense::new(units, act))
            })
    }

    /// Σ in·out over the Dense layers (multiply-adds per row, forward).
    pub fn weight_products(&self) -> usize {
        let mut width = self.input;
        let mut sum = 0;
        for &(units, _) in &self.layers {
            sum += width * units;
            width = units;
        }
        sum
    }

    /// Floating-point operations per training row (forward + backward): 6·Σ in·out.
    pub fn flops_per_sample(&self) -> f64 {
        6.0 * self.weight_products() as f64
    }

    /// Training steps per epoch (a short last batch counts as a step).
    pub fn steps_per_epoch(&self) -> usize {
        self.rows.div_ceil(self.batch)
    }

    /// The training set (x [rows, input], y [rows, 1]), drawn from a fixed seed: a random
    /// linear rule for binary tasks, noisy class prototypes for classification, so the
    /// problems are learnable and the loss moves as it would on real data.
    pub fn data(&self) -> (Array2<f32>, Array2<f32>) {
        let mut rng = SeededRng::new(0x5eed_0000 + self.input as u64);
        let (n, d) = (self.rows, self.input);
        let mut x = Array2::<f32>::zeros((n, d));
        let mut y = Array2::<f32>::zeros((n, 1));
        match self.task {
            Task::Binary => {
                let w: Vec<f32> = (0..d).map(|_| rng.next_normal() as f32).collect();
                for (mut row, label) in x.rows_mut().into_iter().zip(y.iter_mut()) {
                    let mut score = 0.0;
                    for (v, &wj) in row.iter_mut().zip(&w) {
                        *v = (rng.next_f64() * 2.0 - 1.0) as f32;
                        score += *v * wj;
                    }
                    let noise = (rng.next_f64() - 0.5) as f32 * 0.2;
                    *label = f32::from(u8::from(score + noise > 0.0));
                }
            }
            Task::Classes(k) => {
                let prototypes: Vec<f32> = (0..k * d).map(|_| rng.next_f64() as f32).collect();
                for (mut row, label) in x.rows_mut().into_iter().zip(y.iter_mut()) {
                    let class = rng.below(k);
                    let proto = &prototypes[class * d..(class + 1) * d];
                    for (v, &p) in row.iter_mut().zip(proto) {
                        *v = (0.5 * p + 0.5 * rng.next_f64() as f32).clamp(0.0, 1.0);
                    }
                    *label = class as f32;
                }
            }
        }
        (x, y)
    }
}
