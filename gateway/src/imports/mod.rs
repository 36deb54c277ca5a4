//! Statement imports: upload, parse, deduplicate, one atomic append, progress.
//!
//! ## Layout
//!
//! - `request`: the upload's options as the `statements` crate's, the parse, and
//!   each row as the expense it would record (all before the import is announced,
//!   so a bad file is refused at once, naming its line).
//! - `status`: what an import reports, over HTTP and as socket messages.
//! - `command`: `ledger import`, the same pipeline in-process with progress bars.
//! - `engine`: the pipeline (deduplicate, append) and this process's registry of
//!   imports: progress, cancellation, heartbeats, crash detection, shutdown.
//! - `recent`: the imports finished lately, for the imports topic's snapshot.
//!
//! See `docs/adr/0007-imports.md` for the decisions.

mod command;
mod engine;
mod recent;
pub(crate) mod request;
pub(crate) mod status;

pub(crate) use command::run as run_command;
pub(crate) use command::ImportArgs;
pub(crate) use engine::{CancelOutcome, Imports};
pub(crate) use request::{prepare, ImportQuery, Refused};
pub(crate) use status::Status;
