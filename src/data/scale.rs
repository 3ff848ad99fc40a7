//! Missing-value filling and feature scaling, fitted on the training part only.
//!
//! Every output column `j` is transformed as `x' = (x - offset[j]) / scale[j]`:
//! standardization uses the training mean and population standard deviation, min-max the
//! training minimum and range. A column that is constant in the training part keeps
//! `scale = 1`; one-hot columns are left as they are (`offset = 0, scale = 1`). Statistics
//! are accumulated in f64. The same `apply` runs at training and at prediction time, so
//! both see bit-identical arithmetic.

use super::options::Scaling;

/// Mean of each `numeric[k]` column over the non-missing values (0 when all are missing).
pub(crate) fn column_means(x: &[f32], numeric: &[bool]) -> Vec<f32> {
    let width = numeric.len();
    let mut sum = vec![0.0f64; width];
    let mut count = vec![0usize; width];
    for row in x.chunks_exact(width.max(1)) {
        for (k, &v) in row.iter().enumerate() {
            if numeric[k] && !v.is_nan() {
                sum[k] += f64::from(v);
                count[k] += 1;
            }
        }
    }
    sum.iter()
        .zip(&count)
        .map(|(&s, &c)| if c == 0 { 0.0 } else { (s / c as f64) as f32 })
        .collect()
}

/// Median of each `numeric[k]` column over the non-missing values (the mean of the two middle
/// values for an even count, as numpy's; 0 when all are missing).
pub(crate) fn column_medians(x: &[f32], numeric: &[bool]) -> Vec<f32> {
    let width = numeric.len().max(1);
    (0..numeric.len())
        .map(|k| {
            if !numeric[k] {
                return 0.0;
            }
            let mut values: Vec<f32> = x
                .iter()
                .skip(k)
                .step_by(width)
                .copied()
                .filter(|v| !v.is_nan())
                .collect();
            let n = values.len();
            if n == 0 {
                return 0.0;
            }
            let (_, &mut upper, _) = values.select_nth_unstable_by(n / 2, f32::total_cmp);
            if n % 2 == 1 {
                return upper;
            }
            let lower = values[..n / 2].iter().copied().fold(f32::NEG_INFINITY, f32::max);
            ((f64::from(lower) + f64::from(upper)) / 2.0) as f32
        })
        .collect()
}

/// Replaces NaN in the `numeric` columns by `fill`; returns the count replaced.
pub(crate) fn fill_missing(x: &mut [f32], numeric: &[bool], fill: &[f32]) -> usize {
    let mut filled = 0;
    for row in x.chunks_exact_mut(numeric.len().max(1)) {
        for (k, v) in row.iter_mut().enumerate() {
            if numeric[k] && v.is_nan() {
                *v = fill[k];
                filled += 1;
            }
        }
    }
    filled
}

/// Fits `(offset, scale)` for each column; `scaled[j]` is false for columns left as they
/// are (one-hot).
pub(crate) fn fit(x: &[f32], scaled: &[bool], scaling: Scaling) -> (Vec<f32>, Vec<f32>) {
    let width = scaled.len();
    let mut offset = vec![0.0f32; width];
    let mut scale = vec![1.0f32; width];
    let rows = x.len().checked_div(width).unwrap_or(0);
    if rows == 0 {
        return (offset, scale);
    }
    match scaling {
        Scaling::None => {}
        Scaling::Standard => {
            let mut mean = vec![0.0f64; width];
            for row in x.chunks_exact(width) {
                for (m, &v) in mean.iter_mut().zip(row) {
                    *m += f64::from(v);
                }
            }
            mean.iter_mut().for_each(|m| *m /= rows as f64);
            let mut var = vec![0.0f64; width];
            for row in x.chunks_exact(width) {
                for ((s, &m), &v) in var.iter_mut().zip(&mean).zip(row) {
                    let d = f64::from(v) - m;
                    *s += d * d;
                }
            }
            for j in (0..width).filter(|&j| scaled[j]) {
                offset[j] = mean[j] as f32;
                scale[j] = usable((var[j] / rows as f64).sqrt() as f32);
            }
        }
        Scaling::MinMax => {
            let mut lo = vec![f32::INFINITY; width];
            let mut hi = vec![f32::NEG_INFINITY; width];
            for row in x.chunks_exact(width) {
                for (j, &v) in row.iter().enumerate() {
                    lo[j] = lo[j].min(v);
                    hi[j] = hi[j].max(v);
                }
            }
            for j in (0..width).filter(|&j| scaled[j]) {
                offset[j] = lo[j];
                scale[j] = usable(hi[j] - lo[j]);
            }
        }
    }
    (offset, scale)
}

/// A divisor that keeps values finite: zero, subnormal or non-finite become 1.
fn usable(s: f32) -> f32 {
    if s.is_finite() && s >= f32::MIN_POSITIVE {
        s
    } else {
        1.0
    }
}

/// Applies `(x - offset) / scale` column-wise, in place.
pub(crate) fn apply(x: &mut [f32], offset: &[f32], scale: &[f32]) {
    let width = offset.len();
    if width == 0 || offset.iter().all(|&o| o == 0.0) && scale.iter().all(|&s| s == 1.0) {
        return;
    }
    for row in x.chunks_exact_mut(width) {
        for ((v, &o), &s) in row.iter_mut().zip(offset).zip(scale) {
            *v = (*v - o) / s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_and_minmax() {
        let x = [1.0, 5.0, 3.0, 5.0];
        let (o, s) = fit(&x, &[true, true], Scaling::Standard);
        assert_eq!((o[0], s[0]), (2.0, 1.0));
        assert_eq!((o[1], s[1]), (5.0, 1.0), "constant column keeps scale 1");
        let (o, s) = fit(&x, &[true, false], Scaling::MinMax);
        assert_eq!((o, s), (vec![1.0, 0.0], vec![2.0, 1.0]));
    }

    #[test]
    fn medians_skip_missing_values() {
        let x = [1.0, 9.0, f32::NAN, 2.0, 3.0, 4.0, 100.0, f32::NAN];
        assert_eq!(column_medians(&x, &[true, true]), [3.0, 4.0]);
        assert_eq!(column_medians(&x[..4], &[true, false]), [1.0, 0.0]);
    }
}
