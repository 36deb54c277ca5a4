//! The import benchmark parses a 100,000-row CSV; parsing must stay well
//! under a second. Run with
//! `cargo test --release -p statements -- --ignored --nocapture perf`.

use std::time::Instant;

use crate::{eur, parse};

fn big_csv(rows: usize) -> Vec<u8> {
    let mut out = String::from(
        "Buchungstag;Auftraggeber / Begünstigter;Verwendungszweck;Betrag (EUR);Saldo (EUR)\n",
    );
    for i in 0..rows {
        let d = 1 + i % 28;
        let m = 1 + (i / 28) % 12;
        out.push_str(&format!(
            "{d:02}.{m:02}.2025;\"Händler {}\";\"Kartenzahlung Ref {:012}\";-{}.{:02};{}.{:02}\n",
            i % 500,
            i * 7919,
            1 + i % 1500,
            i % 100,
            10_000 + i,
            i % 100
        ));
    }
    out.into_bytes()
}

#[test]
#[ignore = "timing; run in release"]
fn perf_parses_100k_rows_quickly() {
    let bytes = big_csv(100_000);
    let mut o = eur();
    o.max_rows = 100_000;
    let mut best = f64::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let s = parse(&bytes, &o).unwrap().statement;
        best = best.min(start.elapsed().as_secs_f64());
        assert_eq!(s.rows.len(), 100_000);
    }
    println!(
        "parsed 100000 CSV rows ({:.1} MiB) in {:.0} ms (best of 3)",
        bytes.len() as f64 / (1024.0 * 1024.0),
        best * 1000.0
    );
    assert!(best < 1.0, "{best} s");
}

#[test]
fn one_thousand_rows_in_debug() {
    let s = parse(&big_csv(1_000), &eur()).unwrap().statement;
    assert_eq!(s.rows.len(), 1_000);
}
