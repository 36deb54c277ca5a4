//! The errors of this crate's boundary: one enum for whole-file problems, and
//! [`RowError`] for a single transaction that could not be read.

use std::fmt;

use crate::options::Format;

/// One transaction that could not be read, with the line where it starts.
///
/// Lines are 1-based and count the decoded text's lines, so they match what a
/// text editor shows for the uploaded file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub line: usize,
    pub message: String,
}

impl RowError {
    pub(crate) fn new(line: usize, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for RowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Why a whole statement was refused. Every variant that points into the file
/// carries a 1-based line, so an API can answer 422 naming it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the file is empty")]
    Empty,
    #[error("line {line}: this is not a {claimed} file: {reason}")]
    WrongFormat {
        claimed: Format,
        line: usize,
        reason: String,
    },
    #[error("line {line}: malformed {format} file: {message}")]
    Malformed {
        format: Format,
        line: usize,
        message: String,
    },
    #[error(
        "line {line}: no header with the required column(s) {}; name them with the column mapping options",
        missing.join(", ")
    )]
    MissingColumns {
        line: usize,
        missing: Vec<&'static str>,
    },
    #[error("line {line}: the mapped column {column:?} is not in the header")]
    UnknownColumn { line: usize, column: String },
    #[error(
        "line {line}: the date {example:?} can be read as day/month or month/day and no date in the file decides it; set date_format to dmy or mdy"
    )]
    AmbiguousDates { line: usize, example: String },
    #[error(
        "line {line}: the dates in this file fit neither day/month nor month/day order consistently; set date_format"
    )]
    InconsistentDates { line: usize },
    #[error(
        "line {line}: the statement is in {found} but the ledger is in {expected}; map the currency to import it anyway"
    )]
    CurrencyMismatch {
        line: usize,
        found: String,
        expected: String,
    },
    #[error("line {line}: more than {max} rows; split the statement")]
    TooManyRows { line: usize, max: usize },
    #[error("unknown text encoding {0:?}")]
    UnknownEncoding(String),
    #[error("invalid option: {0}")]
    InvalidOption(String),
    #[error("{} row(s) could not be read; {}", .0.len(), first_error(.0))]
    InvalidRows(Vec<RowError>),
}

fn first_error(errors: &[RowError]) -> String {
    match errors.first() {
        Some(e) => format!("first at {e}; use skip_invalid to import the others"),
        None => String::new(),
    }
}

impl Error {
    /// The line an API should name, when the problem sits at one place in the file.
    pub fn line(&self) -> Option<usize> {
        match self {
            Error::WrongFormat { line, .. }
            | Error::Malformed { line, .. }
            | Error::MissingColumns { line, .. }
            | Error::UnknownColumn { line, .. }
            | Error::AmbiguousDates { line, .. }
            | Error::InconsistentDates { line }
            | Error::CurrencyMismatch { line, .. }
            | Error::TooManyRows { line, .. } => Some(*line),
            Error::InvalidRows(rows) => rows.first().map(|r| r.line),
            Error::Empty | Error::UnknownEncoding(_) | Error::InvalidOption(_) => None,
        }
    }

    /// The rows that failed, when that is why the file was refused.
    pub fn row_errors(&self) -> &[RowError] {
        match self {
            Error::InvalidRows(rows) => rows,
            _ => &[],
        }
    }
}
