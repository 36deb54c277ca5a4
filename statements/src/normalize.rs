//! The part every format shares: each format parser only splits its file into
//! [`RawRow`]s; dates, amounts, currency, credits and fingerprints are decided
//! here, once, with the same rules for CSV, OFX and QIF.
//!
//! Two decisions need the whole file before any row can be finished: the date
//! order and the decimal separator. So rows are collected raw first.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::amount;
use crate::date::{self, DateText};
use crate::error::{Error, RowError};
use crate::fingerprint::{self, Occurrences};
use crate::options::{AmountSign, Credits, DecimalSeparator, Options};
use crate::statement::{Row, Statement};

#[derive(Debug)]
pub(crate) enum RawDate {
    Parsed(NaiveDate),
    Text(String),
}

#[derive(Debug)]
pub(crate) enum RawAmount {
    /// Already a number; negative is money out.
    Parsed(Decimal),
    /// One signed column, read with the statement's sign convention.
    Signed(String),
    /// A debit column: money out whatever its sign.
    Out(String),
    /// A credit column: money in whatever its sign.
    In(String),
}

impl RawAmount {
    fn text(&self) -> Option<&str> {
        match self {
            RawAmount::Parsed(_) => None,
            RawAmount::Signed(t) | RawAmount::Out(t) | RawAmount::In(t) => Some(t),
        }
    }
}

#[derive(Debug)]
pub(crate) struct RawRow {
    pub(crate) line: usize,
    pub(crate) date: RawDate,
    pub(crate) amount: RawAmount,
    pub(crate) description: Option<String>,
    pub(crate) payee: Option<String>,
    pub(crate) memo: Option<String>,
    pub(crate) category: Option<String>,
    pub(crate) bank_id: Option<String>,
    pub(crate) currency: Option<String>,
    /// Only when one file holds several accounts (OFX can).
    pub(crate) account: Option<String>,
}

impl RawRow {
    pub(crate) fn new(line: usize, date: RawDate, amount: RawAmount) -> Self {
        Self {
            line,
            date,
            amount,
            description: None,
            payee: None,
            memo: None,
            category: None,
            bank_id: None,
            currency: None,
            account: None,
        }
    }
}

/// A file split into rows, nothing decided yet.
#[derive(Debug)]
pub(crate) struct RawStatement {
    pub(crate) account: Option<String>,
    /// The declared currency and the line that declares it.
    pub(crate) currency: Option<(usize, String)>,
    pub(crate) rows: Vec<RawRow>,
    pub(crate) errors: Vec<RowError>,
    pub(crate) decimal_hint: Option<DecimalSeparator>,
    pub(crate) sign: AmountSign,
    max_rows: usize,
}

impl RawStatement {
    pub(crate) fn new(max_rows: usize) -> Self {
        Self {
            account: None,
            currency: None,
            rows: Vec::new(),
            errors: Vec::new(),
            decimal_hint: None,
            sign: AmountSign::DebitNegative,
            max_rows,
        }
    }

    /// # Errors
    /// [`Error::TooManyRows`] as soon as the file passes the limit, so an
    /// oversized upload costs no more than the limit's worth of work.
    pub(crate) fn push(&mut self, row: RawRow) -> Result<(), Error> {
        self.check_limit(row.line)?;
        self.rows.push(row);
        Ok(())
    }

    /// # Errors
    /// As [`RawStatement::push`].
    pub(crate) fn push_error(
        &mut self,
        line: usize,
        message: impl Into<String>,
    ) -> Result<(), Error> {
        self.check_limit(line)?;
        self.errors.push(RowError::new(line, message));
        Ok(())
    }

    fn check_limit(&self, line: usize) -> Result<(), Error> {
        if self.rows.len() + self.errors.len() >= self.max_rows {
            return Err(Error::TooManyRows {
                line,
                max: self.max_rows,
            });
        }
        Ok(())
    }
}

/// Trims and collapses whitespace; `None` for nothing left.
pub(crate) fn tidy(text: &str) -> Option<String> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if !t.contains(|c: char| c.is_whitespace() && c != ' ') && !t.contains("  ") {
        return Some(t.to_string());
    }
    Some(t.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// Decides dates, amounts, currency and credits, and fingerprints the rows.
///
/// # Errors
/// File-level problems ([`Error::CurrencyMismatch`], [`Error::AmbiguousDates`],
/// ...), and [`Error::InvalidRows`] when rows failed without `skip_invalid`.
pub(crate) fn finish(raw: RawStatement, opts: &Options) -> Result<Statement, Error> {
    let RawStatement {
        account,
        currency,
        rows,
        mut errors,
        decimal_hint,
        sign,
        ..
    } = raw;

    if let Some((line, code)) = &currency {
        if !opts.accepts_currency(code) {
            return Err(Error::CurrencyMismatch {
                line: *line,
                found: code.clone(),
                expected: opts.currency.code().to_string(),
            });
        }
    }

    // Split every textual date once; the order is chosen from all of them.
    let mut dates: Vec<Option<DateText>> = Vec::with_capacity(rows.len());
    for row in &rows {
        dates.push(match &row.date {
            RawDate::Parsed(_) => None,
            RawDate::Text(t) => DateText::parse(t),
        });
    }
    let order = date::resolve_order(
        opts.date_order,
        rows.iter()
            .zip(&dates)
            .filter_map(|(r, d)| d.map(|d| (r.line, d))),
    )?;

    let (mut comma, mut dot) = (0, 0);
    for text in rows.iter().filter_map(|r| r.amount.text()) {
        match amount::vote(text) {
            Some(DecimalSeparator::Comma) => comma += 1,
            Some(DecimalSeparator::Dot) => dot += 1,
            None => {}
        }
    }
    let sep = amount::resolve_separator(opts.decimal, comma, dot, decimal_hint);

    let default_account = account
        .clone()
        .or_else(|| opts.account.clone())
        .unwrap_or_default();
    let mut occurrences = Occurrences::default();
    let mut out = Vec::with_capacity(rows.len());
    let (mut skipped_credits, mut skipped_zero) = (0, 0);

    for (row, split) in rows.into_iter().zip(dates) {
        let line = row.line;
        let date = match (&row.date, split) {
            (RawDate::Parsed(d), _) => *d,
            (RawDate::Text(_), Some(t)) => match t.to_date(order) {
                Some(d) => d,
                None => {
                    errors.push(RowError::new(
                        line,
                        format!(
                            "{} is not a date in {order} order",
                            describe_text(&row.date)
                        ),
                    ));
                    continue;
                }
            },
            (RawDate::Text(t), None) => {
                let message = if t.trim().is_empty() {
                    "the date is empty".to_string()
                } else {
                    format!("{:?} is not a date", amount::shorten(t))
                };
                errors.push(RowError::new(line, message));
                continue;
            }
        };

        let spent = match spent(&row.amount, sep, sign) {
            Ok(v) => v,
            Err(message) => {
                errors.push(RowError::new(line, message));
                continue;
            }
        };
        if let Some(code) = &row.currency {
            if !opts.accepts_currency(code) {
                errors.push(RowError::new(
                    line,
                    format!(
                        "the amount is in {code}, the ledger in {}",
                        opts.currency.code()
                    ),
                ));
                continue;
            }
        }
        let spent = match amount::to_minor_units(
            spent,
            opts.currency.code(),
            opts.currency.minor_units(),
        ) {
            Ok(v) => v,
            Err(message) => {
                errors.push(RowError::new(line, message));
                continue;
            }
        };
        if spent.is_zero() {
            skipped_zero += 1;
            continue;
        }
        if spent.is_sign_negative() && opts.credits == Credits::Skip {
            skipped_credits += 1;
            continue;
        }

        // The payee names the expense best (Tesco, not "card payment 03/02");
        // a bank's free text then stays available as the memo.
        let (description, memo) = match (&row.payee, row.description, row.memo) {
            (Some(p), Some(d), memo) => (p.clone(), memo.or(Some(d))),
            (Some(p), None, memo) => (p.clone(), memo),
            (None, Some(d), memo) => (d, memo),
            (None, None, Some(m)) => (m.clone(), Some(m)),
            (None, None, None) => (String::new(), None),
        };
        let acct = row.account.as_deref().unwrap_or(&default_account);
        let fingerprint = match &row.bank_id {
            Some(id) => fingerprint::by_bank_id(acct, id),
            None => occurrences.fingerprint(acct, date, spent, &description),
        };
        out.push(Row {
            line,
            date,
            amount: spent,
            description,
            payee: row.payee,
            memo,
            category: row.category,
            bank_id: row.bank_id,
            fingerprint,
        });
    }

    errors.sort_by_key(|e| e.line);
    if !errors.is_empty() && !opts.skip_invalid {
        return Err(Error::InvalidRows(errors));
    }
    Ok(Statement {
        account,
        currency: currency.map(|(_, c)| c),
        rows: out,
        skipped_credits,
        skipped_zero,
        errors,
    })
}

fn describe_text(date: &RawDate) -> String {
    match date {
        RawDate::Text(t) => format!("{:?}", amount::shorten(t.trim())),
        RawDate::Parsed(d) => d.to_string(),
    }
}

/// The amount as money spent: positive out, negative in.
fn spent(raw: &RawAmount, sep: DecimalSeparator, sign: AmountSign) -> Result<Decimal, String> {
    Ok(match raw {
        RawAmount::Parsed(v) => -*v,
        RawAmount::Signed(t) => {
            let v = amount::parse(t, sep)?;
            match sign {
                AmountSign::DebitNegative => -v,
                AmountSign::DebitPositive => v,
            }
        }
        RawAmount::Out(t) => amount::parse(t, sep)?.abs(),
        RawAmount::In(t) => -amount::parse(t, sep)?.abs(),
    })
}
