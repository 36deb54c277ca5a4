//! The live read models against a real store (PostgreSQL and SQLite): they equal a
//! rebuild from the log, resume from their checkpoint, raise each alert once, and stop
//! at an event they cannot fold, naming it.

use std::time::Duration;

use chrono::NaiveDate;
use ledger::event::{BudgetPeriod, BudgetSet, ExpenseAmended, ExpenseDeleted, ExpenseRecorded};
use ledger::testing::{eur, open_ledger, Kind, TestDb};
use ledger::{
    Amount, AppendRequest, BudgetId, Event, ExpectedVersion, ExpenseId, LedgerId, Position, Store,
    StreamId,
};
use projections::{LiveOptions, Projections};
use tokio::sync::watch;

ledger::on_both_backends!(
    live_equals_rebuild_and_resumes_from_its_checkpoint,
    crossing_80_then_100_raises_two_alerts_once,
    an_unreadable_event_stops_the_read_models_at_its_position,
    a_ledger_as_of_a_position_or_a_moment_is_the_fold_of_that_prefix,
);

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
}

async fn spend(
    store: &Store,
    ledger: LedgerId,
    amount: &str,
    on: NaiveDate,
    category: &str,
) -> ExpenseId {
    let e = ExpenseRecorded {
        expense_id: ExpenseId::new(),
        amount: Amount::parse(amount, eur()).unwrap(),
        occurred_on: on,
        category: category.into(),
        merchant: Some("Market".into()),
        description: None,
        tags: vec![],
        original_amount: None,
        original_currency: None,
        import_id: None,
    };
    let id = e.expense_id;
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::expense(id),
            ExpectedVersion::NoStream,
            vec![Event::ExpenseRecorded(e)],
        ))
        .await
        .unwrap();
    id
}

async fn budget(store: &Store, ledger: LedgerId, category: &str, amount: &str) -> BudgetId {
    let budget_id = BudgetId::new();
    let set = Event::BudgetSet(BudgetSet {
        budget_id,
        category: Some(category.into()),
        amount: Amount::parse(amount, eur()).unwrap(),
        period: BudgetPeriod::Monthly,
        thresholds: vec![80, 100],
    });
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::budget(budget_id),
            ExpectedVersion::Any,
            vec![set],
        ))
        .await
        .unwrap();
    budget_id
}

async fn rebuilt(store: &Store) -> Projections {
    projections::rebuild(store, |_| {}).await.unwrap()
}

fn snapshot(live: &projections::Live) -> Projections {
    let mut state = live.read(Projections::clone);
    let _ = state.take_changed();
    state
}

async fn live_equals_rebuild_and_resumes_from_its_checkpoint(db: &TestDb) {
    let store = db.store().await;
    let (stop, shutdown) = watch::channel(false);
    let (live, task) = projections::start(store.clone(), LiveOptions::default(), shutdown)
        .await
        .unwrap();

    let ledger = open_ledger(&store).await;
    budget(&store, ledger, "food", "500").await;
    let a = spend(&store, ledger, "12.50", day(1), "food").await;
    let b = spend(&store, ledger, "40.00", day(2), "fun").await;
    spend(&store, ledger, "-5.00", day(3), "food").await;
    let amend = ExpenseAmended {
        expense_id: a,
        category: Some("fun".into()),
        occurred_on: Some(day(30)),
        ..Default::default()
    };
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::expense(a),
            ExpectedVersion::Exact(1),
            vec![Event::ExpenseAmended(amend)],
        ))
        .await
        .unwrap();
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::expense(b),
            ExpectedVersion::Any,
            vec![Event::ExpenseDeleted(ExpenseDeleted { expense_id: b })],
        ))
        .await
        .unwrap();

    let head = store.head().await.unwrap();
    assert!(
        live.wait_for(head, Duration::from_secs(10)).await,
        "the live read models caught up"
    );
    assert_eq!(snapshot(&live), rebuilt(&store).await);

    stop.send_replace(true);
    task.await.unwrap().unwrap();
    assert_eq!(
        live.status().checkpoint_position,
        head,
        "a last checkpoint on the way out"
    );

    // A restart resumes at the checkpoint, then follows what was appended meanwhile.
    spend(&store, ledger, "3.30", day(4), "food").await;
    let (stop, shutdown) = watch::channel(false);
    let (resumed, task) = projections::start(store.clone(), LiveOptions::default(), shutdown)
        .await
        .unwrap();
    assert_eq!(resumed.status().checkpoint_position, head);
    let head = store.head().await.unwrap();
    assert!(resumed.wait_for(head, Duration::from_secs(10)).await);
    assert_eq!(snapshot(&resumed), rebuilt(&store).await);
    stop.send_replace(true);
    task.await.unwrap().unwrap();
}

async fn alerts_in_log(store: &Store) -> usize {
    store
        .read_all(Position::ZERO, 10_000)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.event_type == "BudgetAlertRaised")
        .count()
}

async fn crossing_80_then_100_raises_two_alerts_once(db: &TestDb) {
    let store = db.store().await;
    let (stop, shutdown) = watch::channel(false);
    let (live, task) = projections::start(store.clone(), LiveOptions::default(), shutdown)
        .await
        .unwrap();
    // A second follower, as a second server process would run: it decides the same
    // alerts, and the idempotency keys keep them single.
    let (stop_other, other_shutdown) = watch::channel(false);
    let (_other, other_task) =
        projections::start(store.clone(), LiveOptions::default(), other_shutdown)
            .await
            .unwrap();

    let ledger = open_ledger(&store).await;
    budget(&store, ledger, "food", "100").await;
    spend(&store, ledger, "50.00", day(5), "food").await; // 50%
    spend(&store, ledger, "35.00", day(6), "food").await; // 85%: crosses 80
    spend(&store, ledger, "10.00", day(7), "food").await; // 95%
    spend(&store, ledger, "20.00", day(8), "food").await; // 115%: crosses 100
    spend(&store, ledger, "20.00", day(9), "fun").await; // another category

    // Alerts are appended after the expense that caused them is folded.
    for _ in 0..100 {
        if alerts_in_log(&store).await >= 2
            && live
                .wait_for(store.head().await.unwrap(), Duration::from_secs(5))
                .await
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alerts_in_log(&store).await, 2);
    let alerts = live.read(|p| {
        p.ledger(ledger)
            .unwrap()
            .alerts()
            .newest_first()
            .map(|a| (a.threshold, a.severity))
            .collect::<Vec<_>>()
    });
    assert_eq!(
        alerts,
        vec![
            (100, ledger::event::Severity::Critical),
            (80, ledger::event::Severity::Warning)
        ]
    );

    stop.send_replace(true);
    stop_other.send_replace(true);
    task.await.unwrap().unwrap();
    other_task.await.unwrap().unwrap();

    // Replaying the whole log raises nothing new: the alerts are in it already.
    store
        .delete_checkpoint(projections::CHECKPOINT)
        .await
        .unwrap();
    let (stop, shutdown) = watch::channel(false);
    let (replayed, task) = projections::start(store.clone(), LiveOptions::default(), shutdown)
        .await
        .unwrap();
    assert!(
        replayed
            .wait_for(store.head().await.unwrap(), Duration::from_secs(10))
            .await
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.send_replace(true);
    task.await.unwrap().unwrap();
    assert_eq!(alerts_in_log(&store).await, 2);
    assert_eq!(
        rebuilt(&store).await.ledger(ledger).unwrap().alerts().len(),
        2
    );
}

async fn an_unreadable_event_stops_the_read_models_at_its_position(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    spend(&store, ledger, "1.00", day(1), "food").await;
    // Written behind the store's back, as a buggy or newer writer might.
    let (uuid, hash) = match db.kind {
        Kind::Postgres => (
            format!("'{ledger}'"),
            format!("decode('{}', 'hex')", "00".repeat(32)),
        ),
        Kind::Sqlite => (format!("'{ledger}'"), format!("X'{}'", "00".repeat(32))),
    };
    let event_id = match db.kind {
        Kind::Postgres => format!("'{}'", uuid::Uuid::new_v4()),
        Kind::Sqlite => format!("'{}'", uuid::Uuid::new_v4()),
    };
    let recorded_at = match db.kind {
        Kind::Postgres => "now()".to_owned(),
        Kind::Sqlite => chrono::Utc::now().timestamp_micros().to_string(),
    };
    store
        .execute_raw(&format!(
            "INSERT INTO events (position, ledger_id, stream_id, stream_version, event_id, event_type, schema_version, \
             payload, metadata, recorded_at, prev_hash, hash) VALUES (3, {uuid}, 'expense-{}', 1, {event_id}, \
             'ExpenseRecorded', 2, '{{\"amount\": 12.5}}', '{{}}', {recorded_at}, {hash}, {hash})",
            uuid::Uuid::new_v4()
        ))
        .await
        .unwrap();
    spend(&store, ledger, "2.00", day(2), "food").await;

    let (_stop, shutdown) = watch::channel(false);
    let (live, task) = projections::start(store.clone(), LiveOptions::default(), shutdown)
        .await
        .unwrap();
    let error = tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap_err();
    assert!(error.to_string().contains("position 3"), "{error}");
    let status = live.status();
    assert_eq!(
        status.position.get(),
        2,
        "stopped before the bad event, not past it"
    );
    assert_eq!(status.error_position, Some(Position::new(3).unwrap()));
    assert!(status.error.unwrap().contains("position 3"));
}

async fn a_ledger_as_of_a_position_or_a_moment_is_the_fold_of_that_prefix(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let other = open_ledger(&store).await;
    budget(&store, ledger, "food", "100").await;
    spend(&store, ledger, "30.00", day(1), "food").await;
    spend(&store, other, "99.00", day(1), "food").await;
    let second = spend(&store, ledger, "40.00", day(2), "food").await;
    let at_second = store.head().await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let moment = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::expense(second),
            ExpectedVersion::Exact(1),
            vec![Event::ExpenseDeleted(ExpenseDeleted { expense_id: second })],
        ))
        .await
        .unwrap();
    spend(&store, ledger, "5.00", day(3), "food").await;

    let then = projections::ledger_at_position(&store, ledger, at_second)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(then.analytics().count(), 2);
    assert_eq!(then.analytics().total().to_string(), "70.00");
    let status = then.budgets().statuses(day(2));
    assert_eq!(status[0].spent.to_string(), "70.00");
    assert!(!then.expenses().get(second).unwrap().deleted);

    let (position, by_time) = projections::ledger_at_time(&store, ledger, moment)
        .await
        .unwrap();
    assert_eq!(position, at_second);
    assert_eq!(by_time.unwrap(), then);

    let now = projections::ledger_at_position(&store, ledger, store.head().await.unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(now.analytics().total().to_string(), "35.00");
    assert_eq!(&now, rebuilt(&store).await.ledger(ledger).unwrap());
    let before = projections::ledger_at_position(&store, ledger, Position::ZERO)
        .await
        .unwrap();
    assert!(before.is_none(), "the ledger did not exist yet");
}
