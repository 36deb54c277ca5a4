//! # projections: read models folded from the log
//!
//! Pure folds, free of I/O: each [`RecordedEvent`](ledger::RecordedEvent) goes into
//! [`Projections::apply`], which updates every read model of its ledger and returns
//! the [`Delta`]s to push to subscribers, or into [`Projections::apply_quietly`],
//! which reaches the same state without working out deltas or alerts (rebuilds).
//! Checkpoints, tailing and sockets wrap this from outside.
//!
//! # Layout
//!
//! - `projections`: [`Projections`], every ledger's read models, `apply` and
//!   `apply_quietly`.
//! - `ledger_projection`: [`LedgerProjection`], one ledger's models and the fold of
//!   each event type into them.
//! - `delta`: [`Delta`] and [`Change`], what one event changed, ready for the wire.
//! - `expenses`: [`Expenses`], the current state of every expense.
//! - `budgets`: [`Budgets`], definitions, spending per period and [`BudgetStatus`].
//! - `analytics`: [`Analytics`], totals by day, month, category and merchant.
//! - `alerts`: [`Alerts`], the alert history, and [`alerts_to_raise`], the policy.
//! - `members`: [`Members`], who may do what in a ledger.
//! - `derived`: indexes and aggregates built from a ledger's data on first read, then
//!   kept current.
//! - `period`: budget periods (month, ISO week, year) of a date.
//! - `money`: [`Money`], sums at the ledger currency's precision.
//! - `tally`: sums that count their contributors, so empty entries disappear.
//! - `snapshot/`: [`LedgerSnapshot`], one ledger's read models as saved in a checkpoint
//!   (`records`: the saved form of each fact).
//! - `error`: [`ProjectionError`], an event that could not be folded; [`RunError`].
//!
//! Around the folds, with I/O:
//! - `checkpoint`: saving the ledgers that changed, and resuming from the last save.
//! - `rebuild`: folding the log from the start, and one ledger as of a position or time.
//! - `runner`: the live read models: follow the log, publish deltas, raise alerts.

mod alerts;
mod analytics;
mod budgets;
mod checkpoint;
mod delta;
mod derived;
mod error;
mod expenses;
mod ledger_projection;
mod members;
mod money;
mod period;
mod projections;
mod rebuild;
mod runner;
mod snapshot;
mod tally;

pub use alerts::{alerts_to_raise, severity, Alert, AlertKey, Alerts, PendingAlert};
pub use analytics::{Analytics, AnalyticsChange, AnalyticsSnapshot, MerchantTotal, TOP_MERCHANTS};
pub use budgets::{utilization, BudgetDefinition, BudgetState, BudgetStatus, Budgets};
pub use checkpoint::{load as load_checkpoint, save as save_checkpoint, CHECKPOINT};
pub use delta::{Change, Delta, Topic};
pub use error::{ProjectionError, RunError};
pub use expenses::{Expense, Expenses};
pub use ledger_projection::LedgerProjection;
pub use members::Members;
pub use money::Money;
pub use period::{month_key, parse_period_label, period_end, period_label, period_start};
pub use projections::{Applied, DecodedEvent, Projections};
pub use rebuild::{ledger_at_position, ledger_at_time, rebuild, Progress};
pub use runner::{start, DeltaBatch, Live, LiveOptions, LiveStatus};
pub use snapshot::{LedgerSnapshot, SnapshotError};
