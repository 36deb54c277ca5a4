//! Snapshot round trips, and the refusals of what the fold could never have produced.
//!
//! Test code only (`#[cfg(test)] mod tests;` in `snapshot/mod.rs`): over 500 lines
//! because each case builds its own history; nothing here ships in the server.

use super::*;
use crate::projections::Applied;
use chrono::Duration;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::{
    AlertSnoozed, BudgetRemoved, BudgetSet, Event, ExpenseAmended, ExpenseDeleted, ExpenseRecorded,
    ImportStarted, LedgerOpened, MemberGranted,
};
use ledger::event::{BudgetPeriod, Role};
use ledger::{Amount, BudgetId, ExpenseId, ImportId, UserId};
use ledger::{EventId, Hash, RecordedEvent};
use serde_json::{json, Value};
use std::fmt::Debug;
use std::str::FromStr;

/// A readable, fixed id: `kind` tells ledgers, users, expenses... apart.
fn id<T: FromStr>(kind: u16, n: u64) -> T
where
    T::Err: Debug,
{
    format!("00000000-0000-4000-8{kind:03x}-{n:012x}")
        .parse()
        .unwrap()
}

fn ledger_a() -> LedgerId {
    id(1, 1)
}

fn ledger_b() -> LedgerId {
    id(1, 2)
}

fn owner() -> UserId {
    id(2, 1)
}

fn eur() -> Currency {
    Currency::parse("EUR").unwrap()
}

fn amount(text: &str, currency: &str) -> Amount {
    Amount::parse(text, Currency::parse(currency).unwrap()).unwrap()
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// When the event at `position` was recorded: a minute per event.
fn at(position: i64) -> DateTime<Utc> {
    "2026-12-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(position)
}

/// A log of several ledgers, without a database.
#[derive(Default)]
struct Log {
    events: Vec<RecordedEvent>,
    versions: BTreeMap<String, u64>,
}

impl Log {
    fn record(&mut self, ledger: LedgerId, event: &Event) -> RecordedEvent {
        let position = i64::try_from(self.events.len()).unwrap() + 1;
        let stream_id = event.stream(ledger);
        let version = self.versions.entry(stream_id.to_string()).or_insert(0);
        *version += 1;
        let recorded = RecordedEvent {
            position: Position::new(position).unwrap(),
            ledger_id: ledger,
            stream_id,
            stream_version: *version,
            event_id: EventId::new(),
            event_type: event.event_type().into(),
            schema_version: event.schema_version(),
            payload: event.encode(),
            metadata: json!({ "actor": owner() }).to_string(),
            recorded_at: at(position),
            prev_hash: Hash::GENESIS,
            hash: Hash::GENESIS,
        };
        self.events.push(recorded.clone());
        recorded
    }

    /// Writes `event` and folds it into each of `states`, which must agree on what
    /// it did; the alerts the policy asks for are written and folded the same way,
    /// as the gateway does.
    fn play(&mut self, states: &mut [&mut Projections], ledger: LedgerId, event: Event) {
        let recorded = self.record(ledger, &event);
        let applied: Vec<Applied> = states
            .iter_mut()
            .map(|state| state.apply_with_alerts(&recorded).unwrap())
            .collect();
        for other in &applied[1..] {
            assert_eq!(*other, applied[0], "at position {}", recorded.position);
        }
        for pending in applied[0].alerts.clone() {
            self.play(states, ledger, Event::BudgetAlertRaised(pending.event));
        }
    }
}

fn expense(n: u64, amount: Amount, date: &str, category: &str) -> ExpenseRecorded {
    ExpenseRecorded {
        expense_id: id(3, n),
        amount,
        occurred_on: d(date),
        category: category.into(),
        merchant: None,
        description: None,
        tags: vec![],
        original_amount: None,
        original_currency: None,
        import_id: None,
    }
}

fn budget(n: u64, category: Option<&str>, limit: &str, period: BudgetPeriod) -> BudgetSet {
    BudgetSet {
        budget_id: id(4, n),
        category: category.map(String::from),
        amount: amount(limit, "EUR"),
        period,
        thresholds: vec![80, 100],
    }
}

/// Two ledgers with a bit of everything a snapshot holds: members, a live and a
/// deleted expense with every optional field, an edited and snoozed budget, a
/// removed one, and alerts, one of them for a budget removed since.
fn history(log: &mut Log, state: &mut Projections) {
    let a = ledger_a();
    let mut play = |ledger: LedgerId, event: Event| log.play(&mut [&mut *state], ledger, event);
    play(
        a,
        Event::LedgerOpened(LedgerOpened {
            ledger_id: a,
            name: "Household".into(),
            currency: eur(),
            timezone: "Europe/Berlin".into(),
            owner: owner(),
        }),
    );
    play(
        a,
        Event::MemberGranted(MemberGranted {
            user_id: id(2, 2),
            role: Role::Viewer,
        }),
    );
    play(
        a,
        Event::BudgetSet(budget(1, Some("food"), "100", BudgetPeriod::Monthly)),
    );
    // 85% of the food budget: the 80% alert.
    play(
        a,
        Event::ExpenseRecorded(ExpenseRecorded {
            merchant: Some("Market".into()),
            description: Some("weekly shop".into()),
            tags: vec!["groceries".into(), "bulk".into()],
            ..expense(1, amount("85", "EUR"), "2026-11-30", "food")
        }),
    );
    play(
        a,
        Event::ExpenseRecorded(ExpenseRecorded {
            original_amount: Some(amount("11.00", "USD")),
            original_currency: Some(Currency::parse("USD").unwrap()),
            import_id: Some(id(5, 1)),
            ..expense(2, amount("10.00", "EUR"), "2026-11-02", "fun")
        }),
    );
    play(
        a,
        Event::ExpenseAmended(ExpenseAmended {
            expense_id: id(3, 2),
            category: Some("food".into()),
            ..ExpenseAmended::default()
        }),
    );
    play(
        a,
        Event::ExpenseDeleted(ExpenseDeleted {
            expense_id: id(3, 2),
        }),
    );
    play(
        a,
        Event::AlertSnoozed(AlertSnoozed {
            budget_id: id(4, 1),
            until: "2026-12-02T00:00:00Z".parse().unwrap(),
        }),
    );
    // An all-spending weekly budget already past its limit in the latest week:
    // its 80% and 100% alerts at once; removed afterwards, its alerts stay.
    play(
        a,
        Event::BudgetSet(budget(2, None, "50", BudgetPeriod::Weekly)),
    );
    play(
        a,
        Event::BudgetRemoved(BudgetRemoved {
            budget_id: id(4, 2),
        }),
    );
    // The snooze outlives this edit, which re-arms the budget.
    play(
        a,
        Event::BudgetSet(budget(1, Some("food"), "200", BudgetPeriod::Monthly)),
    );

    let b = ledger_b();
    play(
        b,
        Event::LedgerOpened(LedgerOpened {
            ledger_id: b,
            name: "Tokyo".into(),
            currency: Currency::parse("JPY").unwrap(),
            timezone: "Asia/Tokyo".into(),
            owner: owner(),
        }),
    );
    play(
        b,
        Event::ExpenseRecorded(expense(3, amount("1500", "JPY"), "2026-11-29", "food")),
    );
}

/// The history folded, with its changes already taken (as after a checkpoint).
fn folded() -> (Log, Projections) {
    let mut log = Log::default();
    let mut state = Projections::new();
    history(&mut log, &mut state);
    state.take_changed();
    (log, state)
}

fn snapshots(state: &Projections) -> Vec<String> {
    state
        .ledgers()
        .filter_map(|l| state.snapshot_json(l.ledger_id()))
        .collect()
}

#[test]
fn restoring_gives_back_the_state_and_it_folds_on_alike() {
    let (mut log, mut original) = folded();
    let mut restored = Projections::restore(original.position(), snapshots(&original)).unwrap();
    assert_eq!(restored, original);
    assert!(restored.take_changed().is_empty());

    // Onwards, both must do the same, alerts included (`play` compares them).
    let a = ledger_a();
    let mut play = |event: Event| log.play(&mut [&mut original, &mut restored], a, event);
    // 85 + 95 of the food budget's 200: its 80% alert under the new arming,
    // snoozed.
    play(Event::ExpenseRecorded(expense(
        4,
        amount("95", "EUR"),
        "2026-11-03",
        "food",
    )));
    // Under and over 80% again: raised already under this arming, so nothing.
    for amount_now in ["1", "95"] {
        play(Event::ExpenseAmended(ExpenseAmended {
            expense_id: id(3, 4),
            amount: Some(amount(amount_now, "EUR")),
            ..ExpenseAmended::default()
        }));
    }
    // The deleted expense is known as deleted, the removed budget as unknown.
    for event in [
        Event::ExpenseDeleted(ExpenseDeleted {
            expense_id: id(3, 2),
        }),
        Event::BudgetRemoved(BudgetRemoved {
            budget_id: id(4, 2),
        }),
    ] {
        let recorded = log.record(a, &event);
        assert_eq!(original.apply(&recorded), restored.apply(&recorded));
    }
    assert_eq!(restored, original);
    let ledger = restored.ledger(a).unwrap();
    let alerts: Vec<(u32, bool, u64)> = ledger
        .alerts()
        .newest_first()
        .map(|alert| (alert.threshold, alert.snoozed, alert.armed_by_version))
        .collect();
    assert_eq!(
        alerts,
        [
            (80, true, 4),
            (100, false, 1),
            (80, false, 1),
            (80, false, 1)
        ]
    );
    assert_eq!(ledger.analytics().total().to_string(), "180.00");
}

#[test]
fn the_version_1_format_is_pinned() {
    // Checkpoints written by earlier builds must stay readable, and this build
    // must keep writing them the same way, or bump `SCHEMA_VERSION`.
    let (_, state) = folded();
    let user = |n| json!(id::<UserId>(2, n));
    let budget = |n| json!(id::<BudgetId>(4, n));
    let saved = json!({
        "schema_version": 1,
        "ledger_id": ledger_a(),
        "name": "Household",
        "currency": "EUR",
        "timezone": "Europe/Berlin",
        "position": 14,
        "members": [
            {"user_id": user(1), "role": "owner"},
            {"user_id": user(2), "role": "viewer"},
        ],
        "expenses": [
            {
                "expense_id": id::<ExpenseId>(3, 1), "version": 1, "amount": "85.00",
                "occurred_on": "2026-11-30", "category": "food", "merchant": "Market",
                "description": "weekly shop", "tags": ["groceries", "bulk"],
                "deleted": false, "recorded_at": "2026-12-01T00:04:00Z",
                "recorded_by": user(1), "original_amount": null,
                "original_currency": null, "import_id": null,
            },
            {
                "expense_id": id::<ExpenseId>(3, 2), "version": 3, "amount": "10.00",
                "occurred_on": "2026-11-02", "category": "food", "merchant": null,
                "description": null, "tags": [], "deleted": true,
                "recorded_at": "2026-12-01T00:06:00Z", "recorded_by": user(1),
                "original_amount": "11.00", "original_currency": "USD",
                "import_id": id::<ImportId>(5, 1),
            },
        ],
        "budgets": [
            {
                "budget_id": budget(1), "category": "food", "limit": "200.00",
                "period": "monthly", "thresholds": [80, 100],
                "snoozed_until": "2026-12-02T00:00:00Z", "version": 4,
                "armed_by_version": 4,
            },
        ],
        "alerts": [
            {
                "budget_id": budget(1), "category": "food", "period_start": "2026-11-01",
                "threshold": 80, "severity": "warning", "utilization": "85.0",
                "spent": "85.00", "limit": "100.00", "snoozed": false, "position": 5,
                "recorded_at": "2026-12-01T00:05:00Z", "armed_by_version": 1,
            },
            {
                "budget_id": budget(2), "category": null, "period_start": "2026-11-30",
                "threshold": 80, "severity": "warning", "utilization": "170.0",
                "spent": "85.00", "limit": "50.00", "snoozed": false, "position": 11,
                "recorded_at": "2026-12-01T00:11:00Z", "armed_by_version": 1,
            },
            {
                "budget_id": budget(2), "category": null, "period_start": "2026-11-30",
                "threshold": 100, "severity": "critical", "utilization": "170.0",
                "spent": "85.00", "limit": "50.00", "snoozed": false, "position": 12,
                "recorded_at": "2026-12-01T00:12:00Z", "armed_by_version": 1,
            },
        ],
        "raised": [
            {"budget_id": budget(1), "armed_by_version": 1,
             "period_start": "2026-11-01", "threshold": 80},
            {"budget_id": budget(2), "armed_by_version": 1,
             "period_start": "2026-11-30", "threshold": 80},
            {"budget_id": budget(2), "armed_by_version": 1,
             "period_start": "2026-11-30", "threshold": 100},
        ],
    });
    let written: Value = serde_json::from_str(&state.snapshot_json(ledger_a()).unwrap()).unwrap();
    assert_eq!(written, saved);

    let b = state.snapshot_json(ledger_b()).unwrap();
    let restored = Projections::restore(state.position(), [saved.to_string(), b]).unwrap();
    assert_eq!(restored, state);
    let alert = restored
        .ledger(ledger_a())
        .unwrap()
        .alerts()
        .newest_first()
        .last();
    assert_eq!(
        alert.map(|a| a.message.as_str()),
        Some("Budget \"food\" reached 80% of its limit: 85.00 of 100.00 spent (85.0%)")
    );
}

#[test]
fn snapshots_round_trip_through_json() {
    let (_, state) = folded();
    for ledger in state.ledgers() {
        let snapshot = ledger.snapshot();
        assert_eq!(
            (
                snapshot.schema_version(),
                snapshot.ledger_id(),
                snapshot.position()
            ),
            (1, ledger.ledger_id(), ledger.position())
        );
        let json = serde_json::to_string(&snapshot).unwrap();
        assert_eq!(json, snapshot.to_json());
        let back: LedgerSnapshot = serde_json::from_str(&json).unwrap();
        assert_eq!(back, snapshot);
        assert_eq!(LedgerSnapshot::from_json(&json).unwrap(), snapshot);
        let restored = LedgerProjection::restore(back).unwrap();
        assert_eq!(restored, *ledger);
        // Equal states write identical text, so a checkpoint can skip unchanged ones.
        assert_eq!(restored.snapshot().to_json(), json);
    }
    assert_eq!(state.snapshot_json(id(1, 99)), None);
}

#[test]
fn unreadable_snapshots_are_errors_not_panics() {
    let (_, state) = folded();
    let json = state.snapshot_json(ledger_a()).unwrap();
    let malformed = |text: &str| {
        let error = Projections::restore(state.position(), [text.to_owned()]).unwrap_err();
        assert!(
            matches!(error, SnapshotError::Malformed { .. }),
            "{text}: {error}"
        );
    };
    for text in [
        "",
        "not json",
        "{",
        "[]",
        "null",
        "1",
        "{}",
        r#"{"schema_version":"1"}"#,
    ] {
        malformed(text);
    }
    for version in ["-1", "65536", "1.5", "null"] {
        malformed(&json.replacen(
            r#""schema_version":1"#,
            &format!(r#""schema_version":{version}"#),
            1,
        ));
    }
    // Cut anywhere: never a panic, never a state.
    for end in 0..json.len() {
        if let Some(prefix) = json.get(..end) {
            malformed(prefix);
        }
    }
    let mut value: Value = serde_json::from_str(&json).unwrap();
    value["surprise"] = json!(true);
    malformed(&value.to_string());
    let mut value: Value = serde_json::from_str(&json).unwrap();
    value["expenses"][0]["amount"] = json!(85);
    malformed(&value.to_string());
    let mut value: Value = serde_json::from_str(&json).unwrap();
    value["currency"] = json!("XXX");
    malformed(&value.to_string());

    // Another version is reported as such, whatever its shape.
    for (text, found) in [
        (
            json.replacen(r#""schema_version":1"#, r#""schema_version":2"#, 1),
            2,
        ),
        (r#"{"schema_version":0}"#.to_owned(), 0),
        (r#"{"schema_version":65535,"ledgers":[]}"#.to_owned(), 65535),
    ] {
        assert_eq!(
            Projections::restore(state.position(), [text]).unwrap_err(),
            SnapshotError::UnsupportedVersion {
                found,
                supported: 1
            }
        );
    }
    // Also when the snapshot was read with serde directly.
    let mut value: Value = serde_json::from_str(&json).unwrap();
    value["schema_version"] = json!(7);
    let snapshot: LedgerSnapshot = serde_json::from_value(value).unwrap();
    let error = LedgerProjection::restore(snapshot).unwrap_err();
    assert!(error.to_string().contains("version 7"), "{error}");
}

#[test]
fn contents_the_fold_could_not_produce_are_refused() {
    let (_, state) = folded();
    let json = state.snapshot_json(ledger_a()).unwrap();
    let saved: Value = serde_json::from_str(&json).unwrap();
    let refused = |value: Value| {
        let error = Projections::restore(state.position(), [value.to_string()]).unwrap_err();
        let SnapshotError::Inconsistent { ledger, reason } = &error else {
            panic!("{error}")
        };
        assert_eq!(*ledger, ledger_a());
        reason.clone()
    };
    for (pointer, new, reason) in [
        ("/expenses/0/amount", json!("1.005"), "does not fit EUR"),
        (
            "/expenses/1/amount",
            json!("1000000000000"),
            "does not fit EUR",
        ),
        ("/budgets/0/limit", json!("0.001"), "does not fit EUR"),
        ("/budgets/0/limit", json!("-5.00"), "not positive"),
        ("/budgets/0/limit", json!("0"), "not positive"),
        ("/position", json!(0), "before any event"),
        ("/position", json!(-3), "before any event"),
        ("/alerts/0/spent", json!("85.001"), "more decimals"),
        ("/alerts/0/spent", json!("lots"), "spent"),
        ("/alerts/1/limit", json!(""), "limit"),
        ("/alerts/1/position", json!(5), "out of order"),
        ("/alerts/2/position", json!(15), "out of order"),
        ("/raised", json!([]), "do not match"),
        ("/raised/2/threshold", json!(99), "do not match"),
    ] {
        let mut value = saved.clone();
        *value.pointer_mut(pointer).unwrap() = new;
        let got = refused(value);
        assert!(
            got.contains(reason),
            "{pointer}: {got:?} should say {reason:?}"
        );
    }
    for list in ["expenses", "budgets", "members"] {
        let mut value = saved.clone();
        let first = value[list][0].clone();
        value[list].as_array_mut().unwrap().push(first);
        assert!(refused(value).contains("listed twice"), "{list}");
    }

    // Beside the checkpoint: a ledger past its position, or saved twice.
    let b = state.snapshot_json(ledger_b()).unwrap();
    let a_only = Position::new(14).unwrap();
    let error = Projections::restore(a_only, [json.clone(), b.clone()]).unwrap_err();
    assert!(error.to_string().contains("past the checkpoint"), "{error}");
    let error = Projections::restore(state.position(), [b.clone(), b]).unwrap_err();
    assert_eq!(
        error,
        SnapshotError::Inconsistent {
            ledger: ledger_b(),
            reason: "it has two snapshots".into()
        }
    );
}

#[test]
fn take_changed_names_each_touched_ledger_once() {
    let (a, b) = (ledger_a(), ledger_b());
    let mut log = Log::default();
    let mut state = Projections::new();
    assert!(state.take_changed().is_empty());
    for ledger in [b, a] {
        log.play(
            &mut [&mut state],
            ledger,
            Event::LedgerOpened(LedgerOpened {
                ledger_id: ledger,
                name: "L".into(),
                currency: eur(),
                timezone: "UTC".into(),
                owner: owner(),
            }),
        );
    }
    assert_eq!(state.take_changed(), [a, b]);
    assert!(state.take_changed().is_empty());

    let spend = |n| Event::ExpenseRecorded(expense(n, amount("1", "EUR"), "2026-11-01", "x"));
    log.play(&mut [&mut state], b, spend(1));
    log.play(&mut [&mut state], b, spend(2));
    assert_eq!(state.take_changed(), [b]);

    // Imports only move the position, even for a ledger never opened.
    let import = |n| {
        Event::ImportStarted(ImportStarted {
            import_id: id(5, n),
            format: "csv".into(),
            file_name: None,
            rows: 1,
        })
    };
    log.play(&mut [&mut state], a, import(1));
    log.play(&mut [&mut state], id(1, 3), import(2));
    assert_eq!(state.position(), Position::new(6).unwrap());
    assert!(state.take_changed().is_empty());

    // Nothing folded, nothing changed: a failed event, a redelivered one.
    let failed = log.record(
        a,
        &Event::ExpenseDeleted(ExpenseDeleted {
            expense_id: id(3, 1),
        }),
    );
    assert!(state.apply(&failed).is_err());
    assert!(state.apply(&log.events[2]).unwrap().is_empty());
    assert!(state.take_changed().is_empty());

    // A restored state starts clean and tracks from there.
    let mut restored = Projections::restore(state.position(), snapshots(&state)).unwrap();
    assert!(restored.take_changed().is_empty());
    let recorded = log.record(a, &spend(3));
    restored.apply(&recorded).unwrap();
    state.apply(&recorded).unwrap();
    assert_eq!(restored.take_changed(), [a]);
    assert_eq!(state.take_changed(), [a]);
    assert_eq!(restored, state);
}
