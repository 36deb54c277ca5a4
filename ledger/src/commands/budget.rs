//! A budget's stream: setting (or replacing) it, removing it, snoozing its alerts.

use chrono::{DateTime, Utc};

use super::CommandError;
use crate::append::{AppendRequest, ExpectedVersion};
use crate::event::{
    AlertSnoozed, BudgetAlertRaised, BudgetPeriod, BudgetRemoved, BudgetSet, Event,
};
use crate::ids::{BudgetId, LedgerId, StreamId};
use crate::money::Amount;
use crate::recorded::Metadata;
use crate::text::Category;

/// The percentages of a budget's amount at which alerts are raised: 1 to 10 values
/// in 1..=1000, ascending, without repeats.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Thresholds(Vec<u32>);

impl Thresholds {
    /// Most thresholds one budget may have.
    pub const MAX: usize = 10;

    /// Sorts and dedups `values`; `None` gives the default, 80 and 100 percent.
    ///
    /// # Errors
    /// [`CommandError::Thresholds`] for none, too many, or one out of range.
    pub fn parse(values: Option<Vec<u32>>) -> Result<Thresholds, CommandError> {
        let mut values = values.unwrap_or_else(|| vec![80, 100]);
        if values.is_empty()
            || values.len() > Self::MAX
            || values.iter().any(|t| !(1..=1000).contains(t))
        {
            return Err(CommandError::Thresholds);
        }
        values.sort_unstable();
        values.dedup();
        Ok(Thresholds(values))
    }

    pub fn as_slice(&self) -> &[u32] {
        &self.0
    }
}

/// What a budget is: `category: None` budgets all spending; `amount` is positive
/// and in the ledger's currency.
#[derive(Clone, Debug)]
pub struct BudgetSpec {
    pub category: Option<Category>,
    pub amount: Amount,
    pub period: BudgetPeriod,
    pub thresholds: Thresholds,
}

/// Sets a budget, creating or replacing it; a replacement re-arms its alerts.
pub fn set(
    ledger: LedgerId,
    budget_id: BudgetId,
    spec: BudgetSpec,
    expected: ExpectedVersion,
    metadata: Metadata,
) -> AppendRequest {
    let set = BudgetSet {
        budget_id,
        category: spec.category.map(Category::into_string),
        amount: spec.amount,
        period: spec.period,
        thresholds: spec.thresholds.0,
    };
    append(ledger, budget_id, Event::BudgetSet(set), expected, metadata)
}

/// Whether a change to an existing budget may go ahead. [`remove`] and [`snooze`]
/// ask it too; it is public so a boundary can answer 404 before it reads the rest.
///
/// # Errors
/// [`CommandError::NoBudget`] when the ledger has no such budget.
pub fn existing(
    ledger_id: LedgerId,
    budget_id: BudgetId,
    exists: bool,
) -> Result<(), CommandError> {
    if exists {
        Ok(())
    } else {
        Err(CommandError::NoBudget {
            ledger_id,
            budget_id,
        })
    }
}

/// Removes a budget; its alerts stay in the log.
///
/// # Errors
/// [`CommandError::NoBudget`] when the ledger has no such budget (`exists`).
pub fn remove(
    ledger: LedgerId,
    budget_id: BudgetId,
    exists: bool,
    expected: ExpectedVersion,
    metadata: Metadata,
) -> Result<AppendRequest, CommandError> {
    existing(ledger, budget_id, exists)?;
    let event = Event::BudgetRemoved(BudgetRemoved { budget_id });
    Ok(append(ledger, budget_id, event, expected, metadata))
}

/// Snoozes a budget's alerts until `until`: still recorded, marked snoozed.
///
/// # Errors
/// [`CommandError::NoBudget`] when the ledger has no such budget (`exists`).
pub fn snooze(
    ledger: LedgerId,
    budget_id: BudgetId,
    until: DateTime<Utc>,
    exists: bool,
    expected: ExpectedVersion,
    metadata: Metadata,
) -> Result<AppendRequest, CommandError> {
    existing(ledger, budget_id, exists)?;
    let event = Event::AlertSnoozed(AlertSnoozed { budget_id, until });
    Ok(append(ledger, budget_id, event, expected, metadata))
}

fn append(
    ledger: LedgerId,
    budget_id: BudgetId,
    event: Event,
    expected: ExpectedVersion,
    metadata: Metadata,
) -> AppendRequest {
    AppendRequest::new(ledger, StreamId::budget(budget_id), expected, vec![event])
        .metadata(metadata)
}

/// Records an alert the alert policy decided (a follower of the log, not a user).
/// `key` makes it once per budget, arming, period and threshold however many
/// processes, or replays after a crash, decide it; `cause` is the event that moved
/// the spending across the threshold.
pub fn raise_alert(
    ledger: LedgerId,
    alert: BudgetAlertRaised,
    cause: uuid::Uuid,
    key: String,
) -> AppendRequest {
    let stream = StreamId::budget(alert.budget_id);
    let metadata = Metadata {
        causation_id: Some(cause),
        idempotency_key: Some(key),
        ..Metadata::default()
    };
    AppendRequest::new(
        ledger,
        stream,
        ExpectedVersion::Any,
        vec![Event::BudgetAlertRaised(alert)],
    )
    .metadata(metadata)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::money::Currency;

    #[test]
    fn thresholds_default_sort_and_dedup() {
        assert_eq!(Thresholds::parse(None).unwrap().as_slice(), &[80, 100]);
        assert_eq!(
            Thresholds::parse(Some(vec![100, 50, 100]))
                .unwrap()
                .as_slice(),
            &[50, 100]
        );
        for bad in [vec![], vec![0], vec![1001], vec![5; 11]] {
            assert_eq!(Thresholds::parse(Some(bad)), Err(CommandError::Thresholds));
        }
    }

    #[test]
    fn setting_writes_the_budget_stream() {
        let (ledger, budget) = (LedgerId::new(), BudgetId::new());
        let spec = BudgetSpec {
            category: None,
            amount: Amount::parse("500", Currency::parse("EUR").unwrap()).unwrap(),
            period: BudgetPeriod::Monthly,
            thresholds: Thresholds::parse(None).unwrap(),
        };
        let request = set(
            ledger,
            budget,
            spec,
            ExpectedVersion::Any,
            Metadata::default(),
        );
        assert_eq!(request.writes[0].stream, StreamId::budget(budget));
        assert!(
            matches!(&request.writes[0].events[0], Event::BudgetSet(s) if s.category.is_none())
        );
    }

    #[test]
    fn removing_and_snoozing_need_the_budget() {
        let (ledger, budget) = (LedgerId::new(), BudgetId::new());
        let missing = CommandError::NoBudget {
            ledger_id: ledger,
            budget_id: budget,
        };
        let any = ExpectedVersion::Any;
        let remove = |exists| remove(ledger, budget, exists, any, Metadata::default());
        assert_eq!(remove(false).unwrap_err(), missing);
        assert!(remove(true).is_ok());
        let snooze = |exists| snooze(ledger, budget, Utc::now(), exists, any, Metadata::default());
        assert_eq!(snooze(false).unwrap_err(), missing);
        assert!(matches!(
            &snooze(true).unwrap().writes[0].events[0],
            Event::AlertSnoozed(_)
        ));
    }

    proptest! {
        #[test]
        fn accepted_thresholds_are_ascending_and_in_range(values in proptest::collection::vec(0u32..1200, 0..14)) {
            if let Ok(t) = Thresholds::parse(Some(values)) {
                let t = t.as_slice();
                prop_assert!(!t.is_empty() && t.len() <= Thresholds::MAX);
                prop_assert!(t.windows(2).all(|w| w[0] < w[1]));
                prop_assert!(t.iter().all(|v| (1..=1000).contains(v)));
            }
        }
    }
}
