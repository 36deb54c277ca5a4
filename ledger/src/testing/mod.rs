//! Fresh databases for tests: a new PostgreSQL database or SQLite file per test.
//!
//! PostgreSQL tests read `TEST_DATABASE_URL` (a server URL whose database may be any
//! existing one, e.g. `postgres://postgres@127.0.0.1:5432/postgres`). Without it they
//! skip and say so, unless `CI=true`, where a PostgreSQL test that cannot reach its
//! database fails.
//!
//! Beside them, the fixtures tests of the store and of the projections share:
//! `fixtures` ([`eur`], [`open_ledger`]) and [`history`], the random-history
//! generator of the property tests.

mod fixtures;
pub mod history;

use std::path::PathBuf;

use sqlx::{Connection, PgConnection};

use crate::store::Store;

pub use fixtures::{eur, open_ledger};

/// Which backend a test database is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Postgres,
    Sqlite,
}

/// A database that exists for one test and is removed when dropped.
pub struct TestDb {
    pub kind: Kind,
    /// What `Store::open` and `--database-url` take.
    pub url: String,
    admin_url: Option<String>,
    name: String,
    _dir: Option<tempfile::TempDir>,
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

impl TestDb {
    /// A fresh PostgreSQL database, or `None` (after saying why) when no server is
    /// configured outside CI.
    ///
    /// # Panics
    /// Under `CI=true` when PostgreSQL is not configured or not reachable.
    pub async fn postgres() -> Option<TestDb> {
        let Ok(admin_url) = std::env::var("TEST_DATABASE_URL") else {
            assert!(
                !in_ci(),
                "CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests must run in CI"
            );
            eprintln!("SKIPPED: PostgreSQL test (set TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres to run it)");
            return None;
        };
        let mut admin = match PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => {
                assert!(
                    !in_ci(),
                    "CI=true and PostgreSQL at TEST_DATABASE_URL is unreachable: {e}"
                );
                eprintln!("SKIPPED: PostgreSQL test, cannot connect to TEST_DATABASE_URL: {e}");
                return None;
            }
        };
        let name = format!("ledger_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::raw_sql(&format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .await
            .expect("create test database");
        let _ = admin.close().await;
        let url = replace_database(&admin_url, &name);
        Some(TestDb {
            kind: Kind::Postgres,
            url,
            admin_url: Some(admin_url),
            name,
            _dir: None,
        })
    }

    /// A fresh SQLite file in its own temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path: PathBuf = dir.path().join("ledger.db");
        TestDb {
            kind: Kind::Sqlite,
            url: format!("sqlite:{}", path.display()),
            admin_url: None,
            name: String::new(),
            _dir: Some(dir),
        }
    }

    /// Opens a store on this database.
    ///
    /// # Panics
    /// When the store cannot be opened.
    pub async fn store(&self) -> Store {
        Store::open(&self.url)
            .await
            .expect("open the store on the test database")
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(admin_url) = self.admin_url.clone() else {
            return;
        };
        let name = std::mem::take(&mut self.name);
        // Drop may run inside a runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            rt.block_on(async {
                let mut admin = PgConnection::connect(&admin_url).await.ok()?;
                sqlx::raw_sql(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// `postgres://user@host:port/db?x` with its database replaced by `name`.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let base = match base[scheme_end..].find('/') {
        Some(slash) => &base[..scheme_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{base}/{name}?{q}"),
        None => format!("{base}/{name}"),
    }
}

/// Runs each listed `async fn name(db: &TestDb)` once per backend, as the tests
/// `postgres::name` and `sqlite::name` (the PostgreSQL one skips, saying so, when no
/// server is configured outside CI).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(db) = $crate::testing::TestDb::postgres().await {
                        super::$name(&db).await;
                    }
                }
            )*
        }
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&$crate::testing::TestDb::sqlite()).await;
                }
            )*
        }
    };
}

#[cfg(test)]
mod tests {
    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            super::replace_database("postgres://u@h:5432/postgres", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(
            super::replace_database("postgres://u@h", "x"),
            "postgres://u@h/x"
        );
        assert_eq!(
            super::replace_database("postgres://u@h/db?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
