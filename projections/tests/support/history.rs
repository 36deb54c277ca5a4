// The playing half of the random-history generator shared by `quiet.rs` and
// `snapshots.rs`: the operations and their strategies are `ledger::testing::history`;
// here they become events for two ledgers, folded live by a server that appends the
// alerts its policy asks for, as the gateway does. Included as text (`include!`) so
// each test binary gets its own copy without a library crate for tests; it expects
// the `use` lines of those files.

use ledger::testing::history::{
    amount, date_of as d, numbered, op, time_of, MemoryLog, Op, CATEGORIES,
    MERCHANTS, NOTES, PERIODS, ROLES,
};

/// Ledgers events are written to; imports also go to one more, never opened.
const LEDGERS: usize = 2;

/// An operation on one of the `LEDGERS` ledgers.
fn any_op() -> impl Strategy<Value = Op> {
    op(LEDGERS)
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
    log: MemoryLog,
    server: Projections,
    ledgers: Vec<LedgerModel>,
    imports: usize,
}

impl Run {
    fn new() -> Run {
        let mut run = Run {
            log: MemoryLog::default(),
            server: Projections::new(),
            ledgers: (0..=LEDGERS).map(|_| LedgerModel::default()).collect(),
            imports: 0,
        };
        run.open(0);
        run
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
        let recorded = self.log.append(ledger_id(ledger), &event, user_id(0));
        let applied = self
            .server
            .apply_with_alerts(recorded)
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
                let until = time_of(self.log.next_position()) + Duration::hours(hours);
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
