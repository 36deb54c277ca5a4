//! The current state of every expense of one ledger, deleted ones included.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{ExpenseAmended, ExpenseRecorded};
use ledger::{Amount, Currency, ExpenseId, ImportId, UserId};
use rust_decimal::Decimal;
use serde::Serialize;

/// An expense as the contract shows it. A deleted expense stays, with `deleted: true`,
/// so its history and id remain resolvable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Expense {
    pub expense_id: ExpenseId,
    /// The version of the expense's stream after its latest event.
    pub version: u64,
    pub amount: Amount,
    pub currency: Currency,
    pub occurred_on: NaiveDate,
    pub category: String,
    pub merchant: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub deleted: bool,
    /// When the expense was first recorded (not when it was last changed).
    pub recorded_at: DateTime<Utc>,
    /// The actor in the metadata of the event that recorded it.
    pub recorded_by: Option<UserId>,
    pub original_amount: Option<Amount>,
    pub original_currency: Option<Currency>,
    pub import_id: Option<ImportId>,
}

/// What a live expense adds to the aggregates (budgets and analytics); a change to
/// an expense takes its old contribution out and puts its new one in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Contribution {
    pub(crate) amount: Decimal,
    pub(crate) occurred_on: NaiveDate,
    pub(crate) category: String,
    pub(crate) merchant: Option<String>,
}

impl Contribution {
    /// Whether budgets see a difference: they ignore the merchant.
    pub(crate) fn same_spending(&self, other: &Contribution) -> bool {
        self.amount == other.amount
            && self.occurred_on == other.occurred_on
            && self.category == other.category
    }
}

impl Expense {
    /// `amount` must already be at `currency`'s precision.
    pub(crate) fn recorded(
        event: &ExpenseRecorded,
        amount: Amount,
        currency: Currency,
        version: u64,
        recorded_at: DateTime<Utc>,
        recorded_by: Option<UserId>,
    ) -> Expense {
        Expense {
            expense_id: event.expense_id,
            version,
            amount,
            currency,
            occurred_on: event.occurred_on,
            category: event.category.clone(),
            merchant: event.merchant.clone(),
            description: event.description.clone(),
            tags: event.tags.clone(),
            deleted: false,
            recorded_at,
            recorded_by,
            original_amount: event.original_amount,
            original_currency: event.original_currency,
            import_id: event.import_id,
        }
    }

    /// This expense with the fields `event` carries replaced; `amount` is the
    /// amendment's amount already at the ledger's precision, if it has one.
    pub(crate) fn amended(
        &self,
        event: &ExpenseAmended,
        amount: Option<Amount>,
        version: u64,
    ) -> Expense {
        let mut next = self.clone();
        next.version = version;
        if let Some(amount) = amount {
            next.amount = amount;
        }
        if let Some(date) = event.occurred_on {
            next.occurred_on = date;
        }
        if let Some(category) = &event.category {
            next.category.clone_from(category);
        }
        if let Some(merchant) = &event.merchant {
            next.merchant.clone_from(merchant);
        }
        if let Some(description) = &event.description {
            next.description.clone_from(description);
        }
        if let Some(tags) = &event.tags {
            next.tags.clone_from(tags);
        }
        next
    }

    pub(crate) fn deleted(&self, version: u64) -> Expense {
        Expense {
            version,
            deleted: true,
            ..self.clone()
        }
    }

    /// `None` once deleted: a deleted expense counts nowhere.
    pub(crate) fn contribution(&self) -> Option<Contribution> {
        (!self.deleted).then(|| Contribution {
            amount: self.amount.as_decimal(),
            occurred_on: self.occurred_on,
            category: self.category.clone(),
            merchant: self.merchant.clone(),
        })
    }
}

/// Every expense of a ledger by id, with an index by date for listings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expenses {
    by_id: BTreeMap<ExpenseId, Expense>,
    by_date: BTreeMap<NaiveDate, BTreeSet<ExpenseId>>,
}

impl Expenses {
    pub fn get(&self, id: ExpenseId) -> Option<&Expense> {
        self.by_id.get(&id)
    }

    /// How many expenses there are, deleted ones included.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Every expense, deleted ones included, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Expense> {
        self.by_id.values()
    }

    /// Expenses (deleted ones included) ordered by `(occurred_on, expense_id)`, from
    /// `from` to `to` inclusive, strictly after `cursor` if given: a stable order for
    /// paging, since a cursor names the last item of the previous page.
    pub fn in_date_order(
        &self,
        from: Option<NaiveDate>,
        to: Option<NaiveDate>,
        cursor: Option<(NaiveDate, ExpenseId)>,
    ) -> impl Iterator<Item = &Expense> {
        let lower = match (from, cursor.map(|(date, _)| date)) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        let upper = to.unwrap_or(NaiveDate::MAX);
        let lower = lower.unwrap_or(NaiveDate::MIN);
        // An empty range, rather than a reversed one: BTreeMap::range panics on those.
        let dates = (lower <= upper).then(|| self.by_date.range(lower..=upper));
        dates
            .into_iter()
            .flatten()
            .flat_map(|(date, ids)| ids.iter().map(move |id| (*date, *id)))
            .filter(move |key| cursor.map_or(true, |c| *key > c))
            .filter_map(|(_, id)| self.by_id.get(&id))
    }

    /// Puts `expense` in place of whatever had its id.
    pub(crate) fn upsert(&mut self, expense: Expense) {
        if let Some(old) = self.by_id.get(&expense.expense_id) {
            if old.occurred_on != expense.occurred_on {
                let date = old.occurred_on;
                if let Some(ids) = self.by_date.get_mut(&date) {
                    ids.remove(&expense.expense_id);
                    if ids.is_empty() {
                        self.by_date.remove(&date);
                    }
                }
            }
        }
        self.by_date
            .entry(expense.occurred_on)
            .or_default()
            .insert(expense.expense_id);
        self.by_id.insert(expense.expense_id, expense);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn recorded(date: &str, amount: &str) -> Expense {
        let event = ExpenseRecorded {
            expense_id: ExpenseId::new(),
            amount: Amount::parse(amount, eur()).unwrap(),
            occurred_on: date.parse().unwrap(),
            category: "groceries".into(),
            merchant: Some("Corner shop".into()),
            description: Some("milk".into()),
            tags: vec!["food".into()],
            original_amount: None,
            original_currency: None,
            import_id: None,
        };
        Expense::recorded(&event, event.amount, eur(), 1, DateTime::UNIX_EPOCH, None)
    }

    #[test]
    fn amendments_change_only_what_they_carry() {
        let expense = recorded("2026-11-01", "12.50");
        let amendment = ExpenseAmended {
            expense_id: expense.expense_id,
            merchant: Some(None),
            category: Some("treats".into()),
            ..ExpenseAmended::default()
        };
        let next = expense.amended(&amendment, None, 2);
        assert_eq!(next.version, 2);
        assert_eq!(next.merchant, None);
        assert_eq!(next.category, "treats");
        assert_eq!(next.description.as_deref(), Some("milk"));
        assert_eq!(next.amount, expense.amount);
        assert_eq!(next.tags, expense.tags);
    }

    #[test]
    fn deleted_expenses_stay_but_stop_contributing() {
        let expense = recorded("2026-11-01", "12.50");
        assert!(expense.contribution().is_some());
        let gone = expense.deleted(2);
        assert!(gone.deleted);
        assert_eq!(gone.contribution(), None);
    }

    #[test]
    fn listings_follow_date_then_id_and_resume_after_a_cursor() {
        let mut expenses = Expenses::default();
        let a = recorded("2026-11-02", "1");
        let b = recorded("2026-11-01", "2");
        let c = recorded("2026-11-02", "3");
        for e in [&a, &b, &c] {
            expenses.upsert(e.clone());
        }
        let order: Vec<_> = expenses
            .in_date_order(None, None, None)
            .map(|e| e.expense_id)
            .collect();
        let (first, second) = if a.expense_id < c.expense_id {
            (&a, &c)
        } else {
            (&c, &a)
        };
        assert_eq!(
            order,
            vec![b.expense_id, first.expense_id, second.expense_id]
        );
        let rest: Vec<_> = expenses
            .in_date_order(None, None, Some((first.occurred_on, first.expense_id)))
            .map(|e| e.expense_id)
            .collect();
        assert_eq!(rest, vec![second.expense_id]);
        let day: Vec<_> = expenses
            .in_date_order(b.occurred_on.into(), b.occurred_on.into(), None)
            .collect();
        assert_eq!(day.len(), 1);
        assert_eq!(
            expenses
                .in_date_order(a.occurred_on.into(), b.occurred_on.into(), None)
                .count(),
            0
        );

        let moved = a.amended(
            &ExpenseAmended {
                expense_id: a.expense_id,
                occurred_on: Some("2026-10-31".parse().unwrap()),
                ..ExpenseAmended::default()
            },
            None,
            2,
        );
        expenses.upsert(moved);
        let order: Vec<_> = expenses
            .in_date_order(None, None, None)
            .map(|e| e.expense_id)
            .collect();
        assert_eq!(order, vec![a.expense_id, b.expense_id, c.expense_id]);
        assert_eq!(expenses.len(), 3);
    }
}
