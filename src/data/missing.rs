//! Cell classification: what counts as missing, what parses as a number.
//!
//! A cell is missing when, with surrounding ASCII whitespace trimmed, it is empty or one of
//! `NA`, `N/A`, `NaN`, `nan`, `null`, `?` (case-insensitive; any text that parses to a NaN
//! counts too). Numbers parse with Rust's correctly rounded `f32` parser; `inf` and values
//! that overflow f32 are rejected rather than trained on.

/// What a numeric cell holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Num {
    /// A finite value.
    Value(f32),
    /// A missing cell.
    Missing,
    /// `inf`, `-inf` or a value beyond the f32 range.
    NonFinite,
    /// Text that is not a number (valid UTF-8).
    NotNumber,
    /// Bytes that are not UTF-8.
    BadUtf8,
}

/// Trims ASCII whitespace (space, tab, CR, LF, FF) from both ends.
#[inline]
pub(crate) fn trim(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if first.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if last.is_ascii_whitespace() {
            b = rest;
        } else {
            break;
        }
    }
    b
}

/// Whether a trimmed cell is one of the missing-value tokens.
#[inline]
pub(crate) fn is_missing_token(t: &[u8]) -> bool {
    match t.len() {
        0 => true,
        1 => t[0] == b'?',
        2 => t.eq_ignore_ascii_case(b"na"),
        3 => t.eq_ignore_ascii_case(b"n/a") || t.eq_ignore_ascii_case(b"nan"),
        4 => t.eq_ignore_ascii_case(b"null"),
        _ => false,
    }
}

/// Parses a raw cell of a numeric column.
#[inline]
pub(crate) fn parse_number(field: &[u8]) -> Num {
    let t = trim(field);
    if t.is_empty() {
        return Num::Missing;
    }
    let Ok(s) = std::str::from_utf8(t) else {
        return Num::BadUtf8;
    };
    match s.parse::<f32>() {
        Ok(v) if v.is_finite() => Num::Value(v),
        Ok(v) if v.is_nan() => Num::Missing,
        Ok(_) => Num::NonFinite,
        Err(_) if is_missing_token(t) => Num::Missing,
        Err(_) => Num::NotNumber,
    }
}

/// Parses a raw numeric cell that may use a decimal comma (`5,1`): one comma and no point
/// reads as the decimal point; otherwise as [`parse_number`].
#[inline]
pub(crate) fn parse_number_with(field: &[u8], decimal_comma: bool) -> Num {
    if !decimal_comma || !field.contains(&b',') {
        return parse_number(field);
    }
    let t = trim(field);
    // Longer than any f32 written in full: not a number with a decimal comma.
    let mut buf = [0u8; 64];
    if t.len() > buf.len() || t.contains(&b'.') || t.iter().filter(|&&b| b == b',').count() != 1 {
        return parse_number(field);
    }
    for (o, &b) in buf.iter_mut().zip(t) {
        *o = if b == b',' { b'.' } else { b };
    }
    parse_number(&buf[..t.len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        for t in ["", " ", "NA", "N/A", "NaN", "nan", "null", "?", " NULL ", "n/a"] {
            assert_eq!(parse_number(t.as_bytes()), Num::Missing, "{t:?}");
        }
        assert_eq!(parse_number(b" 1.5\r"), Num::Value(1.5));
        assert_eq!(parse_number(b"-inf"), Num::NonFinite);
        assert_eq!(parse_number(b"1e39"), Num::NonFinite);
        assert_eq!(parse_number(b"abc"), Num::NotNumber);
        assert_eq!(parse_number(b"\xff"), Num::BadUtf8);
    }

    #[test]
    fn decimal_commas() {
        assert_eq!(parse_number_with(b" 5,1 ", true), Num::Value(5.1));
        assert_eq!(parse_number_with(b"-0,25", true), Num::Value(-0.25));
        assert_eq!(parse_number_with(b"2.5", true), Num::Value(2.5));
        assert_eq!(parse_number_with(b"1.234,5", true), Num::NotNumber);
        assert_eq!(parse_number_with(b"5,1", false), Num::NotNumber);
        assert_eq!(parse_number_with(b"", true), Num::Missing);
    }
}
