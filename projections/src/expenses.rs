//! The current state of every expense of one ledger, deleted ones included.

use std::collections::btree_map::Entry;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{ExpenseAmended, ExpenseRecorded};
use ledger::{Amount, Currency, ExpenseId, ImportId, UserId};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::derived::Derived;

/// An expense as the contract shows it. A deleted expense stays, with `deleted: true`,
/// so its history and id remain resolvable.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// What few expenses have, out of line: a read model holds every expense, and
    /// each byte of one is a megabyte of a million.
    pub(crate) origin: Option<Box<Origin>>,
}

/// Where an expense came from besides the hand that recorded it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Origin {
    original_amount: Option<Amount>,
    original_currency: Option<Currency>,
    import_id: Option<ImportId>,
}

impl Origin {
    /// `None` when there is nothing to keep.
    pub(crate) fn boxed(
        original_amount: Option<Amount>,
        original_currency: Option<Currency>,
        import_id: Option<ImportId>,
    ) -> Option<Box<Origin>> {
        let origin = Origin {
            original_amount,
            original_currency,
            import_id,
        };
        (origin != Origin::default()).then(|| Box::new(origin))
    }
}

/// The contract's shape of an expense, every field at the top level.
#[derive(Serialize)]
struct Shown<'a> {
    expense_id: ExpenseId,
    version: u64,
    amount: Amount,
    currency: Currency,
    occurred_on: NaiveDate,
    category: &'a str,
    merchant: Option<&'a str>,
    description: Option<&'a str>,
    tags: &'a [String],
    deleted: bool,
    recorded_at: DateTime<Utc>,
    recorded_by: Option<UserId>,
    original_amount: Option<Amount>,
    original_currency: Option<Currency>,
    import_id: Option<ImportId>,
}

impl Serialize for Expense {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Shown {
            expense_id: self.expense_id,
            version: self.version,
            amount: self.amount,
            currency: self.currency,
            occurred_on: self.occurred_on,
            category: &self.category,
            merchant: self.merchant.as_deref(),
            description: self.description.as_deref(),
            tags: &self.tags,
            deleted: self.deleted,
            recorded_at: self.recorded_at,
            recorded_by: self.recorded_by,
            original_amount: self.original_amount(),
            original_currency: self.original_currency(),
            import_id: self.import_id(),
        }
        .serialize(serializer)
    }
}

/// What a live expense adds to the aggregates (budgets and analytics); a change to
/// an expense takes its old contribution out and puts its new one in.
///
/// It borrows its names from the expense: the aggregates only copy a name when they
/// see it for the first time, so folding an expense allocates no names of its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Contribution<'a> {
    pub(crate) amount: Decimal,
    pub(crate) occurred_on: NaiveDate,
    pub(crate) category: &'a str,
    pub(crate) merchant: Option<&'a str>,
}

impl Contribution<'_> {
    /// Whether budgets see a difference: they ignore the merchant.
    pub(crate) fn same_spending(&self, other: &Contribution<'_>) -> bool {
        self.amount == other.amount
            && self.occurred_on == other.occurred_on
            && self.category == other.category
    }
}

impl Expense {
    /// `amount` must already be at `currency`'s precision. Takes the event by value
    /// so its texts move into the expense instead of being copied.
    pub(crate) fn recorded(
        event: ExpenseRecorded,
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
            category: event.category,
            merchant: event.merchant,
            description: event.description,
            tags: event.tags,
            deleted: false,
            recorded_at,
            recorded_by,
            origin: Origin::boxed(
                event.original_amount,
                event.original_currency,
                event.import_id,
            ),
        }
    }

    /// What was paid in another currency, as the event gave it (informational).
    pub fn original_amount(&self) -> Option<Amount> {
        self.origin.as_ref().and_then(|o| o.original_amount)
    }

    pub fn original_currency(&self) -> Option<Currency> {
        self.origin.as_ref().and_then(|o| o.original_currency)
    }

    /// The statement import that recorded it, if one did.
    pub fn import_id(&self) -> Option<ImportId> {
        self.origin.as_ref().and_then(|o| o.import_id)
    }

    /// This expense with the fields `event` carries replaced; `amount` is the
    /// amendment's amount already at the ledger's precision, if it has one.
    pub(crate) fn amended(
        &self,
        event: ExpenseAmended,
        amount: Option<Amount>,
        version: u64,
    ) -> Expense {
        let mut next = self.clone();
        next.amend(event, amount, version);
        next
    }

    /// Replaces the fields `event` carries, as [`Expense::amended`] does, in place.
    fn amend(&mut self, event: ExpenseAmended, amount: Option<Amount>, version: u64) {
        self.version = version;
        if let Some(amount) = amount {
            self.amount = amount;
        }
        if let Some(date) = event.occurred_on {
            self.occurred_on = date;
        }
        if let Some(category) = event.category {
            self.category = category;
        }
        if let Some(merchant) = event.merchant {
            self.merchant = merchant;
        }
        if let Some(description) = event.description {
            self.description = description;
        }
        if let Some(tags) = event.tags {
            self.tags = tags;
        }
    }

    /// `None` once deleted: a deleted expense counts nowhere.
    pub(crate) fn contribution(&self) -> Option<Contribution<'_>> {
        (!self.deleted).then(|| Contribution {
            amount: self.amount.as_decimal(),
            occurred_on: self.occurred_on,
            category: &self.category,
            merchant: self.merchant.as_deref(),
        })
    }
}

/// Every expense of a ledger by id, with an index by date for listings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expenses {
    /// Boxed: an expense is a few hundred bytes, and keeping it out of the tree's
    /// nodes keeps them small, so inserting (a rebuild inserts every expense) moves
    /// and allocates little.
    by_id: BTreeMap<ExpenseId, Box<Expense>>,
    /// `(occurred_on, expense_id)` of every expense, for listings: one flat set, so
    /// indexing an expense is one insertion, and the set's order is the listing
    /// order. Built by the first listing (a rebuild lists nothing).
    by_date: Derived<BTreeSet<(NaiveDate, ExpenseId)>>,
}

/// The lowest and highest expense ids, to bound a range of the date index by dates.
const FIRST_ID: ExpenseId = ExpenseId::from_uuid(Uuid::nil());
const LAST_ID: ExpenseId = ExpenseId::from_uuid(Uuid::max());

impl Expenses {
    pub fn get(&self, id: ExpenseId) -> Option<&Expense> {
        self.by_id.get(&id).map(|expense| &**expense)
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
        self.by_id.values().map(|expense| &**expense)
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
        let first = (from.unwrap_or(NaiveDate::MIN), FIRST_ID);
        let lower = match cursor {
            Some(cursor) if cursor >= first => Bound::Excluded(cursor),
            _ => Bound::Included(first),
        };
        let last = (to.unwrap_or(NaiveDate::MAX), LAST_ID);
        let by_date = self.by_date();
        // An empty range, rather than a reversed one: BTreeSet::range panics on those.
        let nonempty = match lower {
            Bound::Included(low) => low <= last,
            Bound::Excluded(low) => low < last,
            Bound::Unbounded => true,
        };
        nonempty
            .then(|| by_date.range((lower, Bound::Included(last))))
            .into_iter()
            .flatten()
            .filter_map(|(_, id)| self.get(*id))
    }

    /// The date index, built now if nobody listed expenses before.
    pub(crate) fn by_date(&self) -> &BTreeSet<(NaiveDate, ExpenseId)> {
        self.by_date.get_or_build(|| {
            self.by_id
                .values()
                .map(|e| (e.occurred_on, e.expense_id))
                .collect()
        })
    }

    /// Adds a newly recorded expense, or gives it back if its id is already taken.
    /// Returns the stored expense, so the caller can read its contribution without
    /// looking it up again.
    pub(crate) fn record(&mut self, expense: Box<Expense>) -> Result<&Expense, Box<Expense>> {
        match self.by_id.entry(expense.expense_id) {
            Entry::Occupied(_) => Err(expense),
            Entry::Vacant(slot) => {
                if let Some(by_date) = self.by_date.built_mut() {
                    by_date.insert((expense.occurred_on, expense.expense_id));
                }
                Ok(slot.insert(expense))
            }
        }
    }

    /// Puts `expense` in place of whatever had its id.
    pub(crate) fn upsert(&mut self, expense: Expense) {
        let key = (expense.occurred_on, expense.expense_id);
        let old = self.by_id.insert(expense.expense_id, Box::new(expense));
        let Some(by_date) = self.by_date.built_mut() else {
            return;
        };
        match old {
            Some(old) if old.occurred_on == key.0 => return,
            Some(old) => {
                by_date.remove(&(old.occurred_on, old.expense_id));
            }
            None => {}
        }
        by_date.insert(key);
    }

    /// Amends an expense in place (see [`Expense::amended`]); `None` if it was never
    /// recorded. For a fold with nothing derived from the expense to update.
    pub(crate) fn amend(
        &mut self,
        event: ExpenseAmended,
        amount: Option<Amount>,
        version: u64,
    ) -> Option<()> {
        let expense = self.by_id.get_mut(&event.expense_id)?;
        let was = expense.occurred_on;
        expense.amend(event, amount, version);
        if let Some(by_date) = self.by_date.built_mut() {
            if expense.occurred_on != was {
                by_date.remove(&(was, expense.expense_id));
                by_date.insert((expense.occurred_on, expense.expense_id));
            }
        }
        Some(())
    }

    /// Marks an expense deleted at stream `version`; `None` if it was never recorded.
    /// The date index keeps it: listings show deleted expenses too.
    pub(crate) fn delete(&mut self, id: ExpenseId, version: u64) -> Option<&Expense> {
        let expense = self.by_id.get_mut(&id)?;
        expense.version = version;
        expense.deleted = true;
        Some(expense)
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
        let amount = event.amount;
        Expense::recorded(event, amount, eur(), 1, DateTime::UNIX_EPOCH, None)
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
        let next = expense.amended(amendment, None, 2);
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
        let id = expense.expense_id;
        assert!(expense.contribution().is_some());
        let mut expenses = Expenses::default();
        assert!(expenses.record(Box::new(expense.clone())).is_ok());
        assert!(
            expenses.record(Box::new(expense)).is_err(),
            "recorded twice"
        );
        let gone = expenses.delete(id, 2).unwrap();
        assert_eq!((gone.deleted, gone.version), (true, 2));
        assert_eq!(gone.contribution(), None);
        // Still listed, and still where it was.
        assert_eq!(expenses.in_date_order(None, None, None).count(), 1);
        assert!(expenses.delete(ExpenseId::new(), 3).is_none());
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
            ExpenseAmended {
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
