//! Black-box tests of the statements crate against the sample statements in
//! `tests/fixtures/`, one module per concern.

mod csv;
mod dedup;
mod encodings;
mod ofx;
mod options;
mod perf;
mod qif;
mod robustness;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use statements::{Currency, Error, Options, Parsed};

pub(crate) fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

pub(crate) fn opts(code: &str, minor_units: u8) -> Options {
    Options::new(Currency::new(code, minor_units).expect("valid currency"))
}

pub(crate) fn eur() -> Options {
    opts("EUR", 2)
}

pub(crate) fn parse(bytes: &[u8], opts: &Options) -> Result<Parsed, Error> {
    statements::parse(bytes, opts)
}

pub(crate) fn parse_ok(name: &str, opts: &Options) -> Parsed {
    parse(&fixture(name), opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

pub(crate) fn dec(s: &str) -> Decimal {
    s.parse().expect("decimal literal")
}

pub(crate) fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
}

pub(crate) fn fingerprints(parsed: &Parsed) -> Vec<String> {
    parsed
        .statement
        .rows
        .iter()
        .map(|r| r.fingerprint.clone())
        .collect()
}

/// Every fixture that parses cleanly, with options that fit it.
pub(crate) fn good_fixtures() -> Vec<(&'static str, Options)> {
    let usd = opts("USD", 2);
    let gbp = opts("GBP", 2);
    vec![
        ("uk_debit_credit.csv", gbp),
        ("de_semicolon_1252.csv", eur()),
        ("us_quoted_balance.csv", usd.clone()),
        ("with_id.csv", eur()),
        ("utf8_bom.csv", eur()),
        ("iso_8859_1.csv", eur()),
        ("ofx1_sgml_1252.ofx", eur()),
        ("ofx2_xml.ofx", usd.clone()),
        ("card.qfx", usd.clone()),
        ("bank.qif", usd),
    ]
}
