//! Axis arithmetic: choosing ranges and "nice" tick values (1, 2 or 5 × 10^k apart, or whole
//! decades on a log axis) and writing numbers short enough to fit next to an axis or on a bar.

/// One axis: the range it shows, whether it is logarithmic, and its labelled ticks.
#[derive(Clone, Debug)]
pub(crate) struct Axis {
    /// The value at the start of the axis (left or bottom).
    pub lo: f64,
    /// The value at the end of the axis.
    pub hi: f64,
    /// Logarithmic (base 10) instead of linear; `lo` > 0 then.
    pub log: bool,
    /// Tick values with their labels, in increasing order.
    pub ticks: Vec<(f64, String)>,
}

impl Axis {
    /// A linear axis covering `lo..=hi` widened to whole tick steps, with about five ticks.
    /// An empty or zero-width range is widened so a flat series still sits on a real axis.
    pub fn linear(lo: f64, hi: f64) -> Axis {
        let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() && lo <= hi {
            (lo, hi)
        } else {
            (0.0, 1.0)
        };
        // A range below a millionth of the values' size is a flat line with float noise.
        if hi - lo <= 1e-6 * lo.abs().max(hi.abs()) || hi - lo < f64::MIN_POSITIVE {
            let pad = if lo.abs() > 0.0 { lo.abs() * 0.1 } else { 1.0 };
            lo -= pad;
            hi += pad;
        }
        let step = nice_step((hi - lo) / 4.0);
        // The nudges keep 0.3 / 0.1 = 2.9999999999999996 from growing an extra tick.
        let k_lo = (lo / step + 1e-9).floor() as i64;
        let k_hi = (hi / step - 1e-9).ceil() as i64;
        let big = (k_lo.abs().max(k_hi.abs()) as f64) * step;
        let ticks = (k_lo..=k_hi)
            .map(|k| (k as f64 * step, format_tick(k, step, big)))
            .collect();
        Axis {
            lo: k_lo as f64 * step,
            hi: k_hi as f64 * step,
            log: false,
            ticks,
        }
    }

    /// The x axis of a training curve over `epochs` epochs, numbered from 1: it spans exactly
    /// the epochs (half an epoch either side of a single one) with whole-number ticks.
    pub fn epochs(epochs: usize) -> Axis {
        let n = epochs.max(1) as i64;
        if n == 1 {
            return Axis {
                lo: 0.5,
                hi: 1.5,
                log: false,
                ticks: vec![(1.0, "1".into())],
            };
        }
        let step = (nice_step((n - 1) as f64 / 4.0).round() as i64).max(1);
        let ticks = (1..=n)
            .filter(|e| e % step == 0)
            .map(|e| (e as f64, e.to_string()))
            .collect();
        Axis {
            lo: 1.0,
            hi: n as f64,
            log: false,
            ticks,
        }
    }

    /// A log axis over whole decades containing `min..=max` (both > 0), with a tick per
    /// decade (or per few decades when there are many). The smallest value is kept well
    /// above the axis start, so its bar is never a stub.
    pub fn log(min: f64, max: f64) -> Axis {
        let (min, max) = if min > 0.0 && max >= min && max.is_finite() {
            (min, max)
        } else {
            (1.0, 10.0)
        };
        // A value in the bottom third of its decade would make a stub of a bar: start a
        // decade lower then.
        let mut e_lo = min.log10().floor() as i32;
        if min.log10() - (e_lo as f64) < 0.3 {
            e_lo -= 1;
        }
        let e_top = (max.log10().ceil() as i32).max(e_lo + 1);
        let every = ((e_top - e_lo + 7) / 8).max(1);
        // With a tick every few decades, the top is raised to a ticked one.
        let e_hi = e_lo + (e_top - e_lo + every - 1) / every * every;
        let ticks = (e_lo..=e_hi)
            .filter(|e| (e - e_lo) % every == 0)
            .map(|e| (10f64.powi(e), decade_label(e)))
            .collect();
        Axis {
            lo: 10f64.powi(e_lo),
            hi: 10f64.powi(e_hi),
            log: true,
            ticks,
        }
    }

    /// Where `v` falls along the axis: 0 at `lo`, 1 at `hi` (outside for values beyond).
    pub fn frac(&self, v: f64) -> f64 {
        if self.log {
            (v.log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

/// The step from {1, 2, 5} × 10^k nearest above-ish `raw` (Heckbert's rounding), so a range
/// divided by it gives about as many ticks as asked for.
pub(crate) fn nice_step(raw: f64) -> f64 {
    if !(raw.is_finite() && raw > 0.0) {
        return 1.0;
    }
    let power = 10f64.powf(raw.log10().floor());
    let f = raw / power;
    let nice = if f < 1.5 {
        1.0
    } else if f < 3.0 {
        2.0
    } else if f < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * power
}

/// The label of the tick `k × step`; `big` is the largest magnitude on the axis. Plain
/// decimals with just enough digits for the step, or `2.5e-5` style when plain ones would
/// be too long. The value is rebuilt from integers so no float noise reaches the label.
fn format_tick(k: i64, step: f64, big: f64) -> String {
    if k == 0 {
        return "0".into();
    }
    let e = step.log10().floor() as i32;
    let n = (step / 10f64.powi(e)).round() as i64; // 1, 2, 5 or 10
    if big >= 1e15 || step < 1e-4 {
        return scientific(k * n, e);
    }
    if big >= 1e4 && e >= 0 {
        return with_suffix(k * n, e, big);
    }
    let decimals = if e < 0 { (-e) as usize } else { 0 };
    format!("{:.*}", decimals, k as f64 * step)
}

/// `m × 10^e` (`e` ≥ 0) in thousands, millions … as fits `big` (`20k`, `2.5M`), exactly.
fn with_suffix(m: i64, e: i32, big: f64) -> String {
    let (unit, suffix) = match big {
        b if b >= 1e12 => (12, "T"),
        b if b >= 1e9 => (9, "G"),
        b if b >= 1e6 => (6, "M"),
        _ => (3, "k"),
    };
    let shift = e - unit;
    if shift >= 0 {
        return format!("{}{suffix}", m * 10i64.pow(shift as u32));
    }
    let places = (-shift) as usize;
    let digits = format!("{:0>width$}", m.unsigned_abs(), width = places + 1);
    let (whole, frac) = digits.split_at(digits.len() - places);
    let frac = frac.trim_end_matches('0');
    let sign = if m < 0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{whole}{suffix}")
    } else {
        format!("{sign}{whole}.{frac}{suffix}")
    }
}

/// `m × 10^e` written as `1.5e-4`, exactly.
fn scientific(mut m: i64, mut e: i32) -> String {
    while m % 10 == 0 {
        m /= 10;
        e += 1;
    }
    let sign = if m < 0 { "-" } else { "" };
    let digits = m.unsigned_abs().to_string();
    let exp = e + digits.len() as i32 - 1;
    let (head, tail) = digits.split_at(1);
    if tail.is_empty() {
        format!("{sign}{head}e{exp}")
    } else {
        format!("{sign}{head}.{tail}e{exp}")
    }
}

/// `10^e` as `1e-4`, `0.01`, `1`, `1000`, `10k`, `1M`, or `1e15` beyond that: the suffixes
/// match the bar labels'.
fn decade_label(e: i32) -> String {
    match e {
        -3..=-1 => format!("{:.*}", (-e) as usize, 10f64.powi(e)),
        0..=3 => 10i64.pow(e as u32).to_string(),
        4..=14 => with_suffix(1, e, 10f64.powi(e)),
        _ => format!("1e{e}"),
    }
}

/// A measured value in about three significant digits, with k/M/G suffixes for large ones
/// (`12.3k`, `4.56M`) and `1.23e-3` style for tiny ones; `n/a` when it is not a number.
pub(crate) fn format_value(v: f64) -> String {
    if !v.is_finite() {
        return "n/a".into();
    }
    let a = v.abs();
    if a == 0.0 {
        return "0".into();
    }
    if a < 0.01 {
        return format!("{v:.2e}").replace(".00e", "e").replace("0e", "e");
    }
    let (scaled, suffix) = match a {
        a if a >= 1e12 => (v / 1e12, "T"),
        a if a >= 1e9 => (v / 1e9, "G"),
        a if a >= 1e6 => (v / 1e6, "M"),
        a if a >= 1e4 => (v / 1e3, "k"),
        _ => (v, ""),
    };
    let s = scaled.abs();
    let decimals = if s >= 100.0 {
        0
    } else if s >= 10.0 {
        1
    } else if s >= 1.0 {
        2
    } else {
        3
    };
    let mut text = format!("{scaled:.decimals$}");
    if text.contains('.') {
        text = text.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    text + suffix
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(a: &Axis) -> Vec<&str> {
        a.ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn nice_steps() {
        assert_eq!(nice_step(0.23), 0.2);
        assert_eq!(nice_step(24.75), 20.0);
        assert_eq!(nice_step(4.0), 5.0);
        assert_eq!(nice_step(8.0), 10.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    #[test]
    fn linear_ticks_cover_the_data() {
        let a = Axis::linear(0.13, 0.71);
        assert_eq!(labels(&a), ["0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8"]);
        assert!(a.lo <= 0.13 && a.hi >= 0.71);
        let a = Axis::linear(-3.0, 7.0);
        assert_eq!(labels(&a), ["-4", "-2", "0", "2", "4", "6", "8"]);
        let a = Axis::linear(0.00002, 0.00009);
        assert_eq!(labels(&a), ["2e-5", "4e-5", "6e-5", "8e-5", "1e-4"]);
        let a = Axis::linear(0.0, 3.0e6);
        assert_eq!(labels(&a), ["0", "1M", "2M", "3M"]);
        let a = Axis::linear(0.0, 42000.0);
        assert_eq!(labels(&a), ["0", "10k", "20k", "30k", "40k", "50k"]);
        let a = Axis::linear(0.0, 3300.0);
        assert_eq!(labels(&a)[..3], ["0", "1000", "2000"]);
        let a = Axis::linear(0.0, 1.2e4);
        assert_eq!(labels(&a), ["0", "5k", "10k", "15k"]);
        let a = Axis::linear(0.0, 0.9e4);
        assert_eq!(labels(&a), ["0", "2k", "4k", "6k", "8k", "10k"]);
        let a = Axis::linear(1.1e6, 1.6e6);
        assert_eq!(labels(&a)[..3], ["1.1M", "1.2M", "1.3M"]);
        assert_eq!(labels(&Axis::linear(0.0, 1e16))[1], "2e15");
    }

    #[test]
    fn flat_and_empty_ranges_get_width() {
        let a = Axis::linear(0.5, 0.5);
        assert!(a.lo < 0.5 && a.hi > 0.5 && a.ticks.len() >= 2);
        let a = Axis::linear(0.0, 0.0);
        assert!(a.lo < 0.0 && a.hi > 0.0);
        let a = Axis::linear(f64::INFINITY, f64::NAN);
        assert_eq!((a.lo, a.hi), (0.0, 1.0));
    }

    #[test]
    fn epoch_ticks_are_whole_numbers() {
        assert_eq!(labels(&Axis::epochs(0)), ["1"]);
        assert_eq!(labels(&Axis::epochs(5)), ["1", "2", "3", "4", "5"]);
        assert_eq!(labels(&Axis::epochs(10)), ["2", "4", "6", "8", "10"]);
        assert_eq!(labels(&Axis::epochs(100)), ["20", "40", "60", "80", "100"]);
    }

    #[test]
    fn log_ticks_are_decades() {
        let a = Axis::log(3.0, 45000.0);
        assert_eq!(labels(&a), ["1", "10", "100", "1000", "10k", "100k"]);
        let a = Axis::log(100.0, 100.0);
        assert!(a.lo < 100.0 && a.hi >= 100.0);
        assert_eq!(labels(&Axis::log(0.005, 0.5)), ["0.001", "0.01", "0.1", "1"]);
        assert_eq!(labels(&Axis::log(12.0, 20.0)), ["1", "10", "100"]);
        assert_eq!(labels(&Axis::log(1e-6, 1e9))[..2], ["1e-7", "1e-5"]);
        assert_eq!(*labels(&Axis::log(1.0, 1e9)).last().unwrap(), "1G");
        assert_eq!(*labels(&Axis::log(5.0, 1e9)).last().unwrap(), "10G");
    }

    #[test]
    fn values_are_short() {
        assert_eq!(format_value(1234.0), "1234");
        assert_eq!(format_value(12345.0), "12.3k");
        assert_eq!(format_value(4_560_000.0), "4.56M");
        assert_eq!(format_value(1.5), "1.5");
        assert_eq!(format_value(0.1234), "0.123");
        assert_eq!(format_value(0.00123), "1.23e-3");
        assert_eq!(format_value(f64::NAN), "n/a");
        assert_eq!(format_value(-2.0), "-2");
    }
}
