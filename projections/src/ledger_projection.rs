//! One ledger's read models and the fold that keeps them current, event by event.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{
    BudgetAlertRaised, BudgetSet, Event, ExpenseAmended, ExpenseRecorded, LedgerOpened, Role,
};
use ledger::{Amount, BudgetId, Currency, ExpenseId, LedgerId, Position, UserId};
use rust_decimal::Decimal;

use crate::alerts::{alerts_to_raise, Alert, Alerts};
use crate::analytics::Analytics;
use crate::budgets::Budgets;
use crate::delta::Change;
use crate::derived::Derived;
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
    /// The definitions, and the spending they measure derived from `expenses`.
    budgets: Budgets,
    /// A function of the live expenses like the budgets' spending, so derived alike:
    /// built on first read, or by the first event folded with a report (which tells
    /// what changed in it); a quiet fold keeps it current only once it is built. A
    /// rebuild thus stores only the source facts, all a checkpoint saves.
    analytics: Derived<Analytics>,
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
    pub(crate) fn opened(ledger_id: LedgerId, event: LedgerOpened, position: Position) -> Self {
        let mut members = Members::default();
        members.grant(event.owner, Role::Owner);
        LedgerProjection {
            ledger_id,
            name: event.name,
            currency: event.currency,
            timezone: event.timezone,
            position,
            members,
            expenses: Expenses::default(),
            budgets: Budgets::new(event.currency),
            analytics: Derived::default(),
            alerts: Alerts::default(),
        }
    }

    /// A ledger put back together from a snapshot's parts (see `snapshot`); the
    /// aggregates are derived from `expenses` when first read.
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
            analytics: Derived::default(),
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
        self.budgets.with_spending_of(&self.expenses)
    }

    /// The budgets' definitions, without building their spending (snapshots).
    pub(crate) fn budget_definitions(&self) -> &Budgets {
        &self.budgets
    }

    pub fn analytics(&self) -> &Analytics {
        self.analytics
            .get_or_build(|| Analytics::of(self.currency, &self.expenses))
    }

    /// Whether any aggregate derived from the expenses has been built, and so has to
    /// follow their changes.
    fn aggregates_built(&self) -> bool {
        self.analytics.built().is_some() || self.budgets.spending_built()
    }

    /// Builds everything derived from the expenses on first read (budget spending,
    /// analytics, the listing index), so no reader waits for it.
    pub fn derive(&self) {
        self.budgets();
        self.analytics();
        self.expenses.by_date();
    }

    /// Builds whatever derived aggregates are not built yet, so a fold with a report
    /// can tell what changed in them.
    fn build_aggregates(&mut self) {
        self.budgets();
        self.analytics();
    }

    pub fn alerts(&self) -> &Alerts {
        &self.alerts
    }

    /// The date whose periods a budget change is shown for: the latest day with live
    /// spending, which is what a dashboard is looking at, or else the event's own day.
    pub fn reference_date(&self, recorded_at: DateTime<Utc>) -> NaiveDate {
        self.analytics()
            .latest_day()
            .unwrap_or_else(|| recorded_at.date_naive())
    }

    /// Folds one event of this ledger in. With `report`, also works out what it
    /// changed for subscribers and the alerts the policy decides, and adds them to
    /// it; without, only the read models move (a rebuild), to exactly the same state.
    ///
    /// # Errors
    /// The reason the event contradicts the state; nothing has been changed then.
    pub(crate) fn fold(
        &mut self,
        event: Event,
        at: &EventContext,
        mut report: Option<&mut Folded>,
    ) -> Result<(), String> {
        if report.is_some() {
            self.build_aggregates();
        }
        match event {
            Event::LedgerOpened(_) => return Err("the ledger was already opened".into()),
            Event::MemberGranted(e) => self.members.grant(e.user_id, e.role),
            Event::MemberRevoked(e) => self.members.revoke(e.user_id),
            Event::ExpenseRecorded(e) => self.expense_recorded(e, at, report)?,
            Event::ExpenseAmended(e) => self.expense_amended(e, at, report)?,
            Event::ExpenseDeleted(e) if report.is_none() && !self.aggregates_built() => {
                // Nothing derived from the expense to take it out of.
                self.expenses
                    .delete(e.expense_id, at.stream_version)
                    .ok_or_else(|| never_recorded(e.expense_id))?;
            }
            Event::ExpenseDeleted(e) => {
                let deleted = self
                    .expenses
                    .get(e.expense_id)
                    .ok_or_else(|| never_recorded(e.expense_id))?;
                let mut aggregates = Aggregates {
                    budgets: &mut self.budgets,
                    analytics: &mut self.analytics,
                    alerts: &self.alerts,
                };
                let before = deleted.contribution();
                move_contribution(&mut aggregates, before, None, at, report.as_deref_mut());
                let deleted = self
                    .expenses
                    .delete(e.expense_id, at.stream_version)
                    .ok_or_else(|| never_recorded(e.expense_id))?;
                if let Some(folded) = report {
                    // First, as for every expense event: the expense, then what it
                    // moved. Only known once marked, after its contribution went.
                    folded
                        .changes
                        .insert(0, Change::ExpenseDeleted(deleted.clone()));
                }
            }
            Event::BudgetSet(e) => self.budget_set(e, at, report)?,
            Event::BudgetRemoved(e) => {
                self.budget(e.budget_id)?;
                self.budgets.remove(e.budget_id);
                if let Some(folded) = report {
                    folded.changes.push(Change::BudgetRemoved {
                        budget_id: e.budget_id,
                    });
                }
            }
            Event::AlertSnoozed(e) => {
                self.budget(e.budget_id)?;
                self.budgets.snooze(e.budget_id, e.until, at.stream_version);
                if let Some(folded) = report {
                    let on = self.reference_date(at.recorded_at);
                    let status = self.budgets.status(e.budget_id, on);
                    folded.changes.extend(status.map(Change::BudgetUpdated));
                }
            }
            Event::BudgetAlertRaised(e) => self.alert_raised(&e, at, report),
            Event::ImportStarted(_) | Event::ImportCompleted(_) | Event::ImportCancelled(_) => {}
        }
        self.position = at.position;
        Ok(())
    }

    /// `amount` at this ledger's precision, or why it cannot be one of its amounts.
    fn amount(&self, amount: Amount) -> Result<Amount, String> {
        Amount::from_decimal(amount.as_decimal(), self.currency)
            .map_err(|e| format!("amount {amount} does not fit the ledger: {e}"))
    }

    fn budget(&self, id: BudgetId) -> Result<(), String> {
        match self.budgets.get(id) {
            Some(_) => Ok(()),
            None => Err(format!("budget {id} is not set")),
        }
    }

    fn expense_recorded(
        &mut self,
        e: ExpenseRecorded,
        at: &EventContext,
        mut report: Option<&mut Folded>,
    ) -> Result<(), String> {
        let amount = self.amount(e.amount)?;
        let expense = Box::new(Expense::recorded(
            e,
            amount,
            self.currency,
            at.stream_version,
            at.recorded_at,
            at.recorded_by,
        ));
        let stored = self
            .expenses
            .record(expense)
            .map_err(|e| format!("expense {} was already recorded", e.expense_id))?;
        if let Some(folded) = report.as_deref_mut() {
            folded.changes.push(Change::ExpenseCreated(stored.clone()));
        }
        let mut aggregates = Aggregates {
            budgets: &mut self.budgets,
            analytics: &mut self.analytics,
            alerts: &self.alerts,
        };
        move_contribution(&mut aggregates, None, stored.contribution(), at, report);
        Ok(())
    }

    fn expense_amended(
        &mut self,
        e: ExpenseAmended,
        at: &EventContext,
        mut report: Option<&mut Folded>,
    ) -> Result<(), String> {
        let amount = e.amount.map(|a| self.amount(a)).transpose()?;
        let id = e.expense_id;
        if report.is_none() && !self.aggregates_built() {
            // Nothing derived from the expense to move: it changes in place.
            return (self.expenses.amend(e, amount, at.stream_version))
                .ok_or_else(|| never_recorded(id));
        }
        // A copy to amend: the old contribution has to be taken out of the aggregates
        // after the new one is known, and amendments are a small share of a log.
        let old = self.expenses.get(id).ok_or_else(|| never_recorded(id))?;
        let new = old.amended(e, amount, at.stream_version);
        if let Some(folded) = report.as_deref_mut() {
            folded.changes.push(Change::ExpenseUpdated(new.clone()));
        }
        let mut aggregates = Aggregates {
            budgets: &mut self.budgets,
            analytics: &mut self.analytics,
            alerts: &self.alerts,
        };
        let (before, after) = (old.contribution(), new.contribution());
        move_contribution(&mut aggregates, before, after, at, report);
        self.expenses.upsert(new);
        Ok(())
    }

    fn budget_set(
        &mut self,
        e: BudgetSet,
        at: &EventContext,
        report: Option<&mut Folded>,
    ) -> Result<(), String> {
        let limit = self.amount(e.amount)?;
        if limit.as_decimal() <= Decimal::ZERO {
            return Err(format!("budget limit {limit} is not positive"));
        }
        let budget = self.budgets.defined_by(&e, limit, at.stream_version);
        if let Some(folded) = report {
            let on = self.reference_date(at.recorded_at);
            let before = self
                .budgets
                .get(e.budget_id)
                .map(|old| self.budgets.status_of(old, on));
            let after = self.budgets.status_of(&budget, on);
            let snoozed = budget.is_snoozed(at.recorded_at);
            folded.alerts.extend(alerts_to_raise(
                &budget,
                before.as_ref(),
                &after,
                snoozed,
                &self.alerts,
            ));
            folded.changes.push(Change::BudgetUpdated(after));
        }
        self.budgets.put(budget);
        Ok(())
    }

    /// An alert stays in the history even when its budget has been removed since it
    /// was decided: it was raised, and the log says so.
    fn alert_raised(
        &mut self,
        e: &BudgetAlertRaised,
        at: &EventContext,
        report: Option<&mut Folded>,
    ) {
        let category = self
            .budgets
            .get(e.budget_id)
            .and_then(|b| b.category.clone());
        self.budgets.touch(e.budget_id, at.stream_version);
        let alert = Alert::recorded(e, category, self.currency, at.position, at.recorded_at);
        if let Some(folded) = report {
            folded.changes.push(Change::BudgetAlert(alert.clone()));
        }
        self.alerts.record(alert);
    }
}

fn never_recorded(id: ExpenseId) -> String {
    format!("expense {id} was never recorded")
}

/// The parts of a ledger an expense's contribution moves, borrowed field by field so
/// the fold can read an expense stored in `expenses` (its contribution borrows the
/// expense's names) while moving the rest.
struct Aggregates<'a> {
    budgets: &'a mut Budgets,
    analytics: &'a mut Derived<Analytics>,
    /// Only consulted, by the alert policy.
    alerts: &'a Alerts,
}

/// Moves every aggregate from an expense's old contribution (`before`) to its new one
/// (`after`). With `report`, also adds the status of every budget and period that
/// changed, the alerts the policy decides for them, and the analytics change.
fn move_contribution(
    aggregates: &mut Aggregates<'_>,
    before: Option<Contribution<'_>>,
    after: Option<Contribution<'_>>,
    at: &EventContext,
    report: Option<&mut Folded>,
) {
    let (before, after) = (before.as_ref(), after.as_ref());
    let same_spending = match (before, after) {
        (Some(b), Some(a)) => b.same_spending(a),
        (None, None) => true,
        _ => false,
    };
    let Some(folded) = report else {
        if !same_spending {
            aggregates.budgets.move_spending(before, after);
        }
        if let Some(analytics) = aggregates.analytics.built_mut() {
            analytics.replace(before, after);
        }
        return;
    };
    if !same_spending {
        spending_changed(aggregates, before, after, at, folded);
    }
    // Built: a fold with a report builds the aggregates first.
    let analytics = aggregates.analytics.built_mut();
    if let Some(change) = analytics.and_then(|a| a.update(before, after)) {
        folded.changes.push(Change::AnalyticsUpdated(change));
    }
}

/// Moves budget spending from `before` to `after` and reports the status of every
/// budget and period that changed: the old period and the new one when the date
/// moved, the old category's budgets and the new one's when the category did.
fn spending_changed(
    aggregates: &mut Aggregates<'_>,
    before: Option<&Contribution<'_>>,
    after: Option<&Contribution<'_>>,
    at: &EventContext,
    folded: &mut Folded,
) {
    let budgets = &mut *aggregates.budgets;
    // Each touched budget period with its spending before the move; statuses are
    // only built for the periods whose spending actually changed.
    let mut periods: BTreeMap<(BudgetId, NaiveDate), Decimal> = BTreeMap::new();
    for c in before.into_iter().chain(after) {
        for budget in budgets.matching(c.category) {
            let start = period_start(budget.period, c.occurred_on);
            periods
                .entry((budget.budget_id, start))
                .or_insert_with(|| budgets.spent_in(budget, start));
        }
    }
    budgets.move_spending(before, after);
    for ((id, start), was) in periods {
        let Some(budget) = budgets.get(id) else {
            continue;
        };
        let now = budgets.spent_in(budget, start);
        if now == was {
            continue;
        }
        let old = budgets.status_with(budget, start, was);
        let new = budgets.status_with(budget, start, now);
        let snoozed = budget.is_snoozed(at.recorded_at);
        folded.alerts.extend(alerts_to_raise(
            budget,
            Some(&old),
            &new,
            snoozed,
            aggregates.alerts,
        ));
        folded.changes.push(Change::BudgetUpdated(new));
    }
}
