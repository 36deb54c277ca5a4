//! OFX 1.x (SGML), OFX 2.x (XML) and QFX (OFX with Intuit's `INTU.BID` sign-on
//! fields, which this reader simply does not need).
//!
//! Bank statements (`STMTRS`) and credit card statements (`CCSTMTRS`) are read;
//! a file may hold several. `TRNAMT` is signed by the standard (negative is
//! money out) whatever `TRNTYPE` says, so the amount sign option does not
//! apply. The standard allows a comma as the decimal point and no grouping.

use chrono::NaiveDate;

use crate::amount;
use crate::error::Error;
use crate::normalize::{tidy, RawAmount, RawDate, RawRow, RawStatement};
use crate::options::{DecimalSeparator, Format, Options};
use crate::tags::{self, Element};

/// # Errors
/// [`Error::Malformed`] for a damaged tag structure or a file without any
/// statement; [`Error::WrongFormat`] without an `<OFX>` element;
/// [`Error::TooManyRows`].
pub(crate) fn parse(text: &str, opts: &Options) -> Result<RawStatement, Error> {
    let roots = tags::parse(text)?;
    let Some(ofx) = roots.iter().find(|e| e.name == "OFX") else {
        return Err(Error::WrongFormat {
            claimed: Format::Ofx,
            line: 1,
            reason: "there is no <OFX> element".into(),
        });
    };
    let mut statements = Vec::new();
    find_statements(ofx, &mut statements);
    if statements.is_empty() {
        return Err(Error::Malformed {
            format: Format::Ofx,
            line: ofx.line,
            message: "no bank or credit card statement (STMTRS or CCSTMTRS) in the file".into(),
        });
    }

    let mut raw = RawStatement::new(opts.max_rows);
    for (i, stmt) in statements.into_iter().enumerate() {
        let account = stmt
            .child("BANKACCTFROM")
            .or_else(|| stmt.child("CCACCTFROM"))
            .and_then(|a| a.leaf("ACCTID"))
            .map(str::to_string);
        let currency = stmt
            .child("CURDEF")
            .and_then(|c| {
                c.text
                    .as_deref()
                    .map(|t| (c.line, t.trim().to_ascii_uppercase()))
            })
            .filter(|(_, t)| !t.is_empty());
        // The first statement speaks for the file; rows of later ones carry
        // their own account and currency when these differ.
        if i == 0 {
            raw.account = account.clone();
            raw.currency = currency.clone();
        }
        let own_account = account.filter(|a| Some(a) != raw.account.as_ref());
        let own_currency = currency
            .map(|(_, c)| c)
            .filter(|c| Some(c) != raw.currency.as_ref().map(|(_, c)| c));
        let Some(list) = stmt.child("BANKTRANLIST") else {
            continue;
        };
        for trn in list.children.iter().filter(|c| c.name == "STMTTRN") {
            match transaction(trn) {
                Ok(mut row) => {
                    row.account = own_account.clone();
                    if row.currency.is_none() {
                        row.currency = own_currency.clone();
                    }
                    raw.push(row)?;
                }
                Err(message) => raw.push_error(trn.line, message)?,
            }
        }
    }
    Ok(raw)
}

fn find_statements<'a>(e: &'a Element, out: &mut Vec<&'a Element>) {
    for child in &e.children {
        if child.name == "STMTRS" || child.name == "CCSTMTRS" {
            out.push(child);
        } else if !child.children.is_empty() {
            find_statements(child, out);
        }
    }
}

fn transaction(trn: &Element) -> Result<RawRow, String> {
    let posted = trn
        .leaf("DTPOSTED")
        .or_else(|| trn.leaf("DTUSER"))
        .ok_or("no DTPOSTED date")?;
    let date =
        date(posted).ok_or_else(|| format!("{:?} is not an OFX date", amount::shorten(posted)))?;
    let amount_text = trn.leaf("TRNAMT").ok_or("no TRNAMT amount")?;
    let value = if amount_text.contains('.') {
        amount::parse(amount_text, DecimalSeparator::Dot)
    } else {
        amount::parse(amount_text, DecimalSeparator::Comma)
    }?;
    let mut row = RawRow::new(trn.line, RawDate::Parsed(date), RawAmount::Parsed(value));
    row.payee = trn
        .leaf("NAME")
        .or_else(|| trn.child("PAYEE").and_then(|p| p.leaf("NAME")))
        .and_then(tidy);
    row.memo = trn.leaf("MEMO").and_then(tidy);
    row.bank_id = trn.leaf("FITID").and_then(tidy);
    // `CURRENCY` means the amount is in that currency; `ORIGCURRENCY` only
    // records what it was converted from, the amount being in `CURDEF`.
    row.currency = trn
        .child("CURRENCY")
        .and_then(|c| c.leaf("CURSYM"))
        .map(str::to_ascii_uppercase);
    Ok(row)
}

/// `YYYYMMDD[HHMMSS[.XXX]][[gmt offset:tz name]]`: the day as the bank wrote it.
/// The time zone is not applied, since a statement's day is the bank's day.
fn date(text: &str) -> Option<NaiveDate> {
    let digits = text.get(..8)?;
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.len() > 8
        && !text.as_bytes()[8].is_ascii_digit()
        && text.as_bytes()[8] != b'['
        && text.as_bytes()[8] != b'.'
    {
        return None;
    }
    NaiveDate::from_ymd_opt(
        digits[..4].parse().ok()?,
        digits[4..6].parse().ok()?,
        digits[6..].parse().ok()?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ofx_dates() {
        let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day);
        assert_eq!(date("20250103"), d(2025, 1, 3));
        assert_eq!(date("20250103120000"), d(2025, 1, 3));
        assert_eq!(date("20250103120000.000[-5:EST]"), d(2025, 1, 3));
        assert_eq!(date("20250103[0:GMT]"), d(2025, 1, 3));
        assert_eq!(date("2025-01-03"), None);
        assert_eq!(date("20251303"), None);
        assert_eq!(date("2025"), None);
        assert_eq!(date("2025010é"), None);
    }
}
