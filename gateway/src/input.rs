//! Checks on what clients send, at the boundary: dates, amounts in the ledger's
//! currency, positions and page sizes. Texts and time zones are `ledger::text`'s newtypes, parsed with their own
//! `parse` (a `TextError` becomes the 422 through `From`). Past here nothing is
//! checked again.

use chrono::{Datelike, NaiveDate};
use ledger::{Amount, Currency, Position};
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// A day of an expense, `YYYY-MM-DD`, between 1970 and 2200: a typo's year 20226
/// or 1026 is refused rather than filed where nobody will look.
pub(crate) fn date(field: &'static str, value: &str) -> Result<NaiveDate, ApiError> {
    let date = any_date(field, value)?;
    if !(1970..=2200).contains(&date.year()) {
        return Err(ApiError::invalid(field, "must be between 1970 and 2200"));
    }
    Ok(date)
}

/// A day in a query (a filter's bound, "today" for a read): any RFC 3339
/// `full-date`, `YYYY-MM-DD` with four-digit years, as JSON Schema's `date` format.
pub(crate) fn any_date(field: &'static str, value: &str) -> Result<NaiveDate, ApiError> {
    let bad = || ApiError::invalid(field, format!("{value:?} is not a date like 2026-11-27"));
    let bytes = value.as_bytes();
    let shaped = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shaped {
        return Err(bad());
    }
    let number = |range: std::ops::Range<usize>| value[range].parse::<u32>().map_err(|_| bad());
    let year = i32::try_from(number(0..4)?).map_err(|_| bad())?;
    NaiveDate::from_ymd_opt(year, number(5..7)?, number(8..10)?).ok_or_else(bad)
}

pub(crate) fn amount(
    field: &'static str,
    value: &str,
    currency: Currency,
) -> Result<Amount, ApiError> {
    Amount::parse_nonzero(value, currency).map_err(|e| ApiError::invalid(field, e))
}

pub(crate) fn currency(field: &'static str, value: &str) -> Result<Currency, ApiError> {
    Currency::parse(value).map_err(|e| ApiError::invalid(field, e))
}

/// A log position in a query (`after`, `min_position`, `since`): a whole number,
/// 0 or more. Taken as text so a negative or unreadable one is a 422 naming its
/// field rather than a 400 (or, for a negative one, a position before the log).
pub(crate) fn position(field: &'static str, value: &str) -> Result<Position, ApiError> {
    value
        .parse::<Position>()
        .map_err(|_| ApiError::invalid(field, "must be a log position: a whole number, 0 or more"))
}

/// A page size in a query: a whole number within `range`, `default` when absent.
pub(crate) fn limit(
    value: Option<&str>,
    default: usize,
    range: std::ops::RangeInclusive<usize>,
) -> Result<usize, ApiError> {
    let Some(value) = value else {
        return Ok(default);
    };
    value
        .parse::<usize>()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(|| {
            ApiError::invalid(
                "limit",
                format!("between {} and {}", range.start(), range.end()),
            )
        })
}

/// Keeps "absent" (`None`) apart from "null" (`Some(None)`) in a PATCH body.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
