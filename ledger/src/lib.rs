//! # ledger: events, money and the append-only log
//!
//! Everything else in the workspace stands on this crate: the typed events, exact
//! money, and one ordered, tamper-evident event log on PostgreSQL or SQLite.
//!
//! ## Layout
//!
//! - [`ids`]: typed UUIDs, stream names and log positions.
//! - [`money`]: ISO-4217 currencies and exact amounts at their precision.
//! - [`event`]: the domain events, their schema versions and upcasters.
//! - [`text`]: categories, merchants, descriptions, names and tags as newtypes
//!   parsed once at the boundary; every text limit is there.
//! - `timezone`: a ledger's time zone, checked against the IANA database.
//! - [`commands`]: every change a user can ask for, decided without I/O: parsed
//!   input and current state in, the [`AppendRequest`] to append (or a
//!   [`CommandError`]) out; one file per aggregate.
//! - `recorded`: an event as stored, with its position, metadata and hashes.
//! - `chain`: the per-ledger hash chain and its verifier.
//! - `checkpoint`: saved projection state, per ledger, beside the projection's position.
//! - `append`: what an append asks for and answers; checks that need no database.
//! - `batch`: group commit's decisions (positions, versions, hashes), free of I/O.
//! - `store`: the [`Store`] facade: appends, reads, streams and tails; beside it in
//!   `store/`, the backend enum and its dispatch, group commit (the task that turns
//!   queued appends into transactions), batched reads and tails.
//! - `import_record`: what the store keeps about each statement import beside the
//!   log (state, summary, the process running it).
//! - `user`: the directory of users and their named, revocable, hashed tokens.
//! - `profile`: what users say about themselves (email, locale), parsed.
//! - `postgres/`, `sqlite/`: the two backends, a file per concern (append, reads,
//!   checkpoints, users, tokens, profiles, imports); all SQL outside `schema/` lives
//!   there. They know nothing of the store; the store reaches them through its
//!   backend enum.
//! - `error`: the errors of this crate's boundary.
//! - [`testing`] (feature `testing`): fresh test databases on both backends, shared
//!   fixtures and the random-history generator of the property tests.

mod append;
mod batch;
mod chain;
mod checkpoint;
pub mod commands;
mod error;
pub mod event;
pub mod ids;
mod import_record;
pub mod money;
mod postgres;
mod profile;
mod recorded;
mod sqlite;
mod store;
#[cfg(feature = "testing")]
pub mod testing;
pub mod text;
mod timezone;
mod user;

pub use append::{
    AppendRequest, Appended, ExpectedVersion, StreamWrite, MAX_EVENTS_PER_APPEND,
    MAX_IDEMPOTENCY_KEY_BYTES, MAX_METADATA_BYTES, MAX_PAYLOAD_BYTES,
};
pub use chain::{ChainVerifier, Hash, Verification};
pub use checkpoint::{Checkpoint, LedgerState};
pub use commands::CommandError;
pub use error::{AppendError, DecodeError, MoneyError, ParseIdError, StoreError};
pub use event::Event;
pub use ids::{
    BudgetId, EventId, ExpenseId, ImportId, LedgerId, Position, StreamId, StreamKind, UserId,
};
pub use import_record::{ImportRecord, ImportState};
pub use money::{Amount, Currency};
pub use profile::{Email, Locale, Profile, ProfileError};
pub use recorded::{LogEntry, Metadata, RecordedEvent};
pub use store::{Entries, Store, StoreOptions, Tail};
pub use text::{Category, Description, LedgerName, Merchant, Tag, TextError, TokenName, UserName};
pub use timezone::Timezone;
pub use user::{
    TokenCreated, TokenHash, TokenId, TokenInfo, TokenOwner, User, MAX_TOKENS_PER_USER,
    MAX_USER_NAME,
};
