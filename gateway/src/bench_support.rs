//! What the `ledger-bench` crate drives in-process: the statement import pipeline,
//! measured without HTTP in front of it, and the generator of made-up data. A narrow
//! door rather than making `imports` public, so the pipeline's insides stay free to
//! change; hidden from the docs because nothing else should lean on it.

use std::sync::Arc;

use ledger::{Currency, ImportId, ImportState, LedgerId, Position, Store, StoreError};
use projections::Live;

use crate::imports::{self, ImportQuery, Imports};

pub use crate::random::Random;

/// The most rows one statement may hold.
pub const MAX_ROWS: usize = imports::request::MAX_ROWS;

/// A statement parsed with the default options (as an upload without query options),
/// each row already the expense it would record; not yet announced or deduplicated.
pub struct PreparedImport(imports::request::Prepared);

impl PreparedImport {
    /// Parses `bytes` as a statement of `ledger`, in `currency`.
    ///
    /// # Errors
    /// Why the statement is refused, as the upload's 422 would say it.
    pub fn parse(bytes: &[u8], ledger: LedgerId, currency: Currency) -> Result<Self, String> {
        imports::prepare(
            bytes,
            &ImportQuery::default(),
            ledger,
            currency,
            ImportId::new(),
        )
        .map(Self)
        .map_err(|refused| refused.message)
    }

    /// Each row's stream and event payload, exactly as the import command writes them,
    /// in the statement's order.
    pub fn expense_events(&self, ledger: LedgerId) -> Vec<(String, String)> {
        let prepared = &self.0;
        let start = ledger::commands::import::StartImport {
            import_id: prepared.import_id,
            format: prepared.format.clone(),
            file_name: None,
            rows: prepared.rows.len() as u64,
        };
        let mut append = ledger::commands::import::start(ledger, start, None);
        for draft in &prepared.rows {
            append.record(draft.expense.clone());
        }
        let request = append.complete(0, Vec::new());
        // Between ImportStarted and ImportCompleted: one write per row.
        request.writes[1..request.writes.len() - 1]
            .iter()
            .map(|write| (write.stream.to_string(), write.events[0].encode()))
            .collect()
    }
}

/// How an import ended.
#[derive(Debug)]
pub struct ImportOutcome {
    pub state: ImportState,
    pub imported: u64,
    /// As `GET .../imports/{iid}` reports it: the import's last position, or the
    /// position an import of only duplicates was checked against.
    pub position: Option<Position>,
    /// Why it failed or was cancelled.
    pub message: Option<String>,
}

/// This process's import pipeline over `store`, deduplicating against `live`.
pub struct ImportPipeline(Arc<Imports>);

impl ImportPipeline {
    pub fn new(store: Store, live: Arc<Live>) -> Self {
        Self(Imports::new(store, live))
    }

    /// Runs one import to its end (deduplicate, one atomic append) in this task.
    ///
    /// # Errors
    /// When the import cannot be recorded.
    pub async fn run(&self, prepared: PreparedImport) -> Result<ImportOutcome, StoreError> {
        let status = self.0.run(prepared.0, None).await?;
        Ok(ImportOutcome {
            state: status.state,
            imported: status.imported,
            position: status.position,
            message: status.message,
        })
    }
}
