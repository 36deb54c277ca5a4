//! Building the server and running it until it is told to stop, or until a task it
//! cannot serve without (the read models, the fan-out hub) ends.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use ledger::{Store, TokenHash};
use projections::{Live, LiveOptions, RunError};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinError, JoinHandle};

use crate::config::{Config, Limits};
use crate::routes;
use crate::state::AppState;

/// A server that is bound and has its read models running, not yet serving.
pub struct Application {
    listener: TcpListener,
    port: u16,
    store: Store,
    live: Arc<Live>,
    live_task: JoinHandle<Result<(), RunError>>,
    hub_task: JoinHandle<()>,
    stop_live: watch::Sender<bool>,
    closing: watch::Sender<bool>,
    state: AppState,
    limits: Limits,
}

impl Application {
    /// Opens the log, starts the read models from their checkpoint and binds the
    /// listener (port 0 picks a free port; see [`Application::port`]).
    ///
    /// # Errors
    /// When the database cannot be opened or the address cannot be bound.
    pub async fn build(config: Config) -> anyhow::Result<Application> {
        let store = Store::open(&config.database_url)
            .await
            .context("opening the log")?;
        let (stop_live, shutdown) = watch::channel(false);
        let (live, live_task) = projections::start(store.clone(), LiveOptions::default(), shutdown)
            .await
            .context("starting the read models")?;
        let listener = TcpListener::bind(config.bind)
            .await
            .with_context(|| format!("binding {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let (closing, closing_rx) = watch::channel(false);
        let imports = crate::imports::Imports::new(store.clone(), live.clone());
        let hub = crate::live::Hub::new(live.clone(), config.socket_queue);
        let hub_task = hub.start(closing_rx.clone(), imports.subscribe());
        imports
            .watch()
            .await
            .context("checking for imports a stopped server left running")?;
        // Crash tests kill a server process mid-import and can only slow it from
        // outside; nothing else reads this, and only test builds have it.
        #[cfg(feature = "test-hooks")]
        if let Some(ms) = std::env::var("LEDGER_TEST_IMPORT_PACE_MS")
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
        {
            imports.set_pace(std::time::Duration::from_millis(ms));
        }
        let state = AppState {
            imports,
            store: store.clone(),
            live: live.clone(),
            admin: config
                .admin_token
                .as_deref()
                .filter(|t| !t.is_empty())
                .map(TokenHash::of),
            closing: closing_rx,
            connections: Arc::new(crate::live::Connections::new(
                config.limits.sockets_per_user,
            )),
            tokens: Arc::default(),
            hub,
            append_latency: Arc::new(crate::histogram::Histogram::new(
                crate::histogram::APPEND_BUCKETS,
            )),
            write_timeout: config.limits.write_timeout,
        };
        Ok(Application {
            closing,
            listener,
            port,
            store,
            live,
            live_task,
            hub_task,
            stop_live,
            state,
            limits: config.limits,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Slows every statement import down by `pause` per chunk of rows, so tests
    /// can watch one run and cancel it midway.
    #[cfg(feature = "test-hooks")]
    #[doc(hidden)]
    pub fn slow_imports_for_tests(&self, pause: std::time::Duration) {
        self.state.imports.set_pace(pause);
    }

    /// The log this server writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight, stops
    /// the read models (with a last checkpoint) and lets the committer finish. Should
    /// the read models' task or the fan-out hub's end while serving, the server would
    /// answer from a frozen state: it then stops the same way, at once.
    ///
    /// # Errors
    /// When serving fails, or a [`TaskEnded`] naming the task that ended and why.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let imports = self.state.imports.clone();
        let app = routes::router(self.state, &self.limits);
        tracing::info!(port = self.port, "serving");
        let closing = self.closing;
        let closed = closing.subscribe();
        let (stop_serving, task_ended) = oneshot::channel::<()>();
        let shutdown = async move {
            tokio::select! {
                () = shutdown => {}
                // A task the server needs ended (or serving is over, and this unused).
                _ = task_ended => {}
            }
            // Sockets are not requests: tell them to close (1001) themselves.
            closing.send_replace(true);
        };
        // TCP_NODELAY, the connection limits and timeouts: `crate::limits::serve`.
        let limits = self.limits;
        let serving = crate::limits::serve(self.listener, app, &limits, shutdown);
        let mut live_task = Some(self.live_task);
        let mut hub_task = Some(self.hub_task);
        let ended = serve_watching(
            serving,
            stop_serving,
            &mut live_task,
            &mut hub_task,
            &closed,
        )
        .await
        .context("serving HTTP")?;
        if let Some(ended) = &ended {
            tracing::error!(error = %ended, "stopped serving");
        }
        // Before the store closes: imports not yet committing stop, the rest commit.
        imports.shutdown().await;
        // It ends when `closing` turns true; nothing is left to feed.
        if let Some(hub_task) = hub_task {
            if let Err(e) = hub_task.await {
                tracing::error!(error = %e, "the fan-out task failed");
            }
        }
        self.stop_live.send_replace(true);
        if let Some(live_task) = live_task {
            match live_task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::error!(error = %e, "the read models had stopped"),
                Err(e) => tracing::error!(error = %e, "the read models' task failed"),
            }
        }
        self.store.close().await;
        tracing::info!(position = %self.live.position(), "stopped");
        match ended {
            Some(ended) => Err(ended.into()),
            None => Ok(()),
        }
    }
}

/// A task the server cannot serve without ended while it was serving.
#[derive(Debug, thiserror::Error)]
#[error("stopped serving because {task} ended: {why}")]
pub struct TaskEnded {
    task: &'static str,
    why: String,
}

impl TaskEnded {
    const LIVE: &'static str = "the read models' task";
    const HUB: &'static str = "the fan-out hub's task";

    fn live<E: std::fmt::Display>(joined: Result<Result<(), E>, JoinError>) -> Self {
        let why = match joined {
            Ok(Ok(())) => "it returned without being told to stop".to_owned(),
            Ok(Err(e)) => e.to_string(),
            Err(e) => e.to_string(),
        };
        Self {
            task: Self::LIVE,
            why,
        }
    }

    fn hub(joined: Result<(), JoinError>) -> Self {
        let why = match joined {
            Ok(()) => "it returned without being told to stop".to_owned(),
            Err(e) => e.to_string(),
        };
        Self {
            task: Self::HUB,
            why,
        }
    }
}

/// Drives `serving` to its end while watching the read models' task and the hub's.
/// The first of them to end unexpectedly is sent `stop_serving` (the server then
/// shuts down gracefully) and is returned once serving is over. The hub ending after
/// `closing` turned true is its normal end. A task that ended is taken out of its
/// `Option`, so the caller awaits only the ones still running.
async fn serve_watching<E: std::fmt::Display>(
    serving: impl Future<Output = std::io::Result<()>>,
    stop_serving: oneshot::Sender<()>,
    live_task: &mut Option<JoinHandle<Result<(), E>>>,
    hub_task: &mut Option<JoinHandle<()>>,
    closing: &watch::Receiver<bool>,
) -> std::io::Result<Option<TaskEnded>> {
    tokio::pin!(serving);
    let mut stop_serving = Some(stop_serving);
    let mut ended = None;
    loop {
        tokio::select! {
            served = &mut serving => {
                served?;
                return Ok(ended);
            }
            joined = join(live_task) => {
                *live_task = None;
                ended.get_or_insert(TaskEnded::live(joined));
            }
            joined = join(hub_task) => {
                *hub_task = None;
                if *closing.borrow() {
                    if let Err(e) = joined {
                        tracing::error!(error = %e, "the fan-out task failed");
                    }
                    continue;
                }
                ended.get_or_insert(TaskEnded::hub(joined));
            }
        }
        if let Some(stop) = stop_serving.take() {
            let _ = stop.send(());
        }
    }
}

/// The task's outcome; never, when there is no task (it was already joined).
async fn join<T>(task: &mut Option<JoinHandle<T>>) -> Result<T, JoinError> {
    match task {
        Some(task) => task.await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A stand-in for axum's graceful serving: it ends once it is told to stop.
    async fn serving_until(stop: oneshot::Receiver<()>) -> std::io::Result<()> {
        let _ = stop.await;
        Ok(())
    }

    #[tokio::test]
    async fn read_models_that_end_stop_the_server_and_are_named() {
        let (stop, stopped) = oneshot::channel();
        let mut live = Some(tokio::spawn(async { Err::<(), _>("the log went away") }));
        let mut hub = Some(tokio::spawn(std::future::pending::<()>()));
        let (_closing, closed) = watch::channel(false);
        let ended = serve_watching(serving_until(stopped), stop, &mut live, &mut hub, &closed)
            .await
            .unwrap()
            .expect("the read models' end is reported");
        assert_eq!(
            ended.to_string(),
            "stopped serving because the read models' task ended: the log went away"
        );
        assert!(live.is_none() && hub.is_some());
    }

    #[tokio::test]
    async fn a_hub_that_ends_while_serving_stops_the_server() {
        let (stop, stopped) = oneshot::channel();
        let mut live = Some(tokio::spawn(std::future::pending::<Result<(), String>>()));
        let mut hub = Some(tokio::spawn(async {}));
        let (_closing, closed) = watch::channel(false);
        let ended = serve_watching(serving_until(stopped), stop, &mut live, &mut hub, &closed)
            .await
            .unwrap()
            .expect("the hub's end is reported");
        assert_eq!(ended.task, TaskEnded::HUB);
        assert!(live.is_some() && hub.is_none());
    }

    #[tokio::test]
    async fn a_hub_that_ends_after_closing_is_a_normal_stop() {
        let (stop, _never) = oneshot::channel();
        let mut live = Some(tokio::spawn(std::future::pending::<Result<(), String>>()));
        let mut hub = Some(tokio::spawn(async {}));
        let (_closing, closed) = watch::channel(true);
        let serving = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok(())
        };
        let ended = serve_watching(serving, stop, &mut live, &mut hub, &closed)
            .await
            .unwrap();
        assert!(ended.is_none());
        assert!(hub.is_none());
    }
}
