//! What a parse produces: normalized transactions ready to become expenses.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::error::RowError;

/// One statement, read and normalized.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The account id the file names (OFX `ACCTID`, QIF `!Account` name).
    pub account: Option<String>,
    /// The currency the file declares, if it declares one.
    pub currency: Option<String>,
    pub rows: Vec<Row>,
    /// Money in, left out because credits were not asked for as refunds.
    pub skipped_credits: usize,
    /// Rows of amount zero (card checks, fee waivers), always left out.
    pub skipped_zero: usize,
    /// Rows that could not be read; only ever non-empty with `skip_invalid`,
    /// since otherwise they fail the parse.
    pub errors: Vec<RowError>,
}

/// One transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based line where the transaction starts in the decoded text.
    pub line: usize,
    pub date: NaiveDate,
    /// In the ledger's currency at its minor units: positive is money spent,
    /// negative a refund (only with `credits = refund`).
    pub amount: Decimal,
    /// What the expense is called: the payee when the bank names one, else its
    /// description text, else the memo. Empty when the bank gives none.
    pub description: String,
    pub payee: Option<String>,
    /// The memo; or, when a payee became the description, the bank's
    /// description text (German `Verwendungszweck`).
    pub memo: Option<String>,
    pub category: Option<String>,
    /// The bank's own transaction id: OFX `FITID` or a CSV id column.
    pub bank_id: Option<String>,
    /// Duplicate key; see [`crate::fingerprint`].
    pub fingerprint: String,
}
