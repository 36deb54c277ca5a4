//! A PostgreSQL database made for one benchmark run and dropped after it, so runs
//! never see each other's rows.

use anyhow::Context;
use sqlx::{Connection, PgConnection};

/// A database created for one benchmark run on a PostgreSQL server, dropped at the end.
pub(crate) struct ScratchPostgres {
    pub(crate) url: String,
    server_url: String,
    name: String,
}

impl ScratchPostgres {
    pub(crate) async fn create(server_url: &str) -> anyhow::Result<Self> {
        let mut admin = PgConnection::connect(server_url).await.with_context(|| {
            format!("connecting to PostgreSQL at {server_url} (set --postgres-url)")
        })?;
        let name = format!("ledger_bench_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await?;
        let base = server_url.split('?').next().unwrap_or(server_url);
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let host = match base[scheme_end..].find('/') {
            Some(i) => &base[..scheme_end + i],
            None => base,
        };
        Ok(Self {
            url: format!("{host}/{name}"),
            server_url: server_url.to_owned(),
            name,
        })
    }

    pub(crate) async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.server_url).await?;
        sqlx::raw_sql(&format!(
            "DROP DATABASE IF EXISTS {} WITH (FORCE)",
            self.name
        ))
        .execute(&mut admin)
        .await?;
        Ok(())
    }
}
