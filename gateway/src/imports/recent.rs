//! The imports a ledger's imports topic lists in its snapshot besides the running
//! ones: those finished recently in this process, newest first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use ledger::LedgerId;

use super::status::Status;

/// At most this many finished imports per ledger ...
pub(crate) const RECENT_COUNT: usize = 20;
/// ... none finished longer ago than this.
pub(crate) const RECENT_FOR: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Default)]
pub(crate) struct Recent {
    finished: Mutex<HashMap<LedgerId, VecDeque<(Instant, Status)>>>,
}

impl Recent {
    pub(crate) fn push(&self, status: Status) {
        let mut finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
        let list = finished.entry(status.ledger_id).or_default();
        list.push_front((Instant::now(), status));
        list.truncate(RECENT_COUNT);
    }

    /// The ledger's imports finished within `RECENT_FOR`, newest first.
    pub(crate) fn list(&self, ledger: LedgerId) -> Vec<Status> {
        let mut finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(list) = finished.get_mut(&ledger) else {
            return Vec::new();
        };
        while list.back().is_some_and(|(at, _)| at.elapsed() > RECENT_FOR) {
            list.pop_back();
        }
        list.iter().map(|(_, s)| s.clone()).collect()
    }
}
