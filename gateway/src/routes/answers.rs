//! Answers several writes share. Each resource's other answers sit with its
//! handlers; all of them are the types the handlers build, and derive their
//! schema, so the OpenAPI document describes what is really sent.

use ledger::{Appended, Position};
use serde::Serialize;

/// A write to one stream: its version after the write and the log position.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Written {
    pub(crate) version: u64,
    /// The log position the write was stored at.
    #[schema(value_type = i64)]
    pub(crate) position: Position,
}

impl From<&Appended> for Written {
    fn from(appended: &Appended) -> Self {
        Written {
            version: appended.version(),
            position: appended.last_position,
        }
    }
}

/// A write answered with its position only (a ledger's members).
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Positioned {
    /// The log position the write was stored at.
    #[schema(value_type = i64)]
    pub(crate) position: Position,
}
