//! Checkpoint snapshots of one ledger's read models, so a restart resumes from saved
//! state instead of replaying the whole log.
//!
//! A snapshot holds the ledger's source facts only: its header and position, the
//! members, every expense as it stands (deleted ones included), the budget
//! definitions and the alert history. Everything derived from them (budget spending
//! per period, analytics by day, month, category and merchant, the merchant ranking,
//! the expenses' date index) is built on first read by adding each live expense's
//! contribution the way the fold does, as after a rebuild (see `derived`); the budget
//! index is rebuilt on restore. Those structures can therefore change shape
//! without invalidating saved checkpoints.
//!
//! The format is this module's own record types rather than the read models' or the
//! wire's serializations, so a change to either cannot silently change what is
//! saved. It carries a `schema_version`; a snapshot this build cannot restore
//! faithfully (malformed, another version, unknown fields, or contents the fold could
//! never have produced) is a [`SnapshotError`], and the caller rebuilds from the log,
//! which is always correct, only slower.
//!
//! ## Layout
//!
//! - this file: [`LedgerSnapshot`], taking one and restoring it, with the checks
//!   that refuse what the fold could never have produced.
//! - `records`: the saved form of each source fact (members, expenses, budgets,
//!   alerts) and its conversion to and from the read models' types.

mod records;

use std::collections::{BTreeMap, BTreeSet};

use ledger::{Currency, LedgerId, Position};
use serde::{Deserialize, Serialize};

use crate::alerts::{Alert, AlertKey, Alerts};
use crate::budgets::Budgets;
use crate::expenses::Expenses;
use crate::ledger_projection::LedgerProjection;
use crate::members::Members;
use crate::projections::Projections;

use records::{AlertKeyRecord, AlertRecord, BudgetRecord, ExpenseRecord, MemberRecord};

/// Why a snapshot was not restored. Nothing is half-restored: the caller gets no
/// state and rebuilds from the log instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SnapshotError {
    /// Not a snapshot this build can read: bad JSON, a missing or unknown field, a
    /// value of the wrong type.
    #[error("snapshot is malformed: {reason}")]
    Malformed { reason: String },
    /// Written in a format other than the one this build reads.
    #[error("snapshot schema version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion { found: u16, supported: u16 },
    /// Reads fine but describes a state the fold could never have produced (an amount
    /// its currency cannot hold, an expense listed twice, ...).
    #[error("snapshot of ledger {ledger} is inconsistent: {reason}")]
    Inconsistent { ledger: LedgerId, reason: String },
}

/// One ledger's source facts, as saved in a checkpoint.
///
/// Build it with [`LedgerProjection::snapshot`] and turn it back into read models with
/// [`LedgerProjection::restore`]; in between it is plain serde (see
/// [`LedgerSnapshot::to_json`] and [`LedgerSnapshot::from_json`]). Every list is in a
/// fixed order (ids, or fold order for the alert history), so equal states give
/// byte-identical JSON.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
// Unknown fields mean a writer that knew something this build does not: restoring
// without it could be wrong, while rebuilding from the log never is.
#[serde(deny_unknown_fields)]
pub struct LedgerSnapshot {
    schema_version: u16,
    ledger_id: LedgerId,
    name: String,
    currency: Currency,
    timezone: String,
    /// The position of the last event of this ledger folded in.
    position: Position,
    /// In user id order.
    members: Vec<MemberRecord>,
    /// In expense id order, deleted ones included.
    expenses: Vec<ExpenseRecord>,
    /// In budget id order.
    budgets: Vec<BudgetRecord>,
    /// Oldest first, as folded.
    alerts: Vec<AlertRecord>,
    /// The keys the policy consults before raising an alert, in key order.
    raised: Vec<AlertKeyRecord>,
}

impl LedgerSnapshot {
    /// The format this build writes and the only one it reads.
    pub const SCHEMA_VERSION: u16 = 1;

    pub fn schema_version(&self) -> u16 {
        self.schema_version
    }

    pub fn ledger_id(&self) -> LedgerId {
        self.ledger_id
    }

    /// The position of the last event of this ledger the snapshot reflects.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The snapshot as JSON text, the form a checkpoint stores.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, bool, or a list or struct of those (no map
        // with non-string keys, no fallible `Serialize`), so this cannot fail.
        serde_json::to_string(self).expect("ledger snapshots always serialize")
    }

    /// Reads a snapshot written by [`LedgerSnapshot::to_json`].
    ///
    /// # Errors
    /// [`SnapshotError::UnsupportedVersion`] for another `schema_version`, checked
    /// before the rest so another format is reported as such rather than as
    /// malformed; [`SnapshotError::Malformed`] for anything else unreadable.
    pub fn from_json(json: &str) -> Result<LedgerSnapshot, SnapshotError> {
        /// Only the version, whatever the rest looks like.
        #[derive(Deserialize)]
        struct Version {
            schema_version: u16,
        }
        let malformed = |e: serde_json::Error| SnapshotError::Malformed {
            reason: e.to_string(),
        };
        let Version { schema_version } = serde_json::from_str(json).map_err(malformed)?;
        check_version(schema_version)?;
        serde_json::from_str(json).map_err(malformed)
    }
}

fn check_version(found: u16) -> Result<(), SnapshotError> {
    if found == LedgerSnapshot::SCHEMA_VERSION {
        Ok(())
    } else {
        Err(SnapshotError::UnsupportedVersion {
            found,
            supported: LedgerSnapshot::SCHEMA_VERSION,
        })
    }
}

impl LedgerProjection {
    /// This ledger's source facts, to save in a checkpoint.
    pub fn snapshot(&self) -> LedgerSnapshot {
        let mut history: Vec<&Alert> = self.alerts().newest_first().collect();
        history.reverse();
        LedgerSnapshot {
            schema_version: LedgerSnapshot::SCHEMA_VERSION,
            ledger_id: self.ledger_id(),
            name: self.name().to_owned(),
            currency: self.currency(),
            timezone: self.timezone().to_owned(),
            position: self.position(),
            members: self
                .members()
                .iter()
                .map(|(user_id, role)| MemberRecord { user_id, role })
                .collect(),
            expenses: self.expenses().iter().map(ExpenseRecord::of).collect(),
            budgets: (self.budget_definitions().definitions())
                .map(BudgetRecord::of)
                .collect(),
            alerts: history.into_iter().map(AlertRecord::of).collect(),
            raised: self.alerts().raised().map(AlertKeyRecord::of).collect(),
        }
    }

    /// The read models `snapshot` was taken of: the source facts as saved, and every
    /// aggregate rebuilt from the live expenses through the same additions the fold
    /// makes, so the result equals the state that was saved.
    ///
    /// # Errors
    /// [`SnapshotError::UnsupportedVersion`] for another `schema_version`, and
    /// [`SnapshotError::Inconsistent`] for contents the fold could never have
    /// produced: a position before any event, a member, expense or budget listed
    /// twice, an amount its currency cannot hold, a budget limit that is not
    /// positive, alerts out of order or after the ledger's position, or raised keys
    /// that disagree with the alert history.
    pub fn restore(snapshot: LedgerSnapshot) -> Result<LedgerProjection, SnapshotError> {
        check_version(snapshot.schema_version)?;
        let LedgerSnapshot {
            schema_version: _,
            ledger_id,
            name,
            currency,
            timezone,
            position,
            members,
            expenses,
            budgets,
            alerts,
            raised,
        } = snapshot;
        let fail = |reason: String| SnapshotError::Inconsistent {
            ledger: ledger_id,
            reason,
        };
        if position <= Position::ZERO {
            return Err(fail(format!("position {position} is before any event")));
        }

        let mut roles = Members::default();
        for MemberRecord { user_id, role } in members {
            if roles.role(user_id).is_some() {
                return Err(fail(format!("member {user_id} is listed twice")));
            }
            roles.grant(user_id, role);
        }

        let mut definitions = Budgets::new(currency);
        for record in budgets {
            let id = record.budget_id;
            if definitions.get(id).is_some() {
                return Err(fail(format!("budget {id} is listed twice")));
            }
            let budget = record
                .into_definition(currency)
                .map_err(|reason| fail(format!("budget {id}: {reason}")))?;
            definitions.put(budget);
        }

        let mut all = Expenses::default();
        for record in expenses {
            let id = record.expense_id;
            if all.get(id).is_some() {
                return Err(fail(format!("expense {id} is listed twice")));
            }
            let expense = record
                .into_expense(currency)
                .map_err(|reason| fail(format!("expense {id}: {reason}")))?;
            all.upsert(expense);
        }

        let raised: BTreeSet<AlertKey> = raised.into_iter().map(AlertKeyRecord::key).collect();
        let mut keys = BTreeSet::new();
        let mut history = Vec::with_capacity(alerts.len());
        let mut previous = Position::ZERO;
        for record in alerts {
            if record.position <= previous || record.position > position {
                return Err(fail(format!(
                    "an alert at position {} is out of order (after {previous}, up to {position})",
                    record.position
                )));
            }
            previous = record.position;
            let alert = record
                .into_alert(currency)
                .map_err(|reason| fail(format!("alert at position {previous}: {reason}")))?;
            keys.insert(AlertKey {
                budget_id: alert.budget_id,
                armed_by_version: alert.armed_by_version,
                period_start: alert.period_start,
                threshold: alert.threshold,
            });
            history.push(alert);
        }
        // The fold keeps the raised keys equal to the history's. They are saved anyway,
        // being what the policy consults, and checked here: a snapshot where the two
        // disagree is corrupt, and restoring it could raise an alert twice or never.
        if raised != keys {
            return Err(fail(
                "the raised alert keys do not match the alert history".into(),
            ));
        }

        Ok(LedgerProjection::restored(
            ledger_id,
            name,
            currency,
            timezone,
            position,
            roles,
            all,
            definitions,
            Alerts::restored(history, raised),
        ))
    }
}

impl Projections {
    /// `ledger`'s snapshot as JSON, the text a checkpoint saves for it; `None` for a
    /// ledger that was never opened.
    pub fn snapshot_json(&self, ledger: LedgerId) -> Option<String> {
        self.ledger(ledger).map(|l| l.snapshot().to_json())
    }

    /// The projections a checkpoint saved: `position` is the overall position it was
    /// taken at, and `ledgers` holds one snapshot's JSON per ledger. Nothing is marked
    /// changed (see [`Projections::take_changed`]): the checkpoint already holds it.
    ///
    /// # Errors
    /// Any snapshot's error (see [`LedgerSnapshot::from_json`] and
    /// [`LedgerProjection::restore`]), and [`SnapshotError::Inconsistent`] when a
    /// ledger appears twice or reflects events past `position`.
    pub fn restore(
        position: Position,
        ledgers: impl IntoIterator<Item = String>,
    ) -> Result<Projections, SnapshotError> {
        let mut restored = BTreeMap::new();
        for json in ledgers {
            let ledger = LedgerProjection::restore(LedgerSnapshot::from_json(&json)?)?;
            let id = ledger.ledger_id();
            let fail = |reason: String| SnapshotError::Inconsistent { ledger: id, reason };
            if ledger.position() > position {
                return Err(fail(format!(
                    "its position {} is past the checkpoint's {position}",
                    ledger.position()
                )));
            }
            if restored.insert(id, ledger).is_some() {
                return Err(fail("it has two snapshots".into()));
            }
        }
        Ok(Projections::restored(position, restored))
    }
}

#[cfg(test)]
mod tests;
