//! `ledger bench rebuild`: rebuild every read model from a log of realistic events on
//! PostgreSQL, beside reading the same rows with a plain streaming SELECT and
//! discarding them; and the fold alone, in memory, beside decoding alone (`fold`, in a
//! child process).

use std::collections::HashSet;
use std::time::Instant;

use anyhow::Context;
use chrono::{Days, NaiveDate};
use futures::TryStreamExt;
use ledger::commands::budget::{self, BudgetSpec, Thresholds};
use ledger::commands::expense::{self as expenses, ExpenseChanges, ExpenseState, NewExpense};
use ledger::commands::ledger::{self as ledgers, OpenLedger};
use ledger::event::{BudgetPeriod, Role};
use ledger::{
    Amount, AppendRequest, BudgetId, Category, Currency, Description, ExpectedVersion, ExpenseId,
    LedgerId, LedgerName, Merchant, Metadata, Store, StoreOptions, Tag, Timezone, UserId,
};
use rust_decimal::Decimal;
use sqlx::postgres::{PgPool, PgPoolOptions};

use gateway::bench_support::Random;

use crate::fold::{read_every_aggregate, usage, KEEP_FREED_MEMORY};
use crate::{Common, Figure, Report, ScratchPostgres};

#[derive(Debug, clap::Args)]
pub(crate) struct RebuildArgs {
    #[command(flatten)]
    common: Common,
    /// Events in the generated log.
    #[arg(long, default_value_t = 1_000_000)]
    events: usize,
    /// Ledgers the events are spread over.
    #[arg(long, default_value_t = 50)]
    ledgers: usize,
    /// Times the baseline and the rebuild are each measured, alternately.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
}

pub(crate) async fn run(args: RebuildArgs) -> anyhow::Result<()> {
    let report = Report::new(args.common.json);
    let scratch = ScratchPostgres::create(&args.common.postgres_url).await?;
    let result = measure(&scratch.url, &args, &report).await;
    scratch.drop_now().await?;
    result
}

async fn measure(url: &str, args: &RebuildArgs, report: &Report) -> anyhow::Result<()> {
    let store = Store::open_with(url, StoreOptions { max_connections: 8 })
        .await
        .context("opening the store")?;
    let started = Instant::now();
    let written = generate(&store, args.events, args.ledgers.max(1), report).await?;
    report.note(&format!(
        "rebuild: wrote {written} events in {:.1?}",
        started.elapsed()
    ));
    let case = format!("events={written}");

    // Rounds alternate the baseline and the rebuild, as the machine's speed drifts;
    // the figure is their medians.
    let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
    let mut baselines = Vec::new();
    let mut rebuilds = Vec::new();
    for round in 1..=args.rounds.max(1) {
        baselines.push(plain_read(&pool, report, written).await?);
        rebuilds.push(rebuild_ready(&store, report, written).await?);
        report.note(&format!(
            "rebuild: round {round}: {:.2}x",
            rebuilds[rebuilds.len() - 1] / baselines[baselines.len() - 1]
        ));
    }
    report.print(&Figure {
        bench: "rebuild",
        backend: "postgres".into(),
        case: case.clone(),
        metric: "seconds",
        value: median(&mut rebuilds),
        baseline: Some("plain streaming SELECT of the same rows".into()),
        baseline_value: Some(median(&mut baselines)),
    });

    // The fold alone, in a process of its own: see `fold`.
    let exe = std::env::current_exe().context("finding this binary")?;
    let mut child = tokio::process::Command::new(exe);
    child
        .args(["fold", "--database-url", url])
        .args(report.json().then_some("--json"))
        .env("GLIBC_TUNABLES", KEEP_FREED_MEMORY)
        .kill_on_drop(true);
    if std::env::var_os("RUST_LOG").is_none() {
        // Opening the store again would log its migrations' notices.
        child.env("RUST_LOG", "warn");
    }
    let status = child
        .status()
        .await
        .context("starting the fold benchmark")?;
    anyhow::ensure!(status.success(), "the fold benchmark failed: {status}");
    Ok(())
}

/// The baseline: the same rows, every column, streamed from one SELECT and dropped,
/// in the order of the primary key as the rebuild reads them (no sorting). Seconds.
async fn plain_read(pool: &PgPool, report: &Report, written: usize) -> anyhow::Result<f64> {
    let mut transaction = pool.begin().await?;
    sqlx::query("SET LOCAL enable_sort = off")
        .execute(&mut *transaction)
        .await?;
    let used = usage();
    let started = Instant::now();
    let mut rows = sqlx::query(
        "SELECT position, ledger_id, stream_id, stream_version, event_id, event_type, schema_version, \
         payload, metadata, recorded_at, prev_hash, hash FROM events ORDER BY position",
    )
    .fetch(&mut *transaction);
    let mut read = 0usize;
    while rows.try_next().await?.is_some() {
        read += 1;
    }
    drop(rows);
    let seconds = started.elapsed().as_secs_f64();
    report.note(&format!(
        "rebuild: plain read of {read} rows in {seconds:.2} s ({})",
        used.since()
    ));
    anyhow::ensure!(read == written, "the plain read stopped early");
    Ok(seconds)
}

/// Rebuilds every read model, ready to be read, and then reads each ledger's
/// aggregates (which should cost nothing by then). Seconds, reads included.
async fn rebuild_ready(store: &Store, report: &Report, written: usize) -> anyhow::Result<f64> {
    let used = usage();
    let started = Instant::now();
    let rebuilt = projections::rebuild(store, |_| {}).await?;
    let rebuilt_in = started.elapsed().as_secs_f64();
    read_every_aggregate(&rebuilt);
    let seconds = started.elapsed().as_secs_f64();
    report.note(&format!(
        "rebuild: rebuilt in {rebuilt_in:.2} s, aggregates included; reading them all then took {:.3} s ({})",
        seconds - rebuilt_in,
        used.since()
    ));
    anyhow::ensure!(
        rebuilt.position().get() as usize == written,
        "the rebuild stopped early"
    );
    Ok(seconds)
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

const CATEGORIES: [&str; 8] = [
    "groceries",
    "rent",
    "transport",
    "dining",
    "utilities",
    "health",
    "fun",
    "travel",
];
const MERCHANTS: [&str; 12] = [
    "Corner Market",
    "City Transit",
    "Pharmacy Plus",
    "Trattoria Roma",
    "Power & Light",
    "Cinema Paradiso",
    "Bakery Sun",
    "Rail Europe",
    "Book Nook",
    "Hardware Haus",
    "Coffee Lab",
    "Airline Blue",
];

/// One ledger being generated: its currency and which expenses are live.
struct LedgerPlan {
    id: LedgerId,
    live: Vec<ExpenseId>,
    budgets: Vec<BudgetId>,
}

/// Writes about `total` events of households recording, correcting and deleting
/// expenses and adjusting budgets, in large multi-stream appends.
async fn generate(
    store: &Store,
    total: usize,
    ledgers: usize,
    report: &Report,
) -> anyhow::Result<usize> {
    let currency = Currency::parse("EUR")?;
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let start = NaiveDate::from_ymd_opt(2025, 1, 1).context("a date")?;
    let mut plans = Vec::new();
    let mut written = 0;
    for _ in 0..ledgers {
        let id = LedgerId::new();
        let owner = UserId::new();
        let open = OpenLedger {
            owner,
            name: LedgerName::parse("Household")?,
            currency,
            timezone: Timezone::parse("timezone", "Europe/Berlin")?,
        };
        let mut request = ledgers::open(id, open, Metadata::default());
        let member = ledgers::grant(id, UserId::new(), Role::Member, true, Metadata::default())?;
        // The member's grant goes into the opening's write, as the second event of
        // the ledger stream's first append, as the generated log has always had it.
        for write in member.writes {
            let opening = request
                .writes
                .iter_mut()
                .find(|w| w.stream == write.stream)
                .context("the opening writes the ledger stream")?;
            opening.events.extend(write.events);
        }
        let mut budgets = Vec::new();
        for (i, category) in [Some("groceries"), Some("dining"), Some("transport"), None]
            .into_iter()
            .enumerate()
        {
            let budget_id = BudgetId::new();
            budgets.push(budget_id);
            let spec = BudgetSpec {
                category: category.map(Category::parse).transpose()?,
                amount: Amount::parse(["400", "250", "120", "30000"][i], currency)?,
                period: if category.is_some() {
                    BudgetPeriod::Monthly
                } else {
                    BudgetPeriod::Yearly
                },
                thresholds: Thresholds::parse(Some(vec![80, 100]))?,
            };
            let set = budget::set(
                id,
                budget_id,
                spec,
                ExpectedVersion::NoStream,
                Metadata::default(),
            );
            request.writes.extend(set.writes);
        }
        written += store.append(request).await?.positions().count();
        plans.push(LedgerPlan {
            id,
            live: Vec::new(),
            budgets,
        });
    }

    let mut next_note = 100_000;
    while written < total {
        let plan = &mut plans[random.below(ledgers)];
        let mut touched = HashSet::new();
        let mut request: Option<AppendRequest> = None;
        let size = 2000.min(total - written);
        let mut events = 0;
        while events < size {
            let change = next_change(&mut random, plan, start, currency)?;
            let stream = change
                .writes
                .first()
                .context("a change writes a stream")?
                .stream;
            if !touched.insert(stream) {
                continue;
            }
            // Each change is decided by its command; they travel together in one
            // large multi-stream append.
            match &mut request {
                None => request = Some(change),
                Some(r) => r.writes.extend(change.writes),
            }
            events += 1;
        }
        if let Some(request) = request {
            written += store.append(request).await?.positions().count();
        }
        if written >= next_note {
            report.note(&format!("rebuild: generated {written} of {total} events"));
            next_note += 100_000;
        }
    }
    Ok(written)
}

/// The next change to `plan`'s ledger, as the command that decides it answers it:
/// an amendment or deletion of a live expense, a budget reset, or a new expense.
fn next_change(
    random: &mut Random,
    plan: &mut LedgerPlan,
    start: NaiveDate,
    currency: Currency,
) -> anyhow::Result<AppendRequest> {
    // Only live expenses are amended or deleted; the version only goes into refusals,
    // and the writes expect any version, as the generator always has.
    const LIVE: ExpenseState = ExpenseState {
        version: 1,
        deleted: false,
    };
    let roll = random.below(100);
    if roll < 8 && !plan.live.is_empty() {
        let expense_id = plan.live[random.below(plan.live.len())];
        let changes = ExpenseChanges {
            amount: Some(amount(random, currency)?),
            category: random
                .chance(30)
                .then(|| Category::parse(CATEGORIES[random.below(CATEGORIES.len())]))
                .transpose()?,
            ..ExpenseChanges::default()
        };
        return Ok(expenses::amend(
            plan.id,
            expense_id,
            changes,
            LIVE,
            ExpectedVersion::Any,
            Metadata::default(),
        )?);
    }
    if roll < 12 && !plan.live.is_empty() {
        let expense_id = plan.live.swap_remove(random.below(plan.live.len()));
        return Ok(expenses::delete(
            plan.id,
            expense_id,
            LIVE,
            ExpectedVersion::Any,
            Metadata::default(),
        )?);
    }
    if roll < 13 {
        let budget_id = plan.budgets[random.below(plan.budgets.len())];
        let spec = BudgetSpec {
            category: Some(Category::parse(CATEGORIES[random.below(3)])?),
            amount: Amount::parse(&format!("{}", 100 + random.below(900)), currency)?,
            period: [
                BudgetPeriod::Weekly,
                BudgetPeriod::Monthly,
                BudgetPeriod::Yearly,
            ][random.below(3)],
            thresholds: Thresholds::parse(Some(vec![50, 80, 100]))?,
        };
        return Ok(budget::set(
            plan.id,
            budget_id,
            spec,
            ExpectedVersion::Any,
            Metadata::default(),
        ));
    }
    let expense_id = ExpenseId::new();
    plan.live.push(expense_id);
    let expense = NewExpense {
        expense_id,
        amount: amount(random, currency)?,
        occurred_on: start + Days::new(random.below(700) as u64),
        category: Category::parse(CATEGORIES[random.below(CATEGORIES.len())])?,
        merchant: Some(Merchant::parse(MERCHANTS[random.below(MERCHANTS.len())])?),
        description: random
            .chance(40)
            .then(|| Description::parse("weekly shop with the kids"))
            .transpose()?,
        tags: if random.chance(20) {
            vec![Tag::parse("family")?]
        } else {
            vec![]
        },
        original: None,
    };
    // A new expense's write expects no stream (the command's rule) where the
    // hand-built one expected any: the ids are new, so the log is the same.
    Ok(expenses::record(plan.id, expense, Metadata::default()))
}

/// Mostly everyday amounts, now and then a refund.
fn amount(random: &mut Random, currency: Currency) -> anyhow::Result<Amount> {
    let cents = 100 + random.below(19_900) as i64;
    let cents = if random.chance(3) { -cents } else { cents };
    Ok(Amount::from_decimal(Decimal::new(cents, 2), currency)?)
}
