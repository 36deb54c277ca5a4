//! Budget alerts: the history recorded in the log, and the policy that decides which
//! alerts an event calls for.
//!
//! The policy only decides. Whoever runs the projections appends what it returns
//! (with [`PendingAlert::idempotency_key`], so a decision made twice, say by a
//! restarted server that had not yet folded its own alert, is stored once) and the
//! alert then comes back through the log like any other event.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{BudgetAlertRaised, Severity};
use ledger::{Amount, BudgetId, Currency, LedgerId, Position};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::budgets::{BudgetDefinition, BudgetStatus};
use crate::money::Money;

/// One recorded alert, as the alert history and the `budget_alert` message show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub budget_id: BudgetId,
    /// The budget's category when the alert was folded; `None` for an all-spending
    /// budget or one already removed.
    pub category: Option<String>,
    pub period_start: NaiveDate,
    pub threshold: u32,
    pub severity: Severity,
    pub utilization: String,
    pub spent: Money,
    pub limit: Money,
    /// Recorded while the budget was snoozed: shown in the history, no toast.
    pub snoozed: bool,
    pub message: String,
    pub position: Position,
    pub recorded_at: DateTime<Utc>,
    pub armed_by_version: u64,
}

impl Alert {
    pub(crate) fn recorded(
        event: &BudgetAlertRaised,
        category: Option<String>,
        currency: Currency,
        position: Position,
        recorded_at: DateTime<Utc>,
    ) -> Alert {
        let spent = Money::new(event.spent.as_decimal(), currency);
        let limit = Money::new(event.limit.as_decimal(), currency);
        let scope = match &category {
            Some(category) => format!("Budget {category:?}"),
            None => "The all-spending budget".to_owned(),
        };
        let message = format!(
            "{scope} reached {}% of its limit: {spent} of {limit} spent ({}%)",
            event.threshold, event.utilization
        );
        Alert {
            budget_id: event.budget_id,
            category,
            period_start: event.period_start,
            threshold: event.threshold,
            severity: event.severity,
            utilization: event.utilization.clone(),
            spent,
            limit,
            snoozed: event.snoozed,
            message,
            position,
            recorded_at,
            armed_by_version: event.armed_by_version,
        }
    }
}

/// Identifies an alert that may be raised only once: per budget, arming, period and
/// threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlertKey {
    pub budget_id: BudgetId,
    pub armed_by_version: u64,
    pub period_start: NaiveDate,
    pub threshold: u32,
}

impl AlertKey {
    pub fn of(event: &BudgetAlertRaised) -> AlertKey {
        AlertKey {
            budget_id: event.budget_id,
            armed_by_version: event.armed_by_version,
            period_start: event.period_start,
            threshold: event.threshold,
        }
    }
}

/// An alert the policy decided on, to be appended to `ledger_id`'s log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PendingAlert {
    pub ledger_id: LedgerId,
    pub event: BudgetAlertRaised,
}

impl PendingAlert {
    /// The same for every decision of the same alert, so appending it with this key
    /// stores it once however often it is decided.
    pub fn idempotency_key(&self) -> String {
        let key = AlertKey::of(&self.event);
        format!(
            "budget-alert:{}:{}:{}:{}",
            key.budget_id, key.armed_by_version, key.period_start, key.threshold
        )
    }
}

/// The alert history of one ledger.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Alerts {
    /// Oldest first, as folded; read newest first.
    history: Vec<Alert>,
    raised: BTreeSet<AlertKey>,
}

impl Alerts {
    /// Every alert, newest first.
    pub fn newest_first(&self) -> impl Iterator<Item = &Alert> {
        self.history.iter().rev()
    }

    pub fn len(&self) -> usize {
        self.history.len()
    }

    pub fn is_empty(&self) -> bool {
        self.history.is_empty()
    }

    /// Whether this alert was already recorded.
    pub fn was_raised(&self, key: &AlertKey) -> bool {
        self.raised.contains(key)
    }

    /// The keys of every alert recorded, in key order (for snapshots).
    pub(crate) fn raised(&self) -> impl Iterator<Item = &AlertKey> {
        self.raised.iter()
    }

    /// The history as a snapshot restores it: `history` oldest first, `raised` the
    /// keys of the alerts already raised (the caller checks they agree).
    pub(crate) fn restored(history: Vec<Alert>, raised: BTreeSet<AlertKey>) -> Alerts {
        Alerts { history, raised }
    }

    pub(crate) fn record(&mut self, alert: Alert) {
        self.raised.insert(AlertKey {
            budget_id: alert.budget_id,
            armed_by_version: alert.armed_by_version,
            period_start: alert.period_start,
            threshold: alert.threshold,
        });
        self.history.push(alert);
    }
}

/// `warning` below 100%, `critical` at 100% and over.
pub fn severity(threshold: u32) -> Severity {
    if threshold < 100 {
        Severity::Warning
    } else {
        Severity::Critical
    }
}

/// The alerts an event calls for in one period of one budget: one per threshold of
/// `budget` that spending crossed upward, from below it in `before` (`None`: the
/// budget did not exist, which is below every threshold) to at or above it in
/// `after`, leaving out any already recorded under the same arming (`already`).
///
/// Crossings compare exact amounts (see [`BudgetStatus::reached`]). `snoozed` is
/// whether the budget is snoozed at the moment of the event; a snoozed alert is
/// still raised, marked as such. Alerts come in ascending threshold order.
pub fn alerts_to_raise(
    budget: &BudgetDefinition,
    before: Option<&BudgetStatus>,
    after: &BudgetStatus,
    snoozed: bool,
    already: &Alerts,
) -> Vec<BudgetAlertRaised> {
    let thresholds: BTreeSet<u32> = budget.thresholds.iter().copied().collect();
    thresholds
        .into_iter()
        .filter(|t| after.reached(*t) && !before.is_some_and(|b| b.reached(*t)))
        .filter(|t| {
            !already.was_raised(&AlertKey {
                budget_id: budget.budget_id,
                armed_by_version: budget.armed_by_version,
                period_start: after.period_start,
                threshold: *t,
            })
        })
        .filter_map(|threshold| {
            Some(BudgetAlertRaised {
                budget_id: budget.budget_id,
                period_start: after.period_start,
                threshold,
                severity: severity(threshold),
                utilization: after.utilization.clone(),
                spent: stored_amount(after.spent.as_decimal())?,
                limit: stored_amount(after.limit.as_decimal())?,
                snoozed,
                armed_by_version: budget.armed_by_version,
            })
        })
        .collect()
}

/// An alert's `spent` as the log stores amounts. A period's spending is a sum and
/// may pass the 10^12 bound of a single amount, so it is not built with
/// `Amount::from_decimal`; it goes through the same path that reads stored amounts
/// back, which only asks for an exact decimal and so accepts every sum.
fn stored_amount(value: Decimal) -> Option<Amount> {
    serde_json::from_value(serde_json::Value::String(value.to_string())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budgets::BudgetState;
    use ledger::event::BudgetPeriod;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn budget(thresholds: Vec<u32>) -> BudgetDefinition {
        BudgetDefinition {
            budget_id: BudgetId::new(),
            category: Some("food".into()),
            limit: Amount::parse("100", eur()).unwrap(),
            period: BudgetPeriod::Monthly,
            thresholds,
            snoozed_until: None,
            version: 1,
            armed_by_version: 1,
        }
    }

    fn status(budget: &BudgetDefinition, spent: &str) -> BudgetStatus {
        let spent: Decimal = spent.parse().unwrap();
        let limit = budget.limit.as_decimal();
        BudgetStatus {
            budget_id: budget.budget_id,
            category: budget.category.clone(),
            period: budget.period,
            period_start: "2026-11-01".parse().unwrap(),
            period_end: "2026-11-30".parse().unwrap(),
            limit: Money::new(limit, eur()),
            spent: Money::new(spent, eur()),
            remaining: Money::new(limit - spent, eur()),
            utilization: crate::budgets::utilization(spent, limit),
            status: BudgetState::Ok,
            thresholds: budget.thresholds.clone(),
            snoozed_until: None,
        }
    }

    fn thresholds_raised(alerts: &[BudgetAlertRaised]) -> Vec<u32> {
        alerts.iter().map(|a| a.threshold).collect()
    }

    #[test]
    fn one_alert_per_threshold_crossed_upward() {
        let b = budget(vec![100, 80, 50]);
        let none = Alerts::default();
        let raise = |from: &str, to: &str| {
            alerts_to_raise(&b, Some(&status(&b, from)), &status(&b, to), false, &none)
        };
        assert_eq!(thresholds_raised(&raise("10", "85")), [50, 80]);
        assert_eq!(thresholds_raised(&raise("85", "120")), [100]);
        assert_eq!(thresholds_raised(&raise("79.99", "80")), [80]);
        assert!(raise("80", "90").is_empty(), "already above");
        assert!(raise("120", "10").is_empty(), "downward");
        assert!(raise("60", "79.99").is_empty());

        let alerts = raise("0", "100");
        assert_eq!(thresholds_raised(&alerts), [50, 80, 100]);
        assert_eq!(alerts[0].severity, Severity::Warning);
        assert_eq!(alerts[2].severity, Severity::Critical);
        assert_eq!(
            (
                alerts[2].spent.to_string().as_str(),
                alerts[2].limit.to_string().as_str()
            ),
            ("100.00", "100.00")
        );
        assert_eq!(alerts[2].utilization, "100.0");

        let new_budget = alerts_to_raise(&b, None, &status(&b, "60"), true, &none);
        assert_eq!(thresholds_raised(&new_budget), [50]);
        assert!(new_budget[0].snoozed);
    }

    #[test]
    fn an_alert_is_raised_once_per_arming() {
        let mut b = budget(vec![80, 100]);
        let mut alerts = Alerts::default();
        let first = alerts_to_raise(
            &b,
            Some(&status(&b, "0")),
            &status(&b, "90"),
            false,
            &alerts,
        );
        assert_eq!(first.len(), 1);
        alerts.record(Alert::recorded(
            &first[0],
            b.category.clone(),
            eur(),
            Position::ZERO,
            DateTime::UNIX_EPOCH,
        ));
        // Back under and over again in the same period: already raised.
        assert!(alerts_to_raise(
            &b,
            Some(&status(&b, "70")),
            &status(&b, "90"),
            false,
            &alerts
        )
        .is_empty());
        // Re-armed by a changed definition: raised again.
        b.armed_by_version = 2;
        assert_eq!(
            alerts_to_raise(
                &b,
                Some(&status(&b, "70")),
                &status(&b, "90"),
                false,
                &alerts
            )
            .len(),
            1
        );
        let alert = alerts.newest_first().next().unwrap();
        assert!(alert.message.contains("80%"), "{}", alert.message);
        assert_eq!(
            PendingAlert {
                ledger_id: LedgerId::new(),
                event: first[0].clone()
            }
            .idempotency_key(),
            format!("budget-alert:{}:1:2026-11-01:80", b.budget_id)
        );
    }
}
