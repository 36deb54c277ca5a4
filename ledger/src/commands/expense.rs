//! An expense's stream: recording, amending and deleting it.

use chrono::NaiveDate;

use super::{id_from_key, CommandError};
use crate::append::{AppendRequest, ExpectedVersion, StreamWrite};
use crate::event::{Event, ExpenseAmended, ExpenseDeleted, ExpenseRecorded};
use crate::ids::{ExpenseId, ImportId, LedgerId, StreamId};
use crate::money::{Amount, Currency};
use crate::recorded::Metadata;
use crate::text::{Category, Description, Merchant, Tag};

/// A new expense, parsed; amounts are in the ledger's currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewExpense {
    pub expense_id: ExpenseId,
    /// Positive: spending; negative: a refund.
    pub amount: Amount,
    pub occurred_on: NaiveDate,
    pub category: Category,
    pub merchant: Option<Merchant>,
    pub description: Option<Description>,
    pub tags: Vec<Tag>,
    /// What was paid in a foreign currency (informational).
    pub original: Option<(Amount, Currency)>,
}

impl NewExpense {
    /// The event that records it; `import_id` when a statement import brought it.
    pub(super) fn recorded(self, import_id: Option<ImportId>) -> ExpenseRecorded {
        let (original_amount, original_currency) = self.original.unzip();
        ExpenseRecorded {
            expense_id: self.expense_id,
            amount: self.amount,
            occurred_on: self.occurred_on,
            category: self.category.into_string(),
            merchant: self.merchant.map(Merchant::into_string),
            description: self.description.map(Description::into_string),
            tags: self.tags.into_iter().map(Tag::into_string).collect(),
            original_amount,
            original_currency,
            import_id,
        }
    }

    /// Its stream's write: only the first record of an id succeeds, a second one is
    /// the store's version conflict.
    pub(super) fn write(self, import_id: Option<ImportId>) -> StreamWrite {
        StreamWrite {
            stream: StreamId::expense(self.expense_id),
            expected: ExpectedVersion::NoStream,
            events: vec![Event::ExpenseRecorded(self.recorded(import_id))],
        }
    }
}

/// The id a new expense gets when the client chose none: derived from the request's
/// idempotency key, since a retry must be the same request, expense id included;
/// new otherwise.
pub fn new_id(ledger: LedgerId, idempotency_key: Option<&str>) -> ExpenseId {
    match idempotency_key {
        Some(key) => ExpenseId::from_uuid(id_from_key(ledger.as_uuid(), "expense", key)),
        None => ExpenseId::new(),
    }
}

/// Records a new expense in `ledger`.
pub fn record(ledger: LedgerId, expense: NewExpense, metadata: Metadata) -> AppendRequest {
    AppendRequest {
        ledger,
        writes: vec![expense.write(None)],
        metadata,
    }
}

/// What the decisions about an existing expense need to know of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpenseState {
    pub version: u64,
    pub deleted: bool,
}

/// Fields to change, parsed; `None` leaves a field as it is, `Some(None)` clears an
/// optional one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExpenseChanges {
    pub amount: Option<Amount>,
    pub occurred_on: Option<NaiveDate>,
    pub category: Option<Category>,
    pub merchant: Option<Option<Merchant>>,
    pub description: Option<Option<Description>>,
    pub tags: Option<Vec<Tag>>,
}

/// Whether an expense may be amended at all. [`amend`] asks it too; it is public so
/// a boundary can refuse a deleted expense before it reads the changes.
///
/// # Errors
/// [`CommandError::ExpenseDeleted`] for a deleted expense.
pub fn amendable(expense_id: ExpenseId, current: ExpenseState) -> Result<(), CommandError> {
    if current.deleted {
        return Err(CommandError::ExpenseDeleted {
            expense_id,
            version: current.version,
        });
    }
    Ok(())
}

/// Amends an expense; `expected` is the version the client saw, if it said.
///
/// # Errors
/// [`CommandError::ExpenseDeleted`] for a deleted expense,
/// [`CommandError::NothingToChange`] when `changes` changes no field.
pub fn amend(
    ledger: LedgerId,
    expense_id: ExpenseId,
    changes: ExpenseChanges,
    current: ExpenseState,
    expected: ExpectedVersion,
    metadata: Metadata,
) -> Result<AppendRequest, CommandError> {
    amendable(expense_id, current)?;
    if changes == ExpenseChanges::default() {
        return Err(CommandError::NothingToChange);
    }
    let amended = ExpenseAmended {
        expense_id,
        amount: changes.amount,
        occurred_on: changes.occurred_on,
        category: changes.category.map(Category::into_string),
        merchant: changes.merchant.map(|m| m.map(Merchant::into_string)),
        description: changes.description.map(|d| d.map(Description::into_string)),
        tags: changes
            .tags
            .map(|tags| tags.into_iter().map(Tag::into_string).collect()),
    };
    Ok(AppendRequest::new(
        ledger,
        StreamId::expense(expense_id),
        expected,
        vec![Event::ExpenseAmended(amended)],
    )
    .metadata(metadata))
}

/// Deletes an expense (it stays listed, marked deleted).
///
/// # Errors
/// [`CommandError::AlreadyDeleted`] for a deleted expense, unless the request
/// carries an idempotency key: then it may be the retry of the deletion, and the
/// store answers it with the first answer (or refuses a different request).
pub fn delete(
    ledger: LedgerId,
    expense_id: ExpenseId,
    current: ExpenseState,
    expected: ExpectedVersion,
    metadata: Metadata,
) -> Result<AppendRequest, CommandError> {
    if current.deleted && metadata.idempotency_key.is_none() {
        return Err(CommandError::AlreadyDeleted {
            expense_id,
            version: current.version,
        });
    }
    Ok(AppendRequest::new(
        ledger,
        StreamId::expense(expense_id),
        expected,
        vec![Event::ExpenseDeleted(ExpenseDeleted { expense_id })],
    )
    .metadata(metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(text: &str) -> Amount {
        Amount::parse(text, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn coffee() -> NewExpense {
        NewExpense {
            expense_id: ExpenseId::new(),
            amount: eur("3.20"),
            occurred_on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            category: Category::parse("coffee").unwrap(),
            merchant: Some(Merchant::parse("Corner").unwrap()),
            description: None,
            tags: vec![Tag::parse("work").unwrap()],
            original: None,
        }
    }

    const LIVE: ExpenseState = ExpenseState {
        version: 2,
        deleted: false,
    };
    const DELETED: ExpenseState = ExpenseState {
        version: 3,
        deleted: true,
    };

    #[test]
    fn recording_expects_no_stream_and_keeps_every_field() {
        let ledger = LedgerId::new();
        let new = coffee();
        let request = record(ledger, new.clone(), Metadata::default());
        let write = &request.writes[0];
        assert_eq!(write.stream, StreamId::expense(new.expense_id));
        assert_eq!(write.expected, ExpectedVersion::NoStream);
        let Event::ExpenseRecorded(e) = &write.events[0] else {
            panic!("not a record")
        };
        assert_eq!(e.category, "coffee");
        assert_eq!(e.merchant.as_deref(), Some("Corner"));
        assert_eq!(e.tags, vec!["work".to_owned()]);
        assert_eq!(e.import_id, None);
    }

    #[test]
    fn a_key_names_the_expense() {
        let ledger = LedgerId::new();
        assert_eq!(new_id(ledger, Some("a")), new_id(ledger, Some("a")));
        assert_ne!(new_id(ledger, Some("a")), new_id(ledger, Some("b")));
        assert_ne!(
            new_id(ledger, Some("a")),
            new_id(LedgerId::new(), Some("a"))
        );
    }

    #[test]
    fn amendments_change_something_of_a_live_expense() {
        let (ledger, id) = (LedgerId::new(), ExpenseId::new());
        let amend = |changes, current| {
            amend(
                ledger,
                id,
                changes,
                current,
                ExpectedVersion::Exact(2),
                Metadata::default(),
            )
        };
        assert_eq!(
            amend(ExpenseChanges::default(), LIVE).unwrap_err(),
            CommandError::NothingToChange
        );
        let clear = ExpenseChanges {
            merchant: Some(None),
            ..ExpenseChanges::default()
        };
        assert_eq!(
            amend(clear.clone(), DELETED).unwrap_err(),
            CommandError::ExpenseDeleted {
                expense_id: id,
                version: 3
            }
        );
        let request = amend(clear, LIVE).unwrap();
        assert_eq!(request.writes[0].expected, ExpectedVersion::Exact(2));
        let Event::ExpenseAmended(a) = &request.writes[0].events[0] else {
            panic!("not an amendment")
        };
        assert_eq!(a.merchant, Some(None));
        assert_eq!(a.category, None);
    }

    #[test]
    fn a_deleted_expense_is_deleted_again_only_by_a_retry() {
        let (ledger, id) = (LedgerId::new(), ExpenseId::new());
        let err = delete(
            ledger,
            id,
            DELETED,
            ExpectedVersion::Any,
            Metadata::default(),
        );
        assert_eq!(
            err.unwrap_err().to_string(),
            format!("expense {id} is already deleted")
        );
        let retry = Metadata {
            idempotency_key: Some("k".into()),
            ..Metadata::default()
        };
        assert!(delete(ledger, id, DELETED, ExpectedVersion::Any, retry).is_ok());
        assert!(delete(ledger, id, LIVE, ExpectedVersion::Any, Metadata::default()).is_ok());
    }
}
