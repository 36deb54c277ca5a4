//! Deduplication: new rows, duplicates, and hand-recorded look-alikes.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use ledger::ExpenseId;
use rust_decimal::Decimal;

use crate::imports::request::Prepared;
use crate::imports::status::{PossibleDuplicate, Stage};

use super::{Found, Imports, Running, Stop, CHUNK, MAX_POSSIBLE_DUPLICATES, NEAR_DAYS};

impl Imports {
    /// Splits the rows into new ones and duplicates (already in the ledger, even if
    /// deleted since, or repeated in the file), and finds hand-recorded expenses
    /// that look like new rows.
    pub(super) async fn deduplicate(
        &self,
        running: &Running,
        prepared: &Prepared,
    ) -> Result<Found, Stop> {
        let ledger = prepared.ledger;
        let manual = self
            .live
            .read(|p| p.ledger(ledger).map(manual_index))
            .ok_or_else(|| Stop::Failed(format!("no ledger {ledger}")))?;
        let mut found = Found::default();
        let mut seen: HashSet<ExpenseId> = HashSet::with_capacity(prepared.rows.len());
        self.progress(running, Stage::Deduplicating, 0);
        let mut done = 0;
        for chunk in prepared.rows.chunks(CHUNK) {
            self.check(running)?;
            let start = found.fresh.len();
            self.live.read(|p| {
                let expenses = p.ledger(ledger).map(|l| l.expenses());
                for (i, draft) in chunk.iter().enumerate() {
                    let id = draft.expense.expense_id;
                    let known = expenses.is_some_and(|e| e.get(id).is_some());
                    if known || !seen.insert(id) {
                        found.duplicates += 1;
                    } else {
                        found.fresh.push(done + i);
                    }
                }
            });
            for &i in &found.fresh[start..] {
                let draft = &prepared.rows[i];
                let key = draft.expense.amount.as_decimal().normalize();
                let Some(candidates) = manual.get(&key) else {
                    continue;
                };
                for &(day, expense_id) in candidates {
                    let apart = (day - draft.expense.occurred_on).num_days().abs();
                    if apart <= NEAR_DAYS && found.possible.len() < MAX_POSSIBLE_DUPLICATES {
                        found.possible.push(PossibleDuplicate {
                            line: draft.line,
                            expense_id,
                        });
                    }
                }
            }
            done += chunk.len();
            self.progress(running, Stage::Deduplicating, done as u64);
            self.pace().await;
        }
        Ok(found)
    }
}

/// Live expenses recorded by hand, by amount: what an imported row may duplicate.
fn manual_index(
    ledger: &projections::LedgerProjection,
) -> HashMap<Decimal, Vec<(NaiveDate, ExpenseId)>> {
    let mut index: HashMap<Decimal, Vec<(NaiveDate, ExpenseId)>> = HashMap::new();
    for e in ledger.expenses().iter() {
        if e.deleted || e.import_id().is_some() {
            continue;
        }
        index
            .entry(e.amount.as_decimal().normalize())
            .or_default()
            .push((e.occurred_on, e.expense_id));
    }
    index
}
