//! The PostgreSQL backend: production storage shared by several server processes.
//!
//! One backend, a file per concern: `append` (group commit's transactions),
//! `columns` (rows as column arrays for `UNNEST`), `head_cache` (this process's
//! memory of the log's heads, for the one-statement fast path), `reads`,
//! `checkpoints`, `users`, `tokens` (users' named tokens), `imports`, and `listen` (the head moved by other
//! processes).

mod append;
mod checkpoints;
mod columns;
mod head_cache;
mod imports;
mod listen;
mod profiles;
mod reads;
mod tokens;
mod users;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

use crate::error::StoreError;
use crate::ids::Position;

use head_cache::HeadCache;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../schema/postgres");

/// The channel every committing transaction notifies with the new head.
const CHANNEL: &str = "ledger_events";

/// Rows per INSERT statement; a large append is several statements in one transaction.
const INSERT_CHUNK: usize = 5000;

#[derive(Clone)]
pub(crate) struct PgBackend {
    pool: PgPool,
    /// What this process knows of the log's heads as of the last batch it committed.
    cache: Arc<Mutex<Option<HeadCache>>>,
}

impl PgBackend {
    /// `max_connections` bounds the pool the reads and the committer share.
    pub(crate) async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        // Acknowledged means durable, whatever the server's default says.
        let connect: PgConnectOptions = url
            .parse::<PgConnectOptions>()?
            .options([("synchronous_commit", "on")]);
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(2))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(connect)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            cache: Arc::default(),
        })
    }

    #[cfg(feature = "testing")]
    pub(crate) async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }
}

fn corrupt(position: Position, reason: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt {
        position,
        reason: reason.to_string(),
    }
}
