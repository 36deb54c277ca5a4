//! The saved form of each source fact in a snapshot, and its conversion to and from
//! the read models' types. Private to `snapshot`: the format is its own, not theirs.

use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{BudgetAlertRaised, BudgetPeriod, Role, Severity};
use ledger::{Amount, BudgetId, Currency, ExpenseId, ImportId, Position, UserId};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::alerts::{Alert, AlertKey};
use crate::budgets::BudgetDefinition;
use crate::expenses::{Expense, Origin};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MemberRecord {
    pub(super) user_id: UserId,
    pub(super) role: Role,
}

/// An expense as it stands. Its contribution to the aggregates is a function of
/// these fields (see `Expense::contribution`), so they are also all the fold needs to
/// take that contribution back out when a later event amends or deletes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ExpenseRecord {
    pub(super) expense_id: ExpenseId,
    version: u64,
    /// In the ledger's currency, which is why no currency is saved with it.
    amount: Amount,
    occurred_on: NaiveDate,
    category: String,
    merchant: Option<String>,
    description: Option<String>,
    tags: Vec<String>,
    deleted: bool,
    recorded_at: DateTime<Utc>,
    recorded_by: Option<UserId>,
    original_amount: Option<Amount>,
    original_currency: Option<Currency>,
    import_id: Option<ImportId>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BudgetRecord {
    pub(super) budget_id: BudgetId,
    category: Option<String>,
    limit: Amount,
    period: BudgetPeriod,
    thresholds: Vec<u32>,
    snoozed_until: Option<DateTime<Utc>>,
    version: u64,
    armed_by_version: u64,
}

/// A recorded alert: the `BudgetAlertRaised` it came from, plus what the fold added
/// (the budget's category then, where and when it was recorded). Its message is not
/// saved: restoring rebuilds it as the fold would.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertRecord {
    budget_id: BudgetId,
    category: Option<String>,
    period_start: NaiveDate,
    threshold: u32,
    severity: Severity,
    utilization: String,
    /// Text rather than [`Amount`]: a period's spending is a sum of amounts and may
    /// pass the bound of a single one, which `Amount` constructors enforce.
    spent: String,
    limit: String,
    snoozed: bool,
    pub(super) position: Position,
    recorded_at: DateTime<Utc>,
    armed_by_version: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AlertKeyRecord {
    budget_id: BudgetId,
    armed_by_version: u64,
    period_start: NaiveDate,
    threshold: u32,
}

/// `amount` at `currency`'s precision, as the fold stores amounts, or why it cannot
/// be one of the ledger's amounts.
fn in_currency(amount: Amount, currency: Currency) -> Result<Amount, String> {
    Amount::from_decimal(amount.as_decimal(), currency)
        .map_err(|e| format!("amount {amount} does not fit {currency}: {e}"))
}

/// A sum saved as text (an alert's spent or limit). It may pass the bound of a
/// single amount, so it goes through the path that reads amounts back from the log
/// (any exact decimal), and only its precision is checked: more decimals than the
/// currency has would be silently rounded away when shown.
fn saved_sum(text: &str, currency: Currency) -> Result<Amount, String> {
    let amount: Amount = serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|e| format!("{e}"))?;
    if amount.as_decimal().normalize().scale() > u32::from(currency.minor_units()) {
        return Err(format!("{text} has more decimals than {currency}"));
    }
    Ok(amount)
}

impl ExpenseRecord {
    pub(super) fn of(e: &Expense) -> ExpenseRecord {
        ExpenseRecord {
            expense_id: e.expense_id,
            version: e.version,
            amount: e.amount,
            occurred_on: e.occurred_on,
            category: e.category.clone(),
            merchant: e.merchant.clone(),
            description: e.description.clone(),
            tags: e.tags.clone(),
            deleted: e.deleted,
            recorded_at: e.recorded_at,
            recorded_by: e.recorded_by,
            original_amount: e.original_amount(),
            original_currency: e.original_currency(),
            import_id: e.import_id(),
        }
    }

    pub(super) fn into_expense(self, currency: Currency) -> Result<Expense, String> {
        Ok(Expense {
            expense_id: self.expense_id,
            version: self.version,
            amount: in_currency(self.amount, currency)?,
            currency,
            occurred_on: self.occurred_on,
            category: self.category,
            merchant: self.merchant,
            description: self.description,
            tags: self.tags,
            deleted: self.deleted,
            recorded_at: self.recorded_at,
            recorded_by: self.recorded_by,
            // Informational, in another currency: the fold keeps it as the event gave it.
            origin: Origin::boxed(self.original_amount, self.original_currency, self.import_id),
        })
    }
}

impl BudgetRecord {
    pub(super) fn of(b: &BudgetDefinition) -> BudgetRecord {
        BudgetRecord {
            budget_id: b.budget_id,
            category: b.category.clone(),
            limit: b.limit,
            period: b.period,
            thresholds: b.thresholds.clone(),
            snoozed_until: b.snoozed_until,
            version: b.version,
            armed_by_version: b.armed_by_version,
        }
    }

    pub(super) fn into_definition(self, currency: Currency) -> Result<BudgetDefinition, String> {
        let limit = in_currency(self.limit, currency)?;
        if limit.as_decimal() <= Decimal::ZERO {
            return Err(format!("limit {limit} is not positive"));
        }
        Ok(BudgetDefinition {
            budget_id: self.budget_id,
            category: self.category,
            limit,
            period: self.period,
            thresholds: self.thresholds,
            snoozed_until: self.snoozed_until,
            version: self.version,
            armed_by_version: self.armed_by_version,
        })
    }
}

impl AlertRecord {
    pub(super) fn of(a: &Alert) -> AlertRecord {
        AlertRecord {
            budget_id: a.budget_id,
            category: a.category.clone(),
            period_start: a.period_start,
            threshold: a.threshold,
            severity: a.severity,
            utilization: a.utilization.clone(),
            spent: a.spent.to_string(),
            limit: a.limit.to_string(),
            snoozed: a.snoozed,
            position: a.position,
            recorded_at: a.recorded_at,
            armed_by_version: a.armed_by_version,
        }
    }

    /// The alert as the fold records it, through the same constructor, so derived
    /// parts such as the message come out as a replay would make them.
    pub(super) fn into_alert(self, currency: Currency) -> Result<Alert, String> {
        let raised = BudgetAlertRaised {
            budget_id: self.budget_id,
            period_start: self.period_start,
            threshold: self.threshold,
            severity: self.severity,
            utilization: self.utilization,
            spent: saved_sum(&self.spent, currency).map_err(|e| format!("spent: {e}"))?,
            limit: saved_sum(&self.limit, currency).map_err(|e| format!("limit: {e}"))?,
            snoozed: self.snoozed,
            armed_by_version: self.armed_by_version,
        };
        Ok(Alert::recorded(
            &raised,
            self.category,
            currency,
            self.position,
            self.recorded_at,
        ))
    }
}

impl AlertKeyRecord {
    pub(super) fn of(key: &AlertKey) -> AlertKeyRecord {
        AlertKeyRecord {
            budget_id: key.budget_id,
            armed_by_version: key.armed_by_version,
            period_start: key.period_start,
            threshold: key.threshold,
        }
    }

    pub(super) fn key(self) -> AlertKey {
        AlertKey {
            budget_id: self.budget_id,
            armed_by_version: self.armed_by_version,
            period_start: self.period_start,
            threshold: self.threshold,
        }
    }
}
