//! # statements: bank statements into normalized transactions
//!
//! Pure and synchronous: bytes and [`Options`] in, a [`Statement`] out. The
//! server wraps it (upload, progress, deduplication against the log, append);
//! this crate knows nothing of ledgers beyond their currency.
//!
//! ## Layout
//!
//! - `decode`: bytes to text (BOM, UTF-16 sniffing, OFX charset, Windows-1252).
//! - `detect` (in this file): which format a text is, and whether it is text.
//! - `csv_file/`, `ofx`, `qif`: one parser per format, each producing raw rows
//!   (`csv_file/header`: finding the header row and its columns).
//! - `tags`: the lenient SGML/XML tag reader behind `ofx`.
//! - `date`, `amount`: the written forms of dates and amounts, and the
//!   per-file choices of day/month order and decimal separator.
//! - `normalize`: the rules all formats share, from raw rows to [`Row`]s.
//! - [`fingerprint`]: duplicate keys.
//! - `options`, `statement`, `error`: the crate's boundary types.

mod amount;
mod csv_file;
mod date;
mod decode;
mod error;
pub mod fingerprint;
mod normalize;
mod ofx;
mod options;
mod qif;
mod statement;
mod tags;

pub use decode::{decode, encoding_for_label, DetectedEncoding, Detection};
pub use error::{Error, RowError};
pub use options::{
    AmountSign, ColumnMapping, ColumnRef, Credits, Currency, DateOrder, DecimalSeparator, Format,
    Options, DEFAULT_MAX_ROWS,
};
pub use statement::{Row, Statement};

/// A parsed statement with what was detected on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub statement: Statement,
    pub format: Format,
    pub encoding: DetectedEncoding,
}

/// Parses a statement file.
///
/// # Errors
/// Every [`Error`] variant: the file is refused as a whole, naming a line
/// where it can. Unreadable rows refuse it too ([`Error::InvalidRows`]) unless
/// `opts.skip_invalid` is set, in which case they are listed in
/// [`Statement::errors`].
pub fn parse(bytes: &[u8], opts: &Options) -> Result<Parsed, Error> {
    let explicit = opts
        .encoding
        .as_deref()
        .map(encoding_for_label)
        .transpose()?;
    let (text, encoding) = decode(bytes, explicit);
    let statement_format = check_text(&text, opts.format)?;
    let raw = match statement_format {
        Format::Csv => csv_file::parse(&text, opts)?,
        Format::Ofx => ofx::parse(&text, opts)?,
        Format::Qif => qif::parse(&text, opts)?,
    };
    let statement = normalize::finish(raw, opts)?;
    Ok(Parsed {
        statement,
        format: statement_format,
        encoding,
    })
}

/// The format a text looks like. Anything that is neither OFX nor QIF is
/// taken for CSV, whose own parser then says whether it found a header.
pub fn detect_format(text: &str) -> Format {
    let start = text.trim_start_matches(|c: char| c.is_whitespace() || c == '\u{feff}');
    let head = prefix(start, 4096).to_ascii_uppercase();
    if head.starts_with("OFXHEADER")
        || head.starts_with("<OFX")
        || (head.starts_with("<?XML") && (head.contains("<OFX") || head.contains("OFXHEADER")))
    {
        return Format::Ofx;
    }
    if let Some(rest) = head.strip_prefix('!') {
        if ["TYPE", "ACCOUNT", "OPTION", "CLEAR"]
            .iter()
            .any(|k| rest.starts_with(k))
        {
            return Format::Qif;
        }
    }
    Format::Csv
}

fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Refuses what is not a statement of the claimed format before any parser
/// runs, so the error says what the file looks like instead of what failed.
fn check_text(text: &str, claimed: Option<Format>) -> Result<Format, Error> {
    if text
        .trim_matches(|c: char| c.is_whitespace() || c == '\u{1a}')
        .is_empty()
    {
        return Err(Error::Empty);
    }
    let detected = detect_format(text);
    let format = claimed.unwrap_or(detected);
    let leading = text.len() - text.trim_start().len();
    let first_line = 1 + text[..leading].bytes().filter(|&b| b == b'\n').count();
    if text.trim_start().starts_with("%PDF") {
        return Err(Error::WrongFormat {
            claimed: format,
            line: 1,
            reason: "it is a PDF; export the statement as CSV, OFX or QIF".into(),
        });
    }
    // Control characters other than tab, line breaks, form feed and the DOS
    // end-of-file marker mean binary data (a spreadsheet, an archive).
    if let Some(at) = text.find(|c: char| {
        c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\u{c}' | '\u{1a}' | '\u{85}')
    }) {
        let line = 1 + text[..at].bytes().filter(|&b| b == b'\n').count();
        return Err(Error::WrongFormat {
            claimed: format,
            line,
            reason: "it holds binary data, not text".into(),
        });
    }
    match (claimed, detected) {
        (None, d) => Ok(d),
        (Some(c), d) if c == d => Ok(c),
        (Some(Format::Csv), d) => Err(Error::WrongFormat {
            claimed: Format::Csv,
            line: first_line,
            reason: format!("it looks like an {d} file"),
        }),
        (Some(Format::Ofx), _) => Err(Error::WrongFormat {
            claimed: Format::Ofx,
            line: first_line,
            reason: "there is no OFX header or <OFX> element".into(),
        }),
        (Some(Format::Qif), _) => Err(Error::WrongFormat {
            claimed: Format::Qif,
            line: first_line,
            reason: "expected a !Type: header such as !Type:Bank".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_told_apart() {
        assert_eq!(detect_format("OFXHEADER:100\nDATA:OFXSGML"), Format::Ofx);
        assert_eq!(
            detect_format("\n<?xml version=\"1.0\"?>\n<?OFX OFXHEADER=\"200\"?>"),
            Format::Ofx
        );
        assert_eq!(detect_format("<OFX><SIGNONMSGSRSV1>"), Format::Ofx);
        assert_eq!(detect_format("!Type:Bank\nD1/2/25"), Format::Qif);
        assert_eq!(detect_format("!Account\nNChecking"), Format::Qif);
        assert_eq!(detect_format("Date,Amount\n"), Format::Csv);
        assert_eq!(detect_format("<?xml version=\"1.0\"?><html>"), Format::Csv);
    }
}
