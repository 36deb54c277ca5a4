//! From an uploaded file and its options to the expenses it would record: the
//! query's options as the `statements` crate's, the parse, and each row checked
//! as an expense of the ledger. All of it runs before the import is announced, so
//! a file that is not what it claims is refused at once, naming the line.

use std::collections::BTreeMap;

use chrono::Datelike;
use ledger::commands::expense::NewExpense;
use ledger::{Amount, Category, Currency, Description, ExpenseId, ImportId, LedgerId, Merchant};
use serde::Deserialize;
use statements::{ColumnMapping, ColumnRef, Options, RowError};

/// The most rows one file may hold; the `max_rows` option can only lower it.
pub(crate) const MAX_ROWS: usize = statements::DEFAULT_MAX_ROWS;
/// The category of rows the statement gives none, unless `category` says otherwise.
pub(crate) const DEFAULT_CATEGORY: &str = "uncategorized";
/// Longest file name kept, in characters.
const MAX_FILE_NAME: usize = 255;

/// The query of `POST /v1/ledgers/{lid}/imports` (and the CLI's flags).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ImportQuery {
    /// Detected from the file when absent; case does not matter.
    #[param(value_type = Option<crate::routes::openapi::ImportFormat>)]
    pub(crate) format: Option<String>,
    pub(crate) encoding: Option<String>,
    pub(crate) date_format: Option<String>,
    pub(crate) decimal: Option<String>,
    pub(crate) delimiter: Option<String>,
    /// `skip` (default) or `refund`.
    pub(crate) credits: Option<String>,
    /// `debit_negative` (default) or `debit_positive`.
    pub(crate) amount_sign: Option<String>,
    #[serde(default)]
    pub(crate) skip_invalid: bool,
    pub(crate) account: Option<String>,
    /// `USD:EUR,GBP:EUR`: take amounts in USD or GBP as they are.
    pub(crate) currency_map: Option<String>,
    #[serde(default)]
    pub(crate) allow_currency: bool,
    pub(crate) file_name: Option<String>,
    /// For rows the statement gives no category.
    pub(crate) category: Option<String>,
    pub(crate) max_rows: Option<usize>,
    pub(crate) date_column: Option<String>,
    pub(crate) amount_column: Option<String>,
    pub(crate) debit_column: Option<String>,
    pub(crate) credit_column: Option<String>,
    pub(crate) description_column: Option<String>,
    pub(crate) payee_column: Option<String>,
    pub(crate) memo_column: Option<String>,
    pub(crate) category_column: Option<String>,
    pub(crate) id_column: Option<String>,
    pub(crate) currency_column: Option<String>,
    pub(crate) balance_column: Option<String>,
}

/// Why a file is refused before any import starts.
#[derive(Debug)]
pub(crate) struct Refused {
    /// The query option at fault, if it is one.
    pub(crate) field: Option<&'static str>,
    pub(crate) message: String,
    pub(crate) line: Option<usize>,
    pub(crate) errors: Vec<RowError>,
}

impl Refused {
    fn option(field: &'static str, message: impl std::fmt::Display) -> Refused {
        Refused {
            field: Some(field),
            message: format!("{field}: {message}"),
            line: None,
            errors: Vec::new(),
        }
    }
}

impl From<statements::Error> for Refused {
    fn from(e: statements::Error) -> Self {
        let field = match &e {
            statements::Error::InvalidOption(_) => Some("query"),
            statements::Error::UnknownEncoding(_) => Some("encoding"),
            _ => None,
        };
        Refused {
            field,
            message: e.to_string(),
            line: e.line(),
            errors: e.row_errors().to_vec(),
        }
    }
}

/// What the statement asks the ledger to record, checked and ready to append.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub(crate) import_id: ImportId,
    pub(crate) ledger: LedgerId,
    pub(crate) format: String,
    pub(crate) encoding: String,
    pub(crate) file_name: Option<String>,
    /// In file order.
    pub(crate) rows: Vec<Draft>,
    /// Rows left out as unreadable (only with `skip_invalid`).
    pub(crate) errors: Vec<RowError>,
    pub(crate) skipped_credits: u64,
    pub(crate) skipped_zero: u64,
    /// Identifies the file and options, for logs.
    pub(crate) content_hash: String,
}

/// One row as the expense it would record.
#[derive(Debug)]
pub(crate) struct Draft {
    pub(crate) line: u64,
    pub(crate) expense: NewExpense,
}

/// The expense id a statement row records under: the same row (same fingerprint)
/// always maps to the same id in a ledger, so the log itself refuses to record it
/// twice, whichever process imports it.
pub(crate) fn expense_id_for(ledger: LedgerId, fingerprint: &str) -> ExpenseId {
    ExpenseId::from_uuid(uuid::Uuid::new_v5(
        &ledger.as_uuid(),
        format!("statement-row:{fingerprint}").as_bytes(),
    ))
}

/// The parser's options for a ledger in `currency`.
///
/// # Errors
/// A [`Refused`] naming the option that is not understood.
pub(crate) fn options(query: &ImportQuery, currency: Currency) -> Result<Options, Refused> {
    let ledger_currency = statements::Currency::new(&currency.to_string(), currency.minor_units())?;
    let mut o = Options::new(ledger_currency);
    o.format = query.format.as_deref().map(str::parse).transpose()?;
    o.encoding = query.encoding.clone().filter(|e| !e.trim().is_empty());
    o.date_order = query.date_format.as_deref().map(str::parse).transpose()?;
    o.decimal = query.decimal.as_deref().map(str::parse).transpose()?;
    o.delimiter = query.delimiter.as_deref().map(delimiter).transpose()?;
    o.credits = match query.credits.as_deref().map(str::trim) {
        None | Some("skip") => statements::Credits::Skip,
        Some("refund") => statements::Credits::Refund,
        Some(other) => {
            return Err(Refused::option(
                "credits",
                format!("{other:?}: expected skip or refund"),
            ))
        }
    };
    o.amount_sign = match query.amount_sign.as_deref().map(str::trim) {
        None | Some("debit_negative") => statements::AmountSign::DebitNegative,
        Some("debit_positive") => statements::AmountSign::DebitPositive,
        Some(other) => {
            return Err(Refused::option(
                "amount_sign",
                format!("{other:?}: expected debit_negative or debit_positive"),
            ))
        }
    };
    o.skip_invalid = query.skip_invalid;
    o.max_rows = match query.max_rows {
        None => MAX_ROWS,
        Some(n) if (1..=MAX_ROWS).contains(&n) => n,
        Some(_) => {
            return Err(Refused::option(
                "max_rows",
                format!("between 1 and {MAX_ROWS}"),
            ))
        }
    };
    o.account = query
        .account
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(|a| a.chars().take(200).collect());
    o.allow_any_currency = query.allow_currency;
    o.currency_map = currency_map(query.currency_map.as_deref().unwrap_or_default())?;
    o.columns = columns(query)?;
    Ok(o)
}

fn delimiter(text: &str) -> Result<u8, Refused> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "comma" => Ok(b','),
        "semicolon" => Ok(b';'),
        "pipe" => Ok(b'|'),
        t if t.len() == 1 && t.as_bytes()[0].is_ascii_punctuation() => Ok(t.as_bytes()[0]),
        _ => Err(Refused::option(
            "delimiter",
            "one ASCII punctuation character, or tab",
        )),
    }
}

fn currency_map(text: &str) -> Result<BTreeMap<String, String>, Refused> {
    let mut map = BTreeMap::new();
    for pair in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let Some((from, to)) = pair.split_once(':') else {
            return Err(Refused::option(
                "currency_map",
                "pairs such as USD:EUR, separated by commas",
            ));
        };
        for code in [from, to] {
            Currency::parse(code.trim()).map_err(|e| Refused::option("currency_map", e))?;
        }
        map.insert(
            from.trim().to_ascii_uppercase(),
            to.trim().to_ascii_uppercase(),
        );
    }
    Ok(map)
}

fn columns(q: &ImportQuery) -> Result<ColumnMapping, Refused> {
    let column = |field: &'static str, value: &Option<String>| {
        value
            .as_deref()
            .map(|v| {
                v.parse::<ColumnRef>()
                    .map_err(|e| Refused::option(field, e))
            })
            .transpose()
    };
    Ok(ColumnMapping {
        date: column("date_column", &q.date_column)?,
        amount: column("amount_column", &q.amount_column)?,
        debit: column("debit_column", &q.debit_column)?,
        credit: column("credit_column", &q.credit_column)?,
        description: column("description_column", &q.description_column)?,
        payee: column("payee_column", &q.payee_column)?,
        memo: column("memo_column", &q.memo_column)?,
        category: column("category_column", &q.category_column)?,
        id: column("id_column", &q.id_column)?,
        currency: column("currency_column", &q.currency_column)?,
        balance: column("balance_column", &q.balance_column)?,
    })
}

/// Parses `bytes` and turns every row into the expense it would record. CPU work:
/// call it off the async workers.
///
/// # Errors
/// A [`Refused`] for a file that is not a readable statement for this ledger: the
/// parser's whole-file errors, and rows that cannot be expenses of this ledger
/// unless `skip_invalid` is set.
pub(crate) fn prepare(
    bytes: &[u8],
    query: &ImportQuery,
    ledger: LedgerId,
    currency: Currency,
    import_id: ImportId,
) -> Result<Prepared, Refused> {
    let options = options(query, currency)?;
    // Stricter than a category sent by hand: no tabs or line breaks either.
    let default_category = match query.category.as_deref() {
        None => Category::parse(DEFAULT_CATEGORY).ok(),
        Some(c) => Category::parse(c)
            .ok()
            .filter(|c| !c.as_str().chars().any(char::is_control)),
    }
    .ok_or_else(|| {
        Refused::option(
            "category",
            format!("1 to {} characters, no control characters", Category::MAX),
        )
    })?;
    let file_name = query
        .file_name
        .as_deref()
        .and_then(|n| ledger::text::cleaned(n, MAX_FILE_NAME));
    let parsed = statements::parse(bytes, &options)?;
    let statement = parsed.statement;
    let mut errors = statement.errors;
    let mut rows = Vec::with_capacity(statement.rows.len());
    for row in statement.rows {
        match draft(&row, ledger, currency, &default_category) {
            Ok(expense) => rows.push(Draft {
                line: row.line as u64,
                expense,
            }),
            Err(message) => errors.push(RowError {
                line: row.line,
                message,
            }),
        }
    }
    // Without skip_invalid the parser already refused its own unreadable rows; what
    // is left are rows that read fine but cannot be expenses of this ledger.
    if !options.skip_invalid && !errors.is_empty() {
        return Err(statements::Error::InvalidRows(errors).into());
    }
    errors.sort_by_key(|e| e.line);
    Ok(Prepared {
        import_id,
        ledger,
        format: match parsed.format {
            statements::Format::Csv => "csv",
            statements::Format::Ofx => "ofx",
            statements::Format::Qif => "qif",
        }
        .to_owned(),
        encoding: parsed.encoding.name().to_owned(),
        file_name,
        rows,
        errors,
        skipped_credits: statement.skipped_credits as u64,
        skipped_zero: statement.skipped_zero as u64,
        content_hash: content_hash(bytes, query),
    })
}

fn draft(
    row: &statements::Row,
    ledger: LedgerId,
    currency: Currency,
    default_category: &Category,
) -> Result<NewExpense, String> {
    if !(1970..=2200).contains(&row.date.year()) {
        return Err(format!("date {} is not between 1970 and 2200", row.date));
    }
    let amount = Amount::from_decimal(row.amount, currency).map_err(|e| format!("amount: {e}"))?;
    if amount.is_zero() {
        return Err("amount is zero".into());
    }
    let category = row
        .category
        .as_deref()
        .and_then(Category::cleaned)
        .unwrap_or_else(|| default_category.clone());
    let merchant = Merchant::cleaned(&row.description);
    let description = row.memo.as_deref().and_then(Description::cleaned);
    Ok(NewExpense {
        expense_id: expense_id_for(ledger, &row.fingerprint),
        amount,
        occurred_on: row.date,
        category,
        merchant,
        description,
        tags: Vec::new(),
        original: None,
    })
}

fn content_hash(bytes: &[u8], query: &ImportQuery) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    hash.update(bytes);
    hash.update(format!("{query:?}").as_bytes());
    hex::encode(&hash.finalize()[..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn rows_become_expenses_with_stable_ids() {
        let csv = b"Date,Description,Amount\n2025-04-01,Coffee,-3.20\n2025-04-01,Coffee,-3.20\n2025-04-02,Salary,1000.00\n";
        let ledger = LedgerId::new();
        let q = ImportQuery::default();
        let a = prepare(csv, &q, ledger, eur(), ImportId::new()).unwrap();
        let b = prepare(csv, &q, ledger, eur(), ImportId::new()).unwrap();
        assert_eq!(a.rows.len(), 2, "two coffees, salary skipped");
        assert_eq!(a.skipped_credits, 1);
        assert_ne!(a.rows[0].expense.expense_id, a.rows[1].expense.expense_id);
        assert_eq!(a.rows[0].expense.expense_id, b.rows[0].expense.expense_id);
        assert_eq!(a.rows[0].line, 2);
        assert_eq!(a.rows[0].expense.category.as_str(), DEFAULT_CATEGORY);
        assert_eq!(
            a.rows[0].expense.merchant.as_ref().map(Merchant::as_str),
            Some("Coffee")
        );
        let elsewhere = prepare(csv, &q, LedgerId::new(), eur(), ImportId::new()).unwrap();
        assert_ne!(
            elsewhere.rows[0].expense.expense_id,
            a.rows[0].expense.expense_id
        );
    }

    #[test]
    fn refusals_name_the_line_and_the_option() {
        let q = ImportQuery {
            format: Some("ofx".into()),
            ..ImportQuery::default()
        };
        let e = prepare(
            b"Date,Amount\n2025-01-01,-1\n",
            &q,
            LedgerId::new(),
            eur(),
            ImportId::new(),
        )
        .unwrap_err();
        assert_eq!(e.line, Some(1));
        let q = ImportQuery {
            credits: Some("keep".into()),
            ..ImportQuery::default()
        };
        let e = prepare(b"x", &q, LedgerId::new(), eur(), ImportId::new()).unwrap_err();
        assert_eq!(e.field, Some("credits"));
        let q = ImportQuery {
            currency_map: Some("USD".into()),
            ..ImportQuery::default()
        };
        assert!(prepare(b"x", &q, LedgerId::new(), eur(), ImportId::new()).is_err());
    }
}
