//! Dates as banks write them, and the choice between day/month and month/day.
//!
//! `03/04/2025` is the 3rd of April in London and March 4th in New York; only
//! the other dates of the same file can tell. So dates are first split into
//! their parts ([`DateText`]), then one order is chosen for the whole file
//! ([`resolve_order`]), then each date is built ([`DateText::to_date`]).

use chrono::NaiveDate;

use crate::error::Error;
use crate::options::DateOrder;

/// A date split into parts, before the file's date order is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DateText {
    /// Fully determined: year first, a month name, or a compact `YYYYMMDD`.
    Known { y: i32, m: u32, d: u32 },
    /// `a/b/y`: either day/month or month/day.
    Short {
        a: u32,
        b: u32,
        y: i32,
        dotted: bool,
    },
}

impl DateText {
    /// Splits a date field. `None` when it is no date in any order.
    pub(crate) fn parse(text: &str) -> Option<DateText> {
        let text = text.trim();
        // A time after the date ("2025-01-03T10:00", "03/01/2025 10:00") says
        // nothing about the day.
        let text = match text.find(['T', 't']) {
            Some(i) if i >= 8 && text.as_bytes().get(i + 1).is_some_and(u8::is_ascii_digit) => {
                &text[..i]
            }
            _ => text,
        };
        let mut parts = [""; 3];
        let mut n = 0;
        for token in text
            .split(['/', '.', '-', '\'', ' ', ','])
            .filter(|t| !t.is_empty() && !t.contains(':'))
        {
            if n == 3 {
                // A trailing "am"/"pm" or zone is harmless; anything more is not a date.
                if token.len() <= 3 && token.bytes().all(|b| b.is_ascii_alphabetic()) {
                    continue;
                }
                return None;
            }
            parts[n] = token;
            n += 1;
        }
        if n == 1 && parts[0].len() == 8 && parts[0].bytes().all(|b| b.is_ascii_digit()) {
            let s = parts[0];
            return known(num(&s[..4])? as i32, num(&s[4..6])?, num(&s[6..])?);
        }
        if n != 3 {
            return None;
        }
        let [p0, p1, p2] = parts;
        if let Some(m) = month_name(p1) {
            return known(year(p2)?, m, num(p0)?);
        }
        if let Some(m) = month_name(p0) {
            return known(year(p2)?, m, num(p1)?);
        }
        if p0.len() == 4 {
            return known(num(p0)? as i32, num(p1)?, num(p2)?);
        }
        if p0.len() > 2 || p1.len() > 2 || !(p2.len() == 2 || p2.len() == 4) {
            return None;
        }
        let (a, b, y) = (num(p0)?, num(p1)?, year(p2)?);
        let short = DateText::Short {
            a,
            b,
            y,
            dotted: text.contains('.'),
        };
        (short.fits(DateOrder::Dmy) || short.fits(DateOrder::Mdy)).then_some(short)
    }

    pub(crate) fn fits(self, order: DateOrder) -> bool {
        self.to_date(order).is_some()
    }

    pub(crate) fn to_date(self, order: DateOrder) -> Option<NaiveDate> {
        match self {
            DateText::Known { y, m, d } => NaiveDate::from_ymd_opt(y, m, d),
            DateText::Short { a, b, y, .. } => match order {
                DateOrder::Dmy => NaiveDate::from_ymd_opt(y, b, a),
                DateOrder::Mdy => NaiveDate::from_ymd_opt(y, a, b),
                DateOrder::Ymd => None,
            },
        }
    }
}

fn known(y: i32, m: u32, d: u32) -> Option<DateText> {
    NaiveDate::from_ymd_opt(y, m, d).map(|_| DateText::Known { y, m, d })
}

fn num(s: &str) -> Option<u32> {
    if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Two-digit years: Quicken's `'25` and banks' `/25` mean this century; a
/// year 70 or later is taken as the 1900s, as Quicken does.
fn year(s: &str) -> Option<i32> {
    let n = num(s)? as i32;
    match s.len() {
        2 if n < 70 => Some(2000 + n),
        2 => Some(1900 + n),
        4 => Some(n),
        _ => None,
    }
}

fn month_name(s: &str) -> Option<u32> {
    if s.len() > 12 {
        return None;
    }
    let head: String = s.chars().take(3).flat_map(char::to_lowercase).collect();
    let m = match head.as_str() {
        "jan" => 1,
        "feb" => 2,
        "mar" | "mär" => 3,
        "apr" => 4,
        "may" | "mai" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" | "okt" => 10,
        "nov" => 11,
        "dec" | "dez" => 12,
        _ => return None,
    };
    Some(m)
}

/// Chooses the order of day and month for a whole file.
///
/// `dates` pairs each short date with its line. An explicit order always wins.
/// Otherwise a date such as `25/03/2025` decides for day first, `03/25/2025`
/// for month first; dotted dates (`03.04.2025`) are day first wherever they are
/// written. A file whose every short date fits both orders is refused rather
/// than guessed, because a wrong guess silently moves expenses between months.
///
/// # Errors
/// [`Error::AmbiguousDates`] or [`Error::InconsistentDates`].
pub(crate) fn resolve_order(
    explicit: Option<DateOrder>,
    dates: impl Iterator<Item = (usize, DateText)>,
) -> Result<DateOrder, Error> {
    if let Some(order) = explicit {
        return Ok(order);
    }
    let (mut only_dmy, mut only_mdy) = (None, None);
    let mut all_dotted = true;
    let mut first_short: Option<(usize, DateText)> = None;
    for (line, date) in dates {
        let DateText::Short { dotted, .. } = date else {
            continue;
        };
        all_dotted &= dotted;
        first_short.get_or_insert((line, date));
        match (date.fits(DateOrder::Dmy), date.fits(DateOrder::Mdy)) {
            (true, false) => {
                only_dmy.get_or_insert(line);
            }
            (false, true) => {
                only_mdy.get_or_insert(line);
            }
            _ => {}
        }
    }
    let Some((first_line, first)) = first_short else {
        return Ok(DateOrder::Ymd);
    };
    match (only_dmy, only_mdy) {
        (Some(_), None) => Ok(DateOrder::Dmy),
        (None, Some(_)) => Ok(DateOrder::Mdy),
        (Some(a), Some(b)) => Err(Error::InconsistentDates { line: a.max(b) }),
        (None, None) if all_dotted => Ok(DateOrder::Dmy),
        (None, None) => Err(Error::AmbiguousDates {
            line: first_line,
            example: describe(first),
        }),
    }
}

fn describe(date: DateText) -> String {
    match date {
        DateText::Short { a, b, y, dotted } => {
            let sep = if dotted { '.' } else { '/' };
            format!("{a:02}{sep}{b:02}{sep}{y}")
        }
        DateText::Known { y, m, d } => format!("{y:04}-{m:02}-{d:02}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn unambiguous_shapes() {
        for (text, date) in [
            ("2025-01-03", d(2025, 1, 3)),
            ("2025/01/03", d(2025, 1, 3)),
            ("2025-01-03T10:22:00Z", d(2025, 1, 3)),
            ("2025-01-03 10:22", d(2025, 1, 3)),
            ("20250103", d(2025, 1, 3)),
            ("03 Jan 2025", d(2025, 1, 3)),
            ("03-Jan-25", d(2025, 1, 3)),
            ("Jan 3, 2025", d(2025, 1, 3)),
            ("3. Mär 2025", d(2025, 3, 3)),
        ] {
            let parsed = DateText::parse(text).unwrap_or_else(|| panic!("{text}"));
            assert_eq!(parsed.to_date(DateOrder::Ymd), Some(date), "{text}");
        }
    }

    #[test]
    fn short_dates_wait_for_an_order() {
        let t = DateText::parse("03/04/2025").unwrap();
        assert_eq!(t.to_date(DateOrder::Dmy), Some(d(2025, 4, 3)));
        assert_eq!(t.to_date(DateOrder::Mdy), Some(d(2025, 3, 4)));
        let q = DateText::parse("12/31'24").unwrap();
        assert_eq!(q.to_date(DateOrder::Mdy), Some(d(2024, 12, 31)));
        assert_eq!(q.to_date(DateOrder::Dmy), None);
        assert_eq!(
            DateText::parse(" 1/ 5'98").unwrap().to_date(DateOrder::Mdy),
            Some(d(1998, 1, 5))
        );
    }

    #[test]
    fn not_dates() {
        for text in [
            "",
            "yesterday",
            "äöü€",
            "2025ü01",
            "32/13/2025",
            "2025-02-30",
            "1/2",
            "1/2/3/4",
            "12.50",
            "Opening balance",
            "١/٢/٢٠٢٥",
        ] {
            assert_eq!(DateText::parse(text), None, "{text}");
        }
    }

    fn lines(texts: &[&str]) -> Vec<(usize, DateText)> {
        texts
            .iter()
            .enumerate()
            .map(|(i, t)| (i + 2, DateText::parse(t).unwrap()))
            .collect()
    }

    #[test]
    fn one_telling_date_decides_the_file() {
        let dates = lines(&["03/04/2025", "25/04/2025"]);
        assert_eq!(resolve_order(None, dates.into_iter()), Ok(DateOrder::Dmy));
        let dates = lines(&["03/04/2025", "04/25/2025"]);
        assert_eq!(resolve_order(None, dates.into_iter()), Ok(DateOrder::Mdy));
        let dates = lines(&["03.04.2025", "05.04.2025"]);
        assert_eq!(resolve_order(None, dates.into_iter()), Ok(DateOrder::Dmy));
    }

    #[test]
    fn undecidable_files_are_refused() {
        let dates = lines(&["2025-01-01", "03/04/2025", "05/06/2025"]);
        assert_eq!(
            resolve_order(None, dates.clone().into_iter()),
            Err(Error::AmbiguousDates {
                line: 3,
                example: "03/04/2025".into()
            })
        );
        assert_eq!(
            resolve_order(Some(DateOrder::Mdy), dates.into_iter()),
            Ok(DateOrder::Mdy)
        );
        let dates = lines(&["25/04/2025", "04/25/2025"]);
        assert!(matches!(
            resolve_order(None, dates.into_iter()),
            Err(Error::InconsistentDates { line: 3 })
        ));
    }
}
