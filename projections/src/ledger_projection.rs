//! One ledger's read models and the fold that keeps them current, event by event.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{
    AlertSnoozed, BudgetAlertRaised, BudgetSet, Event, ExpenseAmended, ExpenseRecorded,
    LedgerOpened, Role,
};
use ledger::{Amount, BudgetId, Currency, ExpenseId, LedgerId, Position, UserId};
use rust_decimal::Decimal;

use crate::alerts::{alerts_to_raise, Alert, Alerts};
use crate::analytics::Analytics;
use crate::budgets::Budgets;
use crate::delta::Change;
use crate::expenses::{Contribution, Expense, Expenses};
use crate::members::Members;
use crate::period::period_start;

/// The read models of one ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerProjection {
    ledger_id: LedgerId,
    name: String,
    currency: Currency,
    timezone: String,
    /// The last event of this ledger folded in.
    position: Position,
    members: Members,
    expenses: Expenses,
    budgets: Budgets,
    analytics: Analytics,
    alerts: Alerts,
}

/// What the fold needs to know about the event besides its payload.
pub(crate) struct EventContext {
    pub(crate) position: Position,
    pub(crate) stream_version: u64,
    pub(crate) recorded_at: DateTime<Utc>,
    /// The actor of an `ExpenseRecorded`; not read for other events.
    pub(crate) recorded_by: Option<UserId>,
}

/// What folding one event produced: the changes to push, and the alerts the policy
/// decided to append.
#[derive(Default)]
pub(crate) struct Folded {
    pub(crate) changes: Vec<Change>,
    pub(crate) alerts: Vec<BudgetAlertRaised>,
}

impl LedgerProjection {
    pub(crate) fn opened(ledger_id: LedgerId, event: &LedgerOpened, position: Position) -> Self {
        let mut members = Members::default();
        members.grant(event.owner, Role::Owner);
        LedgerProjection {
            ledger_id,
            name: event.name.clone(),
            currency: event.currency,
            timezone: event.timezone.clone(),
            position,
            members,
            expenses: Expenses::default(),
            budgets: Budgets::new(event.currency),
            analytics: Analytics::new(event.currency),
            alerts: Alerts::default(),
        }
    }

    /// A ledger put back together from a snapshot's parts (see `snapshot`), which
    /// has already rebuilt `budgets`' spending and `analytics` from `expenses`.
    // One argument per field: bundling them in a struct would only repeat the fields.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn restored(
        ledger_id: LedgerId,
        name: String,
        currency: Currency,
        timezone: String,
        position: Position,
        members: Members,
        expenses: Expenses,
        budgets: Budgets,
        analytics: Analytics,
        alerts: Alerts,
    ) -> Self {
        LedgerProjection {
            ledger_id,
            name,
            currency,
            timezone,
            position,
            members,
            expenses,
            budgets,
            analytics,
            alerts,
        }
    }

    pub fn ledger_id(&self) -> LedgerId {
        self.ledger_id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The IANA time zone the ledger was opened with, for deciding what "today" is.
    pub fn timezone(&self) -> &str {
        &self.timezone
    }

    /// The position of the last event of this ledger folded in.
    pub fn position(&self) -> Position {
        self.position
    }

    pub fn members(&self) -> &Members {
        &self.members
    }

    pub fn role(&self, user: UserId) -> Option<Role> {
        self.members.role(user)
    }

    pub fn expenses(&self) -> &Expenses {
        &self.expenses
    }

    pub fn budgets(&self) -> &Budgets {
        &self.budgets
    }

    pub fn analytics(&self) -> &Analytics {
        &self.analytics
    }

    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    /// The date whose periods a budget change is shown for: the latest day with live
    /// spending, which is what a dashboard is looking at, or else the event's own day.
    pub fn reference_date(&self, recorded_at: DateTime<Utc>) -> NaiveDate {
        self.analytics
            .latest_day()
            .unwrap_or_else(|| recorded_at.date_naive())
    }

    /// Folds one event of this ledger in.
    ///
    /// # Errors
    /// The reason the event contradicts the state; nothing has been changed then.
    pub(crate) fn fold(&mut self, event: &Event, at: &EventContext) -> Result<Folded, String> {
        let folded = match event {
            Event::LedgerOpened(_) => return Err("the ledger was already opened".into()),
            Event::MemberGranted(e) => {
                self.members.grant(e.user_id, e.role);
                Folded::default()
            }
            Event::MemberRevoked(e) => {
                self.members.revoke(e.user_id);
                Folded::default()
            }
            Event::ExpenseRecorded(e) => self.expense_recorded(e, at)?,
            Event::ExpenseAmended(e) => self.expense_amended(e, at)?,
            Event::ExpenseDeleted(e) => {
                let old = self.expense(e.expense_id)?;
                let new = old.deleted(at.stream_version);
                self.expense_changed(old.contribution(), new, Change::ExpenseDeleted, at)
            }
            Event::BudgetSet(e) => self.budget_set(e, at)?,
            Event::BudgetRemoved(e) => {
                self.budget(e.budget_id)?;
                self.budgets.remove(e.budget_id);
                Folded {
                    changes: vec![Change::BudgetRemoved {
                        budget_id: e.budget_id,
                    }],
                    alerts: Vec::new(),
                }
            }
            Event::AlertSnoozed(e) => self.alert_snoozed(e, at)?,
            Event::BudgetAlertRaised(e) => self.alert_raised(e, at),
            Event::ImportStarted(_) | Event::ImportCompleted(_) | Event::ImportCancelled(_) => {
                Folded::default()
            }
        };
        self.position = at.position;
        Ok(folded)
    }

    /// `amount` at this ledger's precision, or why it cannot be one of its amounts.
    fn amount(&self, amount: Amount) -> Result<Amount, String> {
        Amount::from_decimal(amount.as_decimal(), self.currency)
            .map_err(|e| format!("amount {amount} does not fit the ledger: {e}"))
    }

    fn expense(&self, id: ExpenseId) -> Result<Expense, String> {
        self.expenses
            .get(id)
            .cloned()
            .ok_or_else(|| format!("expense {id} was never recorded"))
    }

    fn budget(&self, id: BudgetId) -> Result<(), String> {
        match self.budgets.get(id) {
            Some(_) => Ok(()),
            None => Err(format!("budget {id} is not set")),
        }
    }

    fn expense_recorded(
        &mut self,
        e: &ExpenseRecorded,
        at: &EventContext,
    ) -> Result<Folded, String> {
        if self.expenses.get(e.expense_id).is_some() {
            return Err(format!("expense {} was already recorded", e.expense_id));
        }
        let amount = self.amount(e.amount)?;
        let expense = Expense::recorded(
            e,
            amount,
            self.currency,
            at.stream_version,
            at.recorded_at,
            at.recorded_by,
        );
        Ok(self.expense_changed(None, expense, Change::ExpenseCreated, at))
    }

    fn expense_amended(&mut self, e: &ExpenseAmended, at: &EventContext) -> Result<Folded, String> {
        let old = self.expense(e.expense_id)?;
        let amount = e.amount.map(|a| self.amount(a)).transpose()?;
        let new = old.amended(e, amount, at.stream_version);
        Ok(self.expense_changed(old.contribution(), new, Change::ExpenseUpdated, at))
    }

    /// Stores `expense` and moves every aggregate from the expense's old contribution
    /// (`before`) to its new one.
    fn expense_changed(
        &mut self,
        before: Option<Contribution>,
        expense: Expense,
        change: fn(Expense) -> Change,
        at: &EventContext,
    ) -> Folded {
        let after = expense.contribution();
        self.expenses.upsert(expense.clone());
        let mut folded = Folded {
            changes: vec![change(expense)],
            alerts: Vec::new(),
        };
        self.spending_changed(before.as_ref(), after.as_ref(), at, &mut folded);
        if let Some(change) = self.analytics.update(before.as_ref(), after.as_ref()) {
            folded.changes.push(Change::AnalyticsUpdated(change));
        }
        folded
    }

    /// Moves budget spending from `before` to `after` and reports the status of every
    /// budget and period that changed: the old period and the new one when the date
    /// moved, the old category's budgets and the new one's when the category did.
    fn spending_changed(
        &mut self,
        before: Option<&Contribution>,
        after: Option<&Contribution>,
        at: &EventContext,
        folded: &mut Folded,
    ) {
        let unchanged = match (before, after) {
            (Some(b), Some(a)) => b.same_spending(a),
            (None, None) => true,
            _ => false,
        };
        if unchanged {
            return;
        }
        let mut periods: BTreeSet<(BudgetId, NaiveDate)> = BTreeSet::new();
        for c in before.into_iter().chain(after) {
            for budget in self.budgets.matching(&c.category) {
                periods.insert((budget.budget_id, period_start(budget.period, c.occurred_on)));
            }
        }
        let was: Vec<_> = periods
            .iter()
            .filter_map(|(id, start)| self.budgets.status(*id, *start))
            .collect();
        if let Some(c) = before {
            self.budgets.remove_spending(c);
        }
        if let Some(c) = after {
            self.budgets.add_spending(c);
        }
        for old in was {
            let Some(budget) = self.budgets.get(old.budget_id) else {
                continue;
            };
            let new = self.budgets.status_of(budget, old.period_start);
            if new == old {
                continue;
            }
            let snoozed = budget.is_snoozed(at.recorded_at);
            folded.alerts.extend(alerts_to_raise(
                budget,
                Some(&old),
                &new,
                snoozed,
                &self.alerts,
            ));
            folded.changes.push(Change::BudgetUpdated(new));
        }
    }

    fn budget_set(&mut self, e: &BudgetSet, at: &EventContext) -> Result<Folded, String> {
        let limit = self.amount(e.amount)?;
        if limit.as_decimal() <= Decimal::ZERO {
            return Err(format!("budget limit {limit} is not positive"));
        }
        let on = self.reference_date(at.recorded_at);
        let budget = self.budgets.defined_by(e, limit, at.stream_version);
        let before = self
            .budgets
            .get(e.budget_id)
            .map(|old| self.budgets.status_of(old, on));
        let after = self.budgets.status_of(&budget, on);
        let snoozed = budget.is_snoozed(at.recorded_at);
        let alerts = alerts_to_raise(&budget, before.as_ref(), &after, snoozed, &self.alerts);
        self.budgets.put(budget);
        Ok(Folded {
            changes: vec![Change::BudgetUpdated(after)],
            alerts,
        })
    }

    fn alert_snoozed(&mut self, e: &AlertSnoozed, at: &EventContext) -> Result<Folded, String> {
        self.budget(e.budget_id)?;
        self.budgets.snooze(e.budget_id, e.until, at.stream_version);
        let on = self.reference_date(at.recorded_at);
        Ok(Folded {
            changes: self
                .budgets
                .status(e.budget_id, on)
                .map(Change::BudgetUpdated)
                .into_iter()
                .collect(),
            alerts: Vec::new(),
        })
    }

    /// An alert stays in the history even when its budget has been removed since it
    /// was decided: it was raised, and the log says so.
    fn alert_raised(&mut self, e: &BudgetAlertRaised, at: &EventContext) -> Folded {
        let category = self
            .budgets
            .get(e.budget_id)
            .and_then(|b| b.category.clone());
        self.budgets.touch(e.budget_id, at.stream_version);
        let alert = Alert::recorded(e, category, self.currency, at.position, at.recorded_at);
        self.alerts.record(alert.clone());
        Folded {
            changes: vec![Change::BudgetAlert(alert)],
            alerts: Vec::new(),
        }
    }
}
