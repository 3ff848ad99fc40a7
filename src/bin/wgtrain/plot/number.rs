//! Numbers short enough to sit on a bar or beside an axis: about three significant digits,
//! with k/M/G/T suffixes for large ones.

/// A measured value in about three significant digits, with k/M/G/T suffixes for large ones
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
    use super::format_value;

    #[test]
    fn values_are_short() {
        assert_eq!(format_value(1234.0), "1234");
        assert_eq!(format_value(12345.0), "12.3k");
        assert_eq!(format_value(4_560_000.0), "4.56M");
        assert_eq!(format_value(1e5), "100k");
        assert_eq!(format_value(1.5), "1.5");
        assert_eq!(format_value(0.1234), "0.123");
        assert_eq!(format_value(0.00123), "1.23e-3");
        assert_eq!(format_value(0.001), "1e-3");
        assert_eq!(format_value(f64::NAN), "n/a");
        assert_eq!(format_value(-2.0), "-2");
    }
}
