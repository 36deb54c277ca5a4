//! Property test of the quiet fold: over random histories of two ledgers (plus
//! imports for a third, never opened), with the alerts the live policy asks for
//! appended back to the log, [`Projections::apply_quietly`] reaches exactly the state
//! [`Projections::apply_with_alerts`] does, event by event, alert history included.
//! Events that cannot be folded (unreadable, or contradicting the log) fail the same
//! way on both and change neither.
//!
//! The generator (`support/history.rs`, shared with `snapshots.rs`) follows
//! `properties.rs`: expenses recorded, amended and deleted (refunds, dates around
//! month ends, ISO week 53 and leap days, every optional field), budgets of every
//! period set, changed, snoozed and removed, members granted and revoked.

use std::collections::BTreeMap;

use chrono::Duration;
use ledger::event::{
    AlertSnoozed, BudgetRemoved, BudgetSet, Event, ExpenseAmended, ExpenseDeleted, ExpenseRecorded,
    ImportStarted, LedgerOpened, MemberGranted, MemberRevoked,
};
use ledger::testing::history::tricky_dates;
use ledger::{Amount, BudgetId, Currency, ExpenseId, ImportId, LedgerId, RecordedEvent, UserId};
use projections::Projections;
use proptest::prelude::*;
use serde_json::json;

include!("support/history.rs");

/// How an event that cannot be folded is made from the event that follows it in
/// the log: it takes that event's position, so the log goes on normally after it.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// A payload this build cannot read.
    Unreadable,
    /// An event of a ledger that was never opened (imports and openings, which need
    /// no opened ledger, are made unreadable instead).
    NoSuchLedger,
    /// Deleting an expense that was never recorded.
    NoSuchExpense,
    /// Recording again the first expense the log recorded, if any.
    RecordedTwice,
}

fn fault() -> impl Strategy<Value = Fault> {
    prop_oneof![
        Just(Fault::Unreadable),
        Just(Fault::NoSuchLedger),
        Just(Fault::NoSuchExpense),
        Just(Fault::RecordedTwice),
    ]
}

fn faulty(fault: Fault, next: &RecordedEvent, log: &[RecordedEvent]) -> RecordedEvent {
    let mut bad = next.clone();
    match fault {
        Fault::Unreadable => bad.payload = r#"{"surprise": true}"#.into(),
        Fault::NoSuchLedger => match next.event_type.as_str() {
            "LedgerOpened" | "ImportStarted" => bad.payload = "[]".into(),
            _ => bad.ledger_id = ledger_id(99),
        },
        Fault::NoSuchExpense => {
            let event = Event::ExpenseDeleted(ExpenseDeleted {
                expense_id: numbered(0x7f, 1),
            });
            bad.event_type = event.event_type().into();
            bad.schema_version = event.schema_version();
            bad.payload = event.encode();
        }
        Fault::RecordedTwice => {
            if let Some(first) = log.iter().find(|e| e.event_type == "ExpenseRecorded") {
                bad = RecordedEvent {
                    position: next.position,
                    ..first.clone()
                };
            } else {
                bad.payload = "not json".into();
            }
        }
    }
    bad
}

/// A ledger's expenses in listing order, its top merchants (name, total, count), and
/// its analytics and budget statuses as JSON.
type Indexed = (Vec<ExpenseId>, Vec<(String, String, u64)>, String);

/// What the indexes and aggregates built on first read show, for every ledger.
/// Reading them also builds them, so a state read after an event keeps them current
/// event by event from then on.
fn indexed(state: &Projections) -> Vec<Indexed> {
    state
        .ledgers()
        .map(|ledger| {
            let listing = ledger
                .expenses()
                .in_date_order(None, None, None)
                .map(|e| e.expense_id)
                .collect();
            let top = ledger
                .analytics()
                .top_merchants(projections::TOP_MERCHANTS)
                .into_iter()
                .map(|m| (m.merchant, m.total.to_string(), m.count))
                .collect();
            let aggregates = tricky_dates()
                .into_iter()
                .map(|day| {
                    json!({
                        "analytics": ledger.analytics().snapshot(day),
                        "budgets": ledger.budgets().statuses(day),
                    })
                })
                .collect::<Vec<_>>();
            (listing, top, serde_json::to_string(&aggregates).unwrap())
        })
        .collect()
}

/// Builds every index and aggregate of `state` that is built on first read.
fn build(state: &Projections) {
    for ledger in state.ledgers() {
        let _ = ledger.expenses().in_date_order(None, None, None).next();
        let _ = ledger.analytics().top_merchants(1);
        let _ = ledger.budgets();
    }
}

/// Folds `log` both ways, with `faults` (index into the log, kind) slipped in before
/// the events they name, and checks the two states after every event. The full fold
/// keeps its aggregates and indexes current through the whole log (they are read
/// after every event); the quiet fold's are built halfway, kept current quietly from
/// there, and compared at the end.
fn check_quiet_fold(log: &[RecordedEvent], faults: &BTreeMap<usize, Fault>) -> Projections {
    let mut full = Projections::new();
    let mut quiet = Projections::new();
    for (i, event) in log.iter().enumerate() {
        if let Some(fault) = faults.get(&i) {
            let bad = faulty(*fault, event, &log[..i]);
            let before = quiet.clone();
            let expected = full.apply_with_alerts(&bad).map(|_| ());
            assert!(expected.is_err(), "{fault:?} folded at {}", bad.position);
            assert_eq!(quiet.apply_quietly(&bad), expected);
            assert!(quiet == before, "a failed event changed the quiet state");
        }
        full.apply_with_alerts(event).unwrap();
        quiet.apply_quietly(event).unwrap();
        assert!(
            quiet == full,
            "the states part at position {}",
            event.position
        );
        build(&full);
        if i == log.len() / 2 {
            build(&quiet);
        }
    }
    assert_eq!(indexed(&quiet), indexed(&full));
    // Redelivered events were folded already, both ways.
    for event in log {
        quiet.apply_quietly(event).unwrap();
    }
    assert!(quiet == full, "a redelivered event changed the quiet state");
    quiet
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_quiet_fold_reaches_the_same_state(
        ops in prop::collection::vec(any_op(), 1..70),
        faults in prop::collection::vec((any::<prop::sample::Index>(), fault()), 0..4),
    ) {
        let mut run = Run::new();
        for op in ops {
            run.play(op);
        }
        let faults: BTreeMap<usize, Fault> = faults
            .into_iter()
            .map(|(at, fault)| (at.index(run.log.events.len()), fault))
            .collect();
        let quiet = check_quiet_fold(&run.log.events, &faults);
        prop_assert!(quiet == run.server);
    }
}

/// A history written out by hand, so the property is known to meet alerts raised,
/// snoozed and re-armed, a removed budget and a deleted expense at least once.
#[test]
fn the_quiet_fold_keeps_the_alert_history() {
    let mut run = Run::new();
    let record = |ledger, cents, date: &str, category| Op::Record {
        ledger,
        cents,
        date: d(date),
        category,
        merchant: Some(0),
        note: Some(1),
        tags: vec![0, 2],
        foreign: Some(1_234),
    };
    for op in [
        Op::SetBudget {
            ledger: 0,
            slot: 0,
            category: None,
            limit_cents: 10_000,
            period: 0,
            thresholds: vec![80, 100],
        },
        record(0, 9_000, "2026-12-31", 0),
        Op::Snooze {
            ledger: 0,
            slot: 0,
            hours: 5,
        },
        record(0, 500, "2027-01-03", 1),
        record(1, 500, "2028-02-29", 2),
        Op::SetBudget {
            ledger: 0,
            slot: 0,
            category: None,
            limit_cents: 9_000,
            period: 0,
            thresholds: vec![50, 100],
        },
        Op::Delete {
            ledger: 0,
            target: 0,
        },
        Op::RemoveBudget { ledger: 0, slot: 0 },
    ] {
        run.play(op);
    }
    let faults = BTreeMap::from([(3, Fault::RecordedTwice), (5, Fault::Unreadable)]);
    let quiet = check_quiet_fold(&run.log.events, &faults);
    let alerts: Vec<(u32, bool)> = quiet
        .ledger(ledger_id(0))
        .unwrap()
        .alerts()
        .newest_first()
        .map(|alert| (alert.threshold, alert.snoozed))
        .collect();
    // Folded from the BudgetAlertRaised events the live policy appended.
    assert_eq!(alerts, [(100, true), (80, false)]);
    assert!(quiet == run.server);
}
