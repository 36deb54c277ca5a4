//! Budget periods: which calendar month, ISO week or calendar year a date falls in.
//!
//! Every function here is total: chrono's dates span roughly ±262,000 years, and a
//! period that would reach past either end is cut at [`NaiveDate::MIN`] or
//! [`NaiveDate::MAX`] instead of panicking, since dates come from stored events.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use ledger::event::BudgetPeriod;

/// The first day of the period of kind `period` that contains `date`.
///
/// Weeks are ISO weeks and start on Monday, so the week of 2027-01-01 starts on
/// 2026-12-28 (week 53 of 2026).
pub fn period_start(period: BudgetPeriod, date: NaiveDate) -> NaiveDate {
    match period {
        // The Monday on or before `date`: every ISO week runs Monday to Sunday. Cheaper
        // than going through the ISO week number, and a fold computes this per expense.
        BudgetPeriod::Weekly => date
            .checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
            .unwrap_or(NaiveDate::MIN),
        BudgetPeriod::Monthly => month_start(date),
        BudgetPeriod::Yearly => NaiveDate::from_yo_opt(date.year(), 1).unwrap_or(date),
    }
}

/// The last day (inclusive) of the period of kind `period` that contains `date`.
pub fn period_end(period: BudgetPeriod, date: NaiveDate) -> NaiveDate {
    match period {
        BudgetPeriod::Weekly => period_start(period, date)
            .checked_add_days(Days::new(6))
            .unwrap_or(NaiveDate::MAX),
        BudgetPeriod::Monthly => month_end(date),
        BudgetPeriod::Yearly => NaiveDate::from_ymd_opt(date.year(), 12, 31).unwrap_or(date),
    }
}

/// A short name for the period containing `date`: `2026-11`, `2026-W53` (the ISO
/// week-numbering year, which differs from the calendar year around New Year) or `2026`.
pub fn period_label(period: BudgetPeriod, date: NaiveDate) -> String {
    match period {
        BudgetPeriod::Weekly => {
            let week = date.iso_week();
            format!("{:04}-W{:02}", week.year(), week.week())
        }
        BudgetPeriod::Monthly => month_key(date),
        BudgetPeriod::Yearly => format!("{:04}", date.year()),
    }
}

/// Reads a label written by [`period_label`] back into its kind and first day.
/// `None` for anything else, including weeks a year does not have (`2025-W53`).
pub fn parse_period_label(label: &str) -> Option<(BudgetPeriod, NaiveDate)> {
    let number = |s: &str| -> Option<u32> {
        if s.is_empty() || s.len() > 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    let year = |s: &str| -> Option<i32> {
        if s.len() != 4 {
            return None;
        }
        number(s).and_then(|y| i32::try_from(y).ok())
    };
    match label.split_once('-') {
        None => {
            let start = NaiveDate::from_ymd_opt(year(label)?, 1, 1)?;
            Some((BudgetPeriod::Yearly, start))
        }
        Some((y, rest)) => {
            let y = year(y)?;
            if let Some(week) = rest.strip_prefix('W') {
                if week.len() != 2 {
                    return None;
                }
                let start = NaiveDate::from_isoywd_opt(y, number(week)?, Weekday::Mon)?;
                Some((BudgetPeriod::Weekly, start))
            } else {
                if rest.len() != 2 {
                    return None;
                }
                let start = NaiveDate::from_ymd_opt(y, number(rest)?, 1)?;
                Some((BudgetPeriod::Monthly, start))
            }
        }
    }
}

/// `YYYY-MM`, the key of a calendar month in analytics.
pub fn month_key(date: NaiveDate) -> String {
    format!("{:04}-{:02}", date.year(), date.month())
}

pub(crate) fn month_start(date: NaiveDate) -> NaiveDate {
    date.with_day(1).unwrap_or(date)
}

pub(crate) fn month_end(date: NaiveDate) -> NaiveDate {
    let next_month = if date.month() == 12 {
        NaiveDate::from_ymd_opt(date.year().saturating_add(1), 1, 1)
    } else {
        NaiveDate::from_ymd_opt(date.year(), date.month() + 1, 1)
    };
    // Past the last representable month there is no "next" to step back from; the
    // last month of chrono's range is a December, so its end is the 31st.
    next_month
        .and_then(|d| d.pred_opt())
        .or_else(|| date.with_day(31))
        .unwrap_or(date)
}

/// The first day of the month before the one containing `date`.
pub(crate) fn previous_month_start(date: NaiveDate) -> Option<NaiveDate> {
    month_start(date).pred_opt().map(month_start)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn bounds(period: BudgetPeriod, date: &str) -> (NaiveDate, NaiveDate) {
        (period_start(period, d(date)), period_end(period, d(date)))
    }

    #[test]
    fn months_end_on_their_last_day() {
        use BudgetPeriod::Monthly;
        assert_eq!(
            bounds(Monthly, "2026-01-31"),
            (d("2026-01-01"), d("2026-01-31"))
        );
        assert_eq!(
            bounds(Monthly, "2026-02-01"),
            (d("2026-02-01"), d("2026-02-28"))
        );
        assert_eq!(
            bounds(Monthly, "2028-02-29"),
            (d("2028-02-01"), d("2028-02-29"))
        );
        assert_eq!(
            bounds(Monthly, "2100-02-15"),
            (d("2100-02-01"), d("2100-02-28"))
        );
        assert_eq!(
            bounds(Monthly, "2026-04-30"),
            (d("2026-04-01"), d("2026-04-30"))
        );
        assert_eq!(
            bounds(Monthly, "2026-12-31"),
            (d("2026-12-01"), d("2026-12-31"))
        );
    }

    #[test]
    fn weeks_are_iso_weeks_starting_monday() {
        use BudgetPeriod::Weekly;
        // 2026-11-01 is a Sunday: it closes the week that began on Monday 26 October.
        assert_eq!(
            bounds(Weekly, "2026-11-01"),
            (d("2026-10-26"), d("2026-11-01"))
        );
        assert_eq!(
            bounds(Weekly, "2026-11-02"),
            (d("2026-11-02"), d("2026-11-08"))
        );
        // Dec 31 in week 1 of the next ISO year.
        assert_eq!(
            bounds(Weekly, "2024-12-31"),
            (d("2024-12-30"), d("2025-01-05"))
        );
        assert_eq!(period_label(Weekly, d("2024-12-31")), "2025-W01");
        // 2026 has 53 ISO weeks; the 53rd runs into 2027.
        assert_eq!(
            bounds(Weekly, "2026-12-31"),
            (d("2026-12-28"), d("2027-01-03"))
        );
        assert_eq!(
            bounds(Weekly, "2027-01-03"),
            (d("2026-12-28"), d("2027-01-03"))
        );
        assert_eq!(period_label(Weekly, d("2026-12-31")), "2026-W53");
        assert_eq!(period_label(Weekly, d("2027-01-03")), "2026-W53");
        assert_eq!(period_label(Weekly, d("2027-01-04")), "2027-W01");
        // Leap day: 2028-02-29 is a Tuesday.
        assert_eq!(
            bounds(Weekly, "2028-02-29"),
            (d("2028-02-28"), d("2028-03-05"))
        );
    }

    #[test]
    fn years_are_calendar_years() {
        use BudgetPeriod::Yearly;
        assert_eq!(
            bounds(Yearly, "2026-12-31"),
            (d("2026-01-01"), d("2026-12-31"))
        );
        assert_eq!(
            bounds(Yearly, "2028-02-29"),
            (d("2028-01-01"), d("2028-12-31"))
        );
        assert_eq!(period_label(Yearly, d("2027-01-01")), "2027");
    }

    #[test]
    fn every_date_lies_inside_its_period() {
        let mut date = d("2024-12-01");
        while date < d("2029-01-31") {
            for period in [
                BudgetPeriod::Weekly,
                BudgetPeriod::Monthly,
                BudgetPeriod::Yearly,
            ] {
                let (start, end) = (period_start(period, date), period_end(period, date));
                assert!(start <= date && date <= end, "{period:?} {date}");
                assert_eq!(period_start(period, start), start);
                assert_eq!(period_start(period, end), start);
                assert_eq!(
                    period_start(period, end.succ_opt().unwrap()),
                    end.succ_opt().unwrap()
                );
            }
            date = date.succ_opt().unwrap();
        }
    }

    #[test]
    fn the_ends_of_chronos_range_do_not_panic() {
        for date in [NaiveDate::MIN, NaiveDate::MAX] {
            for period in [
                BudgetPeriod::Weekly,
                BudgetPeriod::Monthly,
                BudgetPeriod::Yearly,
            ] {
                let (start, end) = (period_start(period, date), period_end(period, date));
                assert!(start <= date && date <= end);
                let _ = period_label(period, date);
            }
            let _ = previous_month_start(date);
        }
    }

    #[test]
    fn labels_round_trip() {
        for (label, period, start) in [
            ("2026-11", BudgetPeriod::Monthly, "2026-11-01"),
            ("2026-W53", BudgetPeriod::Weekly, "2026-12-28"),
            ("2025-W01", BudgetPeriod::Weekly, "2024-12-30"),
            ("2028", BudgetPeriod::Yearly, "2028-01-01"),
        ] {
            assert_eq!(parse_period_label(label), Some((period, d(start))));
            assert_eq!(period_label(period, d(start)), label);
        }
        for bad in [
            "",
            "2026-13",
            "2025-W53",
            "2026-W00",
            "2026-1",
            "26",
            "2026-",
            "-2026",
            "2026-W1",
            "+202-01",
            "2026-11-01",
            "２０２６",
        ] {
            assert_eq!(parse_period_label(bad), None, "{bad}");
        }
    }

    #[test]
    fn previous_month_steps_over_year_ends() {
        assert_eq!(previous_month_start(d("2027-01-15")), Some(d("2026-12-01")));
        assert_eq!(previous_month_start(d("2028-03-31")), Some(d("2028-02-01")));
    }
}
