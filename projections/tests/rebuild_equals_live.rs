//! Property: for random histories appended through a real store, the live read models
//! (following the log, raising alerts into it) equal a rebuild from the log, and a
//! restart from the checkpoint equals both.

use std::time::Duration;

use chrono::{Days, NaiveDate};
use ledger::event::{
    AlertSnoozed, BudgetPeriod, BudgetRemoved, BudgetSet, ExpenseAmended, ExpenseDeleted,
    ExpenseRecorded,
};
use ledger::testing::{eur, open_ledger, TestDb};
use ledger::{Amount, AppendRequest, BudgetId, Event, ExpectedVersion, ExpenseId, Store, StreamId};
use projections::{LiveOptions, Projections};
use proptest::prelude::*;
use rust_decimal::Decimal;
use tokio::sync::watch;

#[derive(Clone, Debug)]
enum Op {
    Record {
        cents: i64,
        day: u64,
        category: usize,
        merchant: Option<usize>,
    },
    Amend {
        which: usize,
        cents: Option<i64>,
        day: Option<u64>,
        category: Option<usize>,
    },
    Delete {
        which: usize,
    },
    SetBudget {
        slot: usize,
        category: Option<usize>,
        cents: i64,
        period: usize,
    },
    RemoveBudget {
        slot: usize,
    },
    Snooze {
        slot: usize,
        hours: i64,
    },
}

const CATEGORIES: [&str; 3] = ["food", "rent", "fun"];
const MERCHANTS: [&str; 3] = ["Aldi", "Bakery", "Cinema"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (-5_000i64..20_000, 0u64..120, 0..3usize, prop::option::of(0..3usize))
            .prop_map(|(cents, day, category, merchant)| Op::Record { cents, day, category, merchant }),
        2 => (any::<usize>(), prop::option::of(-5_000i64..20_000), prop::option::of(0u64..120), prop::option::of(0..3usize))
            .prop_map(|(which, cents, day, category)| Op::Amend { which, cents, day, category }),
        1 => any::<usize>().prop_map(|which| Op::Delete { which }),
        2 => (0..3usize, prop::option::of(0..3usize), 1_000i64..50_000, 0..3usize)
            .prop_map(|(slot, category, cents, period)| Op::SetBudget { slot, category, cents, period }),
        1 => (0..3usize).prop_map(|slot| Op::RemoveBudget { slot }),
        1 => (0..3usize, -48i64..48).prop_map(|(slot, hours)| Op::Snooze { slot, hours }),
    ]
}

fn money(cents: i64) -> Amount {
    // Zero is not an expense; nudge it to a cent.
    let cents = if cents == 0 { 1 } else { cents };
    Amount::from_decimal(Decimal::new(cents, 2), eur()).unwrap()
}

/// Appends the history; returns nothing, the log is the result.
async fn play(store: &Store, ops: &[Op]) {
    let ledger = open_ledger(store).await;
    let start = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
    let budgets: Vec<BudgetId> = (0..3).map(|_| BudgetId::new()).collect();
    let mut live_budgets = [false; 3];
    let mut expenses: Vec<ExpenseId> = Vec::new();
    for op in ops {
        let (stream, event) = match op.clone() {
            Op::Record {
                cents,
                day,
                category,
                merchant,
            } => {
                let expense_id = ExpenseId::new();
                expenses.push(expense_id);
                let e = ExpenseRecorded {
                    expense_id,
                    amount: money(cents),
                    occurred_on: start + Days::new(day),
                    category: CATEGORIES[category].into(),
                    merchant: merchant.map(|m| MERCHANTS[m].into()),
                    description: None,
                    tags: vec![],
                    original_amount: None,
                    original_currency: None,
                    import_id: None,
                };
                (StreamId::expense(expense_id), Event::ExpenseRecorded(e))
            }
            Op::Amend {
                which,
                cents,
                day,
                category,
            } => {
                if expenses.is_empty() {
                    continue;
                }
                let expense_id = expenses[which % expenses.len()];
                let e = ExpenseAmended {
                    expense_id,
                    amount: cents.map(money),
                    occurred_on: day.map(|d| start + Days::new(d)),
                    category: category.map(|c| CATEGORIES[c].into()),
                    ..ExpenseAmended::default()
                };
                (StreamId::expense(expense_id), Event::ExpenseAmended(e))
            }
            Op::Delete { which } => {
                if expenses.is_empty() {
                    continue;
                }
                let expense_id = expenses.remove(which % expenses.len());
                (
                    StreamId::expense(expense_id),
                    Event::ExpenseDeleted(ExpenseDeleted { expense_id }),
                )
            }
            Op::SetBudget {
                slot,
                category,
                cents,
                period,
            } => {
                live_budgets[slot] = true;
                let e = BudgetSet {
                    budget_id: budgets[slot],
                    category: category.map(|c| CATEGORIES[c].into()),
                    amount: money(cents.abs().max(1)),
                    period: [
                        BudgetPeriod::Weekly,
                        BudgetPeriod::Monthly,
                        BudgetPeriod::Yearly,
                    ][period],
                    thresholds: vec![50, 80, 100],
                };
                (StreamId::budget(budgets[slot]), Event::BudgetSet(e))
            }
            Op::RemoveBudget { slot } => {
                if !live_budgets[slot] {
                    continue;
                }
                live_budgets[slot] = false;
                (
                    StreamId::budget(budgets[slot]),
                    Event::BudgetRemoved(BudgetRemoved {
                        budget_id: budgets[slot],
                    }),
                )
            }
            Op::Snooze { slot, hours } => {
                if !live_budgets[slot] {
                    continue;
                }
                let until = chrono::Utc::now() + chrono::Duration::hours(hours);
                (
                    StreamId::budget(budgets[slot]),
                    Event::AlertSnoozed(AlertSnoozed {
                        budget_id: budgets[slot],
                        until,
                    }),
                )
            }
        };
        store
            .append(AppendRequest::new(
                ledger,
                stream,
                ExpectedVersion::Any,
                vec![event],
            ))
            .await
            .unwrap();
    }
}

/// Waits until the live read models have folded everything, alerts they raised included.
async fn settle(store: &Store, live: &projections::Live) {
    loop {
        let head = store.head().await.unwrap();
        assert!(
            live.wait_for(head, Duration::from_secs(10)).await,
            "the live read models stalled"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
        if store.head().await.unwrap() == head {
            return;
        }
    }
}

fn state(live: &projections::Live) -> Projections {
    let mut state = live.read(Projections::clone);
    let _ = state.take_changed();
    state
}

/// The aggregates the rebuild derived in parallel are the ones the live fold kept
/// current event by event: equality of the states does not compare derived data.
fn assert_same_aggregates(live: &Projections, rebuilt: &Projections) {
    for ledger in live.ledgers() {
        let other = rebuilt
            .ledger(ledger.ledger_id())
            .expect("the rebuild has every ledger");
        assert_eq!(ledger.analytics(), other.analytics());
        let day = ledger.reference_date(chrono::Utc::now());
        assert_eq!(
            ledger.budgets().statuses(day),
            other.budgets().statuses(day)
        );
        let listed = |l: &projections::LedgerProjection| -> Vec<_> {
            l.expenses()
                .in_date_order(None, None, None)
                .map(|e| e.expense_id)
                .collect()
        };
        assert_eq!(listed(ledger), listed(other));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn live_equals_rebuild_and_restart(ops in prop::collection::vec(op(), 1..40)) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let db = TestDb::sqlite();
            let store = db.store().await;
            let options = LiveOptions { checkpoint_every_events: 7, ..LiveOptions::default() };
            let (stop, shutdown) = watch::channel(false);
            let (live, task) = projections::start(store.clone(), options.clone(), shutdown).await.unwrap();
            play(&store, &ops).await;
            settle(&store, &live).await;
            let rebuilt = projections::rebuild(&store, |_| {}).await.unwrap();
            assert_eq!(state(&live), rebuilt);
            assert_same_aggregates(&state(&live), &rebuilt);
            stop.send_replace(true);
            task.await.unwrap().unwrap();

            let (stop, shutdown) = watch::channel(false);
            let (restarted, task) = projections::start(store.clone(), options, shutdown).await.unwrap();
            settle(&store, &restarted).await;
            assert_eq!(state(&restarted), rebuilt);
            stop.send_replace(true);
            task.await.unwrap().unwrap();
        });
    }
}
