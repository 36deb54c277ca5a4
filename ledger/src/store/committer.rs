//! Group commit: the task that turns queued appends into committed transactions.
//!
//! Callers queue validated, encoded appends. The committer takes everything queued,
//! up to a limit, commits it as one transaction and answers every caller; appends
//! that arrive meanwhile form the next batch. Durable throughput is therefore many
//! events per commit, while one lone append still commits at once.

use std::sync::Arc;

use chrono::{SubsecRound, Utc};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::backend::Backend;
use crate::append::{Appended, Prepared};
use crate::error::{AppendError, StoreError};
use crate::ids::Position;

/// Most events one transaction takes from the queue; a single larger append still
/// goes in whole.
const MAX_BATCH_EVENTS: usize = 4096;

pub(crate) type Answer = Result<Appended, AppendError>;

/// An append waiting for the committer, and where its answer goes.
pub(crate) struct Pending {
    pub(crate) prepared: Prepared,
    pub(crate) reply: oneshot::Sender<Answer>,
}

/// Starts the committer; it ends once `shutdown` turns true and everything already
/// queued is committed, or when every sender is gone.
pub(crate) fn spawn(
    backend: Arc<Backend>,
    queue: mpsc::Receiver<Pending>,
    head: Arc<watch::Sender<Position>>,
    shutdown: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(run(backend, queue, head, shutdown))
}

async fn run(
    backend: Arc<Backend>,
    mut queue: mpsc::Receiver<Pending>,
    head: Arc<watch::Sender<Position>>,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut batch = Vec::new();
    let mut replies = Vec::new();
    loop {
        let first = tokio::select! {
            biased;
            next = queue.recv() => next,
            Ok(()) = shutdown.changed() => {
                // Refuse new appends, but commit the ones already queued.
                queue.close();
                queue.recv().await
            }
        };
        let Some(Pending { prepared, reply }) = first else {
            break;
        };
        let mut events = prepared.event_count;
        batch.push(prepared);
        replies.push(reply);
        while events < MAX_BATCH_EVENTS {
            let Ok(Pending { prepared, reply }) = queue.try_recv() else {
                break;
            };
            events += prepared.event_count;
            batch.push(prepared);
            replies.push(reply);
        }

        let started = std::time::Instant::now();
        let answers = commit(&backend, &batch).await;
        tracing::trace!(
            appends = batch.len(),
            elapsed_us = started.elapsed().as_micros() as u64,
            "committed a batch"
        );
        if let Some(last) = answers
            .iter()
            .filter_map(|a| a.as_ref().ok())
            .map(|a| a.last_position)
            .max()
        {
            head.send_if_modified(|h| {
                let moved = last > *h;
                *h = (*h).max(last);
                moved
            });
        }
        for (reply, answer) in replies.drain(..).zip(answers) {
            let _ = reply.send(answer);
        }
        batch.clear();
        // The callers just answered are often about to append again (a client
        // streaming writes); let them run before the next batch is formed, so it
        // carries their appends instead of leaving them for the one after. Stop as
        // soon as a turn brings nothing new: a lone writer waits for no one.
        let mut queued = queue.len();
        for _ in 0..4 {
            tokio::task::yield_now().await;
            let now_queued = queue.len();
            if now_queued == queued {
                break;
            }
            queued = now_queued;
        }
    }
}

async fn commit_once(backend: &Backend, batch: &[Prepared]) -> Result<Vec<Answer>, StoreError> {
    backend.commit(batch, Utc::now().trunc_subsecs(6)).await
}

/// Commits a batch; if the database refuses it as a whole, commits its appends one
/// by one, so one bad append cannot fail the others.
async fn commit(backend: &Backend, batch: &[Prepared]) -> Vec<Answer> {
    match commit_once(backend, batch).await {
        Ok(answers) => answers,
        Err(StoreError::Database(e)) if batch.len() > 1 && !is_connection_error(&e) => {
            tracing::warn!(error = %e, size = batch.len(), "batch refused; committing its appends one by one");
            let mut answers = Vec::with_capacity(batch.len());
            for one in batch.chunks(1) {
                answers.push(match commit_once(backend, one).await {
                    Ok(mut a) => a.pop().expect("one answer per append"),
                    Err(e) => Err(AppendError::Store(e)),
                });
            }
            answers
        }
        Err(e) => {
            tracing::error!(error = %e, size = batch.len(), "commit failed");
            let unknown = matches!(e, StoreError::CommitUnknown(_));
            let text = e.to_string();
            batch
                .iter()
                .map(|_| {
                    Err(AppendError::Store(if unknown {
                        StoreError::CommitUnknown(text.clone())
                    } else {
                        StoreError::NotStored(text.clone())
                    }))
                })
                .collect()
        }
    }
}

fn is_connection_error(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
    )
}
