//! What the typed client sends and reads: request bodies built with setters, and
//! answers as structs. They hold the fields the tests read, not every documented one:
//! serde ignores the rest, so a field added to the contract breaks no test here, and
//! the OpenAPI tests check the full shapes.

use std::collections::BTreeMap;

use ledger::{ExpenseId, Position, UserId};
use serde::{Deserialize, Serialize};

/// A user the admin created.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct User {
    #[serde(rename = "user_id")]
    pub(crate) id: UserId,
    pub(crate) token: String,
}

/// The body of `POST /v1/ledgers/{lid}/expenses`; build it with [`NewExpense::new`]
/// and the setters for the optional fields.
#[derive(Clone, Debug, Default, Serialize)]
pub(crate) struct NewExpense {
    amount: String,
    occurred_on: String,
    category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_amount: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_currency: Option<String>,
}

impl NewExpense {
    /// Amounts and dates stay strings, so a test can send what the server must refuse.
    pub(crate) fn new(amount: impl Into<String>, occurred_on: &str, category: &str) -> Self {
        NewExpense {
            amount: amount.into(),
            occurred_on: occurred_on.to_owned(),
            category: category.to_owned(),
            ..NewExpense::default()
        }
    }

    pub(crate) fn merchant(mut self, merchant: &str) -> Self {
        self.merchant = Some(merchant.to_owned());
        self
    }

    pub(crate) fn tags(mut self, tags: &[&str]) -> Self {
        self.tags = Some(tags.iter().map(|t| (*t).to_owned()).collect());
        self
    }

    /// Foreign spending; `currency` may be left out to test that it is required.
    pub(crate) fn original(mut self, amount: &str, currency: Option<&str>) -> Self {
        self.original_amount = Some(amount.to_owned());
        self.original_currency = currency.map(str::to_owned);
        self
    }
}

/// The body of `PUT /v1/ledgers/{lid}/budgets/{bid}`.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct NewBudget {
    /// `None`: the budget covers all spending.
    #[serde(skip_serializing_if = "Option::is_none")]
    category: Option<String>,
    amount: String,
    period: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    thresholds: Option<Vec<u32>>,
}

impl NewBudget {
    pub(crate) fn monthly(category: Option<&str>, amount: &str) -> Self {
        NewBudget {
            category: category.map(str::to_owned),
            amount: amount.to_owned(),
            period: "monthly".to_owned(),
            thresholds: None,
        }
    }
}

/// The answer to a new expense.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct Written {
    pub(crate) expense_id: ExpenseId,
    pub(crate) version: u64,
    pub(crate) position: Position,
}

/// The answer to a write to an existing stream.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub(crate) struct Versioned {
    pub(crate) version: u64,
    pub(crate) position: Position,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Expense {
    pub(crate) amount: String,
    pub(crate) currency: String,
    pub(crate) merchant: Option<String>,
    pub(crate) deleted: bool,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct ExpensePage {
    pub(crate) position: Position,
    pub(crate) items: Vec<Expense>,
    pub(crate) next_cursor: Option<String>,
}

impl ExpensePage {
    pub(crate) fn amounts(&self) -> Vec<&str> {
        self.items.iter().map(|e| e.amount.as_str()).collect()
    }
}

/// One event of an expense's history, or of a ledger's log.
#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LogEvent {
    #[serde(rename = "type")]
    pub(crate) kind: String,
    /// Only the ledger's log carries the chain.
    pub(crate) hash: Option<String>,
    pub(crate) prev_hash: Option<String>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct LogPage {
    pub(crate) events: Vec<LogEvent>,
    pub(crate) next_after: Option<i64>,
}

impl LogPage {
    pub(crate) fn kinds(&self) -> Vec<&str> {
        self.events.iter().map(|e| e.kind.as_str()).collect()
    }
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct BudgetStatus {
    pub(crate) period_start: String,
    pub(crate) period_end: String,
    pub(crate) spent: String,
    pub(crate) remaining: String,
    pub(crate) utilization: String,
    pub(crate) status: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Budgets {
    pub(crate) position: Position,
    pub(crate) budgets: Vec<BudgetStatus>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Alert {
    pub(crate) threshold: u32,
    pub(crate) severity: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Alerts {
    pub(crate) alerts: Vec<Alert>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct MerchantTotal {
    pub(crate) merchant: String,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Analytics {
    pub(crate) total: String,
    pub(crate) count: u64,
    pub(crate) month_to_date: String,
    pub(crate) by_month: BTreeMap<String, String>,
    pub(crate) top_merchants: Vec<MerchantTotal>,
}

#[derive(Clone, Debug, Deserialize)]
pub(crate) struct Verification {
    pub(crate) ok: bool,
}
