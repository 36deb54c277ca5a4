//! Several server processes append to one PostgreSQL log; a tail sees every event
//! exactly once, in position order, while they write.

use std::collections::HashSet;
use std::time::Duration;

use ledger::testing::TestDb;
use ledger::{LedgerId, Position};

use crate::helpers::Probe;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_sees_two_processes_appends_once_each_in_order() {
    let Some(db) = TestDb::postgres().await else {
        return;
    };
    let ledger = LedgerId::new();
    let opener = Probe::start(&db.url, ledger, true, 1, 1);
    let opened = opener.finish().await;
    assert_eq!(opened.len(), 1);

    let (writers, count) = (8, 150);
    let expected = 2 + 2 * writers * count; // LedgerOpened, the opener's append, then both probes
    let store = db.store().await;
    let mut tail = store.tail(Position::ZERO);
    let tailer = tokio::spawn(async move {
        let mut seen = Vec::new();
        while seen.len() < expected {
            seen.extend(
                tail.next(1000)
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| (e.position, e.stream_id)),
            );
        }
        seen
    });

    let a = Probe::start(&db.url, ledger, false, writers, count);
    let b = Probe::start(&db.url, ledger, false, writers, count);
    let (acked_a, acked_b) = tokio::join!(a.finish(), b.finish());
    assert_eq!(acked_a.len() + acked_b.len(), 2 * writers * count);

    let seen = tokio::time::timeout(Duration::from_secs(60), tailer)
        .await
        .expect("the tail saw everything")
        .unwrap();
    let positions: Vec<i64> = seen.iter().map(|(p, _)| p.get()).collect();
    assert_eq!(
        positions,
        (1..=expected as i64).collect::<Vec<_>>(),
        "every position once, in order, no gaps"
    );
    let seen: HashSet<_> = seen.into_iter().collect();
    for ack in acked_a.iter().chain(&acked_b) {
        assert!(
            seen.contains(&(ack.position, ack.stream)),
            "the tail missed {ack:?}"
        );
    }
    assert!(store.verify(ledger).await.unwrap().ok);
}
