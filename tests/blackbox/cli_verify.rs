//! `ledger verify` walks every ledger's chain and fails loudly on tampering.

use ledger::testing::TestDb;
use ledger::LedgerId;

use crate::helpers::Probe;

async fn verify(database_url: &str) -> (Option<i32>, String) {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_ledger"))
        .args(["verify", "--database-url", database_url])
        .output()
        .await
        .expect("run ledger verify");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_passes_an_intact_log_and_names_the_first_bad_position() {
    let db = TestDb::sqlite();
    let ledger = LedgerId::new();
    let acks = Probe::start(&db.url, ledger, true, 2, 10).finish().await;
    assert_eq!(acks.len(), 20);

    let (code, out) = verify(&db.url).await;
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("1 ledgers, 21 events"), "{out}");

    let store = db.store().await;
    store
        .execute_raw(
            "DROP TRIGGER events_no_update; \
             UPDATE events SET payload = replace(payload, '4.20', '0.42') WHERE position = 7",
        )
        .await
        .unwrap();
    let (code, out) = verify(&db.url).await;
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains(&format!("ledger {ledger}: BROKEN at position 7")),
        "{out}"
    );
}
