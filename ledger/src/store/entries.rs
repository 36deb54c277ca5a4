//! Reading the log in constant memory: pages turned into a stream, and batches read
//! ahead by a task of their own.

use futures::Stream;
use tokio::sync::mpsc;

use crate::error::StoreError;
use crate::ids::Position;
use crate::recorded::RecordedEvent;

use super::{AbortOnDrop, PAGE};

/// The events after `after`, fetched a page at a time by `fetch` until a short page.
pub(super) fn paged<F, Fut>(
    after: Position,
    fetch: F,
) -> impl Stream<Item = Result<RecordedEvent, StoreError>> + Send + 'static
where
    F: Fn(Position) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<Vec<RecordedEvent>, StoreError>> + Send + 'static,
{
    use futures::StreamExt;
    let pages = futures::stream::try_unfold((after, false), move |(from, done)| {
        let page = if done { None } else { Some(fetch(from)) };
        async move {
            let Some(page) = page else { return Ok(None) };
            let events = page.await?;
            let Some(last) = events.last() else {
                return Ok(None);
            };
            let next = (last.position, (events.len() as i64) < PAGE);
            Ok(Some((events, next)))
        }
    });
    pages
        .map(|page: Result<Vec<RecordedEvent>, StoreError>| match page {
            Ok(events) => futures::stream::iter(events.into_iter().map(Ok)).left_stream(),
            Err(e) => futures::stream::once(async move { Err(e) }).right_stream(),
        })
        .flatten()
}

/// Batches [`Store::read_entries`] reads ahead of its caller. Deep enough that a reader
/// or caller briefly descheduled on a busy machine does not stall the other (on two
/// shared cores, 16 rebuilt faster than 4).
pub(super) const ENTRIES_AHEAD: usize = 16;

/// Batches of the log read ahead by a task of their own; see [`Store::read_entries`].
/// Dropping it stops the task.
pub struct Entries<T> {
    pub(super) receiver: mpsc::Receiver<Result<Vec<T>, StoreError>>,
    pub(super) task: Option<AbortOnDrop>,
}

impl<T> Entries<T> {
    /// The next batch, never empty; `None` after the last one, or after an error.
    ///
    /// # Errors
    /// A database failure; nothing follows it.
    pub async fn next(&mut self) -> Option<Result<Vec<T>, StoreError>> {
        if let Some(batch) = self.receiver.recv().await {
            return Some(batch);
        }
        // The reader is done. Had it panicked, the batches would end early without an
        // error: the panic goes on here instead.
        let mut task = self.task.take()?;
        match (&mut task.0).await {
            Ok(()) => None,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(_) => Some(Err(StoreError::Closed)),
            },
        }
    }
}
