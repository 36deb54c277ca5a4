//! What the caller tells the parser: the ledger's currency, and overrides for
//! everything the parser would otherwise guess from the file.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// The statement formats this crate reads. QFX is OFX with an Intuit
/// extension, so it is read as [`Format::Ofx`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Ofx,
    Qif,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Format::Csv => "CSV",
            Format::Ofx => "OFX",
            Format::Qif => "QIF",
        })
    }
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" | "tsv" => Ok(Format::Csv),
            "ofx" | "qfx" => Ok(Format::Ofx),
            "qif" => Ok(Format::Qif),
            other => Err(Error::InvalidOption(format!(
                "format {other:?}: expected csv, ofx or qif"
            ))),
        }
    }
}

/// The order of day, month and year in dates such as `03/04/2025`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DateOrder {
    Ymd,
    Dmy,
    Mdy,
}

impl fmt::Display for DateOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateOrder::Ymd => "ymd",
            DateOrder::Dmy => "dmy",
            DateOrder::Mdy => "mdy",
        })
    }
}

impl FromStr for DateOrder {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ymd" | "iso" | "yyyy-mm-dd" => Ok(DateOrder::Ymd),
            "dmy" | "dd/mm/yyyy" | "dd.mm.yyyy" => Ok(DateOrder::Dmy),
            "mdy" | "mm/dd/yyyy" => Ok(DateOrder::Mdy),
            other => Err(Error::InvalidOption(format!(
                "date_format {other:?}: expected ymd, dmy or mdy"
            ))),
        }
    }
}

/// The character between whole units and the fraction: `12.50` or `12,50`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DecimalSeparator {
    Dot,
    Comma,
}

impl FromStr for DecimalSeparator {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dot" | "." | "point" | "period" => Ok(DecimalSeparator::Dot),
            "comma" | "," => Ok(DecimalSeparator::Comma),
            other => Err(Error::InvalidOption(format!(
                "decimal {other:?}: expected dot or comma"
            ))),
        }
    }
}

/// What money coming in (salary, refunds, transfers) becomes. An expense ledger
/// has no place for income, so by default credits are counted and left out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Credits {
    #[default]
    Skip,
    Refund,
}

/// Which sign a bank uses for money going out in a single amount column.
/// Current accounts write spending as negative; many card exports write it positive.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AmountSign {
    #[default]
    DebitNegative,
    DebitPositive,
}

/// A CSV column named by its header text, or by its 1-based position for
/// files without a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnRef {
    Name(String),
    Index(usize),
}

impl FromStr for ColumnRef {
    type Err = Error;

    /// `#3` or `3` name the third column; anything else is a header name.
    fn from_str(s: &str) -> Result<Self, Error> {
        let t = s.trim();
        let digits = t.strip_prefix('#').unwrap_or(t);
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            return match digits.parse::<usize>() {
                Ok(n) if n >= 1 => Ok(ColumnRef::Index(n)),
                _ => Err(Error::InvalidOption(format!(
                    "column {s:?}: positions start at 1"
                ))),
            };
        }
        if t.is_empty() {
            return Err(Error::InvalidOption("empty column name".into()));
        }
        Ok(ColumnRef::Name(t.to_string()))
    }
}

/// Explicit CSV columns, for the layouts header detection does not know.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnMapping {
    pub date: Option<ColumnRef>,
    pub amount: Option<ColumnRef>,
    pub debit: Option<ColumnRef>,
    pub credit: Option<ColumnRef>,
    pub description: Option<ColumnRef>,
    pub payee: Option<ColumnRef>,
    pub memo: Option<ColumnRef>,
    pub category: Option<ColumnRef>,
    pub id: Option<ColumnRef>,
    pub currency: Option<ColumnRef>,
    pub balance: Option<ColumnRef>,
}

/// The ledger's currency: imported amounts must fit its minor units.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Currency {
    code: String,
    minor_units: u8,
}

impl Currency {
    /// # Errors
    /// [`Error::InvalidOption`] unless `code` is three ASCII letters and
    /// `minor_units` at most 4 (the most ISO 4217 uses).
    pub fn new(code: &str, minor_units: u8) -> Result<Self, Error> {
        let code = code.trim().to_ascii_uppercase();
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(Error::InvalidOption(format!("currency {code:?}")));
        }
        if minor_units > 4 {
            return Err(Error::InvalidOption(format!(
                "currency {code} with {minor_units} minor units"
            )));
        }
        Ok(Self { code, minor_units })
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn minor_units(&self) -> u8 {
        self.minor_units
    }
}

/// Everything that steers one parse. Build with [`Options::new`] and set the
/// public fields; `None` means "detect from the file".
#[derive(Debug, Clone)]
pub struct Options {
    pub format: Option<Format>,
    /// An encoding label such as `windows-1252` or `latin1`, for files without a
    /// byte order mark that are not valid UTF-8 (which is then taken as UTF-8).
    pub encoding: Option<String>,
    pub date_order: Option<DateOrder>,
    pub decimal: Option<DecimalSeparator>,
    pub columns: ColumnMapping,
    /// CSV field separator; detected among `,`, `;` and tab when `None`.
    pub delimiter: Option<u8>,
    pub credits: Credits,
    pub amount_sign: AmountSign,
    pub skip_invalid: bool,
    /// Transactions (or CSV data lines) allowed in one file.
    pub max_rows: usize,
    /// Stands for the account in fingerprints when the file names none.
    pub account: Option<String>,
    pub currency: Currency,
    /// Statement currency code -> ledger currency code, for a statement whose
    /// amounts should be taken as they are although its currency differs.
    pub currency_map: BTreeMap<String, String>,
    /// Accept a statement in any currency, amounts taken as they are.
    pub allow_any_currency: bool,
}

/// Enough for the largest statements banks export, small enough to bound the
/// memory one upload can take.
pub const DEFAULT_MAX_ROWS: usize = 100_000;

impl Options {
    pub fn new(currency: Currency) -> Self {
        Self {
            format: None,
            encoding: None,
            date_order: None,
            decimal: None,
            columns: ColumnMapping::default(),
            delimiter: None,
            credits: Credits::Skip,
            amount_sign: AmountSign::DebitNegative,
            skip_invalid: false,
            max_rows: DEFAULT_MAX_ROWS,
            account: None,
            currency,
            currency_map: BTreeMap::new(),
            allow_any_currency: false,
        }
    }

    /// Whether amounts in `code` may be imported into the ledger's currency.
    pub(crate) fn accepts_currency(&self, code: &str) -> bool {
        let code = code.trim().to_ascii_uppercase();
        if self.allow_any_currency || code == self.currency.code {
            return true;
        }
        self.currency_map.iter().any(|(from, to)| {
            from.eq_ignore_ascii_case(&code) && to.eq_ignore_ascii_case(&self.currency.code)
        })
    }
}
