//! Commands: every change a user can ask of a ledger is decided here.
//!
//! A command takes input that is already parsed (money, dates, the text newtypes of
//! [`crate::text`]) plus the little current state its decision needs (whether a
//! stream exists, the version it is at, whether an expense is deleted), and answers
//! with the [`AppendRequest`](crate::AppendRequest) to hand to the store, or a
//! [`CommandError`] saying why not. Commands do no I/O: the HTTP handlers, the import
//! engine and the demo parse and authorize, look up the state, call a command and
//! append what it returns.
//!
//! What only the log can decide stays with the log: "this expense exists already"
//! and "the stream moved on" are the store's version conflicts, from the
//! [`ExpectedVersion`](crate::ExpectedVersion) a command puts on each write.
//!
//! One file per aggregate: [`ledger`], [`expense`], [`budget`], [`import`].

pub mod budget;
pub mod expense;
pub mod import;
pub mod ledger;

use crate::ids::{BudgetId, ExpenseId, LedgerId, UserId};

/// Why a command refused. The messages are the API's.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// An amendment of a deleted expense.
    #[error("expense {expense_id} is deleted")]
    ExpenseDeleted { expense_id: ExpenseId, version: u64 },
    /// A second deletion that is not the retry of the first.
    #[error("expense {expense_id} is already deleted")]
    AlreadyDeleted { expense_id: ExpenseId, version: u64 },
    /// An amendment that changes no field.
    #[error("nothing to change")]
    NothingToChange,
    /// A change to a budget this ledger does not have.
    #[error("no budget {budget_id} in ledger {ledger_id}")]
    NoBudget {
        ledger_id: LedgerId,
        budget_id: BudgetId,
    },
    /// Thresholds outside their limits (field `thresholds`).
    #[error("1 to 10 percentages between 1 and 1000")]
    Thresholds,
    /// A grant to a user the directory does not know (field `user_id`).
    #[error("no user {0}")]
    NoUser(UserId),
    /// A revocation of someone who is not a member (field `user_id`).
    #[error("user {0} is not a member of this ledger")]
    NotAMember(UserId),
    /// The owner's role is theirs for good (field `user_id`).
    #[error("the owner's role cannot be changed")]
    Owner(UserId),
}

/// A stable id derived from a client's idempotency key, so that a retry of a create
/// names the same aggregate and the log recognises it as the same request.
fn id_from_key(namespace: uuid::Uuid, kind: &str, key: &str) -> uuid::Uuid {
    uuid::Uuid::new_v5(&namespace, format!("{kind}:{key}").as_bytes())
}
