// The random-history generator shared by `quiet.rs` and `snapshots.rs`: included as
// text (`include!`) so each test binary gets its own copy of these items without a
// library crate for tests. It expects the `use` lines of those files.

const CATEGORIES: [&str; 3] = ["food", "rent", "fun"];
const MERCHANTS: [&str; 4] = ["Aldi", "Bakery", "Cinema", "Deli"];
const NOTES: [&str; 2] = ["lunch", "Ünïcödé \"quoted\""];
const BUDGET_SLOTS: usize = 4;
/// Ledgers events are written to; imports also go to one more, never opened.
const LEDGERS: usize = 2;
const USERS: usize = 3;

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

/// Dates where periods are easy to get wrong.
fn tricky_dates() -> Vec<NaiveDate> {
    [
        "2024-12-29",
        "2024-12-30",
        "2024-12-31",
        "2025-01-01",
        "2026-02-28",
        "2026-03-01",
        "2026-11-30",
        "2026-12-01",
        "2026-12-28",
        "2026-12-31",
        "2027-01-01",
        "2027-01-03",
        "2027-01-04",
        "2028-02-28",
        "2028-02-29",
        "2028-03-01",
    ]
    .into_iter()
    .map(d)
    .collect()
}

fn date() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        3 => prop::sample::select(tricky_dates()),
        1 => (0u64..2200).prop_map(|n| d("2024-01-01") + Days::new(n)),
    ]
}

/// Spending or a refund, never zero.
fn cents() -> impl Strategy<Value = i64> {
    prop_oneof![4 => 1i64..20_000, 1 => -5_000i64..0]
}

#[derive(Clone, Debug)]
enum Op {
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
    /// `ledger` may be `LEDGERS`, which is never opened.
    Import {
        ledger: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let ledger = 0..LEDGERS;
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
            0usize..3,
            prop::collection::vec(1u32..=150, 0..4),
        )
            .prop_map(|(ledger, slot, category, limit_cents, period, thresholds)| {
                Op::SetBudget { ledger, slot, category, limit_cents, period, thresholds }
            }),
        1 => (ledger.clone(), 0..BUDGET_SLOTS)
            .prop_map(|(ledger, slot)| Op::RemoveBudget { ledger, slot }),
        1 => (ledger.clone(), 0..BUDGET_SLOTS, 0i64..48)
            .prop_map(|(ledger, slot, hours)| Op::Snooze { ledger, slot, hours }),
        1 => (ledger.clone(), 0..USERS, 0usize..3)
            .prop_map(|(ledger, user, role)| Op::Grant { ledger, user, role }),
        1 => (ledger, 0..USERS).prop_map(|(ledger, user)| Op::Revoke { ledger, user }),
        1 => (0..=LEDGERS).prop_map(|ledger| Op::Import { ledger }),
    ]
}

const PERIODS: [BudgetPeriod; 3] = [
    BudgetPeriod::Weekly,
    BudgetPeriod::Monthly,
    BudgetPeriod::Yearly,
];

const ROLES: [Role; 3] = [Role::Viewer, Role::Member, Role::Owner];

/// `12.50` from 1250 cents.
fn amount(cents: i64, currency: &str) -> Amount {
    let sign = if cents < 0 { "-" } else { "" };
    let text = format!("{sign}{}.{:02}", cents.abs() / 100, cents.abs() % 100);
    Amount::parse(&text, Currency::parse(currency).unwrap()).unwrap()
}

/// A readable id: `kind` tells ledgers, users, expenses... apart, `n` numbers them.
fn numbered<T: std::str::FromStr>(kind: u16, n: usize) -> T
where
    T::Err: std::fmt::Debug,
{
    format!("00000000-0000-4000-8{kind:03x}-{n:012x}")
        .parse()
        .unwrap()
}

fn ledger_id(ledger: usize) -> LedgerId {
    numbered(1, ledger)
}

fn user_id(user: usize) -> UserId {
    numbered(2, user)
}

/// Expense and budget ids are unique across ledgers, as UUIDs are.
fn expense_id(ledger: usize, n: usize) -> ExpenseId {
    numbered(0x30 + u16::try_from(ledger).unwrap(), n)
}

fn budget_id(ledger: usize, slot: usize) -> BudgetId {
    numbered(0x40 + u16::try_from(ledger).unwrap(), slot)
}

/// The moment the event at `position` was recorded: a minute per event.
fn time_of(position: i64) -> DateTime<Utc> {
    DateTime::UNIX_EPOCH + Duration::days(20_400) + Duration::minutes(position)
}

/// What the history knows about one ledger, to write valid events for it.
#[derive(Default)]
struct LedgerModel {
    opened: bool,
    expenses: usize,
    budgets: BTreeMap<usize, BudgetId>,
}

/// A history being written: the log, and a server folding it live that appends the
/// alerts its policy asks for, as the gateway does.
struct Run {
    log: Vec<RecordedEvent>,
    versions: HashMap<String, u64>,
    server: Projections,
    ledgers: Vec<LedgerModel>,
    imports: usize,
}

impl Run {
    fn new() -> Run {
        let mut run = Run {
            log: Vec::new(),
            versions: HashMap::new(),
            server: Projections::new(),
            ledgers: (0..=LEDGERS).map(|_| LedgerModel::default()).collect(),
            imports: 0,
        };
        run.open(0);
        run
    }

    fn next_position(&self) -> i64 {
        i64::try_from(self.log.len()).unwrap() + 1
    }

    /// Opens `ledger` the first time an event is written for it, so a cut may fall
    /// before or after a ledger exists.
    fn open(&mut self, ledger: usize) {
        if self.ledgers[ledger].opened {
            return;
        }
        self.ledgers[ledger].opened = true;
        self.append(
            ledger,
            Event::LedgerOpened(LedgerOpened {
                ledger_id: ledger_id(ledger),
                name: format!("Ledger {ledger}"),
                currency: Currency::parse(Self::currency(ledger)).unwrap(),
                timezone: "Europe/Berlin".into(),
                owner: user_id(0),
            }),
        );
    }

    /// Two currencies, so amounts are checked against each one's precision.
    fn currency(ledger: usize) -> &'static str {
        if ledger == 0 {
            "EUR"
        } else {
            "JPY"
        }
    }

    /// An amount of `cents` hundredths in `ledger`'s currency; JPY has no minor
    /// units, so there it is whole yen.
    fn money(ledger: usize, cents: i64) -> Amount {
        match Self::currency(ledger) {
            "JPY" => Amount::parse(&cents.to_string(), Currency::parse("JPY").unwrap()).unwrap(),
            currency => amount(cents, currency),
        }
    }

    fn append(&mut self, ledger: usize, event: Event) {
        let ledger_id = ledger_id(ledger);
        let stream_id = event.stream(ledger_id);
        let position = self.next_position();
        let version = self.versions.entry(stream_id.to_string()).or_insert(0);
        *version += 1;
        let metadata = match event {
            Event::ExpenseRecorded(_) => json!({ "actor": user_id(0) }).to_string(),
            _ => "{}".to_owned(),
        };
        let recorded = RecordedEvent {
            position: Position::new(position).unwrap(),
            ledger_id,
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
        };
        self.log.push(recorded.clone());
        let applied = self
            .server
            .apply_with_alerts(&recorded)
            .expect("every generated event folds");
        for pending in applied.alerts {
            self.append(ledger, Event::BudgetAlertRaised(pending.event));
        }
    }

    fn play(&mut self, op: Op) {
        match op {
            Op::Record {
                ledger,
                cents,
                date,
                category,
                merchant,
                note,
                tags,
                foreign,
            } => {
                self.open(ledger);
                let n = self.ledgers[ledger].expenses;
                self.ledgers[ledger].expenses += 1;
                let event = ExpenseRecorded {
                    expense_id: expense_id(ledger, n),
                    amount: Self::money(ledger, cents),
                    occurred_on: date,
                    category: CATEGORIES[category].into(),
                    merchant: merchant.map(|m| MERCHANTS[m].into()),
                    description: note.map(|n| NOTES[n].into()),
                    tags: tags.iter().map(|t| format!("tag{t}")).collect(),
                    original_amount: foreign.map(|c| amount(c, "USD")),
                    original_currency: foreign.map(|_| Currency::parse("USD").unwrap()),
                    import_id: foreign.map(|_| numbered::<ImportId>(5, n)),
                };
                self.append(ledger, Event::ExpenseRecorded(event));
            }
            Op::Amend {
                ledger,
                target,
                cents,
                date,
                category,
                merchant,
                note,
                tags,
            } => {
                let count = self.ledgers[ledger].expenses;
                if count == 0 {
                    return;
                }
                let event = ExpenseAmended {
                    expense_id: expense_id(ledger, target % count),
                    amount: cents.map(|c| Self::money(ledger, c)),
                    occurred_on: date,
                    category: category.map(|c| CATEGORIES[c].into()),
                    merchant: merchant.map(|m| m.map(|m| MERCHANTS[m].into())),
                    description: note.map(|n| n.map(|n| NOTES[n].into())),
                    tags: tags.map(|tags| tags.iter().map(|t| format!("tag{t}")).collect()),
                };
                self.append(ledger, Event::ExpenseAmended(event));
            }
            Op::Delete { ledger, target } => {
                let count = self.ledgers[ledger].expenses;
                if count == 0 {
                    return;
                }
                let expense_id = expense_id(ledger, target % count);
                self.append(ledger, Event::ExpenseDeleted(ExpenseDeleted { expense_id }));
            }
            Op::SetBudget {
                ledger,
                slot,
                category,
                limit_cents,
                period,
                thresholds,
            } => {
                self.open(ledger);
                let id = budget_id(ledger, slot);
                self.ledgers[ledger].budgets.insert(slot, id);
                self.append(
                    ledger,
                    Event::BudgetSet(BudgetSet {
                        budget_id: id,
                        category: category.map(|c| CATEGORIES[c].to_owned()),
                        amount: Self::money(ledger, limit_cents),
                        period: PERIODS[period],
                        thresholds,
                    }),
                );
            }
            Op::RemoveBudget { ledger, slot } => {
                let Some(budget_id) = self.ledgers[ledger].budgets.remove(&slot) else {
                    return;
                };
                self.append(ledger, Event::BudgetRemoved(BudgetRemoved { budget_id }));
            }
            Op::Snooze {
                ledger,
                slot,
                hours,
            } => {
                let Some(budget_id) = self.ledgers[ledger].budgets.get(&slot).copied() else {
                    return;
                };
                let until = time_of(self.next_position()) + Duration::hours(hours);
                self.append(
                    ledger,
                    Event::AlertSnoozed(AlertSnoozed { budget_id, until }),
                );
            }
            Op::Grant { ledger, user, role } => {
                self.open(ledger);
                self.append(
                    ledger,
                    Event::MemberGranted(MemberGranted {
                        user_id: user_id(user),
                        role: ROLES[role],
                    }),
                );
            }
            Op::Revoke { ledger, user } => {
                self.open(ledger);
                self.append(
                    ledger,
                    Event::MemberRevoked(MemberRevoked {
                        user_id: user_id(user),
                    }),
                );
            }
            Op::Import { ledger } => {
                self.imports += 1;
                self.append(
                    ledger,
                    Event::ImportStarted(ImportStarted {
                        import_id: numbered(6, self.imports),
                        format: "csv".into(),
                        file_name: None,
                        rows: 1,
                    }),
                );
            }
        }
    }
}
