//! Spending analytics of one ledger: totals by day, month, category and merchant.
//!
//! Every sum counts its contributing expenses, so an entry disappears exactly when
//! its last expense is deleted or moved away, and the incremental state always
//! equals a recomputation from the live expenses. Figures that depend on "today"
//! (`month_to_date`, `previous_month_same_day`) are computed when read.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate};
use ledger::Currency;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::derived::Derived;
use crate::expenses::{Contribution, Expense, Expenses};
use crate::money::Money;
use crate::period::{month_key, month_start, previous_month_start};
use crate::tally::{self, Tally};

/// How many merchants `top_merchants` has in snapshots and deltas.
pub const TOP_MERCHANTS: usize = 10;

/// One merchant's spending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MerchantTotal {
    pub merchant: String,
    pub total: Money,
    pub count: u64,
}

/// The analytics of a ledger with the contract's field names (the reader adds
/// `position`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AnalyticsSnapshot {
    pub total: Money,
    pub count: u64,
    pub month_to_date: Money,
    pub previous_month_same_day: Money,
    pub by_day: BTreeMap<NaiveDate, Money>,
    pub by_month: BTreeMap<String, Money>,
    pub by_category: BTreeMap<String, BTreeMap<String, Money>>,
    pub top_merchants: Vec<MerchantTotal>,
}

/// What one event changed in the analytics: only the keys whose shown value changed,
/// shaped as a JSON merge patch (RFC 7396) on [`AnalyticsSnapshot`]: `null` removes a
/// key, nested objects merge, `top_merchants` (an array) is replaced whole.
///
/// `month_to_date` and `previous_month_same_day` are never in it: they depend on the
/// reader's "today", so a client recomputes them from `by_day` or reads them again.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct AnalyticsChange {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_day: BTreeMap<NaiveDate, Option<Money>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_month: BTreeMap<String, Option<Money>>,
    /// `None` for a month: no category of that month has spending left.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_category: BTreeMap<String, Option<BTreeMap<String, Option<Money>>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_merchants: Option<Vec<MerchantTotal>>,
}

impl AnalyticsChange {
    pub fn is_empty(&self) -> bool {
        *self == AnalyticsChange::default()
    }
}

/// A merchant's place in `top_merchants`: total descending, then count descending,
/// then name, so ties never depend on insertion order. It also is the merchant's
/// sums, so the ranking's key of a merchant is always at hand to move it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct MerchantRank {
    total: Decimal,
    count: u64,
    /// Shared with the key in `Analytics::merchants`: re-ranking a merchant after
    /// each of its expenses copies no name.
    merchant: Arc<str>,
}

impl Ord for MerchantRank {
    fn cmp(&self, other: &Self) -> Ordering {
        (Reverse(self.total), Reverse(self.count), &*self.merchant).cmp(&(
            Reverse(other.total),
            Reverse(other.count),
            &*other.merchant,
        ))
    }
}

impl PartialOrd for MerchantRank {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The analytics of one ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analytics {
    currency: Currency,
    /// `count` is the number of live expenses.
    total: Tally,
    by_day: BTreeMap<NaiveDate, Tally>,
    /// Keyed by the month's first day, which orders correctly for every year.
    by_month: BTreeMap<NaiveDate, Tally>,
    /// Month (first day), then category. Nested rather than keyed by pairs so a
    /// category is looked up by `&str`; a month without categories left is removed.
    by_category: BTreeMap<NaiveDate, BTreeMap<String, Tally>>,
    /// Every merchant with live expenses, with its sums.
    merchants: BTreeMap<Arc<str>, MerchantRank>,
    /// The same merchants ordered for `top_merchants`, so the top N is read in O(N).
    /// Built by the first read (a rebuild reads none).
    ranking: Derived<BTreeSet<MerchantRank>>,
}

/// The shown values of the keys one event may touch, taken before and after it.
#[derive(PartialEq, Eq)]
struct Shown {
    total: Money,
    count: u64,
    days: Vec<Option<Money>>,
    months: Vec<Option<Money>>,
    categories: Vec<Option<Money>>,
    /// The top merchants' ranks, turned into [`MerchantTotal`]s only if they moved.
    top_merchants: Option<Vec<MerchantRank>>,
}

impl Analytics {
    pub(crate) fn new(currency: Currency) -> Self {
        Analytics {
            currency,
            total: Tally::default(),
            by_day: BTreeMap::new(),
            by_month: BTreeMap::new(),
            by_category: BTreeMap::new(),
            merchants: BTreeMap::new(),
            ranking: Derived::default(),
        }
    }

    /// The analytics of the live ones among `expenses`.
    pub(crate) fn of(currency: Currency, expenses: &Expenses) -> Self {
        let mut analytics = Analytics::new(currency);
        for c in expenses.iter().filter_map(Expense::contribution) {
            analytics.add(&c);
        }
        analytics
    }

    fn money(&self, value: Decimal) -> Money {
        Money::new(value, self.currency)
    }

    /// The sum of every live expense.
    pub fn total(&self) -> Money {
        self.money(self.total.sum)
    }

    /// How many live (not deleted) expenses there are.
    pub fn count(&self) -> u64 {
        self.total.count
    }

    /// Spending per day that has any live expense, in date order.
    pub fn by_day(&self) -> impl Iterator<Item = (NaiveDate, Money)> + '_ {
        self.by_day.iter().map(|(day, t)| (*day, self.money(t.sum)))
    }

    /// Spending per `YYYY-MM` month that has any live expense, in month order.
    pub fn by_month(&self) -> impl Iterator<Item = (String, Money)> + '_ {
        self.by_month
            .iter()
            .map(|(month, t)| (month_key(*month), self.money(t.sum)))
    }

    /// Spending per `YYYY-MM` month and category.
    pub fn by_category(&self) -> BTreeMap<String, BTreeMap<String, Money>> {
        self.by_category
            .iter()
            .map(|(month, categories)| {
                let sums = categories
                    .iter()
                    .map(|(category, t)| (category.clone(), self.money(t.sum)))
                    .collect();
                (month_key(*month), sums)
            })
            .collect()
    }

    /// The latest day with a live expense.
    pub fn latest_day(&self) -> Option<NaiveDate> {
        self.by_day.last_key_value().map(|(day, _)| *day)
    }

    /// The `n` merchants with the highest totals (then most expenses, then by name).
    pub fn top_merchants(&self, n: usize) -> Vec<MerchantTotal> {
        self.ranking()
            .iter()
            .take(n)
            .map(|rank| self.merchant_total(rank))
            .collect()
    }

    fn ranking(&self) -> &BTreeSet<MerchantRank> {
        self.ranking
            .get_or_build(|| self.merchants.values().cloned().collect())
    }

    fn merchant_total(&self, rank: &MerchantRank) -> MerchantTotal {
        MerchantTotal {
            merchant: rank.merchant.to_string(),
            total: self.money(rank.total),
            count: rank.count,
        }
    }

    /// One merchant's spending, if it has live expenses.
    pub fn merchant(&self, merchant: &str) -> Option<MerchantTotal> {
        self.merchants
            .get(merchant)
            .map(|rank| self.merchant_total(rank))
    }

    /// Spending from the first of `today`'s month up to and including `today`.
    pub fn month_to_date(&self, today: NaiveDate) -> Money {
        self.money(self.sum_between(month_start(today), today))
    }

    /// Spending in the previous month up to the same day number as `today`, cut at
    /// that month's length: on March 31 that is February 1 to 28 (29 in leap years).
    pub fn previous_month_same_day(&self, today: NaiveDate) -> Money {
        let Some(start) = previous_month_start(today) else {
            return self.money(Decimal::ZERO);
        };
        let end = (1..=today.day())
            .rev()
            .find_map(|day| start.with_day(day))
            .unwrap_or(start);
        self.money(self.sum_between(start, end))
    }

    fn sum_between(&self, from: NaiveDate, to: NaiveDate) -> Decimal {
        if from > to {
            return Decimal::ZERO;
        }
        self.by_day.range(from..=to).map(|(_, t)| t.sum).sum()
    }

    /// Everything the contract shows, as of `today`, with the top `TOP_MERCHANTS`.
    pub fn snapshot(&self, today: NaiveDate) -> AnalyticsSnapshot {
        AnalyticsSnapshot {
            total: self.total(),
            count: self.count(),
            month_to_date: self.month_to_date(today),
            previous_month_same_day: self.previous_month_same_day(today),
            by_day: self.by_day().collect(),
            by_month: self.by_month().collect(),
            by_category: self.by_category(),
            top_merchants: self.top_merchants(TOP_MERCHANTS),
        }
    }

    /// Replaces one expense's contribution (`None`: it had none, or has none now)
    /// without working out what a subscriber sees change: the fold of a rebuild.
    pub(crate) fn replace(
        &mut self,
        before: Option<&Contribution<'_>>,
        after: Option<&Contribution<'_>>,
    ) {
        if before == after {
            return;
        }
        if let Some(c) = before {
            self.remove(c);
        }
        if let Some(c) = after {
            self.add(c);
        }
    }

    /// Replaces one expense's contribution as [`Analytics::replace`] does, and says
    /// what a subscriber sees change; `None` when nothing shown changed.
    pub(crate) fn update(
        &mut self,
        before: Option<&Contribution<'_>>,
        after: Option<&Contribution<'_>>,
    ) -> Option<AnalyticsChange> {
        if before == after {
            return None;
        }
        let both = || before.into_iter().chain(after);
        let days: BTreeSet<NaiveDate> = both().map(|c| c.occurred_on).collect();
        let months: BTreeSet<NaiveDate> = both().map(|c| month_start(c.occurred_on)).collect();
        let categories: BTreeSet<(NaiveDate, &str)> = both()
            .map(|c| (month_start(c.occurred_on), c.category))
            .collect();
        let merchants_touched = both().any(|c| c.merchant.is_some());

        let old = self.shown(&days, &months, &categories, merchants_touched);
        self.replace(before, after);
        let new = self.shown(&days, &months, &categories, merchants_touched);
        if old == new {
            return None;
        }

        let top_merchants = match (old.top_merchants, new.top_merchants) {
            (Some(was), Some(now)) if was != now => {
                Some(now.iter().map(|rank| self.merchant_total(rank)).collect())
            }
            _ => None,
        };
        let mut change = AnalyticsChange {
            total: (old.total != new.total).then_some(new.total),
            count: (old.count != new.count).then_some(new.count),
            top_merchants,
            ..AnalyticsChange::default()
        };
        for ((day, was), now) in days.iter().zip(&old.days).zip(new.days) {
            if *was != now {
                change.by_day.insert(*day, now);
            }
        }
        for ((month, was), now) in months.iter().zip(&old.months).zip(new.months) {
            if *was != now {
                change.by_month.insert(month_key(*month), now);
            }
        }
        for (((month, category), was), now) in
            categories.iter().zip(&old.categories).zip(new.categories)
        {
            if *was == now {
                continue;
            }
            // A month with no category left is removed whole: a merge patch that only
            // nulled its categories would leave an empty object behind.
            let month_left = self.by_month.contains_key(month);
            let entry = change
                .by_category
                .entry(month_key(*month))
                .or_insert_with(|| month_left.then(BTreeMap::new));
            if let Some(categories) = entry {
                categories.insert((*category).to_owned(), now);
            }
        }
        Some(change)
    }

    fn shown(
        &self,
        days: &BTreeSet<NaiveDate>,
        months: &BTreeSet<NaiveDate>,
        categories: &BTreeSet<(NaiveDate, &str)>,
        merchants_touched: bool,
    ) -> Shown {
        let value = |t: Option<&Tally>| t.map(|t| self.money(t.sum));
        Shown {
            total: self.total(),
            count: self.count(),
            days: days.iter().map(|d| value(self.by_day.get(d))).collect(),
            months: months.iter().map(|m| value(self.by_month.get(m))).collect(),
            categories: categories
                .iter()
                .map(|(month, category)| {
                    value(self.by_category.get(month).and_then(|c| c.get(*category)))
                })
                .collect(),
            top_merchants: merchants_touched
                .then(|| self.ranking().iter().take(TOP_MERCHANTS).cloned().collect()),
        }
    }

    /// Counts one expense's contribution in.
    pub(crate) fn add(&mut self, c: &Contribution<'_>) {
        self.total.sum += c.amount;
        self.total.count += 1;
        let month = month_start(c.occurred_on);
        tally::add(&mut self.by_day, c.occurred_on, c.amount);
        tally::add(&mut self.by_month, month, c.amount);
        tally::add_named(
            self.by_category.entry(month).or_default(),
            c.category,
            c.amount,
        );
        if let Some(merchant) = c.merchant {
            self.add_merchant(merchant, c.amount);
        }
    }

    /// Takes one expense's contribution back out.
    pub(crate) fn remove(&mut self, c: &Contribution<'_>) {
        self.total.sum -= c.amount;
        self.total.count = self.total.count.saturating_sub(1);
        let month = month_start(c.occurred_on);
        tally::remove(&mut self.by_day, &c.occurred_on, c.amount);
        tally::remove(&mut self.by_month, &month, c.amount);
        if let Some(categories) = self.by_category.get_mut(&month) {
            tally::remove(categories, c.category, c.amount);
            if categories.is_empty() {
                self.by_category.remove(&month);
            }
        }
        if let Some(merchant) = c.merchant {
            self.remove_merchant(merchant, c.amount);
        }
    }

    fn add_merchant(&mut self, merchant: &str, amount: Decimal) {
        let mut ranking = self.ranking.built_mut();
        if let Some(rank) = self.merchants.get_mut(merchant) {
            // Out of the ranking under its old sums, back in under the new ones.
            if let Some(ranking) = ranking.as_deref_mut() {
                ranking.remove(rank);
            }
            rank.total += amount;
            rank.count += 1;
            if let Some(ranking) = ranking {
                ranking.insert(rank.clone());
            }
            return;
        }
        let rank = MerchantRank {
            total: amount,
            count: 1,
            merchant: Arc::from(merchant),
        };
        if let Some(ranking) = ranking {
            ranking.insert(rank.clone());
        }
        self.merchants.insert(Arc::clone(&rank.merchant), rank);
    }

    /// Takes `amount` back out of `merchant`, which leaves with its last expense.
    /// Removing what was never added leaves everything as it was.
    fn remove_merchant(&mut self, merchant: &str, amount: Decimal) {
        let Some(rank) = self.merchants.get_mut(merchant) else {
            return;
        };
        let mut ranking = self.ranking.built_mut();
        if let Some(ranking) = ranking.as_deref_mut() {
            ranking.remove(rank);
        }
        rank.total -= amount;
        rank.count = rank.count.saturating_sub(1);
        if rank.count == 0 {
            self.merchants.remove(merchant);
        } else if let Some(ranking) = ranking {
            ranking.insert(rank.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn spend<'a>(
        amount: &str,
        date: &str,
        category: &'a str,
        merchant: Option<&'a str>,
    ) -> Contribution<'a> {
        Contribution {
            amount: amount.parse().unwrap(),
            occurred_on: d(date),
            category,
            merchant,
        }
    }

    #[test]
    fn sums_by_day_month_category_and_merchant() {
        let mut a = Analytics::new(eur());
        a.update(
            None,
            Some(&spend("12.50", "2026-11-01", "food", Some("Shop"))),
        );
        a.update(
            None,
            Some(&spend("7.50", "2026-11-01", "fun", Some("Cinema"))),
        );
        a.update(
            None,
            Some(&spend("-2.50", "2026-12-02", "food", Some("Shop"))),
        );
        let s = a.snapshot(d("2026-12-02"));
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["total"], "17.50");
        assert_eq!(json["count"], 3);
        assert_eq!(json["by_day"]["2026-11-01"], "20.00");
        assert_eq!(json["by_month"]["2026-12"], "-2.50");
        assert_eq!(json["by_category"]["2026-11"]["fun"], "7.50");
        assert_eq!(json["month_to_date"], "-2.50");
        assert_eq!(json["previous_month_same_day"], "20.00");
        assert_eq!(json["top_merchants"][0]["merchant"], "Shop");
        assert_eq!(json["top_merchants"][0]["total"], "10.00");
        assert_eq!(json["top_merchants"][0]["count"], 2);
        assert_eq!(a.merchant("Cinema").unwrap().total.to_string(), "7.50");
    }

    #[test]
    fn merchants_rank_by_total_then_count_then_name() {
        let mut a = Analytics::new(eur());
        for (amount, merchant) in [("5", "b"), ("5", "a"), ("3", "c"), ("2", "c"), ("9", "d")] {
            a.update(
                None,
                Some(&spend(amount, "2026-11-01", "x", Some(merchant))),
            );
        }
        let names: Vec<_> = a
            .top_merchants(10)
            .into_iter()
            .map(|m| m.merchant)
            .collect();
        assert_eq!(names, ["d", "c", "a", "b"]);
        assert_eq!(a.top_merchants(2).len(), 2);
    }

    #[test]
    fn previous_month_is_cut_at_its_length() {
        let mut a = Analytics::new(eur());
        for (amount, date) in [
            ("1", "2028-02-28"),
            ("2", "2028-02-29"),
            ("4", "2028-03-01"),
            ("8", "2028-01-31"),
        ] {
            a.update(None, Some(&spend(amount, date, "x", None)));
        }
        assert_eq!(
            a.previous_month_same_day(d("2028-03-31")).to_string(),
            "3.00"
        );
        assert_eq!(
            a.previous_month_same_day(d("2028-03-28")).to_string(),
            "1.00"
        );
        // January 31 lies past February 29's day number.
        assert_eq!(
            a.previous_month_same_day(d("2028-02-29")).to_string(),
            "0.00"
        );
        assert_eq!(
            a.previous_month_same_day(d("2028-04-30")).to_string(),
            "4.00"
        );
        assert_eq!(a.month_to_date(d("2028-03-01")).to_string(), "4.00");
        assert_eq!(a.month_to_date(d("2028-02-28")).to_string(), "1.00");
        assert_eq!(
            a.previous_month_same_day(NaiveDate::MIN).to_string(),
            "0.00"
        );
    }

    #[test]
    fn changes_carry_only_what_moved_and_undo_to_nothing() {
        let mut a = Analytics::new(eur());
        let empty = a.clone();
        let first = spend("10.00", "2026-11-30", "food", Some("Shop"));
        a.update(None, Some(&first)).unwrap();

        // A merchant-less refund the same day: by_day, month, category and totals move.
        let refund = spend("-10.00", "2026-11-30", "food", None);
        let change = a.update(None, Some(&refund)).unwrap();
        let json = serde_json::to_value(&change).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "total": "0.00", "count": 2,
                "by_day": {"2026-11-30": "0.00"},
                "by_month": {"2026-11": "0.00"},
                "by_category": {"2026-11": {"food": "0.00"}},
            })
        );

        // Moving the expense to the next month: the old day stays (the refund is there).
        let moved = spend("10.00", "2026-12-01", "food", Some("Shop"));
        let json = serde_json::to_value(a.update(Some(&first), Some(&moved)).unwrap()).unwrap();
        assert_eq!(
            json["by_day"],
            serde_json::json!({"2026-11-30": "-10.00", "2026-12-01": "10.00"})
        );
        assert_eq!(
            json["by_category"],
            serde_json::json!({"2026-11": {"food": "-10.00"}, "2026-12": {"food": "10.00"}})
        );
        assert!(json.get("total").is_none() && json.get("top_merchants").is_none());

        // Deleting the refund empties November: it goes whole, as nulls.
        let json = serde_json::to_value(a.update(Some(&refund), None).unwrap()).unwrap();
        assert_eq!(json["by_day"], serde_json::json!({"2026-11-30": null}));
        assert_eq!(json["by_category"], serde_json::json!({"2026-11": null}));

        assert_eq!(a.update(Some(&moved), Some(&moved)), None);
        let json = serde_json::to_value(a.update(Some(&moved), None).unwrap()).unwrap();
        assert_eq!(json["top_merchants"], serde_json::json!([]));
        assert_eq!(a, empty);
    }
}
