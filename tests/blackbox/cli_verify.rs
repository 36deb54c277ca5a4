//! `ledger verify` walks every ledger's chain and fails loudly on tampering.

use ledger::testing::TestDb;
use ledger::LedgerId;

use crate::helpers::{run_cli_on, Probe};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_an_intact_log_and_names_the_first_bad_position() {
    let db = TestDb::sqlite();
    let ledger = LedgerId::new();
    let acks = Probe::start(&db.url, ledger, true, 2, 10).finish().await;
    assert_eq!(acks.len(), 20);

    let run = run_cli_on(&db.url, "verify", &[]).await;
    assert_eq!(run.code, Some(0), "{}", run.stdout);
    assert!(
        run.stdout.contains("1 ledgers, 21 events"),
        "{}",
        run.stdout
    );

    let store = db.store().await;
    store
        .execute_raw(
            "DROP TRIGGER events_no_update; \
             UPDATE events SET payload = replace(payload, '4.20', '0.42') WHERE position = 7",
        )
        .await
        .unwrap();
    let run = run_cli_on(&db.url, "verify", &[]).await;
    assert_eq!(run.code, Some(1), "{}", run.stdout);
    assert!(
        run.stdout
            .contains(&format!("ledger {ledger}: BROKEN at position 7")),
        "{}",
        run.stdout
    );
}
