//! Amounts as banks write them: `-1.234,56`, `1,234.56`, `(12.50)`, `12,50-`,
//! `EUR 3.20`, `1 234,56`.
//!
//! Which of `,` and `.` is the decimal separator is decided once per file
//! ([`resolve_separator`]) from votes of the amounts that tell (`1.234,56`,
//! `12,5`); `1,234` alone tells nothing. Parsing then insists that thousands
//! separators group exactly three digits, so a wrong decision shows up as row
//! errors instead of amounts a thousand times too large.

use std::str::FromStr;

use rust_decimal::Decimal;

use crate::options::DecimalSeparator;

/// What one amount text says about the file's decimal separator, if anything.
pub(crate) fn vote(text: &str) -> Option<DecimalSeparator> {
    let bytes = text.as_bytes();
    let last_comma = text.rfind(',');
    let last_dot = text.rfind('.');
    let digits_after = |i: usize| {
        bytes
            .get(i + 1..)
            .unwrap_or_default()
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    match (last_comma, last_dot) {
        (Some(c), Some(d)) if c > d => Some(DecimalSeparator::Comma),
        (Some(_), Some(_)) => Some(DecimalSeparator::Dot),
        (Some(c), None) => decide(
            text.matches(',').count(),
            digits_after(c),
            DecimalSeparator::Comma,
        ),
        (None, Some(d)) => decide(
            text.matches('.').count(),
            digits_after(d),
            DecimalSeparator::Dot,
        ),
        (None, None) => None,
    }
}

fn decide(count: usize, digits_after: usize, this: DecimalSeparator) -> Option<DecimalSeparator> {
    let other = match this {
        DecimalSeparator::Comma => DecimalSeparator::Dot,
        DecimalSeparator::Dot => DecimalSeparator::Comma,
    };
    if count > 1 {
        Some(other)
    } else if digits_after != 3 {
        Some(this)
    } else {
        None
    }
}

/// The decimal separator for a file: the caller's choice, else the majority of
/// the amounts that tell, else the format's hint (a `;` CSV is European), else dot.
pub(crate) fn resolve_separator(
    explicit: Option<DecimalSeparator>,
    comma_votes: usize,
    dot_votes: usize,
    hint: Option<DecimalSeparator>,
) -> DecimalSeparator {
    if let Some(sep) = explicit {
        return sep;
    }
    match comma_votes.cmp(&dot_votes) {
        std::cmp::Ordering::Greater => DecimalSeparator::Comma,
        std::cmp::Ordering::Less => DecimalSeparator::Dot,
        std::cmp::Ordering::Equal => hint.unwrap_or(DecimalSeparator::Dot),
    }
}

/// Amounts at or above this are refused, as the ledger refuses them.
const LIMIT: i64 = 1_000_000_000_000;

/// Parses an amount with its sign as written (no sign convention applied).
///
/// # Errors
/// A message for the row error when the text is not an amount.
pub(crate) fn parse(text: &str, sep: DecimalSeparator) -> Result<Decimal, String> {
    let original = text;
    let bad = || format!("{:?} is not an amount", shorten(original));
    let mut s = text.trim();
    let mut negative = false;
    if let Some(inner) = s.strip_prefix('(').and_then(|r| r.strip_suffix(')')) {
        negative = true;
        s = inner.trim();
    }
    s = strip_currency(s);
    if let Some(rest) = s.strip_prefix(['-', '\u{2212}']) {
        negative = !negative;
        s = rest.trim_start();
    } else if let Some(rest) = s.strip_prefix('+') {
        s = rest.trim_start();
    } else if let Some(rest) = s.strip_suffix('-') {
        negative = !negative;
        s = rest.trim_end();
    }
    s = strip_currency(s);
    if s.is_empty() {
        return Err(if original.trim().is_empty() {
            "the amount is empty".to_string()
        } else {
            bad()
        });
    }
    let (dec, thousands) = match sep {
        DecimalSeparator::Dot => ('.', ','),
        DecimalSeparator::Comma => (',', '.'),
    };
    let mut plain = String::with_capacity(s.len() + 1);
    if negative {
        plain.push('-');
    }
    let mut group: Option<usize> = None;
    let mut int_digits = 0usize;
    let mut frac_digits: Option<usize> = None;
    for c in s.chars() {
        match c {
            '0'..='9' => {
                plain.push(c);
                match frac_digits.as_mut() {
                    Some(n) => *n += 1,
                    None => int_digits += 1,
                }
                if let Some(g) = group.as_mut() {
                    *g += 1;
                }
            }
            c if c == thousands || matches!(c, ' ' | '\u{a0}' | '\u{202f}' | '\'') => {
                // A group separator must follow 1-3 digits (or another group)
                // and be followed by exactly three.
                if frac_digits.is_some() || int_digits == 0 || group.is_some_and(|g| g != 3) {
                    return Err(bad());
                }
                if group.is_none() && int_digits > 3 {
                    return Err(bad());
                }
                group = Some(0);
            }
            c if c == dec => {
                if frac_digits.is_some() || group.is_some_and(|g| g != 3) {
                    return Err(bad());
                }
                group = None;
                frac_digits = Some(0);
                plain.push('.');
            }
            _ => return Err(bad()),
        }
    }
    if group.is_some_and(|g| g != 3) || int_digits + frac_digits.unwrap_or(0) == 0 {
        return Err(bad());
    }
    if int_digits > 13 || frac_digits.unwrap_or(0) > 12 {
        return Err(format!("{:?} is out of range", shorten(original)));
    }
    let value = Decimal::from_str(&plain).map_err(|_| bad())?;
    if value.abs() >= Decimal::from(LIMIT) {
        return Err(format!("{:?} is out of range", shorten(original)));
    }
    Ok(value)
}

/// Drops a currency symbol or a three-letter code before or after the number.
fn strip_currency(s: &str) -> &str {
    let s =
        s.trim_matches(|c: char| matches!(c, '€' | '$' | '£' | '¥' | '₹' | '\u{a0}') || c == ' ');
    let code = |t: &str| t.len() == 3 && t.bytes().all(|b| b.is_ascii_alphabetic());
    if let Some((head, rest)) = s.split_once(' ') {
        if code(head) {
            return rest.trim();
        }
    }
    if let Some((rest, tail)) = s.rsplit_once(' ') {
        if code(tail) {
            return rest.trim();
        }
    }
    s
}

/// Applies the currency's minor units: fewer decimals are padded, more are an
/// error (trailing zeros aside), so `12.5` and `12.50` fingerprint alike.
///
/// # Errors
/// A message naming the currency when the amount is finer than its minor unit.
pub(crate) fn to_minor_units(
    value: Decimal,
    code: &str,
    minor_units: u8,
) -> Result<Decimal, String> {
    let minor = u32::from(minor_units);
    let normal = value.normalize();
    if normal.scale() > minor {
        return Err(format!(
            "{normal} has more decimals than {code} allows ({minor_units})"
        ));
    }
    let mut fixed = normal;
    fixed.rescale(minor);
    Ok(fixed)
}

pub(crate) fn shorten(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DecimalSeparator::{Comma, Dot};

    fn dec(s: &str) -> Decimal {
        Decimal::from_str(s).unwrap()
    }

    #[test]
    fn written_forms() {
        for (text, sep, value) in [
            ("12.50", Dot, "12.50"),
            ("-1,234.56", Dot, "-1234.56"),
            ("1,234,567.8", Dot, "1234567.8"),
            ("-1.234,56", Comma, "-1234.56"),
            ("12,50-", Comma, "-12.50"),
            ("(12.50)", Dot, "-12.50"),
            ("+3", Dot, "3"),
            ("€ 3,20", Comma, "3.20"),
            ("EUR -3,20", Comma, "-3.20"),
            ("-3.20 USD", Dot, "-3.20"),
            ("1 234,56", Comma, "1234.56"),
            ("1'234.50", Dot, "1234.50"),
            ("\u{2212}7", Dot, "-7"),
            (".5", Dot, "0.5"),
        ] {
            assert_eq!(parse(text, sep), Ok(dec(value)), "{text}");
        }
    }

    #[test]
    fn misgrouped_or_foreign_text_is_refused() {
        for (text, sep) in [
            ("12,5", Dot),
            ("1.234.5", Comma),
            ("1,23,456.00", Dot),
            ("12.50.1", Dot),
            ("", Dot),
            ("-", Dot),
            ("abc", Dot),
            ("12.50 CR", Dot),
            ("1e5", Dot),
            ("99999999999999", Dot),
            ("1000000000000", Dot),
        ] {
            assert!(parse(text, sep).is_err(), "{text}");
        }
    }

    #[test]
    fn votes() {
        assert_eq!(vote("1.234,56"), Some(Comma));
        assert_eq!(vote("1,234.56"), Some(Dot));
        assert_eq!(vote("12,5"), Some(Comma));
        assert_eq!(vote("-3.20"), Some(Dot));
        assert_eq!(vote("1,234"), None);
        assert_eq!(vote("1.234.567"), Some(Comma));
        assert_eq!(vote("42"), None);
        assert_eq!(resolve_separator(None, 0, 0, Some(Comma)), Comma);
        assert_eq!(resolve_separator(None, 1, 5, Some(Comma)), Dot);
        assert_eq!(resolve_separator(Some(Comma), 0, 9, None), Comma);
    }

    #[test]
    fn minor_units() {
        assert_eq!(to_minor_units(dec("12.5"), "EUR", 2), Ok(dec("12.50")));
        assert_eq!(to_minor_units(dec("12.500"), "EUR", 2), Ok(dec("12.50")));
        assert!(to_minor_units(dec("12.505"), "EUR", 2).is_err());
        assert!(to_minor_units(dec("1500.5"), "JPY", 0).is_err());
        assert_eq!(
            to_minor_units(dec("1500"), "JPY", 0).unwrap().to_string(),
            "1500"
        );
        assert_eq!(
            to_minor_units(dec("1.125"), "KWD", 3).unwrap().to_string(),
            "1.125"
        );
    }
}
