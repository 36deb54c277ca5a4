//! A statement import: one atomic append of `ImportStarted`, an `ExpenseRecorded`
//! per new row, and `ImportCompleted`.
//!
//! The import engine builds it row by row (so it can report progress and notice a
//! cancellation on the way) with an [`ImportAppend`], which decides what the events
//! say: the count of imported rows is the count recorded, and every expense carries
//! the import's id. A cancelled import is never handed to the store, so it appends
//! nothing: no cancel command exists, by design (docs/adr/0009-command-layer.md).

use super::expense::NewExpense;
use crate::append::{AppendRequest, ExpectedVersion, StreamWrite};
use crate::event::{Event, ImportCompleted, ImportRowError, ImportStarted};
use crate::ids::{ImportId, LedgerId, StreamId, UserId};
use crate::recorded::Metadata;

/// What is known of an import when it starts.
#[derive(Clone, Debug)]
pub struct StartImport {
    pub import_id: ImportId,
    /// `csv`, `ofx` or `qif`.
    pub format: String,
    pub file_name: Option<String>,
    /// Rows the statement has, imported or not.
    pub rows: u64,
}

/// An import's append under construction: started, expenses added one by one, then
/// completed into the [`AppendRequest`].
#[derive(Debug)]
pub struct ImportAppend {
    import_id: ImportId,
    request: AppendRequest,
    imported: u64,
}

/// Starts an import's append on behalf of `actor`. The import's stream must be new:
/// an import id is appended once.
pub fn start(ledger: LedgerId, start: StartImport, actor: Option<UserId>) -> ImportAppend {
    let import_id = start.import_id;
    let started = Event::ImportStarted(ImportStarted {
        import_id,
        format: start.format,
        file_name: start.file_name,
        rows: start.rows,
    });
    let request = AppendRequest::new(
        ledger,
        StreamId::import(import_id),
        ExpectedVersion::NoStream,
        vec![started],
    )
    // Every event of the import is correlated with it.
    .metadata(Metadata {
        actor,
        correlation_id: Some(import_id.as_uuid()),
        ..Metadata::default()
    });
    ImportAppend {
        import_id,
        request,
        imported: 0,
    }
}

impl ImportAppend {
    /// Room for `rows` more expenses.
    pub fn reserve(&mut self, rows: usize) {
        self.request.writes.reserve(rows + 1);
    }

    /// Adds a new expense from the statement. Its id is expected to be new: a row
    /// another import appended meanwhile makes the whole append a version conflict.
    pub fn record(&mut self, expense: NewExpense) {
        let write: StreamWrite = expense.write(Some(self.import_id));
        self.request.writes.push(write);
        self.imported += 1;
    }

    /// Completes the append: `duplicates` rows were already in the ledger, `errors`
    /// are the rows skipped as unreadable.
    pub fn complete(mut self, duplicates: u64, errors: Vec<ImportRowError>) -> AppendRequest {
        let completed = Event::ImportCompleted(ImportCompleted {
            import_id: self.import_id,
            imported: self.imported,
            duplicates,
            errors,
        });
        self.request.writes.push(StreamWrite {
            stream: StreamId::import(self.import_id),
            expected: ExpectedVersion::Any,
            events: vec![completed],
        });
        self.request
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::ids::ExpenseId;
    use crate::money::{Amount, Currency};
    use crate::text::Category;

    fn row() -> NewExpense {
        NewExpense {
            expense_id: ExpenseId::new(),
            amount: Amount::parse("9.99", Currency::parse("EUR").unwrap()).unwrap(),
            occurred_on: NaiveDate::from_ymd_opt(2026, 1, 5).unwrap(),
            category: Category::parse("uncategorized").unwrap(),
            merchant: None,
            description: None,
            tags: Vec::new(),
            original: None,
        }
    }

    #[test]
    fn an_import_is_started_recorded_and_completed_in_one_append() {
        let (ledger, import_id, actor) = (LedgerId::new(), ImportId::new(), UserId::new());
        let mut append = start(
            ledger,
            StartImport {
                import_id,
                format: "csv".into(),
                file_name: None,
                rows: 3,
            },
            Some(actor),
        );
        append.reserve(2);
        append.record(row());
        append.record(row());
        let request = append.complete(1, vec![]);
        assert_eq!(request.metadata.correlation_id, Some(import_id.as_uuid()));
        assert_eq!(request.metadata.actor, Some(actor));
        assert_eq!(request.writes.len(), 4);
        assert_eq!(request.writes[0].expected, ExpectedVersion::NoStream);
        let Event::ExpenseRecorded(e) = &request.writes[1].events[0] else {
            panic!("not an expense")
        };
        assert_eq!(e.import_id, Some(import_id));
        assert_eq!(request.writes[1].expected, ExpectedVersion::NoStream);
        let Event::ImportCompleted(done) = &request.writes[3].events[0] else {
            panic!("not the completion")
        };
        assert_eq!((done.imported, done.duplicates), (2, 1));
    }
}
