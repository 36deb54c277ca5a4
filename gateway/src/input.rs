//! Checks on what clients send, at the boundary: dates, amounts in the ledger's
//! currency, time zones. Texts are `ledger::text`'s newtypes, parsed with their own
//! `parse` (a `TextError` becomes the 422 through `From`). Past here nothing is
//! checked again.

use chrono::{Datelike, NaiveDate};
use ledger::{Amount, Currency};
use serde::{Deserialize, Deserializer};

use crate::error::ApiError;

/// A calendar date, `YYYY-MM-DD`, between 1970 and 2200.
pub(crate) fn date(field: &'static str, value: &str) -> Result<NaiveDate, ApiError> {
    let date = NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
        ApiError::invalid(field, format!("{value:?} is not a date like 2026-11-27"))
    })?;
    if !(1970..=2200).contains(&date.year()) {
        return Err(ApiError::invalid(field, "must be between 1970 and 2200"));
    }
    Ok(date)
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

/// An IANA time zone name such as `Europe/Berlin`: checked for shape, not looked up.
pub(crate) fn timezone(value: &str) -> Result<String, ApiError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '+'));
    if !ok {
        return Err(ApiError::invalid(
            "timezone",
            "must be an IANA time zone such as Europe/Berlin",
        ));
    }
    Ok(value.to_owned())
}

/// Keeps "absent" (`None`) apart from "null" (`Some(None)`) in a PATCH body.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
