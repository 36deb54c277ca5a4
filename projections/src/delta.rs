//! Deltas: what one event changed in the read models, small enough to push to a socket.

use ledger::event::ImportCompleted;
use ledger::{BudgetId, LedgerId, Position};
use serde::Serialize;

use crate::alerts::Alert;
use crate::analytics::AnalyticsChange;
use crate::budgets::BudgetStatus;
use crate::expenses::Expense;

/// One change, tagged with the position of the event that caused it. Serialized as
/// `{"position", "ledger_id", "type", "data"}`, where `type` is the contract's server
/// message type and `data` its payload, so the gateway only adds `topic`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Delta {
    pub position: Position,
    pub ledger_id: LedgerId,
    #[serde(flatten)]
    pub change: Change,
}

impl Delta {
    /// The topic subscribers of this change listen on: `ledger:{lid}:{kind}`.
    pub fn topic(&self) -> String {
        format!("ledger:{}:{}", self.ledger_id, self.change.topic().name())
    }
}

/// A change to one key of one read model, named by its server message type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "type", content = "data", rename_all = "snake_case")]
pub enum Change {
    ExpenseCreated(Expense),
    ExpenseUpdated(Expense),
    /// The expense as it stands after deletion: kept, with `deleted: true`.
    ExpenseDeleted(Expense),
    /// The budget's status in one period. A client that holds other periods of the
    /// same budget under a different definition (limit, period, category, thresholds
    /// or snooze) drops them: a changed definition is announced for one period only.
    BudgetUpdated(BudgetStatus),
    BudgetRemoved {
        budget_id: BudgetId,
    },
    /// A merge patch with only the analytics keys whose value changed.
    AnalyticsUpdated(AnalyticsChange),
    /// An alert recorded in the log (snoozed ones included; they raise no toast).
    BudgetAlert(Alert),
    /// A statement import's expenses are in the log (they come just before it).
    ImportCompleted(ImportCompleted),
}

/// The read model a change belongs to, which is the last part of its topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    Expenses,
    Budgets,
    Analytics,
    Alerts,
    Imports,
}

impl Topic {
    pub const fn name(self) -> &'static str {
        match self {
            Topic::Expenses => "expenses",
            Topic::Budgets => "budgets",
            Topic::Analytics => "analytics",
            Topic::Alerts => "alerts",
            Topic::Imports => "imports",
        }
    }
}

impl Change {
    pub const fn topic(&self) -> Topic {
        match self {
            Change::ExpenseCreated(_) | Change::ExpenseUpdated(_) | Change::ExpenseDeleted(_) => {
                Topic::Expenses
            }
            Change::BudgetUpdated(_) | Change::BudgetRemoved { .. } => Topic::Budgets,
            Change::AnalyticsUpdated(_) => Topic::Analytics,
            Change::BudgetAlert(_) => Topic::Alerts,
            Change::ImportCompleted(_) => Topic::Imports,
        }
    }

    /// The `type` of the server message that carries this change.
    pub const fn message_type(&self) -> &'static str {
        match self {
            Change::ExpenseCreated(_) => "expense_created",
            Change::ExpenseUpdated(_) => "expense_updated",
            Change::ExpenseDeleted(_) => "expense_deleted",
            Change::BudgetUpdated(_) => "budget_updated",
            Change::BudgetRemoved { .. } => "budget_removed",
            Change::AnalyticsUpdated(_) => "analytics_updated",
            Change::BudgetAlert(_) => "budget_alert",
            Change::ImportCompleted(_) => "import_completed",
        }
    }
}
