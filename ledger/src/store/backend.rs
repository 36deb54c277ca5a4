//! The two storage engines behind one store, and the dispatch that calls whichever
//! is open. The facade (`store/mod.rs`) and the committer reach a backend only
//! through here; the backends know nothing of the store.

use chrono::{DateTime, Utc};

use crate::append::{Appended, Prepared};
use crate::error::{AppendError, StoreError};
use crate::postgres::PgBackend;
use crate::sqlite::SqliteBackend;

use super::StoreOptions;

pub(crate) enum Backend {
    Postgres(PgBackend),
    Sqlite(SqliteBackend),
}

/// Runs `$body` with `$b` bound to whichever backend `$backend` holds: every backend
/// has the same methods, so one expression serves both.
macro_rules! dispatch {
    ($backend:expr, $b:ident => $body:expr) => {
        match $backend {
            $crate::store::backend::Backend::Postgres($b) => $body,
            $crate::store::backend::Backend::Sqlite($b) => $body,
        }
    };
}
pub(crate) use dispatch;

impl Backend {
    /// Connects (and migrates) the backend `url` names: `postgres://...` or
    /// `sqlite:PATH` (a bare path also means SQLite).
    pub(crate) async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres(
                PgBackend::connect(url, options.max_connections).await?,
            ))
        } else if url.contains("://") && !url.starts_with("sqlite:") {
            Err(StoreError::UnsupportedUrl(url.chars().take(80).collect()))
        } else {
            Ok(Backend::Sqlite(
                SqliteBackend::connect(url, options.max_connections).await?,
            ))
        }
    }

    /// The name of the backend, for reports: `postgres` or `sqlite`.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Backend::Postgres(_) => "postgres",
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// Decides and commits one batch of appends as one transaction.
    pub(crate) async fn commit(
        &self,
        batch: &[Prepared],
        now: DateTime<Utc>,
    ) -> Result<Vec<Result<Appended, AppendError>>, StoreError> {
        dispatch!(self, b => b.commit(batch, now).await)
    }
}
