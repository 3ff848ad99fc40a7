//! Writes the `teacher` benchmark's data set as CSV: random inputs labelled by a random teacher
//! network, so a student of the benchmark's shape (784 → 256 relu → 128 relu → 10 softmax,
//! sparse categorical cross-entropy) has something learnable to fit, at MNIST's width, with no
//! download. Deterministic: the same seed writes the same file on every machine.
//!
//! Inputs are uniform in [0, 1) with two decimals (like scaled pixels); the teacher is
//! 784 → 64 tanh → 10 with weights drawn from a seeded generator (splitmix64), applied to the
//! centred inputs, and the label is the index of its largest output. Columns: `x0` … `x783`,
//! then `label`.
//!
//!     cargo run --release --example teacher_data -- /tmp/teacher.csv [rows] [seed]
//!
//! (16 000 rows and seed 12 by default; about 64 MB.)

use std::fs::File;
use std::io::{BufWriter, Write};

const INPUTS: usize = 784;
const HIDDEN: usize = 64;
const CLASSES: usize = 10;

/// splitmix64: a small, well-mixed generator, so the file needs no dependency to reproduce.
struct SplitMix(u64);

impl SplitMix {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Roughly standard normal (the sum of 12 uniforms, less 6).
    fn normal(&mut self) -> f64 {
        (0..12).map(|_| self.uniform()).sum::<f64>() - 6.0
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: teacher_data OUTPUT.csv [ROWS] [SEED]";
    let Some(path) = args.first() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let number = |i: usize, default: u64| match args.get(i) {
        None => default,
        Some(v) => v.parse().unwrap_or_else(|_| {
            eprintln!("{usage}: {v:?} is not a whole number");
            std::process::exit(2);
        }),
    };
    let rows = number(1, 16_000) as usize;
    let mut rng = SplitMix(number(2, 12));

    let scale_1 = 1.0 / (INPUTS as f64 / 12.0).sqrt(); // centred uniform inputs have variance 1/12
    let w1: Vec<f64> = (0..INPUTS * HIDDEN).map(|_| rng.normal() * scale_1).collect();
    let scale_2 = 1.0 / (HIDDEN as f64).sqrt();
    let w2: Vec<f64> = (0..HIDDEN * CLASSES).map(|_| rng.normal() * scale_2).collect();

    let mut out = BufWriter::new(File::create(path)?);
    let header: Vec<String> = (0..INPUTS).map(|i| format!("x{i}")).collect();
    writeln!(out, "{},label", header.join(","))?;
    let mut counts = [0usize; CLASSES];
    let mut x = vec![0.0f64; INPUTS];
    let mut line = String::with_capacity(INPUTS * 5 + 8);
    for _ in 0..rows {
        line.clear();
        for (i, xi) in x.iter_mut().enumerate() {
            // Two decimals, as written: the teacher labels exactly what the file holds.
            *xi = (rng.uniform() * 100.0).floor() / 100.0;
            if i > 0 {
                line.push(',');
            }
            line.push_str(&format!("{xi:.2}"));
        }
        let mut hidden = [0.0f64; HIDDEN];
        for (i, &xi) in x.iter().enumerate() {
            let centred = xi - 0.5;
            for (h, w) in hidden.iter_mut().zip(&w1[i * HIDDEN..(i + 1) * HIDDEN]) {
                *h += centred * w;
            }
        }
        let mut logits = [0.0f64; CLASSES];
        for (h, &value) in hidden.iter().enumerate() {
            let a = value.tanh();
            for (l, w) in logits.iter_mut().zip(&w2[h * CLASSES..(h + 1) * CLASSES]) {
                *l += a * w;
            }
        }
        let label = (0..CLASSES)
            .max_by(|&a, &b| logits[a].total_cmp(&logits[b]))
            .unwrap_or(0);
        counts[label] += 1;
        writeln!(out, "{line},{label}")?;
    }
    out.flush()?;
    eprintln!("wrote {rows} rows to {path}; rows per class: {counts:?}");
    Ok(())
}
