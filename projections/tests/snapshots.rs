//! Property tests of checkpoint snapshots, over random histories of two ledgers
//! (plus imports for a third, never opened): members granted and revoked, expenses
//! recorded, amended and deleted (refunds, dates around month ends, ISO week 53 and
//! leap days, every optional field), budgets of every period set, changed, snoozed
//! and removed, and the alerts the policy asks for appended back to the log. The
//! generator follows `properties.rs`, extended to several ledgers.
//!
//! For a random cut point in each history:
//! (a) restoring every ledger's snapshot gives back exactly the state at the cut;
//! (b) folding the rest of the log into the restored state gives the same deltas,
//!     alerts and final state as folding it into the original;
//! (c) `take_changed` names exactly the ledger each event touched, so a checkpoint
//!     kept current from it alone restores the final state too.

use std::collections::BTreeMap;

use chrono::Duration;
use ledger::event::{
    AlertSnoozed, BudgetRemoved, BudgetSet, Event, ExpenseAmended, ExpenseDeleted, ExpenseRecorded,
    ImportStarted, LedgerOpened, MemberGranted, MemberRevoked,
};
use ledger::{Amount, BudgetId, Currency, ExpenseId, ImportId, LedgerId, RecordedEvent, UserId};
use projections::Projections;
use proptest::prelude::*;
use serde_json::{json, Value};

include!("support/history.rs");

/// Every ledger's snapshot, as a full checkpoint saves them.
fn checkpoint(state: &Projections) -> BTreeMap<LedgerId, String> {
    state
        .ledgers()
        .map(|l| {
            let json = state.snapshot_json(l.ledger_id()).unwrap();
            (l.ledger_id(), json)
        })
        .collect()
}

/// The ledger an event changes: none for imports, which only move the position.
fn touched(event: &RecordedEvent) -> Vec<LedgerId> {
    if event.event_type.starts_with("Import") {
        Vec::new()
    } else {
        vec![event.ledger_id]
    }
}

fn check_resume_from(log: &[RecordedEvent], cut: usize) {
    let (head, tail) = log.split_at(cut);
    let mut original = Projections::new();
    for event in head {
        original.apply(event).unwrap();
    }
    let opened: Vec<LedgerId> = original.ledgers().map(|l| l.ledger_id()).collect();
    assert_eq!(
        original.take_changed(),
        opened,
        "every ledger changed since the start"
    );
    let mut saved = checkpoint(&original);

    // (a) The snapshots give back the state at the cut, and write the same text again.
    let mut restored = Projections::restore(original.position(), saved.values().cloned()).unwrap();
    assert!(restored == original, "restored state differs at cut {cut}");
    assert_eq!(checkpoint(&restored), saved);

    // (b) and (c): the rest of the log does the same to both, event by event.
    for event in tail {
        let expected = original.apply_with_alerts(event).unwrap();
        let got = restored.apply_with_alerts(event).unwrap();
        assert_eq!(got, expected, "at position {}", event.position);
        let changed = original.take_changed();
        assert_eq!(changed, touched(event), "at position {}", event.position);
        assert_eq!(restored.take_changed(), changed);
        // An incremental checkpoint: only what changed is saved again.
        for id in changed {
            saved.insert(id, original.snapshot_json(id).unwrap());
        }
    }
    assert!(restored == original, "states part after cut {cut}");
    let resumed = Projections::restore(original.position(), saved.into_values()).unwrap();
    assert!(resumed == original, "the incremental checkpoint is stale");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn restored_snapshots_resume_exactly_where_the_fold_was(
        ops in prop::collection::vec(any_op(), 1..70),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut run = Run::new();
        for op in ops {
            run.play(op);
        }
        let cut = 1 + cut.index(run.log.events.len());
        check_resume_from(&run.log.events, cut);
    }
}

/// A history written out by hand, checked at every cut, so the property is known to
/// meet alerts, snoozes, removed budgets and both ledgers at least once.
#[test]
fn every_cut_of_a_hand_written_history_resumes_exactly() {
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
        Op::Grant {
            ledger: 1,
            user: 1,
            role: 1,
        },
        record(1, 500, "2028-02-29", 2),
        Op::Import { ledger: 2 },
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
        Op::Revoke { ledger: 1, user: 1 },
    ] {
        run.play(op);
    }
    let state = &run.server;
    // 90% then 95% of 100: the 80% alert. The new limit of 90 re-arms the budget and
    // takes it past 100% (50% it was past already), while snoozed.
    let alerts: Vec<(u32, bool)> = state
        .ledger(ledger_id(0))
        .unwrap()
        .alerts()
        .newest_first()
        .map(|alert| (alert.threshold, alert.snoozed))
        .collect();
    assert_eq!(alerts, [(100, true), (80, false)]);
    assert!(state.ledger(ledger_id(1)).is_some());
    let saved: Value = serde_json::from_str(&state.snapshot_json(ledger_id(0)).unwrap()).unwrap();
    assert_eq!(saved["expenses"][0]["deleted"], json!(true));
    assert_eq!(saved["budgets"], json!([]));
    for cut in 1..=run.log.events.len() {
        check_resume_from(&run.log.events, cut);
    }
}
