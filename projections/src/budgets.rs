//! Budget definitions and the spending they are measured against.
//!
//! Spending is kept per (category, period kind, period start) and per (all spending,
//! period kind, period start), so an expense event touches six sums whatever the
//! number of budgets, and any budget's status is one lookup away.
//!
//! The spending is a function of the live expenses, so it is derived (see `derived`):
//! built from them on first read, then kept current. A rebuild, which reads no
//! status, only stores the definitions.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{BudgetPeriod, BudgetSet};
use ledger::{Amount, BudgetId, Currency};
use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use crate::derived::Derived;
use crate::expenses::{Contribution, Expense, Expenses};
use crate::money::Money;
use crate::period::{period_end, period_start};
use crate::tally::{self, Tally};

/// A budget as its latest events define it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BudgetDefinition {
    pub budget_id: BudgetId,
    /// `None` budgets all spending of the ledger.
    pub category: Option<String>,
    /// Positive, at the ledger currency's precision.
    pub limit: Amount,
    pub period: BudgetPeriod,
    /// Percentages of the limit at which alerts are raised, as the `BudgetSet` gave them.
    pub thresholds: Vec<u32>,
    pub snoozed_until: Option<DateTime<Utc>>,
    /// The budget stream's version after its latest event.
    pub version: u64,
    /// The stream version of the `BudgetSet` that last changed the definition: alerts
    /// raised under an older arming do not stop new ones. A `BudgetSet` that repeats
    /// the definition unchanged does not re-arm, so retrying a PUT raises nothing twice.
    pub armed_by_version: u64,
}

impl BudgetDefinition {
    /// Whether alerts raised at `at` are snoozed (recorded, but without a toast).
    pub fn is_snoozed(&self, at: DateTime<Utc>) -> bool {
        self.snoozed_until.is_some_and(|until| at < until)
    }

    fn same_terms(&self, set: &BudgetSet, limit: Amount) -> bool {
        self.category == set.category
            && self.limit == limit
            && self.period == set.period
            && self.thresholds == set.thresholds
    }
}

/// How a budget stands in one period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetState {
    Ok,
    /// At or above the lowest threshold, not above the limit.
    Warning,
    /// Spent more than the limit.
    Exceeded,
}

/// A budget's standing in one period, with the contract's field names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BudgetStatus {
    pub budget_id: BudgetId,
    pub category: Option<String>,
    pub period: BudgetPeriod,
    pub period_start: NaiveDate,
    /// The period's last day, inclusive.
    pub period_end: NaiveDate,
    pub limit: Money,
    pub spent: Money,
    /// Negative once the limit is exceeded.
    pub remaining: Money,
    /// `spent / limit * 100` with one decimal, rounded half away from zero (`"84.5"`).
    pub utilization: String,
    pub status: BudgetState,
    pub thresholds: Vec<u32>,
    pub snoozed_until: Option<DateTime<Utc>>,
}

impl BudgetStatus {
    /// Whether spending is at or above `threshold` percent of the limit, compared
    /// exactly rather than through the rounded `utilization` text, so 79.96% has not
    /// reached 80%.
    pub fn reached(&self, threshold: u32) -> bool {
        self.spent.as_decimal() * Decimal::ONE_HUNDRED
            >= self.limit.as_decimal() * Decimal::from(threshold)
    }
}

/// `spent / limit * 100`, one decimal, half away from zero; `"0.0"` for a limit that
/// is not positive (which the fold never lets in).
///
/// One rounding is enough: `Decimal` keeps 28 significant digits, and a quotient of
/// two amounts this ledger can hold is never close enough to a midpoint such as
/// 84.45 for the digits it drops to move it across.
pub fn utilization(spent: Decimal, limit: Decimal) -> String {
    let percent = if limit > Decimal::ZERO {
        (spent * Decimal::ONE_HUNDRED)
            .checked_div(limit)
            .unwrap_or(Decimal::ZERO)
    } else {
        Decimal::ZERO
    };
    let mut rounded = percent.round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero);
    rounded.rescale(1);
    if rounded.is_zero() {
        rounded.set_sign_positive(true);
    }
    rounded.to_string()
}

/// One spending sum per period start, for each of the three period kinds.
type ByPeriod = [BTreeMap<NaiveDate, Tally>; 3];

const fn slot(period: BudgetPeriod) -> usize {
    match period {
        BudgetPeriod::Weekly => 0,
        BudgetPeriod::Monthly => 1,
        BudgetPeriod::Yearly => 2,
    }
}

/// Every period kind, in the order of their slots.
const PERIODS: [BudgetPeriod; 3] = [
    BudgetPeriod::Weekly,
    BudgetPeriod::Monthly,
    BudgetPeriod::Yearly,
];

/// Spending of live expenses, per category and in all, for every period kind.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Spending {
    all: ByPeriod,
    by_category: BTreeMap<String, ByPeriod>,
}

impl Spending {
    fn of(expenses: &Expenses) -> Spending {
        let mut spending = Spending::default();
        for c in expenses.iter().filter_map(Expense::contribution) {
            spending.add(&c);
        }
        spending
    }

    fn add(&mut self, c: &Contribution<'_>) {
        let starts = PERIODS.map(|period| period_start(period, c.occurred_on));
        add_to(&mut self.all, &starts, c.amount);
        // Looked up by `&str` first: the category's name is copied into a key only the
        // first time it is seen.
        if let Some(sums) = self.by_category.get_mut(c.category) {
            add_to(sums, &starts, c.amount);
            return;
        }
        let sums = self.by_category.entry(c.category.to_owned()).or_default();
        add_to(sums, &starts, c.amount);
    }

    fn remove(&mut self, c: &Contribution<'_>) {
        let starts = PERIODS.map(|period| period_start(period, c.occurred_on));
        remove_from(&mut self.all, &starts, c.amount);
        if let Some(sums) = self.by_category.get_mut(c.category) {
            remove_from(sums, &starts, c.amount);
            if sums.iter().all(BTreeMap::is_empty) {
                self.by_category.remove(c.category);
            }
        }
    }

    fn spent(&self, category: Option<&str>, period: BudgetPeriod, start: NaiveDate) -> Decimal {
        let sums = match category {
            None => Some(&self.all),
            Some(category) => self.by_category.get(category),
        };
        sums.map_or(Decimal::ZERO, |sums| {
            tally::sum(&sums[slot(period)], &start)
        })
    }
}

/// Counts `amount` in for each period kind, `starts` being the periods' first days in
/// the order of [`PERIODS`].
fn add_to(sums: &mut ByPeriod, starts: &[NaiveDate; 3], amount: Decimal) {
    for (sum, start) in sums.iter_mut().zip(starts) {
        tally::add(sum, *start, amount);
    }
}

fn remove_from(sums: &mut ByPeriod, starts: &[NaiveDate; 3], amount: Decimal) {
    for (sum, start) in sums.iter_mut().zip(starts) {
        tally::remove(sum, start, amount);
    }
}

/// The budgets of one ledger and the spending they measure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budgets {
    currency: Currency,
    definitions: BTreeMap<BudgetId, BudgetDefinition>,
    /// Which budgets an expense of a category moves, without scanning them all.
    all_spending: BTreeSet<BudgetId>,
    by_category: BTreeMap<String, BTreeSet<BudgetId>>,
    /// Built from the expenses by [`Budgets::with_spending_of`] before anything
    /// outside the fold sees the budgets; until then the fold leaves it alone.
    spending: Derived<Spending>,
}

impl Budgets {
    pub(crate) fn new(currency: Currency) -> Self {
        Budgets {
            currency,
            definitions: BTreeMap::new(),
            all_spending: BTreeSet::new(),
            by_category: BTreeMap::new(),
            spending: Derived::default(),
        }
    }

    /// These budgets with their spending built from `expenses` (the ledger's own)
    /// if it was not yet.
    pub(crate) fn with_spending_of(&self, expenses: &Expenses) -> &Budgets {
        self.spending.get_or_build(|| Spending::of(expenses));
        self
    }

    pub(crate) fn spending_built(&self) -> bool {
        self.spending.built().is_some()
    }

    /// The spending of `category` in the period of kind `period` starting on `start`.
    /// Zero before the spending is built, which only the fold could see, and it
    /// builds the spending before it reads it.
    fn spending(&self, category: Option<&str>, period: BudgetPeriod, start: NaiveDate) -> Decimal {
        self.spending
            .built()
            .map_or(Decimal::ZERO, |s| s.spent(category, period, start))
    }

    pub fn get(&self, id: BudgetId) -> Option<&BudgetDefinition> {
        self.definitions.get(&id)
    }

    /// Every budget, in id order.
    pub fn definitions(&self) -> impl Iterator<Item = &BudgetDefinition> {
        self.definitions.values()
    }

    /// How much live spending of `category` (`None`: all of it) falls in the period of
    /// kind `period` that contains `date`.
    pub fn spent(&self, category: Option<&str>, period: BudgetPeriod, date: NaiveDate) -> Money {
        let start = period_start(period, date);
        Money::new(self.spending(category, period, start), self.currency)
    }

    /// The budget's status in its period that contains `date`.
    pub fn status(&self, id: BudgetId, date: NaiveDate) -> Option<BudgetStatus> {
        self.get(id).map(|budget| self.status_of(budget, date))
    }

    /// Every budget's status in its period that contains `date`, in id order.
    pub fn statuses(&self, date: NaiveDate) -> Vec<BudgetStatus> {
        self.definitions()
            .map(|budget| self.status_of(budget, date))
            .collect()
    }

    /// `budget`'s status against the current spending, whether or not `budget` is
    /// the stored definition (the fold uses this for the definition a `BudgetSet`
    /// replaces).
    pub(crate) fn status_of(&self, budget: &BudgetDefinition, date: NaiveDate) -> BudgetStatus {
        let spent = self.spent_in(budget, period_start(budget.period, date));
        self.status_with(budget, date, spent)
    }

    /// The live spending `budget` measures in its period starting on `start`.
    pub(crate) fn spent_in(&self, budget: &BudgetDefinition, start: NaiveDate) -> Decimal {
        self.spending(budget.category.as_deref(), budget.period, start)
    }

    /// `budget`'s status in its period that contains `date`, had `spent` been spent
    /// in it: the fold builds the status before an expense moved from the spending it
    /// noted then, instead of building every status twice to compare them.
    pub(crate) fn status_with(
        &self,
        budget: &BudgetDefinition,
        date: NaiveDate,
        spent: Decimal,
    ) -> BudgetStatus {
        let start = period_start(budget.period, date);
        let limit = budget.limit.as_decimal();
        let lowest_threshold = budget.thresholds.iter().min();
        let status = BudgetStatus {
            budget_id: budget.budget_id,
            category: budget.category.clone(),
            period: budget.period,
            period_start: start,
            period_end: period_end(budget.period, date),
            limit: Money::new(limit, self.currency),
            spent: Money::new(spent, self.currency),
            remaining: Money::new(limit - spent, self.currency),
            utilization: utilization(spent, limit),
            status: BudgetState::Ok,
            thresholds: budget.thresholds.clone(),
            snoozed_until: budget.snoozed_until,
        };
        let state = if spent > limit {
            BudgetState::Exceeded
        } else if lowest_threshold.is_some_and(|t| status.reached(*t)) {
            BudgetState::Warning
        } else {
            BudgetState::Ok
        };
        BudgetStatus {
            status: state,
            ..status
        }
    }

    /// The budgets an expense of `category` counts against: the all-spending ones,
    /// then that category's, each in id order. A budget is in one of the two groups
    /// only, so none comes twice.
    pub(crate) fn matching<'a>(
        &'a self,
        category: &str,
    ) -> impl Iterator<Item = &'a BudgetDefinition> + 'a {
        let of_category = self.by_category.get(category).into_iter().flatten();
        self.all_spending
            .iter()
            .chain(of_category)
            .filter_map(|id| self.definitions.get(id))
    }

    /// The definition `set` (at stream `version`, `limit` already at the ledger's
    /// precision) makes; the fold compares it with the one it replaces.
    pub(crate) fn defined_by(
        &self,
        set: &BudgetSet,
        limit: Amount,
        version: u64,
    ) -> BudgetDefinition {
        let previous = self.get(set.budget_id);
        let armed_by_version = match previous {
            Some(old) if old.same_terms(set, limit) => old.armed_by_version,
            _ => version,
        };
        BudgetDefinition {
            budget_id: set.budget_id,
            category: set.category.clone(),
            limit,
            period: set.period,
            thresholds: set.thresholds.clone(),
            // A snooze is the user's "quiet until then" and outlives edits to the budget.
            snoozed_until: previous.and_then(|old| old.snoozed_until),
            version,
            armed_by_version,
        }
    }

    pub(crate) fn put(&mut self, budget: BudgetDefinition) {
        self.unindex(budget.budget_id);
        match &budget.category {
            None => {
                self.all_spending.insert(budget.budget_id);
            }
            Some(category) => {
                self.by_category
                    .entry(category.clone())
                    .or_default()
                    .insert(budget.budget_id);
            }
        }
        self.definitions.insert(budget.budget_id, budget);
    }

    pub(crate) fn remove(&mut self, id: BudgetId) -> Option<BudgetDefinition> {
        self.unindex(id);
        self.definitions.remove(&id)
    }

    pub(crate) fn snooze(&mut self, id: BudgetId, until: DateTime<Utc>, version: u64) {
        if let Some(budget) = self.definitions.get_mut(&id) {
            budget.snoozed_until = Some(until);
            budget.version = version;
        }
    }

    /// Notes a later event of the budget's stream (an alert) that changes nothing else.
    pub(crate) fn touch(&mut self, id: BudgetId, version: u64) {
        if let Some(budget) = self.definitions.get_mut(&id) {
            budget.version = budget.version.max(version);
        }
    }

    /// Moves spending from an expense's old contribution to its new one.
    pub(crate) fn move_spending(
        &mut self,
        before: Option<&Contribution<'_>>,
        after: Option<&Contribution<'_>>,
    ) {
        let Some(spending) = self.spending.built_mut() else {
            return;
        };
        if let Some(c) = before {
            spending.remove(c);
        }
        if let Some(c) = after {
            spending.add(c);
        }
    }

    fn unindex(&mut self, id: BudgetId) {
        let Some(old) = self.definitions.get(&id) else {
            return;
        };
        match &old.category {
            None => {
                self.all_spending.remove(&id);
            }
            Some(category) => {
                if let Some(ids) = self.by_category.get_mut(category) {
                    ids.remove(&id);
                    if ids.is_empty() {
                        self.by_category.remove(category);
                    }
                }
            }
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

    fn spend<'a>(amount: &str, date: &str, category: &'a str) -> Contribution<'a> {
        Contribution {
            amount: amount.parse().unwrap(),
            occurred_on: d(date),
            category,
            merchant: None,
        }
    }

    impl Budgets {
        fn add_spending(&mut self, c: &Contribution<'_>) {
            self.move_spending(None, Some(c));
        }
    }

    fn budgets_with(
        category: Option<&str>,
        limit: &str,
        period: BudgetPeriod,
    ) -> (Budgets, BudgetId) {
        let mut budgets = Budgets::new(eur());
        budgets.with_spending_of(&Expenses::default());
        let set = BudgetSet {
            budget_id: BudgetId::new(),
            category: category.map(String::from),
            amount: Amount::parse(limit, eur()).unwrap(),
            period,
            thresholds: vec![80, 100],
        };
        let definition = budgets.defined_by(&set, set.amount, 1);
        budgets.put(definition);
        (budgets, set.budget_id)
    }

    #[test]
    fn utilization_has_one_decimal_rounded_half_away_from_zero() {
        let u =
            |spent: &str, limit: &str| utilization(spent.parse().unwrap(), limit.parse().unwrap());
        assert_eq!(u("422.50", "500.00"), "84.5");
        assert_eq!(u("500.00", "500.00"), "100.0");
        assert_eq!(u("-15.00", "500.00"), "-3.0");
        assert_eq!(u("0.00", "500.00"), "0.0");
        assert_eq!(u("1.00", "3.00"), "33.3");
        assert_eq!(u("2.00", "3.00"), "66.7");
        // 0.0845 of 0.1 is 84.45%: the midpoint goes away from zero, both ways.
        assert_eq!(u("0.08445", "0.1"), "84.5");
        assert_eq!(u("-0.08445", "0.1"), "-84.5");
        assert_eq!(u("-0.0001", "500.00"), "0.0");
        assert_eq!(u("5", "0"), "0.0");
    }

    #[test]
    fn statuses_follow_spending_and_thresholds() {
        let (mut budgets, id) = budgets_with(Some("food"), "100.00", BudgetPeriod::Monthly);
        let on = d("2026-11-15");
        assert_eq!(budgets.status(id, on).unwrap().status, BudgetState::Ok);

        budgets.add_spending(&spend("79.99", "2026-11-01", "food"));
        budgets.add_spending(&spend("500.00", "2026-11-02", "rent"));
        let status = budgets.status(id, on).unwrap();
        assert_eq!(
            (status.status, status.utilization.as_str()),
            (BudgetState::Ok, "80.0")
        );

        budgets.add_spending(&spend("0.01", "2026-11-30", "food"));
        let status = budgets.status(id, on).unwrap();
        assert_eq!(status.status, BudgetState::Warning);
        assert_eq!(status.remaining.to_string(), "20.00");

        budgets.add_spending(&spend("20.00", "2026-11-30", "food"));
        assert_eq!(budgets.status(id, on).unwrap().status, BudgetState::Warning);
        budgets.add_spending(&spend("0.01", "2026-11-30", "food"));
        let status = budgets.status(id, on).unwrap();
        assert_eq!(status.status, BudgetState::Exceeded);
        assert_eq!(status.remaining.to_string(), "-0.01");

        // A refund brings it back under; other months are untouched.
        budgets.add_spending(&spend("-50.00", "2026-11-03", "food"));
        assert_eq!(budgets.status(id, on).unwrap().spent.to_string(), "50.01");
        let december = budgets.status(id, d("2026-12-01")).unwrap();
        assert_eq!(
            (december.spent.to_string(), december.period_end),
            ("0.00".into(), d("2026-12-31"))
        );
    }

    #[test]
    fn removing_spending_leaves_no_trace() {
        let (mut budgets, _) = budgets_with(None, "100.00", BudgetPeriod::Weekly);
        let before = budgets.clone();
        let c = spend("12.00", "2026-12-31", "food");
        budgets.add_spending(&c);
        assert_eq!(
            budgets
                .spent(None, BudgetPeriod::Weekly, d("2027-01-03"))
                .to_string(),
            "12.00"
        );
        assert_eq!(
            budgets
                .spent(Some("food"), BudgetPeriod::Yearly, d("2026-01-01"))
                .to_string(),
            "12.00"
        );
        assert_eq!(
            budgets
                .spent(Some("food"), BudgetPeriod::Yearly, d("2027-01-01"))
                .to_string(),
            "0.00"
        );
        budgets.move_spending(Some(&c), None);
        assert_eq!(budgets, before);
    }

    #[test]
    fn only_a_changed_definition_rearms() {
        let (mut budgets, id) = budgets_with(Some("food"), "100.00", BudgetPeriod::Monthly);
        let mut set = BudgetSet {
            budget_id: id,
            category: Some("food".into()),
            amount: Amount::parse("100", eur()).unwrap(),
            period: BudgetPeriod::Monthly,
            thresholds: vec![80, 100],
        };
        let same = budgets.defined_by(&set, set.amount, 2);
        assert_eq!((same.version, same.armed_by_version), (2, 1));
        set.thresholds = vec![50, 100];
        let changed = budgets.defined_by(&set, set.amount, 3);
        assert_eq!(changed.armed_by_version, 3);
        budgets.put(changed);
        set.category = None;
        let widened = budgets.defined_by(&set, set.amount, 4);
        budgets.put(widened);
        assert_eq!(budgets.matching("anything").count(), 1);
        assert_eq!(budgets.matching("food").count(), 1);
        budgets.remove(id);
        assert_eq!(budgets.matching("food").count(), 0);
        assert_eq!(budgets, Budgets::new(eur()));
    }
}
