//! How fast the quiet fold goes, without a database: a log shaped like the one of
//! `ledger bench rebuild` (households recording, amending and deleting expenses,
//! now and then changing a budget), decoded, then folded. Ignored by default, as it
//! measures rather than checks; run it in release:
//!
//! ```sh
//! cargo test --release -p projections --test fold_speed -- --ignored --nocapture
//! ```

use std::time::Instant;

use chrono::{DateTime, Days, Duration, NaiveDate};
use ledger::event::{
    BudgetPeriod, BudgetSet, Event, ExpenseAmended, ExpenseDeleted, ExpenseRecorded, LedgerOpened,
};
use ledger::{
    Amount, BudgetId, Currency, EventId, ExpenseId, Hash, LedgerId, Position, RecordedEvent, UserId,
};
use projections::{DecodedEvent, Projections};
use rust_decimal::Decimal;

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

struct Random(u64);

impl Random {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

struct Plan {
    id: LedgerId,
    live: Vec<ExpenseId>,
    budgets: Vec<BudgetId>,
}

fn log(total: usize, ledgers: usize) -> Vec<RecordedEvent> {
    let eur = Currency::parse("EUR").unwrap();
    let owner = UserId::new();
    let start: NaiveDate = "2025-01-01".parse().unwrap();
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let mut events = Vec::with_capacity(total);
    let push = |ledger: LedgerId, event: Event, events: &mut Vec<RecordedEvent>| {
        let position = events.len() as i64 + 1;
        events.push(RecordedEvent {
            position: Position::new(position).unwrap(),
            ledger_id: ledger,
            stream_id: event.stream(ledger),
            stream_version: 1,
            event_id: EventId::new(),
            event_type: event.event_type().into(),
            schema_version: event.schema_version(),
            payload: event.encode(),
            metadata: format!(r#"{{"actor":"{owner}"}}"#),
            recorded_at: DateTime::UNIX_EPOCH
                + Duration::days(20_000)
                + Duration::seconds(position),
            prev_hash: Hash::GENESIS,
            hash: Hash::GENESIS,
        });
    };
    let mut plans = Vec::new();
    for _ in 0..ledgers {
        let id = LedgerId::new();
        let opened = LedgerOpened {
            ledger_id: id,
            name: "Household".into(),
            currency: eur,
            timezone: "Europe/Berlin".into(),
            owner,
        };
        push(id, Event::LedgerOpened(opened), &mut events);
        let mut budgets = Vec::new();
        for (i, category) in [Some("groceries"), Some("dining"), None]
            .into_iter()
            .enumerate()
        {
            let budget_id = BudgetId::new();
            budgets.push(budget_id);
            let set = BudgetSet {
                budget_id,
                category: category.map(str::to_owned),
                amount: Amount::parse(["400", "250", "30000"][i], eur).unwrap(),
                period: BudgetPeriod::Monthly,
                thresholds: vec![80, 100],
            };
            push(id, Event::BudgetSet(set), &mut events);
        }
        plans.push(Plan {
            id,
            live: Vec::new(),
            budgets,
        });
    }
    let amount = |random: &mut Random| {
        let cents = 100 + random.below(19_900) as i64;
        let cents = if random.below(100) < 3 { -cents } else { cents };
        Amount::from_decimal(Decimal::new(cents, 2), eur).unwrap()
    };
    while events.len() < total {
        let plan = &mut plans[random.below(ledgers)];
        for _ in 0..2000.min(total - events.len()) {
            let roll = random.below(100);
            let event = if roll < 8 && !plan.live.is_empty() {
                let expense_id = plan.live[random.below(plan.live.len())];
                Event::ExpenseAmended(ExpenseAmended {
                    expense_id,
                    amount: Some(amount(&mut random)),
                    category: (random.below(100) < 30)
                        .then(|| CATEGORIES[random.below(CATEGORIES.len())].to_owned()),
                    ..ExpenseAmended::default()
                })
            } else if roll < 12 && !plan.live.is_empty() {
                let expense_id = plan.live.swap_remove(random.below(plan.live.len()));
                Event::ExpenseDeleted(ExpenseDeleted { expense_id })
            } else if roll < 13 {
                Event::BudgetSet(BudgetSet {
                    budget_id: plan.budgets[random.below(plan.budgets.len())],
                    category: Some(CATEGORIES[random.below(3)].to_owned()),
                    amount: Amount::parse(&format!("{}", 100 + random.below(900)), eur).unwrap(),
                    period: [
                        BudgetPeriod::Weekly,
                        BudgetPeriod::Monthly,
                        BudgetPeriod::Yearly,
                    ][random.below(3)],
                    thresholds: vec![50, 80, 100],
                })
            } else {
                let expense_id = ExpenseId::new();
                plan.live.push(expense_id);
                Event::ExpenseRecorded(ExpenseRecorded {
                    expense_id,
                    amount: amount(&mut random),
                    occurred_on: start + Days::new(random.below(700) as u64),
                    category: CATEGORIES[random.below(CATEGORIES.len())].to_owned(),
                    merchant: Some(MERCHANTS[random.below(MERCHANTS.len())].to_owned()),
                    description: (random.below(100) < 40)
                        .then(|| "weekly shop with the kids".to_owned()),
                    tags: if random.below(100) < 20 {
                        vec!["family".into()]
                    } else {
                        vec![]
                    },
                    original_amount: None,
                    original_currency: None,
                    import_id: None,
                })
            };
            push(plan.id, event, &mut events);
        }
    }
    events
}

/// CPU time this thread has used, in seconds (at the kernel's tick, 10 ms): on a
/// busy machine it tells more than the wall clock about the work itself.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

struct Clock(Instant, f64);

impl Clock {
    fn start() -> Clock {
        Clock(Instant::now(), cpu_seconds())
    }

    /// Events per second by the wall clock and by CPU time.
    fn rates(&self, events: usize) -> String {
        let wall = events as f64 / self.0.elapsed().as_secs_f64();
        let cpu = events as f64 / (cpu_seconds() - self.1).max(0.01);
        format!("{wall:.0}/s (cpu {cpu:.0}/s)")
    }
}

#[test]
#[ignore = "a measurement; run in release with --ignored --nocapture"]
fn fold_speed() {
    let total = std::env::var("FOLD_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(500_000);
    let events = log(total, 50);
    let n = events.len();

    let started = Clock::start();
    let decoded: Vec<_> = events
        .iter()
        .map(|e| DecodedEvent::decode(e).unwrap())
        .collect();
    let decode = started.rates(n);
    let mut folded = Projections::new();
    let started = Clock::start();
    for event in decoded {
        folded.apply_decoded_quietly(event).unwrap();
    }
    let fold = started.rates(n);
    if std::env::var_os("FOLD_ONLY").is_some() {
        println!(
            "{} events: decode {decode}, fold of decoded {fold}",
            events.len()
        );
        return;
    }
    let mut both = Projections::new();
    let started = Clock::start();
    for event in &events {
        both.apply_quietly(event).unwrap();
    }
    let quietly = started.rates(n);
    assert_eq!(both, folded);
    let mut live = Projections::new();
    let started = Clock::start();
    for event in &events {
        std::hint::black_box(live.apply_with_alerts(event).unwrap());
    }
    let live_rate = started.rates(n);
    assert_eq!(live, folded);
    println!(
        "{} events: decode {decode}, fold of decoded {fold}, \
         apply_quietly {quietly}, live {live_rate}",
        events.len()
    );
}
