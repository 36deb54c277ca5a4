//! QIF, Quicken's line format: a `!Type:` header, then records of one-letter
//! fields (`D` date, `T` or `U` amount, `P` payee, `M` memo, `L` category)
//! each ended by `^`.
//!
//! Bank, cash, credit card and other-asset/liability sections are read.
//! Category, class and memorized lists and investment sections are skipped:
//! they hold no spending. A `!Account` block names the account. Split lines
//! (`S`, `E`, `$`) are ignored: the record's total `T` is what left the account.
//! Amounts are signed as Quicken writes them, negative for money out.

use crate::error::Error;
use crate::normalize::{tidy, RawAmount, RawDate, RawRow, RawStatement};
use crate::options::{Format, Options};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Before any header.
    Start,
    Transactions,
    Account,
    Skipped,
}

#[derive(Debug, Default)]
struct Record {
    line: usize,
    date: Option<String>,
    amount: Option<String>,
    payee: Option<String>,
    memo: Option<String>,
    category: Option<String>,
    problem: Option<String>,
}

impl Record {
    fn is_empty(&self) -> bool {
        self.line == 0
    }
}

/// # Errors
/// [`Error::WrongFormat`] without a `!Type:` header before the first record,
/// [`Error::Malformed`] for a file with only sections this crate does not read,
/// [`Error::TooManyRows`].
pub(crate) fn parse(text: &str, opts: &Options) -> Result<RawStatement, Error> {
    let mut raw = RawStatement::new(opts.max_rows);
    let mut section = Section::Start;
    let mut record = Record::default();
    // The first account names the statement; records of later accounts in a
    // multi-account export carry their own.
    let mut first_account: Option<String> = None;
    let mut current_account: Option<String> = None;
    let mut saw_transactions_section = false;
    let mut skipped_header_line = None;

    for (index, full) in text.lines().enumerate() {
        let line = index + 1;
        let l = full.trim();
        // DOS end-of-file marker in files from old Quicken versions.
        if l.is_empty() || l == "\u{1a}" {
            continue;
        }
        if let Some(header) = l.strip_prefix('!') {
            finish(&mut record, &mut raw, &first_account, &current_account)?;
            let lower = header.trim().to_ascii_lowercase();
            section = if let Some(kind) = lower.strip_prefix("type:") {
                match kind.trim() {
                    "bank" | "cash" | "ccard" | "oth a" | "oth l" => {
                        saw_transactions_section = true;
                        Section::Transactions
                    }
                    _ => {
                        skipped_header_line.get_or_insert(line);
                        Section::Skipped
                    }
                }
            } else if lower == "account" {
                Section::Account
            } else if lower.starts_with("option") || lower.starts_with("clear") {
                if section == Section::Start {
                    continue;
                }
                section
            } else if section == Section::Start {
                return Err(not_qif(line));
            } else {
                Section::Skipped
            };
            continue;
        }
        match section {
            Section::Start => return Err(not_qif(line)),
            Section::Skipped => {}
            Section::Account => {
                if let Some(name) = l.strip_prefix('N') {
                    current_account = tidy(name);
                    if first_account.is_none() {
                        first_account.clone_from(&current_account);
                    }
                }
            }
            Section::Transactions => {
                if l.starts_with('^') {
                    finish(&mut record, &mut raw, &first_account, &current_account)?;
                } else {
                    field(&mut record, l, line);
                }
            }
        }
    }
    finish(&mut record, &mut raw, &first_account, &current_account)?;
    if !saw_transactions_section {
        return Err(Error::Malformed {
            format: Format::Qif,
            line: skipped_header_line.unwrap_or(1),
            message: "no bank, cash or credit card section (!Type:Bank, !Type:CCard, ...)".into(),
        });
    }
    raw.account = first_account;
    Ok(raw)
}

fn not_qif(line: usize) -> Error {
    Error::WrongFormat {
        claimed: Format::Qif,
        line,
        reason: "expected a !Type: header such as !Type:Bank".into(),
    }
}

/// Cleared flag, check number, address lines, splits, flags and the like:
/// nothing an expense needs.
const IGNORED: &str = "CNASE$%FXKBIQYROG1234567";

fn field(record: &mut Record, l: &str, line: usize) {
    let mut chars = l.chars();
    let Some(code) = chars.next() else {
        return;
    };
    let value = chars.as_str();
    if record.is_empty() {
        record.line = line;
    }
    match code {
        'D' => record.date = Some(value.to_string()),
        'T' => record.amount = Some(value.to_string()),
        'U' => {
            record.amount.get_or_insert_with(|| value.to_string());
        }
        'P' => record.payee = tidy(value),
        'M' => record.memo = tidy(value),
        'L' => record.category = tidy(value),
        c if IGNORED.contains(c) => {}
        _ => {
            record.problem.get_or_insert_with(|| {
                format!(
                    "line {line}: {:?} is not a QIF field",
                    crate::amount::shorten(l)
                )
            });
        }
    }
}

fn finish(
    record: &mut Record,
    raw: &mut RawStatement,
    first_account: &Option<String>,
    current_account: &Option<String>,
) -> Result<(), Error> {
    if record.is_empty() {
        return Ok(());
    }
    let r = std::mem::take(record);
    if let Some(problem) = r.problem {
        return raw.push_error(r.line, problem);
    }
    let Some(date) = r.date else {
        return raw.push_error(r.line, "the record has no date (D line)");
    };
    let Some(amount) = r.amount else {
        return raw.push_error(r.line, "the record has no amount (T line)");
    };
    let mut row = RawRow::new(r.line, RawDate::Text(date), RawAmount::Signed(amount));
    row.payee = r.payee;
    row.memo = r.memo;
    row.category = r.category;
    if current_account != first_account {
        row.account.clone_from(current_account);
    }
    raw.push(row)
}
