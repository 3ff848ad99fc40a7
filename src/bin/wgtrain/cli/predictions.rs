//! The predictions `wgtrain predict` writes: one row per predicted data row (its data-row
//! number, the `--keep` columns, then the predicted label and one probability per class, or
//! for regression the predicted value under the label's name), written with the `csv` crate
//! so that any name or value with a comma, quote or line break is quoted and pandas reads the
//! columns back. Models trained from logits get their probabilities through the sigmoid or
//! softmax, so the threshold is always 0.5 and the columns always sum to 1. A closed stdout
//! (`| head`) ends the command quietly.

use std::io::Write;
use std::path::Path;

use ndarray::Array2;

use wgtrain::data::{DataError, Preprocessing, Task, Transformed};
use wgtrain::model::{Layer, ModelFile};
use wgtrain::nn::{Activation, Loss};
use wgtrain::{Error, Result};

/// The predictions of a model for the kept rows of a data file, ready to write.
pub struct Predictions<'a> {
    prep: &'a Preprocessing,
    data: &'a Transformed,
    keep: &'a [String],
    out: Array2<f32>,
    logits: bool,
    numbers: Vec<u64>,
}

/// Whether the model's outputs are logits that need the sigmoid (one output) or softmax.
fn outputs_logits(file: &ModelFile) -> bool {
    let from_logits = matches!(
        file.loss,
        Loss::BinaryCrossentropy { from_logits: true }
            | Loss::CategoricalCrossentropy { from_logits: true }
            | Loss::SparseCategoricalCrossentropy { from_logits: true }
    );
    let last = file.architecture.layers.iter().rev().find_map(|l| match l {
        Layer::Dense(d) => Some(d.activation),
        _ => None,
    });
    from_logits && !matches!(last, Some(Activation::Sigmoid | Activation::Softmax))
}

/// Class probabilities of one output row: `[1 - p, p]` for one sigmoid output.
fn probabilities(out: &[f32], logits: bool) -> Vec<f32> {
    match (out.len(), logits) {
        (1, true) => {
            let p = 1.0 / (1.0 + (-out[0]).exp());
            vec![1.0 - p, p]
        }
        (1, false) => vec![1.0 - out[0], out[0]],
        (_, true) => {
            let max = out.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let e: Vec<f32> = out.iter().map(|v| (v - max).exp()).collect();
            let sum: f32 = e.iter().sum();
            e.iter().map(|v| v / sum).collect()
        }
        (_, false) => out.to_vec(),
    }
}

/// 1-based data-row numbers of the rows kept (all rows but those dropped).
fn row_numbers(rows_read: usize, dropped_rows: &[u64]) -> Vec<u64> {
    let dropped: std::collections::HashSet<u64> = dropped_rows.iter().copied().collect();
    (1..=rows_read as u64).filter(|r| !dropped.contains(r)).collect()
}

impl<'a> Predictions<'a> {
    /// The predictions `out` (the model's outputs for `data`'s rows, `data.x` no longer
    /// needed); a non-finite output is an error naming the data row, before anything is
    /// written.
    pub fn new(
        file: &ModelFile,
        prep: &'a Preprocessing,
        data: &'a Transformed,
        keep: &'a [String],
        out: Array2<f32>,
        path: &Path,
    ) -> Result<Predictions<'a>> {
        let numbers = row_numbers(data.rows_read, &data.dropped_rows);
        let regression = prep.task() == Task::Regression;
        for (i, o) in out.rows().into_iter().enumerate() {
            if let Some(j) = o.iter().position(|v| !v.is_finite()) {
                return Err(Error::Data(DataError::NonFiniteOutput {
                    path: path.display().to_string(),
                    row: Some(numbers.get(i).copied().unwrap_or(i as u64 + 1)),
                    output: if regression {
                        prep.label_name().to_string()
                    } else {
                        format!("output {j}")
                    },
                    value: o[j],
                }));
            }
        }
        Ok(Predictions {
            prep,
            data,
            keep,
            out,
            logits: outputs_logits(file),
            numbers,
        })
    }

    /// Rows predicted.
    pub fn len(&self) -> usize {
        self.out.nrows()
    }

    /// Writes the header and the rows as CSV.
    fn write_csv(&self, to: impl Write) -> std::io::Result<()> {
        let mut w = csv::Writer::from_writer(to);
        let io = |e: csv::Error| match e.into_kind() {
            csv::ErrorKind::Io(e) => e,
            other => std::io::Error::other(format!("{other:?}")),
        };
        let regression = self.prep.task() == Task::Regression;
        let names = self.prep.class_names();
        let mut header = vec!["row".to_string()];
        header.extend(self.keep.iter().cloned());
        header.push(self.prep.label_name().to_string());
        if !regression {
            header.extend(names.iter().map(|n| format!("p_{n}")));
        }
        w.write_record(&header).map_err(io)?;
        let k = self.keep.len();
        let mut fields: Vec<String> = Vec::with_capacity(header.len());
        for (i, o) in self.out.rows().into_iter().enumerate() {
            fields.clear();
            fields.push(self.numbers.get(i).copied().unwrap_or(i as u64 + 1).to_string());
            fields.extend(self.data.copied[i * k..(i + 1) * k].iter().cloned());
            if regression {
                fields.push(o[0].to_string());
            } else {
                let probs = probabilities(o.as_slice().unwrap_or(&o.to_vec()), self.logits);
                // The first of equal probabilities wins, so 0.5 of a sigmoid is the first class.
                let best = (0..probs.len()).fold(0, |b, j| if probs[j] > probs[b] { j } else { b });
                fields.push(names.get(best).cloned().unwrap_or_default());
                fields.extend(probs.iter().map(f32::to_string));
            }
            w.write_record(&fields).map_err(io)?;
        }
        w.flush()
    }
}

/// Writes the predictions to `output` (atomically) or to stdout.
pub fn write_predictions(p: &Predictions, output: Option<&Path>) -> Result<()> {
    match output {
        Some(path) => {
            let mut bytes = Vec::new();
            p.write_csv(&mut bytes).map_err(|source| Error::Io {
                path: path.display().to_string(),
                source,
            })?;
            wgtrain::io::write_atomic(path, &bytes)?;
            eprintln!("wrote {} predictions to {}", p.len(), path.display());
            Ok(())
        }
        None => {
            let stdout = std::io::stdout();
            match p.write_csv(std::io::BufWriter::new(stdout.lock())) {
                // A reader that stopped early (`| head -1`) wants no more: not an error.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                Err(source) => Err(Error::Io {
                    path: "stdout".into(),
                    source,
                }),
                Ok(()) => Ok(()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::probabilities;

    #[test]
    fn logits_become_probabilities() {
        assert_eq!(probabilities(&[0.0], true), [0.5, 0.5]);
        let p = probabilities(&[1.0, 1.0, 1.0 + 3f32.ln()], true);
        assert!((p[2] - 0.6).abs() < 1e-6 && (p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert_eq!(probabilities(&[0.25], false), [0.75, 0.25]);
    }
}
