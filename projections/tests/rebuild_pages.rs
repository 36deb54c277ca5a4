//! A rebuild over a log of several pages, against a real store (PostgreSQL and
//! SQLite): batches read, decoded and folded at once are folded in log order into the state a plain
//! event-by-event fold reaches, and an unreadable event in a later page stops the
//! rebuild, naming its position.

use chrono::{Days, NaiveDate};
use ledger::event::{
    BudgetPeriod, BudgetSet, ExpenseAmended, ExpenseDeleted, ExpenseRecorded, LedgerOpened,
};
use ledger::testing::{eur, Kind, TestDb};
use ledger::{
    Amount, AppendRequest, BudgetId, Event, ExpectedVersion, ExpenseId, LedgerId, Position, Store,
    StreamId, UserId,
};
use projections::{Projections, RunError};

ledger::on_both_backends!(
    a_rebuild_of_several_pages_equals_the_plain_fold,
    an_unreadable_event_in_a_later_page_stops_the_rebuild,
);

/// More than two of the rebuild's pages (10,000 events each), so pages are read ahead
/// while earlier ones are folded, and the last one is partial.
const EXPENSES: usize = 23_000;

/// Writes one ledger with a budget, `EXPENSES` expenses in two large appends, then
/// amendments and deletions of some of them. Returns the last position.
async fn write_log(store: &Store) -> Position {
    let ledger = LedgerId::new();
    let opened = Event::LedgerOpened(LedgerOpened {
        ledger_id: ledger,
        name: "Household".into(),
        currency: eur(),
        timezone: "UTC".into(),
        owner: UserId::new(),
    });
    let budget_id = BudgetId::new();
    let budget = Event::BudgetSet(BudgetSet {
        budget_id,
        category: Some("food".into()),
        amount: Amount::parse("5000", eur()).unwrap(),
        period: BudgetPeriod::Monthly,
        thresholds: vec![80, 100],
    });
    let request = AppendRequest::new(
        ledger,
        StreamId::ledger(ledger),
        ExpectedVersion::NoStream,
        vec![opened],
    )
    .and(
        StreamId::budget(budget_id),
        ExpectedVersion::NoStream,
        vec![budget],
    );
    store.append(request).await.unwrap();

    let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let ids: Vec<ExpenseId> = (0..EXPENSES).map(|_| ExpenseId::new()).collect();
    let mut last = Position::ZERO;
    for half in ids.chunks(EXPENSES / 2 + 1) {
        let mut request: Option<AppendRequest> = None;
        for (n, id) in half.iter().enumerate() {
            let recorded = Event::ExpenseRecorded(ExpenseRecorded {
                expense_id: *id,
                amount: Amount::parse(&format!("{}.{:02}", 1 + n % 90, n % 100), eur()).unwrap(),
                occurred_on: start + Days::new((n % 400) as u64),
                category: ["food", "rent", "fun"][n % 3].into(),
                merchant: (n % 4 != 0).then(|| format!("Shop {}", n % 15)),
                description: None,
                tags: vec![],
                original_amount: None,
                original_currency: None,
                import_id: None,
            });
            let stream = StreamId::expense(*id);
            let events = vec![recorded];
            request = Some(match request {
                None => AppendRequest::new(ledger, stream, ExpectedVersion::NoStream, events),
                Some(r) => r.and(stream, ExpectedVersion::NoStream, events),
            });
        }
        if let Some(request) = request {
            last = store
                .append(request)
                .await
                .unwrap()
                .positions()
                .last()
                .unwrap();
        }
    }

    let mut request: Option<AppendRequest> = None;
    for (n, id) in ids
        .iter()
        .enumerate()
        .filter(|(n, _)| n % 7 == 0 || n % 13 == 0)
    {
        let change = if n % 7 == 0 {
            Event::ExpenseAmended(ExpenseAmended {
                expense_id: *id,
                amount: Some(Amount::parse("3.50", eur()).unwrap()),
                category: Some("fun".into()),
                ..ExpenseAmended::default()
            })
        } else {
            Event::ExpenseDeleted(ExpenseDeleted { expense_id: *id })
        };
        let stream = StreamId::expense(*id);
        request = Some(match request {
            None => AppendRequest::new(ledger, stream, ExpectedVersion::Any, vec![change]),
            Some(r) => r.and(stream, ExpectedVersion::Any, vec![change]),
        });
    }
    if let Some(request) = request {
        last = store
            .append(request)
            .await
            .unwrap()
            .positions()
            .last()
            .unwrap();
    }
    last
}

/// The log folded event by event, the way the live read models fold it.
async fn plain_fold(store: &Store) -> Projections {
    let mut state = Projections::new();
    let mut after = Position::ZERO;
    loop {
        let page = store.read_all(after, 1_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.position;
        for event in &page {
            state.apply_with_alerts(event).unwrap();
        }
    }
    let _ = state.take_changed();
    state
}

async fn a_rebuild_of_several_pages_equals_the_plain_fold(db: &TestDb) {
    let store = db.store().await;
    let head = write_log(&store).await;
    assert!(head.get() > 20_000, "{head}");

    let mut seen = Vec::new();
    let rebuilt = projections::rebuild(&store, |p| seen.push((p.position, p.head)))
        .await
        .unwrap();
    assert_eq!(rebuilt.position(), head);
    assert!(rebuilt == plain_fold(&store).await, "the rebuild differs");
    // One report per batch (about a thousand events), in order, ending at the head.
    assert!(seen.len() > 3, "{seen:?}");
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0), "{seen:?}");
    assert_eq!(seen.last(), Some(&(head, head)));
}

async fn an_unreadable_event_in_a_later_page_stops_the_rebuild(db: &TestDb) {
    let store = db.store().await;
    let head = write_log(&store).await;
    let bad = head.get() + 1;
    // Written behind the store's back, as a buggy or newer writer might: the last
    // page's last event, while the pages before it are read ahead and folded.
    let (hash, recorded_at) = match db.kind {
        Kind::Postgres => (
            format!("decode('{}', 'hex')", "00".repeat(32)),
            "now()".to_owned(),
        ),
        Kind::Sqlite => (
            format!("X'{}'", "00".repeat(32)),
            chrono::Utc::now().timestamp_micros().to_string(),
        ),
    };
    let ledger = store.ledgers().await.unwrap()[0];
    store
        .execute_raw(&format!(
            "INSERT INTO events (position, ledger_id, stream_id, stream_version, event_id, event_type, schema_version, \
             payload, metadata, recorded_at, prev_hash, hash) VALUES ({bad}, '{ledger}', 'expense-{}', 1, '{}', \
             'ExpenseRecorded', 2, '{{\"amount\": 12.5}}', '{{}}', {recorded_at}, {hash}, {hash})",
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        ))
        .await
        .unwrap();

    let error = projections::rebuild(&store, |_| {}).await.unwrap_err();
    assert!(
        matches!(&error, RunError::Projection(e) if e.position().get() == bad),
        "{error}"
    );
}
