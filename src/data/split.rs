//! Train/test split: a seeded shuffle (the default), the unshuffled head/tail, or a split of
//! each class separately (stratified).
//!
//! The shuffle is reproducible across platforms and versions: SplitMix64 seeded with the
//! user's seed, Fisher–Yates from the last index down, bounded draws by Lemire's unbiased
//! multiply-shift. The test part has `round(rows * fraction)` rows (per class when
//! stratified). Rows are reordered in place (train rows first), so a split costs one copy
//! of the test part and no copy of the training part.

use super::error::DataError;
use super::options::SplitMode;

/// The crate's seeded generator (SplitMix64), shared with weight initialisation and the
/// training shuffles.
pub(crate) use crate::rng::SeededRng as SplitMix64;

/// Where each row goes.
#[derive(Debug)]
pub(crate) struct SplitPlan {
    /// `order[i]` is the source row of row `i` (train rows first); `None`: keep the order.
    pub order: Option<Vec<u32>>,
    /// Rows in the training part.
    pub n_train: usize,
}

/// Plans the split of `y.len()` rows; `n_classes` is `Some` for classification (then `y`
/// holds class indices).
pub(crate) fn plan_split(
    y: &[f32],
    n_classes: Option<usize>,
    mode: SplitMode,
    fraction: f64,
    seed: u64,
    path: &str,
) -> Result<SplitPlan, DataError> {
    let n = y.len();
    if u32::try_from(n).is_err() {
        return Err(DataError::InvalidArgument {
            what: "row count",
            detail: format!("{n} rows is more than the {} a split handles", u32::MAX),
        });
    }
    let mut rng = SplitMix64::new(seed);
    let (order, n_test) = match mode {
        SplitMode::HeadTail => (None, test_rows(n, fraction)),
        SplitMode::Shuffled => {
            let mut order: Vec<u32> = (0..n as u32).collect();
            rng.shuffle(&mut order);
            (Some(order), test_rows(n, fraction))
        }
        SplitMode::Stratified => {
            let Some(k) = n_classes else {
                return Err(DataError::InvalidArgument {
                    what: "split",
                    detail: "a stratified split needs a classification label".to_string(),
                });
            };
            let mut by_class: Vec<Vec<u32>> = vec![Vec::new(); k];
            for (i, &c) in y.iter().enumerate() {
                by_class[(c as usize).min(k - 1)].push(i as u32);
            }
            let (mut train, mut test) = (Vec::with_capacity(n), Vec::new());
            for mut rows in by_class {
                rng.shuffle(&mut rows);
                let t = test_rows(rows.len(), fraction);
                test.extend_from_slice(&rows[..t]);
                train.extend_from_slice(&rows[t..]);
            }
            rng.shuffle(&mut train);
            rng.shuffle(&mut test);
            let n_test = test.len();
            train.extend_from_slice(&test);
            (Some(train), n_test)
        }
    };
    if fraction > 0.0 && (n_test == 0 || n_test == n) {
        return Err(DataError::EmptySplit {
            path: path.to_string(),
            rows: n,
            test_fraction: fraction,
            side: if n_test == 0 { "test" } else { "train" },
        });
    }
    Ok(SplitPlan {
        order,
        n_train: n - n_test,
    })
}

/// Rows of the test part.
fn test_rows(n: usize, fraction: f64) -> usize {
    ((n as f64 * fraction).round() as usize).min(n)
}

/// Reorders the rows of a row-major `[rows, width]` matrix in place so that row `i` becomes
/// the old row `order[i]` (following the permutation's cycles; one spare row of memory).
pub(crate) fn permute_rows(data: &mut [f32], width: usize, order: &[u32]) {
    let n = order.len();
    if width == 0 || data.len() != n * width {
        return;
    }
    let mut done = vec![false; n];
    let mut spare = vec![0.0f32; width];
    for start in 0..n {
        if done[start] {
            continue;
        }
        done[start] = true;
        if order[start] as usize == start {
            continue;
        }
        spare.copy_from_slice(&data[start * width..(start + 1) * width]);
        let mut dst = start;
        loop {
            let src = order[dst] as usize;
            if src == start {
                data[dst * width..(dst + 1) * width].copy_from_slice(&spare);
                break;
            }
            data.copy_within(src * width..(src + 1) * width, dst * width);
            done[src] = true;
            dst = src;
        }
    }
}

/// Splits a row-major matrix after `n_train` rows: the head keeps the allocation (shrunk
/// in place), the tail is copied.
pub(crate) fn split_rows(mut data: Vec<f32>, width: usize, n_train: usize) -> (Vec<f32>, Vec<f32>) {
    let at = (n_train * width).min(data.len());
    let tail = data[at..].to_vec();
    data.truncate(at);
    data.shrink_to_fit();
    (data, tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutes_like_a_gather() {
        let data: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let order = [3u32, 0, 5, 1, 4, 2];
        let mut moved = data.clone();
        permute_rows(&mut moved, 2, &order);
        let gathered: Vec<f32> = order
            .iter()
            .flat_map(|&r| data[r as usize * 2..r as usize * 2 + 2].to_vec())
            .collect();
        assert_eq!(moved, gathered);
    }

    #[test]
    fn below_is_in_range() {
        let mut rng = SplitMix64::new(1);
        assert!((0..1000).all(|_| rng.below(7) < 7));
    }
}
