//! CSV statements. The csv crate does the quoting; this module finds the
//! delimiter and the header row, maps columns to roles, and turns records into
//! raw rows.
//!
//! Banks put lines above the header (account name, period, IBAN), so the header
//! is the first of the leading records that names a date column and an amount
//! (or a debit or credit) column, in English or German. Column mapping options
//! override detection by header name or by 1-based position; with positions for
//! date and amount a file needs no header at all.//!
//! ## Layout
//!
//! - this file: the delimiter, the records, and each record as a raw row.
//! - `header`: finding the header row and mapping its columns to roles.

mod header;

use crate::error::Error;
use crate::normalize::{tidy, RawAmount, RawDate, RawRow, RawStatement};
use crate::options::{ColumnMapping, ColumnRef, DecimalSeparator, Options};

/// How many leading records may precede the header.
const HEADER_SCAN: usize = 30;

use header::{
    layout_from_header, layout_from_positions, mapped, normalize_header, Layout,
    MAX_HEADER_COLUMNS, SYNONYMS,
};

/// The delimiter among `,`, `;` and tab that occurs most outside quotes in
/// the first lines; a comma on a tie.
fn sniff_delimiter(text: &str) -> u8 {
    let mut counts = [0usize; 3];
    let mut in_quotes = false;
    let mut lines = 0;
    for b in text.bytes() {
        match b {
            b'"' => in_quotes = !in_quotes,
            b',' if !in_quotes => counts[0] += 1,
            b';' if !in_quotes => counts[1] += 1,
            b'\t' if !in_quotes => counts[2] += 1,
            b'\n' if !in_quotes => {
                lines += 1;
                if lines >= HEADER_SCAN {
                    break;
                }
            }
            _ => {}
        }
    }
    let best = (0..3)
        .max_by_key(|&i| (counts[i], std::cmp::Reverse(i)))
        .unwrap_or(0);
    [b',', b';', b'\t'][best]
}

/// Lines from byte offsets. The csv crate's own line numbers lag behind on
/// CRLF files (it reports where the previous terminator began), so records are
/// located by byte offset and the line is counted here, incrementally.
struct Lines<'a> {
    text: &'a [u8],
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text: text.as_bytes(),
            offset: 0,
            line: 1,
        }
    }

    fn line_at(&mut self, byte: usize) -> usize {
        let mut start = byte.min(self.text.len());
        while matches!(self.text.get(start), Some(b'\r' | b'\n')) {
            start += 1;
        }
        if start < self.offset {
            self.offset = 0;
            self.line = 1;
        }
        self.line += self.text[self.offset..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = start;
        self.line
    }
}

fn field(record: &csv::StringRecord, col: Option<usize>) -> Option<&str> {
    col.and_then(|c| record.get(c))
}

/// A value such as `0,00` in the credit column of a debit row says nothing.
fn is_blank_amount(text: &str) -> bool {
    text.bytes()
        .all(|b| matches!(b, b'0' | b'.' | b',' | b' ' | b'-' | b'+'))
}

/// # Errors
/// [`Error::MissingColumns`] or [`Error::UnknownColumn`] without a usable
/// header, [`Error::TooManyRows`].
pub(crate) fn parse(text: &str, opts: &Options) -> Result<RawStatement, Error> {
    let delimiter = opts.delimiter.unwrap_or_else(|| sniff_delimiter(text));
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut raw = RawStatement::new(opts.max_rows);
    raw.sign = opts.amount_sign;
    if delimiter == b';' {
        raw.decimal_hint = Some(DecimalSeparator::Comma);
    }

    let positions = layout_from_positions(&opts.columns);
    let mut layout: Option<Layout> = None;
    let mut leading: Vec<Vec<String>> = Vec::new();
    let mut lines = Lines::new(text);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(err) => {
                // Only invalid UTF-8 or I/O can fail here, and the input is a
                // &str in memory; still, refuse rather than loop.
                let line = lines.line_at(err.position().map_or(0, |p| p.byte() as usize));
                return Err(Error::Malformed {
                    format: crate::Format::Csv,
                    line,
                    message: err.to_string(),
                });
            }
        }
        let line = lines.line_at(record.position().map_or(0, |p| p.byte() as usize));
        if record.iter().all(str::is_empty) {
            continue;
        }
        let columns = match &layout {
            Some(l) => l,
            None => {
                if let Some(found) = layout_from_header(&record, &opts.columns) {
                    layout = Some(found);
                    continue;
                }
                match &positions {
                    Some(p) => layout.insert(p.clone()),
                    None => {
                        leading.push(
                            record
                                .iter()
                                .take(MAX_HEADER_COLUMNS)
                                .map(normalize_header)
                                .collect(),
                        );
                        if leading.len() >= HEADER_SCAN {
                            break;
                        }
                        continue;
                    }
                }
            }
        };
        read_record(&record, columns, line, &mut raw)?;
    }

    if layout.is_none() {
        return Err(no_header(&opts.columns, &leading));
    }
    lift_uniform_currency(&mut raw);
    Ok(raw)
}

/// Names what kept every leading record from being the header: a mapped
/// column name found nowhere, else the required roles.
fn no_header(mapping: &ColumnMapping, leading: &[Vec<String>]) -> Error {
    for (role, _) in SYNONYMS {
        if let Some(ColumnRef::Name(name)) = mapped(mapping, *role) {
            let wanted = normalize_header(name);
            if !leading.iter().any(|names| names.contains(&wanted)) {
                return Error::UnknownColumn {
                    line: 1,
                    column: name.clone(),
                };
            }
        }
    }
    let mut partial = Layout::default();
    if mapping.date.is_some() {
        partial.date = Some(0);
    }
    if mapping.amount.is_some() || mapping.debit.is_some() || mapping.credit.is_some() {
        partial.amount = Some(0);
    }
    let mut missing = partial.missing();
    if missing.is_empty() {
        missing = vec!["date", "amount (or debit/credit)"];
    }
    Error::MissingColumns { line: 1, missing }
}

fn read_record(
    record: &csv::StringRecord,
    layout: &Layout,
    line: usize,
    raw: &mut RawStatement,
) -> Result<(), Error> {
    let date = field(record, layout.date).unwrap_or("");
    let amount = match (layout.amount, layout.debit, layout.credit) {
        (Some(_), _, _) => {
            let t = field(record, layout.amount).unwrap_or("");
            if t.is_empty() {
                None
            } else {
                Some(RawAmount::Signed(t.to_string()))
            }
        }
        _ => {
            let debit = field(record, layout.debit).filter(|t| !is_blank_amount(t));
            let credit = field(record, layout.credit).filter(|t| !is_blank_amount(t));
            match (debit, credit) {
                (Some(d), None) => Some(RawAmount::Out(d.to_string())),
                (None, Some(c)) => Some(RawAmount::In(c.to_string())),
                (Some(_), Some(_)) => {
                    return raw.push_error(line, "both a debit and a credit amount");
                }
                // Zeros in both columns: an amount of zero, counted as such.
                (None, None) => [layout.debit, layout.credit]
                    .into_iter()
                    .any(|c| field(record, c).is_some_and(|t| t.contains('0')))
                    .then(|| RawAmount::Out("0".to_string())),
            }
        }
    };
    let Some(amount) = amount else {
        if date.is_empty() {
            // Separator and subtotal lines carry neither; they are no transaction.
            return Ok(());
        }
        let max = [layout.amount, layout.debit, layout.credit]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(0);
        let message = if record.len() <= max {
            format!(
                "expected at least {} fields, found {}",
                max + 1,
                record.len()
            )
        } else {
            "the amount is empty".to_string()
        };
        return raw.push_error(line, message);
    };
    let mut row = RawRow::new(line, RawDate::Text(date.to_string()), amount);
    row.description = field(record, layout.description).and_then(tidy);
    row.payee = field(record, layout.payee).and_then(tidy);
    row.memo = field(record, layout.memo).and_then(tidy);
    row.category = field(record, layout.category).and_then(tidy);
    row.bank_id = field(record, layout.id).and_then(tidy);
    row.currency = field(record, layout.currency)
        .and_then(tidy)
        .map(|c| c.to_ascii_uppercase());
    raw.push(row)
}

/// A currency column with one value throughout is the statement's currency,
/// checked once (a clear file-level error) instead of on every row.
fn lift_uniform_currency(raw: &mut RawStatement) {
    let mut codes = raw
        .rows
        .iter()
        .filter_map(|r| r.currency.as_deref().map(|c| (r.line, c)));
    let Some((line, first)) = codes.next() else {
        return;
    };
    if codes.all(|(_, c)| c == first) {
        raw.currency = Some((line, first.to_string()));
        for row in &mut raw.rows {
            row.currency = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(fields: &[&str]) -> Option<Layout> {
        layout_from_header(
            &csv::StringRecord::from(fields.to_vec()),
            &ColumnMapping::default(),
        )
    }

    #[test]
    fn headers_of_several_banks() {
        let uk = header(&[
            "Date",
            "Type",
            "Description",
            "Paid Out",
            "Paid In",
            "Balance",
        ])
        .unwrap();
        assert_eq!(
            (uk.date, uk.debit, uk.credit, uk.description),
            (Some(0), Some(3), Some(4), Some(2))
        );
        let de = header(&[
            "Buchungstag",
            "Valuta",
            "Auftraggeber/Empfänger",
            "Verwendungszweck",
            "Betrag (EUR)",
            "Saldo",
        ])
        .unwrap();
        assert_eq!(
            (de.date, de.amount, de.payee, de.description),
            (Some(0), Some(4), Some(2), Some(3))
        );
        let us = header(&[
            "Posting Date",
            "Description",
            "Amount",
            "Type",
            "Balance",
            "Check or Slip #",
        ])
        .unwrap();
        assert_eq!((us.date, us.amount), (Some(0), Some(2)));
        assert!(header(&["Account", "Current account 1234"]).is_none());
        assert!(header(&["Date from", "2025-01-01"]).is_none());
    }

    #[test]
    fn delimiter_sniffing_ignores_quoted_commas() {
        assert_eq!(sniff_delimiter("a;b;c\n1,5;\"x,y,z\";2\n"), b';');
        assert_eq!(sniff_delimiter("a,b,c\n\"1;2\",3,4\n"), b',');
        assert_eq!(sniff_delimiter("a\tb\tc\n1,5\t2\t3\n"), b'\t');
        assert_eq!(sniff_delimiter(""), b',');
    }
}
