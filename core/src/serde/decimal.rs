//! Integers read the way Python's `int()` reads ASCII bytes.
//!
//! pymemcache turns integer values (flags 2 or 4) and most `stats` values
//! into Python integers with `int(value)`, which accepts surrounding ASCII
//! whitespace, one sign, and single underscores between digits. memcached
//! itself relies on the whitespace rule: an in-place `decr` that shortens a
//! number pads it with trailing spaces (`"100"` decremented by 95 is stored
//! as `"5  "`).

/// Parse `text` as Python's `int(text, radix)` would, for radix 8 or 10.
///
/// Returns `None` when `text` is not an integer in that radix, or when it
/// does not fit in an `i128` (Python's integers are unbounded; memcached's
/// counters are `u64`, well inside that range).
pub(crate) fn parse_int(text: &[u8], radix: u32) -> Option<i128> {
    let text = trim_ascii_whitespace(text);
    let (negative, mut rest) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, text),
    };
    if radix == 8 {
        if let Some(after) = rest
            .strip_prefix(b"0o")
            .or_else(|| rest.strip_prefix(b"0O"))
        {
            // Python allows one underscore right after a base prefix.
            rest = after.strip_prefix(b"_").unwrap_or(after);
        }
    }
    let magnitude = parse_digits(rest, radix)?;
    if negative {
        // -(2^127) is the one negative number whose magnitude is not an i128.
        0i128.checked_sub_unsigned(magnitude)
    } else {
        i128::try_from(magnitude).ok()
    }
}

/// Parse digits with single underscores between them into a magnitude.
fn parse_digits(digits: &[u8], radix: u32) -> Option<u128> {
    if digits.first().is_none_or(|&b| b == b'_') || digits.last() == Some(&b'_') {
        return None;
    }
    let mut value: u128 = 0;
    let mut previous_underscore = false;
    for &byte in digits {
        if byte == b'_' {
            if previous_underscore {
                return None;
            }
            previous_underscore = true;
            continue;
        }
        previous_underscore = false;
        let digit = char::from(byte).to_digit(radix)?;
        value = value
            .checked_mul(u128::from(radix))?
            .checked_add(u128::from(digit))?;
    }
    Some(value)
}

/// Strip the bytes Python's `int()` and `float()` treat as whitespace.
pub(crate) fn trim_ascii_whitespace(mut text: &[u8]) -> &[u8] {
    const fn is_space(byte: u8) -> bool {
        matches!(byte, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
    }
    while let Some((&first, rest)) = text.split_first() {
        if !is_space(first) {
            break;
        }
        text = rest;
    }
    while let Some((&last, rest)) = text.split_last() {
        if !is_space(last) {
            break;
        }
        text = rest;
    }
    text
}

#[cfg(test)]
mod tests {
    use super::parse_int;

    #[test]
    fn reads_decimal_like_python() {
        assert_eq!(parse_int(b"2519", 10), Some(2519));
        assert_eq!(parse_int(b" -42\r\n", 10), Some(-42));
        assert_eq!(parse_int(b"+7", 10), Some(7));
        assert_eq!(parse_int(b"007", 10), Some(7));
        assert_eq!(parse_int(b"1_000", 10), Some(1000));
        assert_eq!(parse_int(b"5  ", 10), Some(5));
        assert_eq!(
            parse_int(b"18446744073709551615", 10),
            Some(i128::from(u64::MAX))
        );
        assert_eq!(
            parse_int(b"-170141183460469231731687303715884105728", 10),
            Some(i128::MIN)
        );
    }

    #[test]
    fn rejects_what_python_rejects() {
        for bad in [
            &b""[..],
            b" ",
            b"-",
            b"1.5",
            b"_1",
            b"1_",
            b"1__0",
            b"0x10",
            b"2.0.19-stable",
            b"on",
            b"1 2",
            b"- 1",
        ] {
            assert_eq!(parse_int(bad, 10), None, "{:?}", bad);
        }
        assert_eq!(
            parse_int(b"170141183460469231731687303715884105728", 10),
            None
        );
    }

    #[test]
    fn reads_octal_like_python() {
        assert_eq!(parse_int(b"777", 8), Some(0o777));
        assert_eq!(parse_int(b"700", 8), Some(448));
        assert_eq!(parse_int(b"0o17", 8), Some(15));
        assert_eq!(parse_int(b"-0O_17", 8), Some(-15));
        assert_eq!(parse_int(b"8", 8), None);
        assert_eq!(parse_int(b"0o", 8), None);
    }
}
