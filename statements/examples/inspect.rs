//! Parses statement files and prints what the importer would see.
//!
//! `cargo run -p statements --example inspect -- [--currency EUR:2] [--date dmy] FILE...`

use std::process::ExitCode;
use std::time::Instant;

use statements::{Currency, Options};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut currency = ("EUR".to_string(), 2u8);
    let mut date_order = None;
    let mut files = Vec::new();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--currency" => {
                let value = args.next().unwrap_or_default();
                let (code, units) = value.split_once(':').unwrap_or((&value, "2"));
                currency = (code.to_string(), units.parse().unwrap_or(2));
            }
            "--date" => date_order = args.next().and_then(|v| v.parse().ok()),
            _ => files.push(arg),
        }
    }
    let currency = match Currency::new(&currency.0, currency.1) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let mut failed = false;
    for path in files {
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{path}: {e}");
                failed = true;
                continue;
            }
        };
        let mut opts = Options::new(currency.clone());
        opts.date_order = date_order;
        opts.skip_invalid = true;
        let start = Instant::now();
        match statements::parse(&bytes, &opts) {
            Ok(p) => {
                let s = &p.statement;
                println!(
                    "{path}: {} in {}, {} rows, {} credits skipped, {} errors, {:?}",
                    p.format,
                    p.encoding.name(),
                    s.rows.len(),
                    s.skipped_credits,
                    s.errors.len(),
                    start.elapsed()
                );
                for r in s.rows.iter().take(20) {
                    println!(
                        "  {:>5} {} {:>10} {} [{}]",
                        r.line,
                        r.date,
                        r.amount,
                        r.description,
                        &r.fingerprint[..8]
                    );
                }
                for e in s.errors.iter().take(20) {
                    println!("  error {e}");
                }
            }
            Err(e) => {
                println!("{path}: {e}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
