//! `ledger probe`: appends from a child process and prints one line per
//! acknowledged append (`ack <position> <stream>`), so a test can kill the process
//! at any moment and check that every acknowledged event survived, or run several
//! processes against one database and check the order a tail observed.

use anyhow::Context;
use chrono::NaiveDate;
use ledger::commands::{expense, ledger as ledgers};
use ledger::text::{Category, Description, LedgerName};
use ledger::{Amount, Currency, ExpenseId, LedgerId, Metadata, Store, StreamId, UserId};

#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    #[arg(long, env = "DATABASE_URL")]
    database_url: String,
    /// The ledger to append to.
    #[arg(long)]
    ledger: LedgerId,
    /// Open the ledger first.
    #[arg(long)]
    open: bool,
    /// Concurrent writers.
    #[arg(long, default_value_t = 1)]
    writers: usize,
    /// Appends per writer.
    #[arg(long, default_value_t = 100)]
    count: usize,
}

pub(crate) async fn run(args: ProbeArgs) -> anyhow::Result<()> {
    let store = Store::open(&args.database_url)
        .await
        .context("opening the log")?;
    let currency = Currency::parse("EUR")?;
    if args.open {
        let open = ledgers::OpenLedger {
            owner: UserId::new(),
            name: LedgerName::parse("probe")?,
            currency,
            timezone: ledger::Timezone::UTC,
        };
        store
            .append(ledgers::open(args.ledger, open, Metadata::default()))
            .await?;
    }
    let mut writers = Vec::new();
    for w in 0..args.writers {
        let store = store.clone();
        let ledger = args.ledger;
        let count = args.count;
        writers.push(tokio::spawn(async move {
            for i in 0..count {
                let expense = expense::NewExpense {
                    expense_id: ExpenseId::new(),
                    amount: Amount::parse("4.20", currency)?,
                    occurred_on: NaiveDate::from_ymd_opt(2026, 11, 1).expect("a date"),
                    category: Category::parse("probe")?,
                    merchant: None,
                    description: Some(Description::parse(&format!("writer {w} append {i}"))?),
                    tags: vec![],
                    original: None,
                };
                let stream = StreamId::expense(expense.expense_id);
                let request = expense::record(ledger, expense, Metadata::default());
                let appended = store.append(request).await?;
                // Printed only after the commit returned: the line is the acknowledgement.
                println!("ack {} {stream}", appended.first_position);
            }
            anyhow::Ok(())
        }));
    }
    for w in writers {
        w.await??;
    }
    store.close().await;
    println!("done");
    Ok(())
}
