//! A random history of ledger events, for property tests in this crate and the ones
//! above it: proptest strategies for a sequence of operations on a few ledgers, the
//! values they draw from, and an in-memory log that numbers events as the store would.
//!
//! Operations name ledgers, expenses, budget slots and users by small indexes. A test
//! plays them into events against its own record of what exists (an amendment of
//! expense 7 when there are 3 is of expense 7 % 3; one of a ledger without expenses
//! is skipped), so every history it writes is valid. The folds that react to the log
//! (alerts appended back) live above this crate, so playing is the test's part.

use std::collections::HashMap;
use std::str::FromStr;

use chrono::{DateTime, Days, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use serde_json::json;

use crate::chain::Hash;
use crate::event::{BudgetPeriod, Event, Role};
use crate::ids::{EventId, LedgerId, Position, StreamId, UserId};
use crate::money::{Amount, Currency};
use crate::recorded::RecordedEvent;

pub const CATEGORIES: [&str; 3] = ["food", "rent", "fun"];
pub const MERCHANTS: [&str; 4] = ["Aldi", "Bakery", "Cinema", "Deli"];
/// Descriptions; one needs escaping in JSON and is not ASCII.
pub const NOTES: [&str; 2] = ["lunch", "Ünïcödé \"quoted\""];
/// Budgets per ledger an operation may name.
pub const BUDGET_SLOTS: usize = 4;
/// Users an operation may grant a role to or revoke.
pub const USERS: usize = 3;
/// What an operation's `period` index names.
pub const PERIODS: [BudgetPeriod; 3] = [
    BudgetPeriod::Weekly,
    BudgetPeriod::Monthly,
    BudgetPeriod::Yearly,
];
/// What an operation's `role` index names.
pub const ROLES: [Role; 3] = [Role::Viewer, Role::Member, Role::Owner];

/// # Panics
/// When `s` is not a `YYYY-MM-DD` date.
pub fn date_of(s: &str) -> NaiveDate {
    s.parse().expect("a YYYY-MM-DD date")
}

/// Dates where periods are easy to get wrong: year ends, ISO week 53 and the weeks
/// around it, month ends, leap days.
pub fn tricky_dates() -> Vec<NaiveDate> {
    [
        "2024-12-29",
        "2024-12-30",
        "2024-12-31",
        "2025-01-01",
        "2025-01-05",
        "2025-01-06",
        "2026-01-31",
        "2026-02-01",
        "2026-02-28",
        "2026-03-01",
        "2026-03-31",
        "2026-11-30",
        "2026-12-01",
        "2026-12-27",
        "2026-12-28",
        "2026-12-31",
        "2027-01-01",
        "2027-01-03",
        "2027-01-04",
        "2028-02-27",
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
        "2028-03-05",
        "2028-03-06",
        "2028-03-31",
    ]
    .into_iter()
    .map(date_of)
    .collect()
}

/// Mostly a tricky date, otherwise any day of six years.
pub fn date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        3 => prop::sample::select(tricky_dates()),
        1 => (0u64..2200).prop_map(|n| date_of("2024-01-01") + Days::new(n)),
    ]
}

/// Spending or a refund, in hundredths, never zero.
pub fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![4 => 1i64..20_000, 1 => -5_000i64..0]
}

/// One step of a history. Indexes name categories, merchants, notes, tags, budget
/// slots, periods, users and roles (see the constants of this module).
#[derive(Clone, Debug)]
pub enum Op {
    Record {
        ledger: usize,
        cents: i64,
        date: NaiveDate,
        category: usize,
        merchant: Option<usize>,
        note: Option<usize>,
        tags: Vec<usize>,
        /// Paid in USD, with this many cents, from an import.
        foreign: Option<i64>,
    },
    Amend {
        ledger: usize,
        /// Which expense, modulo how many the ledger has.
        target: usize,
        cents: Option<i64>,
        date: Option<NaiveDate>,
        category: Option<usize>,
        merchant: Option<Option<usize>>,
        note: Option<Option<usize>>,
        tags: Option<Vec<usize>>,
    },
    Delete {
        ledger: usize,
        /// Which expense, modulo how many the ledger has.
        target: usize,
    },
    SetBudget {
        ledger: usize,
        slot: usize,
        category: Option<usize>,
        limit_cents: i64,
        period: usize,
        thresholds: Vec<u32>,
    },
    RemoveBudget {
        ledger: usize,
        slot: usize,
    },
    Snooze {
        ledger: usize,
        slot: usize,
        hours: i64,
    },
    Grant {
        ledger: usize,
        user: usize,
        role: usize,
    },
    Revoke {
        ledger: usize,
        user: usize,
    },
    /// `ledger` may be `ledgers` (see [`op`]), a ledger never opened.
    Import {
        ledger: usize,
    },
}

/// An operation on one of `ledgers` ledgers (`0..ledgers`), weighted towards
/// expenses; an import may also name ledger `ledgers`, which is never opened.
pub fn op(ledgers: usize) -> impl Strategy<Value = Op> {
    let ledger = 0..ledgers;
    let category = 0..CATEGORIES.len();
    let merchant = 0..MERCHANTS.len();
    let note = 0..NOTES.len();
    let tags = prop::collection::vec(0usize..3, 0..3);
    prop_oneof![
        6 => (
            ledger.clone(),
            (cents(), date(), category.clone(), prop::option::of(merchant.clone())),
            (prop::option::of(note.clone()), tags.clone(), prop::option::weighted(0.2, 1i64..9_999)),
        )
            .prop_map(|(ledger, (cents, date, category, merchant), (note, tags, foreign))| {
                Op::Record { ledger, cents, date, category, merchant, note, tags, foreign }
            }),
        3 => (
            ledger.clone(),
            any::<usize>(),
            (
                prop::option::of(cents()),
                prop::option::of(date()),
                prop::option::of(category.clone()),
                prop::option::of(prop::option::of(merchant)),
            ),
            (prop::option::weighted(0.2, prop::option::of(note)), prop::option::weighted(0.2, tags)),
        )
            .prop_map(|(ledger, target, (cents, date, category, merchant), (note, tags))| {
                Op::Amend { ledger, target, cents, date, category, merchant, note, tags }
            }),
        1 => (ledger.clone(), any::<usize>())
            .prop_map(|(ledger, target)| Op::Delete { ledger, target }),
        2 => (
            ledger.clone(),
            0..BUDGET_SLOTS,
            prop::option::of(category),
            1i64..60_000,
            0..PERIODS.len(),
            prop::collection::vec(1u32..=150, 0..4),
        )
            .prop_map(|(ledger, slot, category, limit_cents, period, thresholds)| {
                Op::SetBudget { ledger, slot, category, limit_cents, period, thresholds }
            }),
        1 => (ledger.clone(), 0..BUDGET_SLOTS)
            .prop_map(|(ledger, slot)| Op::RemoveBudget { ledger, slot }),
        1 => (ledger.clone(), 0..BUDGET_SLOTS, 0i64..48)
            .prop_map(|(ledger, slot, hours)| Op::Snooze { ledger, slot, hours }),
        1 => (ledger.clone(), 0..USERS, 0..ROLES.len())
            .prop_map(|(ledger, user, role)| Op::Grant { ledger, user, role }),
        1 => (ledger, 0..USERS).prop_map(|(ledger, user)| Op::Revoke { ledger, user }),
        1 => (0..=ledgers).prop_map(|ledger| Op::Import { ledger }),
    ]
}

/// `12.50` from 1250 cents, in a currency with two decimals.
///
/// # Panics
/// When `currency` is unknown or allows fewer decimals, or `cents` is out of range.
pub fn amount(cents: i64, currency: &str) -> Amount {
    let sign = if cents < 0 { "-" } else { "" };
    let text = format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100);
    Amount::parse(&text, Currency::parse(currency).expect("a currency"))
        .expect("an amount in range")
}

/// A readable id: `kind` tells ledgers, users, expenses... apart, `n` numbers them.
///
/// # Panics
/// When `T` is not a UUID newtype.
pub fn numbered<T: FromStr>(kind: u16, n: usize) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("00000000-0000-4000-8{kind:03x}-{n:012x}")
        .parse()
        .expect("a UUID")
}

/// The moment the event at `position` was recorded: a minute per event.
pub fn time_of(position: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + Duration::days(20_400) + Duration::minutes(position)
}

/// A log written in memory, numbered as the store numbers it: positions from 1,
/// stream versions from 1, and (see [`time_of`]) a minute per event. Hashes are left
/// at genesis: the folds do not read them.
#[derive(Default)]
pub struct MemoryLog {
    pub events: Vec<RecordedEvent>,
    versions: HashMap<StreamId, u64>,
}

impl MemoryLog {
    /// The position the next event will take.
    pub fn next_position(&self) -> i64 {
        i64::try_from(self.events.len()).expect("a short log") + 1
    }

    /// Appends `event` to `ledger`'s stream for it; a recorded expense says `actor`
    /// recorded it. Returns the event as stored.
    pub fn append(&mut self, ledger: LedgerId, event: &Event, actor: UserId) -> &RecordedEvent {
        let stream_id = event.stream(ledger);
        let position = self.next_position();
        let version = self.versions.entry(stream_id).or_insert(0);
        *version += 1;
        let metadata = match event {
            Event::ExpenseRecorded(_) => json!({ "actor": actor }).to_string(),
            _ => "{}".to_owned(),
        };
        self.events.push(RecordedEvent {
            position: Position::new(position).expect("positions start at 1"),
            ledger_id: ledger,
            stream_id,
            stream_version: *version,
            event_id: EventId::new(),
            event_type: event.event_type().into(),
            schema_version: event.schema_version(),
            payload: event.encode(),
            metadata,
            recorded_at: time_of(position),
            prev_hash: Hash::GENESIS,
            hash: Hash::GENESIS,
        });
        self.events.last().expect("just pushed")
    }
}
