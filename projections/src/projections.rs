//! Every ledger's read models, folded from the one global log.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use chrono::{DateTime, Utc};
use ledger::event::{Event, Role};
use ledger::{DecodeError, LedgerId, LogEntry, Metadata, Position, RecordedEvent, UserId};

use crate::alerts::PendingAlert;
use crate::delta::{Change, Delta};
use crate::error::ProjectionError;
use crate::ledger_projection::{EventContext, Folded, LedgerProjection};

/// The read models of every ledger, as of [`Projections::position`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Projections {
    position: Position,
    ledgers: BTreeMap<LedgerId, LedgerProjection>,
    /// Ledgers whose state an event changed since the last [`Projections::take_changed`],
    /// so a checkpoint saves only those. Part of equality on purpose: two states are
    /// only interchangeable if they would also save the same ledgers next.
    changed: Changed,
}

/// A set of ledger ids that remembers the last one added: consecutive events mostly
/// belong to the same ledger, and that one is then known to be in without a search.
#[derive(Clone, Debug, Default)]
struct Changed {
    ids: BTreeSet<LedgerId>,
    last: Option<LedgerId>,
}

impl Changed {
    fn insert(&mut self, id: LedgerId) {
        if self.last != Some(id) {
            self.ids.insert(id);
            self.last = Some(id);
        }
    }

    fn take(&mut self) -> BTreeSet<LedgerId> {
        self.last = None;
        std::mem::take(&mut self.ids)
    }
}

/// Only the ids count: `last` is a shortcut to them.
impl PartialEq for Changed {
    fn eq(&self, other: &Self) -> bool {
        self.ids == other.ids
    }
}

impl Eq for Changed {}

/// What folding one event produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// The changes to push to subscribers, in the order they happened.
    pub deltas: Vec<Delta>,
    /// Alerts the policy decided this event calls for, to be appended to the log by
    /// the caller. Only act on them when folding live events: while rebuilding, the
    /// alerts they stand for are usually already further down the log (appending
    /// with [`PendingAlert::idempotency_key`] keeps even that harmless).
    pub alerts: Vec<PendingAlert>,
}

impl Projections {
    pub fn new() -> Self {
        Self::default()
    }

    /// Every ledger restored at `position`, with nothing marked changed: what was
    /// restored is what the checkpoint already holds (see `snapshot`).
    pub(crate) fn restored(
        position: Position,
        ledgers: BTreeMap<LedgerId, LedgerProjection>,
    ) -> Self {
        Projections {
            position,
            ledgers,
            changed: Changed::default(),
        }
    }

    /// The ids of the ledgers whose state changed since the last call, in id order,
    /// and forgets them: the ledgers an incremental checkpoint has to save again.
    ///
    /// A ledger counts as changed when an event of it was folded in, `LedgerOpened`
    /// included. Events that only move [`Projections::position`] (imports), events
    /// already folded, and events that failed to fold change no ledger.
    pub fn take_changed(&mut self) -> Vec<LedgerId> {
        self.changed.take().into_iter().collect()
    }

    /// Marks ledgers changed again, for a checkpoint that could not be written.
    pub fn mark_changed(&mut self, ledgers: impl IntoIterator<Item = LedgerId>) {
        self.changed.ids.extend(ledgers);
    }

    /// The last event folded in: the read models reflect every event up to here.
    pub fn position(&self) -> Position {
        self.position
    }

    pub fn ledger(&self, id: LedgerId) -> Option<&LedgerProjection> {
        self.ledgers.get(&id)
    }

    /// Every ledger, in id order.
    pub fn ledgers(&self) -> impl Iterator<Item = &LedgerProjection> {
        self.ledgers.values()
    }

    /// Builds what every ledger derives on first read ([`LedgerProjection::derive`]),
    /// the ledgers shared out over the machine's cores. Blocks its thread until done.
    pub fn derive_all(&self) {
        let ledgers: Vec<&LedgerProjection> = self.ledgers().collect();
        let threads = std::thread::available_parallelism()
            .map_or(1, std::num::NonZero::get)
            .min(ledgers.len());
        let next = AtomicUsize::new(0);
        let work = || {
            while let Some(ledger) = ledgers.get(next.fetch_add(1, Ordering::Relaxed)) {
                ledger.derive();
            }
        };
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(work);
            }
            work();
        });
    }

    /// `user`'s role in `ledger`; `None` when either is unknown or `user` is not a member.
    pub fn role(&self, ledger: LedgerId, user: UserId) -> Option<Role> {
        self.ledger(ledger).and_then(|l| l.role(user))
    }

    /// Folds one event in and returns what it changed.
    ///
    /// # Errors
    /// As [`Projections::apply_with_alerts`].
    pub fn apply(&mut self, event: &RecordedEvent) -> Result<Vec<Delta>, ProjectionError> {
        self.apply_with_alerts(event).map(|applied| applied.deltas)
    }

    /// Folds one event in, and also runs the alert policy on every budget status it
    /// changed.
    ///
    /// Events at or below [`Projections::position`] were folded already and change
    /// nothing, so a tail that redelivers after a restart is harmless. Events of
    /// types no read model needs (imports) only move the position.
    ///
    /// # Errors
    /// [`ProjectionError::Decode`] when the payload or metadata cannot be read, and
    /// [`ProjectionError::Inconsistent`] when the event contradicts the log before it
    /// (say, an expense amended that was never recorded). Either way nothing of the
    /// event was applied and the position stays where it was.
    pub fn apply_with_alerts(&mut self, event: &RecordedEvent) -> Result<Applied, ProjectionError> {
        let mut folded = Folded::default();
        self.fold(event, Some(&mut folded))?;
        let (position, ledger_id) = (event.position, event.ledger_id);
        Ok(Applied {
            deltas: folded
                .changes
                .into_iter()
                .map(|change| Delta {
                    position,
                    ledger_id,
                    change,
                })
                .collect(),
            alerts: folded
                .alerts
                .into_iter()
                .map(|event| PendingAlert { ledger_id, event })
                .collect(),
        })
    }

    /// Folds one event in as [`Projections::apply`] does, to exactly the same state,
    /// without working out deltas or alert decisions: what a rebuild needs, since
    /// nobody subscribes to the past and its alerts are already in the log. Alerts
    /// recorded in the log (`BudgetAlertRaised`) still go into the alert history.
    ///
    /// # Errors
    /// As [`Projections::apply_with_alerts`].
    pub fn apply_quietly(&mut self, event: &RecordedEvent) -> Result<(), ProjectionError> {
        self.fold(event, None)
    }

    /// The fold behind both `apply`s: with `report`, the changes and alert decisions
    /// are added to it.
    fn fold(
        &mut self,
        event: &RecordedEvent,
        report: Option<&mut Folded>,
    ) -> Result<(), ProjectionError> {
        if event.position <= self.position {
            return Ok(());
        }
        self.fold_decoded(DecodedEvent::decode(event)?, report)
    }

    /// Folds in quietly, as [`Projections::apply_quietly`], an event decoded already
    /// by [`DecodedEvent::decode`], maybe on another thread: a rebuild decodes the
    /// next batch of events while it folds this one.
    ///
    /// # Errors
    /// As [`Projections::apply_with_alerts`], except that decoding errors were
    /// already reported by [`DecodedEvent::decode`].
    pub fn apply_decoded_quietly(&mut self, event: DecodedEvent) -> Result<(), ProjectionError> {
        self.fold_decoded(event, None)
    }

    fn fold_decoded(
        &mut self,
        event: DecodedEvent,
        report: Option<&mut Folded>,
    ) -> Result<(), ProjectionError> {
        let DecodedEvent {
            position,
            ledger_id,
            stream_version,
            recorded_at,
            actor,
            payload,
        } = event;
        if position <= self.position {
            return Ok(());
        }
        let event_type = payload.event_type();
        let inconsistent = |reason: String| ProjectionError::Inconsistent {
            position,
            event_type,
            reason,
        };
        match payload {
            Event::ImportCompleted(completed) => {
                // No read model keeps imports; subscribers of the ledger's imports
                // topic still hear of it, in log order after the import's expenses.
                if let Some(folded) = report {
                    folded.changes.push(Change::ImportCompleted(completed));
                }
            }
            Event::ImportStarted(_) | Event::ImportCancelled(_) => {}
            Event::LedgerOpened(opened) => {
                if self.ledgers.contains_key(&ledger_id) {
                    return Err(inconsistent(format!(
                        "ledger {ledger_id} was already opened"
                    )));
                }
                let ledger = LedgerProjection::opened(ledger_id, opened, position);
                self.ledgers.insert(ledger_id, ledger);
                self.changed.insert(ledger_id);
            }
            other => {
                let context = EventContext {
                    position,
                    stream_version,
                    recorded_at,
                    recorded_by: actor,
                };
                let ledger = self
                    .ledgers
                    .get_mut(&ledger_id)
                    .ok_or_else(|| inconsistent(format!("ledger {ledger_id} was never opened")))?;
                ledger.fold(other, &context, report).map_err(inconsistent)?;
                self.changed.insert(ledger_id);
            }
        }
        self.position = position;
        Ok(())
    }
}

/// One event as the fold reads it: its payload decoded, the actor of an
/// `ExpenseRecorded` read from its metadata (no other event needs the metadata), and
/// the few stored fields the fold uses. The stored texts and hashes are not kept, so
/// a batch of these is smaller than the events it was decoded from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodedEvent {
    position: Position,
    ledger_id: LedgerId,
    stream_version: u64,
    recorded_at: DateTime<Utc>,
    actor: Option<UserId>,
    payload: Event,
}

impl DecodedEvent {
    /// # Errors
    /// [`ProjectionError::Decode`] when the payload, or the metadata it needs, cannot
    /// be read by this build.
    pub fn decode(event: &RecordedEvent) -> Result<DecodedEvent, ProjectionError> {
        let stored = Stored {
            position: event.position,
            ledger_id: event.ledger_id,
            stream_version: event.stream_version,
            recorded_at: event.recorded_at,
        };
        stored.decode(|| event.event(), || event.metadata())
    }

    /// As [`DecodedEvent::decode`], from an event as a rebuild reads it.
    ///
    /// # Errors
    /// As [`DecodedEvent::decode`].
    pub fn of(entry: &LogEntry) -> Result<DecodedEvent, ProjectionError> {
        let stored = Stored {
            position: entry.position,
            ledger_id: entry.ledger_id,
            stream_version: entry.stream_version,
            recorded_at: entry.recorded_at,
        };
        stored.decode(|| entry.event(), || entry.metadata())
    }

    pub fn position(&self) -> Position {
        self.position
    }
}

/// The stored fields of an event a fold reads besides its payload and metadata.
struct Stored {
    position: Position,
    ledger_id: LedgerId,
    stream_version: u64,
    recorded_at: DateTime<Utc>,
}

impl Stored {
    /// Decodes the payload with `event`, and for an `ExpenseRecorded` the metadata
    /// with `metadata` (no other event needs it).
    fn decode(
        self,
        event: impl FnOnce() -> Result<Event, DecodeError>,
        metadata: impl FnOnce() -> Result<Metadata, DecodeError>,
    ) -> Result<DecodedEvent, ProjectionError> {
        let position = self.position;
        let unreadable = |source| ProjectionError::Decode { position, source };
        let payload = event().map_err(unreadable)?;
        let actor = match payload {
            Event::ExpenseRecorded(_) => metadata().map_err(unreadable)?.actor,
            _ => None,
        };
        Ok(DecodedEvent {
            position,
            ledger_id: self.ledger_id,
            stream_version: self.stream_version,
            recorded_at: self.recorded_at,
            actor,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delta::Change;
    use chrono::{DateTime, Datelike, Duration};
    use ledger::event::{
        BudgetPeriod, BudgetSet, ExpenseAmended, ExpenseDeleted, ExpenseRecorded, ImportStarted,
        LedgerOpened, MemberGranted, MemberRevoked,
    };
    use ledger::{Amount, BudgetId, Currency, EventId, ExpenseId, Hash, ImportId};
    use serde_json::json;

    /// Builds a ledger's log without a database.
    struct Log {
        ledger: LedgerId,
        owner: UserId,
        events: Vec<RecordedEvent>,
    }

    impl Log {
        fn new() -> Log {
            let mut log = Log {
                ledger: LedgerId::new(),
                owner: UserId::new(),
                events: Vec::new(),
            };
            let opened = Event::LedgerOpened(LedgerOpened {
                ledger_id: log.ledger,
                name: "Trip".into(),
                currency: Currency::parse("EUR").unwrap(),
                timezone: "UTC".into(),
                owner: log.owner,
            });
            log.push(opened);
            log
        }

        fn push(&mut self, event: Event) -> RecordedEvent {
            let position = i64::try_from(self.events.len()).unwrap() + 1;
            let stream_id = event.stream(self.ledger);
            let recorded = RecordedEvent {
                position: Position::new(position).unwrap(),
                ledger_id: self.ledger,
                stream_id,
                stream_version: 1 + self
                    .events
                    .iter()
                    .filter(|e| e.stream_id == stream_id)
                    .count() as u64,
                event_id: EventId::new(),
                event_type: event.event_type().into(),
                schema_version: event.schema_version(),
                payload: event.encode(),
                metadata: json!({ "actor": self.owner }).to_string(),
                recorded_at: DateTime::UNIX_EPOCH
                    + Duration::days(20_800)
                    + Duration::minutes(position),
                prev_hash: Hash::GENESIS,
                hash: Hash::GENESIS,
            };
            self.events.push(recorded.clone());
            recorded
        }

        fn fold(&self) -> Projections {
            let mut projections = Projections::new();
            for event in &self.events {
                projections.apply(event).unwrap();
            }
            projections
        }
    }

    fn eur(text: &str) -> Amount {
        Amount::parse(text, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn expense(amount: &str, date: &str) -> ExpenseRecorded {
        ExpenseRecorded {
            expense_id: ExpenseId::new(),
            amount: eur(amount),
            occurred_on: date.parse().unwrap(),
            category: "food".into(),
            merchant: Some("Market".into()),
            description: None,
            tags: vec![],
            original_amount: None,
            original_currency: None,
            import_id: None,
        }
    }

    #[test]
    fn deltas_go_on_the_wire_with_the_contracts_names() {
        let mut log = Log::new();
        let budget_id = BudgetId::new();
        log.push(Event::BudgetSet(BudgetSet {
            budget_id,
            category: Some("food".into()),
            amount: eur("100"),
            period: BudgetPeriod::Monthly,
            thresholds: vec![80, 100],
        }));
        let mut projections = log.fold();
        let e = expense("85.00", "2026-11-30");
        let recorded = log.push(Event::ExpenseRecorded(e.clone()));
        let applied = projections.apply_with_alerts(&recorded).unwrap();
        let wire: Vec<_> = applied
            .deltas
            .iter()
            .map(|d| serde_json::to_value(d).unwrap())
            .collect();
        let types: Vec<_> = wire.iter().map(|w| w["type"].as_str().unwrap()).collect();
        assert_eq!(
            types,
            ["expense_created", "budget_updated", "analytics_updated"]
        );
        assert_eq!(wire[0]["position"], 3);
        assert_eq!(wire[0]["data"]["amount"], "85.00");
        assert_eq!(wire[0]["data"]["recorded_by"], json!(log.owner));
        assert_eq!(wire[0]["data"]["deleted"], false);
        assert_eq!(
            wire[1]["data"],
            json!({
                "budget_id": budget_id, "category": "food", "period": "monthly",
                "period_start": "2026-11-01", "period_end": "2026-11-30", "limit": "100.00",
                "spent": "85.00", "remaining": "15.00", "utilization": "85.0",
                "status": "warning", "thresholds": [80, 100], "snoozed_until": null,
            })
        );
        assert_eq!(
            wire[2]["data"]["by_category"],
            json!({"2026-11": {"food": "85.00"}})
        );
        assert_eq!(
            applied.deltas[1].topic(),
            format!("ledger:{}:budgets", log.ledger)
        );

        // The policy asks for the 80% alert; appended, it comes back as a budget_alert.
        assert_eq!(applied.alerts.len(), 1);
        let raised = log.push(Event::BudgetAlertRaised(applied.alerts[0].event.clone()));
        let deltas = projections.apply(&raised).unwrap();
        let alert = serde_json::to_value(&deltas[0]).unwrap();
        assert_eq!(alert["type"], "budget_alert");
        assert_eq!(alert["data"]["severity"], "warning");
        assert_eq!(alert["data"]["category"], "food");
        assert_eq!(alert["data"]["spent"], "85.00");
        assert_eq!(alert["data"]["threshold"], 80);

        // Deleting keeps the expense, marked, and takes it out of everything else.
        let deleted = log.push(Event::ExpenseDeleted(ExpenseDeleted {
            expense_id: e.expense_id,
        }));
        let deltas = projections.apply(&deleted).unwrap();
        let wire = serde_json::to_value(&deltas[0]).unwrap();
        assert_eq!(
            (
                wire["type"].as_str(),
                &wire["data"]["deleted"],
                &wire["data"]["version"]
            ),
            (Some("expense_deleted"), &json!(true), &json!(2))
        );
        let ledger = projections.ledger(log.ledger).unwrap();
        assert_eq!(ledger.analytics().count(), 0);
        assert_eq!(
            ledger
                .budgets()
                .status(budget_id, "2026-11-02".parse().unwrap())
                .unwrap()
                .spent
                .to_string(),
            "0.00"
        );
        assert_eq!(ledger.alerts().len(), 1);
    }

    #[test]
    fn unreadable_events_are_errors_naming_their_position() {
        let mut log = Log::new();
        let mut bad = log.push(Event::ExpenseRecorded(expense("1.00", "2026-11-01")));
        bad.payload = r#"{"amount": 1.0}"#.into();
        let mut projections = Projections::new();
        projections.apply(&log.events[0]).unwrap();
        let before = projections.clone();
        let error = projections.apply(&bad).unwrap_err();
        assert!(matches!(error, ProjectionError::Decode { .. }));
        assert_eq!(error.position(), bad.position);
        assert!(error.to_string().contains("position 2"), "{error}");
        assert_eq!(projections, before);

        let mut bad_metadata = log.events[1].clone();
        bad_metadata.payload = Event::ExpenseRecorded(expense("1.00", "2026-11-01")).encode();
        bad_metadata.metadata = "not json".into();
        assert!(matches!(
            projections.apply(&bad_metadata),
            Err(ProjectionError::Decode { .. })
        ));
        assert_eq!(projections, before);
    }

    #[test]
    fn events_that_contradict_the_log_change_nothing() {
        let mut log = Log::new();
        let e = expense("5.00", "2026-11-01");
        log.push(Event::ExpenseRecorded(e.clone()));
        let mut projections = log.fold();
        let before = projections.clone();
        let mut contradictions = vec![
            Event::ExpenseRecorded(e.clone()),
            Event::ExpenseAmended(ExpenseAmended {
                expense_id: ExpenseId::new(),
                ..ExpenseAmended::default()
            }),
            Event::ExpenseDeleted(ExpenseDeleted {
                expense_id: ExpenseId::new(),
            }),
            Event::BudgetRemoved(ledger::event::BudgetRemoved {
                budget_id: BudgetId::new(),
            }),
            Event::ExpenseAmended(ExpenseAmended {
                expense_id: e.expense_id,
                // More decimals than EUR has: never valid in this ledger.
                amount: Some(serde_json::from_str("\"1.005\"").unwrap()),
                ..ExpenseAmended::default()
            }),
            Event::BudgetSet(BudgetSet {
                budget_id: BudgetId::new(),
                category: None,
                amount: serde_json::from_str("\"-1\"").unwrap(),
                period: BudgetPeriod::Weekly,
                thresholds: vec![],
            }),
        ];
        let opened_again = log.events[0].clone();
        for event in contradictions.drain(..) {
            let recorded = log.push(event);
            let error = projections.apply(&recorded).unwrap_err();
            assert!(
                matches!(error, ProjectionError::Inconsistent { .. }),
                "{error}"
            );
            assert_eq!(error.position(), recorded.position);
            assert_eq!(projections, before);
        }
        let mut reopened = opened_again;
        reopened.position = Position::new(100).unwrap();
        assert!(projections.apply(&reopened).is_err());

        let mut elsewhere = log.events[1].clone();
        elsewhere.ledger_id = LedgerId::new();
        elsewhere.position = Position::new(101).unwrap();
        assert!(projections
            .apply(&elsewhere)
            .unwrap_err()
            .to_string()
            .contains("never opened"));
        assert_eq!(projections, before);
    }

    #[test]
    fn members_and_roles_follow_grants_and_revocations() {
        let mut log = Log::new();
        let guest = UserId::new();
        log.push(Event::MemberGranted(MemberGranted {
            user_id: guest,
            role: Role::Viewer,
        }));
        log.push(Event::ImportStarted(ImportStarted {
            import_id: ImportId::new(),
            format: "csv".into(),
            file_name: None,
            rows: 3,
        }));
        let projections = log.fold();
        assert_eq!(projections.role(log.ledger, log.owner), Some(Role::Owner));
        assert_eq!(projections.role(log.ledger, guest), Some(Role::Viewer));
        assert_eq!(projections.position(), Position::new(3).unwrap());
        log.push(Event::MemberGranted(MemberGranted {
            user_id: guest,
            role: Role::Member,
        }));
        assert_eq!(log.fold().role(log.ledger, guest), Some(Role::Member));
        log.push(Event::MemberRevoked(MemberRevoked { user_id: guest }));
        let projections = log.fold();
        assert_eq!(projections.role(log.ledger, guest), None);
        assert_eq!(projections.role(LedgerId::new(), log.owner), None);
        assert_eq!(
            projections
                .ledger(log.ledger)
                .unwrap()
                .members()
                .iter()
                .count(),
            1
        );
    }

    #[test]
    fn a_budget_change_is_shown_for_the_latest_expense_or_the_events_day() {
        let mut log = Log::new();
        let budget_id = BudgetId::new();
        let set = |amount: &str| {
            Event::BudgetSet(BudgetSet {
                budget_id,
                category: None,
                amount: eur(amount),
                period: BudgetPeriod::Yearly,
                thresholds: vec![50],
            })
        };
        let mut projections = log.fold();
        let recorded = log.push(set("10"));
        let deltas = projections.apply(&recorded).unwrap();
        let Change::BudgetUpdated(status) = &deltas[0].change else {
            panic!("{deltas:?}")
        };
        assert_eq!(
            status.period_start,
            recorded.recorded_at.date_naive().with_ordinal(1).unwrap()
        );

        for event in [expense("6", "2031-05-01"), expense("1", "2030-01-01")] {
            let recorded = log.push(Event::ExpenseRecorded(event));
            projections.apply(&recorded).unwrap();
        }
        let recorded = log.push(set("20"));
        let applied = projections.apply_with_alerts(&recorded).unwrap();
        let Change::BudgetUpdated(status) = &applied.deltas[0].change else {
            panic!()
        };
        assert_eq!(
            (
                status.period_start.to_string().as_str(),
                status.utilization.as_str()
            ),
            ("2031-01-01", "30.0")
        );
        // 60% of 10 became 30% of 20: downward, no alert; raising it back crosses 50%.
        assert!(applied.alerts.is_empty());
        let recorded = log.push(set("10"));
        let applied = projections.apply_with_alerts(&recorded).unwrap();
        assert_eq!(applied.alerts.len(), 1);
        assert_eq!(applied.alerts[0].event.armed_by_version, 3);
    }
}
