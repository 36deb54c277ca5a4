//! An acknowledged append survives kill -9 of the process that made it.

use std::collections::HashMap;

use futures::TryStreamExt;
use ledger::testing::TestDb;
use ledger::{LedgerId, Position};

use crate::helpers::Probe;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_kill_9_on_sqlite() {
    acknowledged_appends_survive_kill_9(TestDb::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_appends_survive_kill_9_on_postgres() {
    if let Some(db) = TestDb::postgres().await {
        acknowledged_appends_survive_kill_9(db).await;
    }
}

async fn acknowledged_appends_survive_kill_9(db: TestDb) {
    let ledger = LedgerId::new();
    // Far more than it will finish: it is killed mid-stream, with appends in flight.
    let mut probe = Probe::start(&db.url, ledger, true, 8, 1_000_000);
    let mut acked = Vec::new();
    while acked.len() < 500 {
        acked.push(
            probe
                .next_ack()
                .await
                .expect("the probe acknowledges appends"),
        );
    }
    probe.child.start_kill().expect("SIGKILL the probe");
    probe.child.wait().await.expect("reap the probe");
    // Whatever it printed before dying was acknowledged too.
    while let Some(ack) = probe.next_ack().await {
        acked.push(ack);
    }

    let store = db.store().await;
    let stored: HashMap<Position, _> = store
        .stream_all(Position::ZERO)
        .map_ok(|e| (e.position, e.stream_id))
        .try_collect()
        .await
        .unwrap();
    for ack in &acked {
        assert_eq!(
            stored.get(&ack.position),
            Some(&ack.stream),
            "acknowledged append at {} is lost",
            ack.position
        );
    }
    assert!(
        store.verify(ledger).await.unwrap().ok,
        "the chain is intact after the crash"
    );
    // The store goes on from where the dead process left off.
    let head = store.head().await.unwrap();
    assert!(head.get() as usize >= acked.len());
    // The trial's figures, for docs/RELIABILITY.md (`--nocapture` shows them).
    println!(
        "kill -9 trial ({}): {} acknowledged, 0 lost, {} stored (in flight at the kill: {})",
        store.backend_name(),
        acked.len(),
        stored.len(),
        stored.len().saturating_sub(acked.len() + 1)
    );
}
