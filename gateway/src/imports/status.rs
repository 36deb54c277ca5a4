//! What an import reports: its state, stage and counts, as `GET .../imports/{iid}`
//! answers and as the socket's `import_progress` / `import_completed` carry it.

use ledger::{ExpenseId, ImportId, ImportState, LedgerId, Position};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The pipeline's stages, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stage {
    Parsing,
    Deduplicating,
    Appending,
}

impl Stage {
    /// The share of the whole import done before this stage starts and when it
    /// ends, in percent: `percent` runs across stages so it never goes back.
    /// Parsing happens before the import is announced, so it gets a small share.
    const fn span(self) -> (u32, u32) {
        match self {
            Stage::Parsing => (0, 10),
            Stage::Deduplicating => (10, 40),
            Stage::Appending => (40, 100),
        }
    }
}

/// A row the bank's statement holds that is not appended, with its line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LineError {
    pub(crate) line: u64,
    pub(crate) message: String,
}

/// A new row that looks like an expense recorded by hand: same amount, date
/// within a few days. Reported, never merged.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PossibleDuplicate {
    pub(crate) line: u64,
    pub(crate) expense_id: ExpenseId,
}

/// One import's status. The JSON form is what the API and the imports table show.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Status {
    pub(crate) import_id: ImportId,
    pub(crate) ledger_id: LedgerId,
    #[serde(with = "state_text")]
    pub(crate) state: ImportState,
    pub(crate) stage: Stage,
    /// Rows done in the current stage, of `total`.
    pub(crate) processed: u64,
    pub(crate) total: u64,
    pub(crate) percent: u32,
    pub(crate) imported: u64,
    pub(crate) duplicates: u64,
    pub(crate) errors: Vec<LineError>,
    pub(crate) possible_duplicates: Vec<PossibleDuplicate>,
    pub(crate) skipped_credits: u64,
    pub(crate) skipped_zero: u64,
    pub(crate) format: String,
    pub(crate) encoding: String,
    pub(crate) file_name: Option<String>,
    /// The position of the import's `ImportCompleted` once it is in the log; for an
    /// import that appended nothing (all duplicates), the log's position it was
    /// checked against.
    pub(crate) position: Option<Position>,
    /// Why the import failed or was cancelled.
    pub(crate) message: Option<String>,
}

impl Status {
    /// Moves to `stage` with `processed` of `total` rows done there. `percent`
    /// only ever grows.
    pub(crate) fn advance(&mut self, stage: Stage, processed: u64) {
        self.stage = self.stage.max(stage);
        self.processed = processed.min(self.total);
        let (from, to) = self.stage.span();
        // An import with no rows has done every stage as soon as it reaches it.
        let share = (u64::from(to - from) * self.processed)
            .checked_div(self.total)
            .unwrap_or(u64::from(to - from));
        let percent = from + u32::try_from(share).unwrap_or(to - from);
        // 100 is kept for the moment the import is in the log.
        let cap = if self.state == ImportState::Completed {
            100
        } else {
            99
        };
        self.percent = self.percent.max(percent.min(cap));
    }

    pub(crate) fn topic(&self) -> String {
        format!("ledger:{}:imports", self.ledger_id)
    }

    /// The `import_progress` message for this status.
    pub(crate) fn progress_message(&self) -> Value {
        json!({
            "type": "import_progress",
            "topic": self.topic(),
            "data": {
                "import_id": self.import_id,
                "stage": self.stage,
                "processed": self.processed,
                "total": self.total,
                "percent": self.percent,
            },
        })
    }

    /// The `import_completed` of an import that appended nothing (all duplicates,
    /// cancelled, failed): `state` says which. It does not come from the log, so it
    /// has no position; an import that appended is announced by the log's delta.
    pub(crate) fn completed_message(&self) -> Value {
        let mut message = json!({
            "type": "import_completed",
            "topic": self.topic(),
            "data": {
                "import_id": self.import_id,
                "state": self.state.as_str(),
                "imported": self.imported,
                "duplicates": self.duplicates,
                "errors": self.errors,
                "possible_duplicates": self.possible_duplicates,
                "skipped_credits": self.skipped_credits,
            },
        });
        if let Some(reason) = &self.message {
            message["data"]["message"] = json!(reason);
        }
        message
    }
}

mod state_text {
    use ledger::ImportState;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(state: &ImportState, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(state.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ImportState, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(total: u64) -> Status {
        Status {
            import_id: ImportId::new(),
            ledger_id: LedgerId::new(),
            state: ImportState::Running,
            stage: Stage::Parsing,
            processed: 0,
            total,
            percent: 0,
            imported: 0,
            duplicates: 0,
            errors: Vec::new(),
            possible_duplicates: Vec::new(),
            skipped_credits: 0,
            skipped_zero: 0,
            format: "csv".into(),
            encoding: "UTF-8".into(),
            file_name: None,
            position: None,
            message: None,
        }
    }

    #[test]
    fn percent_runs_across_stages_and_never_goes_back() {
        let mut s = status(200);
        s.advance(Stage::Parsing, 200);
        assert_eq!(s.percent, 10);
        s.advance(Stage::Deduplicating, 100);
        assert_eq!(s.percent, 25);
        s.advance(Stage::Deduplicating, 50);
        assert_eq!(s.percent, 25, "never backwards");
        s.advance(Stage::Parsing, 0);
        assert_eq!(s.stage, Stage::Deduplicating, "stages never go back");
        s.advance(Stage::Appending, 200);
        assert_eq!(s.percent, 99, "100 only once completed");
        s.state = ImportState::Completed;
        s.advance(Stage::Appending, 200);
        assert_eq!(s.percent, 100);
        let mut empty = status(0);
        empty.advance(Stage::Deduplicating, 0);
        assert_eq!(empty.percent, 40);
    }

    #[test]
    fn the_status_round_trips_through_its_stored_form() {
        let s = status(3);
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"state\":\"running\""));
        assert_eq!(serde_json::from_str::<Status>(&text).unwrap(), s);
    }
}
