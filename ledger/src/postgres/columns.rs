//! Rows turned into one array per column, the shape `UNNEST` and the schema's
//! `ledger_append_if_unchanged` take them in.

use chrono::{DateTime, Utc};
use sqlx::Postgres;
use uuid::Uuid;

use crate::batch::{KeyRow, Row};

/// Rows turned into one array per column, for `UNNEST`.
pub(super) struct EventColumns<'a> {
    position: Vec<i64>,
    ledger: Vec<Uuid>,
    stream: Vec<String>,
    version: Vec<i64>,
    event_id: Vec<Uuid>,
    event_type: Vec<&'a str>,
    schema: Vec<i16>,
    payload: Vec<&'a str>,
    metadata: Vec<&'a str>,
    recorded_at: Vec<DateTime<Utc>>,
    prev_hash: Vec<&'a [u8]>,
    hash: Vec<&'a [u8]>,
}

impl<'a> From<&'a [Row<'a>]> for EventColumns<'a> {
    fn from(rows: &'a [Row<'a>]) -> Self {
        EventColumns {
            position: rows.iter().map(|r| r.position.get()).collect(),
            ledger: rows.iter().map(|r| r.ledger_id.as_uuid()).collect(),
            stream: rows.iter().map(|r| r.stream_id.to_string()).collect(),
            version: rows.iter().map(|r| r.stream_version as i64).collect(),
            event_id: rows.iter().map(|r| r.event_id.as_uuid()).collect(),
            event_type: rows.iter().map(|r| r.event_type).collect(),
            schema: rows.iter().map(|r| r.schema_version as i16).collect(),
            payload: rows.iter().map(|r| r.payload).collect(),
            metadata: rows.iter().map(|r| r.metadata).collect(),
            recorded_at: rows.iter().map(|r| r.recorded_at).collect(),
            prev_hash: rows.iter().map(|r| r.prev_hash.as_bytes()).collect(),
            hash: rows.iter().map(|r| r.hash.as_bytes()).collect(),
        }
    }
}

impl<'a> EventColumns<'a> {
    /// Binds the twelve columns, in table order, as the query's next parameters.
    pub(super) fn bind<'q, Q: BindArrays<'q>>(&'q self, query: Q) -> Q {
        query
            .bind(&self.position)
            .bind(&self.ledger)
            .bind(&self.stream)
            .bind(&self.version)
            .bind(&self.event_id)
            .bind(&self.event_type)
            .bind(&self.schema)
            .bind(&self.payload)
            .bind(&self.metadata)
            .bind(&self.recorded_at)
            .bind(&self.prev_hash)
            .bind(&self.hash)
    }
}

/// Queries and scalar queries alike take the column arrays.
pub(super) trait BindArrays<'q>: Sized {
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>;
}

impl<'q> BindArrays<'q> for sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        sqlx::query::Query::bind(self, value)
    }
}

impl<'q, O> BindArrays<'q>
    for sqlx::query::QueryScalar<'q, Postgres, O, sqlx::postgres::PgArguments>
{
    fn bind<T>(self, value: T) -> Self
    where
        T: 'q + sqlx::Encode<'q, Postgres> + sqlx::Type<Postgres>,
    {
        sqlx::query::QueryScalar::bind(self, value)
    }
}

pub(super) struct KeyColumns<'a> {
    pub(super) ledgers: Vec<Uuid>,
    pub(super) names: Vec<&'a str>,
    pub(super) fingerprints: Vec<&'a [u8]>,
    pub(super) answers: Vec<&'a str>,
}

impl<'a> From<&'a [KeyRow<'a>]> for KeyColumns<'a> {
    fn from(keys: &'a [KeyRow<'a>]) -> Self {
        KeyColumns {
            ledgers: keys.iter().map(|k| k.ledger_id.as_uuid()).collect(),
            names: keys.iter().map(|k| k.key).collect(),
            fingerprints: keys.iter().map(|k| k.fingerprint.as_bytes()).collect(),
            answers: keys.iter().map(|k| k.answer.as_str()).collect(),
        }
    }
}
