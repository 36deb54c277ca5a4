//! The store's conformance suite: every test runs against PostgreSQL and SQLite.

use std::collections::HashSet;
use std::time::Duration;

use chrono::NaiveDate;
use futures::TryStreamExt;
use ledger::event::{ExpenseAmended, ExpenseRecorded, LedgerOpened, MemberGranted, Role};
use ledger::testing::{eur, open_ledger, Kind, TestDb};
use ledger::{
    Amount, AppendError, AppendRequest, Checkpoint, Event, ExpectedVersion, ExpenseId, LedgerId,
    LedgerState, Metadata, Position, Store, StreamId, UserId,
};

ledger::on_both_backends!(
    appended_events_read_back_exactly,
    version_conflicts_name_the_current_version,
    idempotent_retries_append_nothing,
    idempotency_survives_a_restart,
    a_rejected_append_writes_nothing,
    unknown_ledgers_are_refused,
    concurrent_appends_are_seen_once_in_order,
    a_large_append_is_atomic_and_contiguous,
    the_chain_verifies,
    an_edited_payload_is_detected,
    a_deleted_event_is_detected,
    a_swapped_pair_is_detected,
    the_log_rejects_update_and_delete,
    the_log_as_of_a_time_is_a_prefix,
    streaming_the_log_pages_through_everything,
    a_tail_wakes_on_new_appends,
    two_stores_on_one_database_agree,
    checkpoints_save_and_load_atomically,
    users_are_found_by_the_hash_of_their_token,
);

fn expense(amount: &str) -> ExpenseRecorded {
    ExpenseRecorded {
        expense_id: ExpenseId::new(),
        amount: Amount::parse_nonzero(amount, eur()).unwrap(),
        occurred_on: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
        category: "groceries".into(),
        merchant: Some("Market".into()),
        description: None,
        tags: vec![],
        original_amount: None,
        original_currency: None,
        import_id: None,
    }
}

fn record(ledger: LedgerId, amount: &str) -> AppendRequest {
    let e = expense(amount);
    AppendRequest::new(
        ledger,
        StreamId::expense(e.expense_id),
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(e)],
    )
}

async fn count(store: &Store) -> usize {
    store.read_all(Position::ZERO, 10_000).await.unwrap().len()
}

/// Edits the log behind the store's back, as an attacker with database access would.
async fn tamper(db: &TestDb, store: &Store, sql: &str) {
    let unguarded = match db.kind {
        Kind::Postgres => format!("ALTER TABLE events DISABLE TRIGGER USER; {sql}; ALTER TABLE events ENABLE TRIGGER USER;"),
        Kind::Sqlite => format!("DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; {sql};"),
    };
    store.execute_raw(&unguarded).await.unwrap();
}

async fn appended_events_read_back_exactly(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let e = expense("12.50");
    let stream = StreamId::expense(e.expense_id);
    let request = AppendRequest::new(
        ledger,
        stream,
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(e.clone())],
    )
    .idempotency_key("k-1");
    let appended = store.append(request).await.unwrap();
    assert_eq!(appended.first_position.get(), 2);
    assert_eq!(appended.version(), 1);

    let events = store.read_stream(stream, 0, 100).await.unwrap();
    assert_eq!(events.len(), 1);
    let stored = &events[0];
    assert_eq!(stored.position, appended.first_position);
    assert_eq!(stored.ledger_id, ledger);
    assert_eq!(stored.stream_version, 1);
    assert_eq!(stored.event_type, "ExpenseRecorded");
    assert_eq!(stored.event().unwrap(), Event::ExpenseRecorded(e));
    assert_eq!(
        stored.metadata().unwrap().idempotency_key.as_deref(),
        Some("k-1")
    );
    assert!(stored.payload.contains(r#""amount":"12.50""#));

    let by_ledger = store
        .read_ledger(ledger, Position::ZERO, None, 100)
        .await
        .unwrap();
    assert_eq!(by_ledger.len(), 2);
    assert_eq!(by_ledger[1].prev_hash, by_ledger[0].hash);
    assert_eq!(store.head().await.unwrap(), appended.last_position);
    assert_eq!(store.ledgers().await.unwrap(), vec![ledger]);
}

async fn version_conflicts_name_the_current_version(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let e = expense("5.00");
    let id = e.expense_id;
    let stream = StreamId::expense(id);
    store
        .append(AppendRequest::new(
            ledger,
            stream,
            ExpectedVersion::NoStream,
            vec![Event::ExpenseRecorded(e)],
        ))
        .await
        .unwrap();
    let amend = |cat: &str| {
        vec![Event::ExpenseAmended(ExpenseAmended {
            expense_id: id,
            category: Some(cat.into()),
            ..Default::default()
        })]
    };
    let ok = store
        .append(AppendRequest::new(
            ledger,
            stream,
            ExpectedVersion::Exact(1),
            amend("food"),
        ))
        .await
        .unwrap();
    assert_eq!(ok.version(), 2);
    let stale = store
        .append(AppendRequest::new(
            ledger,
            stream,
            ExpectedVersion::Exact(1),
            amend("fun"),
        ))
        .await;
    match stale {
        Err(AppendError::VersionConflict {
            current, expected, ..
        }) => {
            assert_eq!(current, 2);
            assert_eq!(expected, ExpectedVersion::Exact(1));
        }
        other => panic!("expected a version conflict, got {other:?}"),
    }
    let exists = store
        .append(AppendRequest::new(
            ledger,
            stream,
            ExpectedVersion::NoStream,
            amend("x"),
        ))
        .await;
    assert!(matches!(
        exists,
        Err(AppendError::VersionConflict { current: 2, .. })
    ));
    let any = store
        .append(AppendRequest::new(
            ledger,
            stream,
            ExpectedVersion::Any,
            amend("travel"),
        ))
        .await
        .unwrap();
    assert_eq!(any.version(), 3);
    assert_eq!(store.read_stream(stream, 0, 10).await.unwrap().len(), 3);
}

async fn idempotent_retries_append_nothing(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let request = record(ledger, "3.20").idempotency_key("coffee-1");
    let first = store.append(request.clone()).await.unwrap();
    let again = store.append(request.clone()).await.unwrap();
    assert_eq!(again.first_position, first.first_position);
    assert_eq!(again.versions, first.versions);
    assert!(again.deduplicated && !first.deduplicated);
    assert_eq!(count(&store).await, 2);

    // Many concurrent retries of one request: one copy, one answer.
    let request = record(ledger, "4.10").idempotency_key("coffee-2");
    let answers = futures::future::join_all((0..20).map(|_| store.append(request.clone()))).await;
    let positions: HashSet<_> = answers
        .into_iter()
        .map(|a| a.unwrap().first_position)
        .collect();
    assert_eq!(positions.len(), 1);
    assert_eq!(count(&store).await, 3);

    // The same key for a different request is refused, not silently answered.
    let other = record(ledger, "9.99").idempotency_key("coffee-1");
    assert!(matches!(
        store.append(other).await,
        Err(AppendError::IdempotencyKeyReused { .. })
    ));
    // Keys are per ledger.
    let second = open_ledger(&store).await;
    store
        .append(record(second, "1.00").idempotency_key("coffee-1"))
        .await
        .unwrap();
    assert_eq!(count(&store).await, 5);
}

async fn idempotency_survives_a_restart(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let request = record(ledger, "3.20").idempotency_key("retry-me");
    let first = store.append(request.clone()).await.unwrap();
    store.close().await;
    drop(store);
    db.store()
        .await
        .append(record(ledger, "1.00"))
        .await
        .unwrap();

    let reopened = db.store().await;
    let again = reopened.append(request).await.unwrap();
    assert_eq!(again.first_position, first.first_position);
    assert!(again.deduplicated);
    assert_eq!(count(&reopened).await, 3);
}

async fn a_rejected_append_writes_nothing(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let existing = record(ledger, "1.00");
    let existing_stream = existing.writes[0].stream;
    store.append(existing).await.unwrap();
    let before = count(&store).await;

    // One conflicting stream fails the whole multi-stream append.
    let e = expense("2.00");
    let atomic = AppendRequest::new(
        ledger,
        StreamId::expense(e.expense_id),
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(e)],
    )
    .and(
        existing_stream,
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(expense("3.00"))],
    );
    assert!(store.append(atomic).await.is_err());

    // An event filed under the wrong stream.
    let e = expense("2.00");
    let wrong = AppendRequest::new(
        ledger,
        StreamId::expense(ExpenseId::new()),
        ExpectedVersion::Any,
        vec![Event::ExpenseRecorded(e)],
    );
    assert!(matches!(
        store.append(wrong).await,
        Err(AppendError::Invalid(_))
    ));

    // No events, a hostile key, a hostile payload.
    let empty = AppendRequest::new(
        ledger,
        StreamId::expense(ExpenseId::new()),
        ExpectedVersion::Any,
        vec![],
    );
    assert!(matches!(
        store.append(empty).await,
        Err(AppendError::Invalid(_))
    ));
    let long_key = record(ledger, "1.00").idempotency_key("k".repeat(10_000));
    assert!(matches!(
        store.append(long_key).await,
        Err(AppendError::Invalid(_))
    ));
    let device = Metadata {
        device_id: Some("d".repeat(100_000)),
        ..Metadata::default()
    };
    let hostile_metadata = record(ledger, "1.00").metadata(device);
    assert!(matches!(
        store.append(hostile_metadata).await,
        Err(AppendError::Invalid(_))
    ));
    let mut big = expense("1.00");
    big.description = Some("x".repeat(100_000));
    let big = AppendRequest::new(
        ledger,
        StreamId::expense(big.expense_id),
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(big)],
    );
    assert!(matches!(
        store.append(big).await,
        Err(AppendError::Invalid(_))
    ));

    // A batch with one bad event appends none of it.
    let good = expense("1.00");
    let stream = StreamId::expense(good.expense_id);
    let mixed = AppendRequest::new(
        ledger,
        stream,
        ExpectedVersion::NoStream,
        vec![
            Event::ExpenseRecorded(good),
            Event::MemberGranted(MemberGranted {
                user_id: UserId::new(),
                role: Role::Viewer,
            }),
        ],
    );
    assert!(matches!(
        store.append(mixed).await,
        Err(AppendError::Invalid(_))
    ));
    assert_eq!(count(&store).await, before);
    assert!(store.read_stream(stream, 0, 10).await.unwrap().is_empty());
}

async fn unknown_ledgers_are_refused(db: &TestDb) {
    let store = db.store().await;
    let nowhere = LedgerId::new();
    assert!(
        matches!(store.append(record(nowhere, "1.00")).await, Err(AppendError::LedgerNotFound(l)) if l == nowhere)
    );
    let ledger = open_ledger(&store).await;
    let again = Event::LedgerOpened(LedgerOpened {
        ledger_id: ledger,
        name: "again".into(),
        currency: eur(),
        timezone: "UTC".into(),
        owner: UserId::new(),
    });
    let reopen = AppendRequest::new(
        ledger,
        StreamId::ledger(ledger),
        ExpectedVersion::Any,
        vec![again],
    );
    assert!(store.append(reopen).await.is_err());
    assert_eq!(count(&store).await, 1);
}

async fn concurrent_appends_are_seen_once_in_order(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let writers = 32;
    let per_writer = 40;
    let expected = 1 + writers * per_writer;

    let mut tail = store.tail(Position::ZERO);
    let tailer = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < expected {
            seen.extend(
                tail.next(500)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| (e.position, e.event_id)),
            );
        }
        seen
    });
    let mut tasks = Vec::new();
    for _ in 0..writers {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut acked = Vec::new();
            for _ in 0..per_writer {
                acked.push(
                    store
                        .append(record(ledger, "1.00"))
                        .await
                        .unwrap()
                        .first_position,
                );
            }
            acked
        }));
    }
    let mut acked = Vec::new();
    for t in tasks {
        acked.extend(t.await.unwrap());
    }
    let seen = tokio::time::timeout(Duration::from_secs(60), tailer)
        .await
        .expect("the tail saw everything")
        .unwrap();
    let positions: Vec<i64> = seen.iter().map(|(p, _)| p.get()).collect();
    assert_eq!(
        positions,
        (1..=expected as i64).collect::<Vec<_>>(),
        "gapless, in order, once each"
    );
    let ids: HashSet<_> = seen.iter().map(|(_, id)| *id).collect();
    assert_eq!(ids.len(), expected);
    acked.sort();
    acked.dedup();
    assert_eq!(acked.len(), writers * per_writer);
    assert!(store.verify(ledger).await.unwrap().ok);
}

async fn a_large_append_is_atomic_and_contiguous(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let events: Vec<Event> = (0..12_000)
        .map(|_| Event::ExpenseRecorded(expense("0.99")))
        .collect();
    let mut request: Option<AppendRequest> = None;
    for event in events {
        let stream = event.stream(ledger);
        request = Some(match request {
            None => AppendRequest::new(ledger, stream, ExpectedVersion::NoStream, vec![event]),
            Some(r) => r.and(stream, ExpectedVersion::NoStream, vec![event]),
        });
    }
    let appended = store.append(request.unwrap()).await.unwrap();
    assert_eq!(appended.first_position.get(), 2);
    assert_eq!(appended.last_position.get(), 12_001);
    assert_eq!(appended.positions().count(), 12_000);
    let verification = store.verify(ledger).await.unwrap();
    assert!(verification.ok);
    assert_eq!(verification.checked, 12_001);
}

async fn the_chain_verifies(db: &TestDb) {
    let store = db.store().await;
    let a = open_ledger(&store).await;
    let b = open_ledger(&store).await;
    for i in 0..10 {
        store
            .append(record(if i % 2 == 0 { a } else { b }, "1.00"))
            .await
            .unwrap();
    }
    for ledger in [a, b] {
        let v = store.verify(ledger).await.unwrap();
        assert!(v.ok, "{v:?}");
        assert_eq!(v.checked, 6);
        assert_eq!(v.first_bad_position, None);
    }
}

async fn ledger_of_ten(store: &Store) -> (LedgerId, Vec<Position>) {
    let ledger = open_ledger(store).await;
    let mut positions = vec![Position::new(1).unwrap()];
    for _ in 0..9 {
        positions.push(
            store
                .append(record(ledger, "2.50"))
                .await
                .unwrap()
                .first_position,
        );
    }
    (ledger, positions)
}

async fn an_edited_payload_is_detected(db: &TestDb) {
    let store = db.store().await;
    let (ledger, positions) = ledger_of_ten(&store).await;
    let victim = positions[5];
    tamper(db, &store, &format!("UPDATE events SET payload = replace(payload, '2.50', '0.25') WHERE position = {victim}")).await;
    let v = store.verify(ledger).await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_bad_position, Some(victim));
}

async fn a_deleted_event_is_detected(db: &TestDb) {
    let store = db.store().await;
    let (ledger, positions) = ledger_of_ten(&store).await;
    tamper(
        db,
        &store,
        &format!("DELETE FROM events WHERE position = {}", positions[4]),
    )
    .await;
    let v = store.verify(ledger).await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_bad_position, Some(positions[5]));
}

async fn a_swapped_pair_is_detected(db: &TestDb) {
    let store = db.store().await;
    let (ledger, positions) = ledger_of_ten(&store).await;
    let (p, q) = (positions[3].get(), positions[4].get());
    // Swap the two rows whole (every column but the position), hashes included.
    let swap = format!(
        "UPDATE events SET position = -1 WHERE position = {p}; \
         UPDATE events SET position = {p} WHERE position = {q}; \
         UPDATE events SET position = {q} WHERE position = -1"
    );
    let swap = match db.kind {
        Kind::Postgres => {
            format!("ALTER TABLE events DROP CONSTRAINT events_position_check; {swap}")
        }
        Kind::Sqlite => swap.replace("-1", "1000000"),
    };
    tamper(db, &store, &swap).await;
    let v = store.verify(ledger).await.unwrap();
    assert!(!v.ok);
    assert_eq!(v.first_bad_position, Some(positions[3]));
}

async fn the_log_rejects_update_and_delete(db: &TestDb) {
    let store = db.store().await;
    let (ledger, _) = ledger_of_ten(&store).await;
    for sql in [
        "UPDATE events SET payload = '{}' WHERE position = 2",
        "DELETE FROM events WHERE position = 3",
    ] {
        let refused = store.execute_raw(sql).await.unwrap_err().to_string();
        assert!(refused.contains("append-only"), "{refused}");
    }
    if db.kind == Kind::Postgres {
        assert!(store.execute_raw("TRUNCATE events").await.is_err());
    }
    assert_eq!(count(&store).await, 10);
    assert!(store.verify(ledger).await.unwrap().ok);
}

async fn the_log_as_of_a_time_is_a_prefix(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let early = store.append(record(ledger, "1.00")).await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let moment = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    store.append(record(ledger, "2.00")).await.unwrap();
    assert_eq!(
        store.position_at(moment).await.unwrap(),
        early.last_position
    );
    assert_eq!(
        store
            .position_at(moment - chrono::Duration::days(1))
            .await
            .unwrap(),
        Position::ZERO
    );
    let then = store
        .read_ledger(ledger, Position::ZERO, Some(early.last_position), 100)
        .await
        .unwrap();
    assert_eq!(then.len(), 2);
    let all = store.read_all(Position::ZERO, 100).await.unwrap();
    assert!(all.windows(2).all(|w| w[0].recorded_at <= w[1].recorded_at));
}

async fn streaming_the_log_pages_through_everything(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let batch: Vec<_> = (0..4500)
        .map(|_| store.append(record(ledger, "1.00")))
        .collect();
    for r in futures::future::join_all(batch).await {
        r.unwrap();
    }
    let events: Vec<_> = store
        .stream_all(Position::ZERO)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(events.len(), 4501);
    assert!(events
        .windows(2)
        .all(|w| w[1].position.get() == w[0].position.get() + 1));
    let later: Vec<_> = store
        .stream_ledger(ledger, Position::new(4000).unwrap(), None)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(later.len(), 501);
}

async fn a_tail_wakes_on_new_appends(db: &TestDb) {
    let store = db.store().await;
    let ledger = open_ledger(&store).await;
    let mut tail = store.tail(store.head().await.unwrap());
    let waiting = tokio::spawn(async move { tail.next(10).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(50)).await;
    let appended = store.append(record(ledger, "7.00")).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].position, appended.first_position);
}

/// Two stores on one database, as two server processes would be: each one's memory
/// of the log goes stale whenever the other appends, and nothing may slip through.
async fn two_stores_on_one_database_agree(db: &TestDb) {
    let a = db.store().await;
    let b = db.store().await;
    let ledger = open_ledger(&a).await;
    a.append(record(ledger, "1.00")).await.unwrap();

    // B records an expense; A, unaware of it, tries to create the same stream.
    let taken = expense("2.00");
    let stream = StreamId::expense(taken.expense_id);
    b.append(AppendRequest::new(
        ledger,
        stream,
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(taken.clone())],
    ))
    .await
    .unwrap();
    let again = AppendRequest::new(
        ledger,
        stream,
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(taken)],
    );
    assert!(matches!(
        a.append(again).await,
        Err(AppendError::VersionConflict { current: 1, .. })
    ));

    // B uses an idempotency key; A's retry of the same request gets B's answer.
    let request = record(ledger, "3.00").idempotency_key("shared");
    let first = b.append(request.clone()).await.unwrap();
    let retried = a.append(request).await.unwrap();
    assert_eq!(retried.first_position, first.first_position);
    assert!(retried.deduplicated);

    // B opens a ledger; A cannot open it again.
    let other = open_ledger(&b).await;
    let reopen = Event::LedgerOpened(LedgerOpened {
        ledger_id: other,
        name: "dup".into(),
        currency: eur(),
        timezone: "UTC".into(),
        owner: UserId::new(),
    });
    let reopen = AppendRequest::new(
        other,
        StreamId::ledger(other),
        ExpectedVersion::NoStream,
        vec![reopen],
    );
    assert!(a.append(reopen).await.is_err());

    // Interleaved concurrent writers on both: gapless, once each, chains intact.
    let mut tasks = Vec::new();
    for i in 0..8 {
        let store = if i % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            for _ in 0..25 {
                store.append(record(ledger, "0.50")).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let all = a.read_all(Position::ZERO, 10_000).await.unwrap();
    assert!(all
        .iter()
        .enumerate()
        .all(|(i, e)| e.position.get() == i as i64 + 1));
    assert_eq!(all.len(), 1 + 1 + 1 + 1 + 1 + 200);
    assert!(a.verify(ledger).await.unwrap().ok);
    assert!(b.verify(other).await.unwrap().ok);
}

async fn checkpoints_save_and_load_atomically(db: &TestDb) {
    let store = db.store().await;
    assert_eq!(store.load_checkpoint("budgets").await.unwrap(), None);
    let (a, b) = (LedgerId::new(), LedgerId::new());
    let state = |ledger, p: i64, s: &str| LedgerState {
        ledger,
        position: Position::new(p).unwrap(),
        state: s.into(),
    };

    store
        .save_checkpoint(
            "budgets",
            Position::new(10).unwrap(),
            &[state(a, 9, "a@9"), state(b, 10, "b@10")],
        )
        .await
        .unwrap();
    // Later, only `a` changed: `b` keeps its older state.
    store
        .save_checkpoint(
            "budgets",
            Position::new(25).unwrap(),
            &[state(a, 25, "a@25")],
        )
        .await
        .unwrap();
    store
        .save_checkpoint(
            "analytics",
            Position::new(3).unwrap(),
            &[state(b, 3, "other")],
        )
        .await
        .unwrap();

    let mut saved = store.load_checkpoint("budgets").await.unwrap().unwrap();
    saved.states.sort_by_key(|s| s.position);
    assert_eq!(
        saved,
        Checkpoint {
            position: Position::new(25).unwrap(),
            states: vec![state(b, 10, "b@10"), state(a, 25, "a@25")]
        }
    );

    // Survives reopening; names are checked; deleting forgets the state too.
    store.close().await;
    let reopened = db.store().await;
    assert_eq!(
        reopened
            .load_checkpoint("budgets")
            .await
            .unwrap()
            .unwrap()
            .position
            .get(),
        25
    );
    assert!(reopened
        .save_checkpoint("", Position::ZERO, &[])
        .await
        .is_err());
    assert!(reopened.load_checkpoint(&"x".repeat(65)).await.is_err());
    reopened.delete_checkpoint("budgets").await.unwrap();
    assert_eq!(reopened.load_checkpoint("budgets").await.unwrap(), None);
    assert_eq!(
        reopened
            .load_checkpoint("analytics")
            .await
            .unwrap()
            .unwrap()
            .states
            .len(),
        1
    );
}

async fn users_are_found_by_the_hash_of_their_token(db: &TestDb) {
    let store = db.store().await;
    let alice = ledger::User {
        user_id: UserId::new(),
        name: "Alice".into(),
    };
    store
        .create_user(&alice, &ledger::TokenHash::of("alice-token"))
        .await
        .unwrap();
    assert_eq!(
        store
            .user_by_token(&ledger::TokenHash::of("alice-token"))
            .await
            .unwrap(),
        Some(alice.clone())
    );
    assert_eq!(
        store
            .user_by_token(&ledger::TokenHash::of("alice-token "))
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.user(alice.user_id).await.unwrap(), Some(alice));
    // A token hash belongs to one user only.
    let mallory = ledger::User {
        user_id: UserId::new(),
        name: "Mallory".into(),
    };
    assert!(store
        .create_user(&mallory, &ledger::TokenHash::of("alice-token"))
        .await
        .is_err());
    assert!(ledger::TokenHash::of("a").matches(&ledger::TokenHash::of("a")));
    assert!(!ledger::TokenHash::of("a").matches(&ledger::TokenHash::of("b")));
}
