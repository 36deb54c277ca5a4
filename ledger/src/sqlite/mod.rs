//! The SQLite backend: the embedded default, one file, nothing to install.
//!
//! One connection writes (SQLite has one writer anyway); several read, which WAL
//! allows while a write is in progress. `synchronous=FULL` makes every commit
//! durable before it is acknowledged.
//!
//! A file per concern: `append` (group commit's transactions), `reads`,
//! `checkpoints`, `users`, `tokens` (users' named tokens) and `imports`.

mod append;
mod checkpoints;
mod imports;
mod profiles;
mod reads;
mod tokens;
mod users;

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use crate::error::StoreError;
use crate::ids::Position;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../schema/sqlite");

pub(crate) struct SqliteBackend {
    writer: SqlitePool,
    readers: SqlitePool,
}

impl SqliteBackend {
    /// `max_connections` bounds the readers; there is always one writer.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let base = if url.starts_with("sqlite:") {
            SqliteConnectOptions::from_str(url)?
        } else {
            SqliteConnectOptions::new().filename(url)
        };
        let base = base
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(10));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(base.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let readers = SqlitePoolOptions::new()
            .max_connections(max_connections.clamp(1, 8))
            .connect_with(base.read_only(true))
            .await?;
        Ok(Self { writer, readers })
    }

    #[cfg(feature = "testing")]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql).execute(&self.writer).await?;
        Ok(())
    }
}

fn corrupt(position: Position, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: reason.to_string(),
    }
}
