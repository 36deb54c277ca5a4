//! Building the server and running it until it is told to stop.

use std::future::Future;
use std::sync::Arc;

use anyhow::Context;
use axum::serve::ListenerExt;
use ledger::{Store, TokenHash};
use projections::{Live, LiveOptions, RunError};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::Config;
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
        // outside; nothing else reads this.
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
            connections: Arc::default(),
            tokens: Arc::default(),
            hub,
            append_latency: Arc::new(crate::histogram::Histogram::new(
                crate::histogram::APPEND_BUCKETS,
            )),
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
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Slows every statement import down by `pause` per chunk of rows, so tests
    /// can watch one run and cancel it midway.
    #[doc(hidden)]
    pub fn slow_imports_for_tests(&self, pause: std::time::Duration) {
        self.state.imports.set_pace(pause);
    }

    /// The log this server writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight, stops
    /// the read models (with a last checkpoint) and lets the committer finish.
    ///
    /// # Errors
    /// When serving fails.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let imports = self.state.imports.clone();
        let app = routes::router(self.state);
        tracing::info!(port = self.port, "serving");
        let closing = self.closing;
        let shutdown = async move {
            shutdown.await;
            // Sockets are not requests: tell them to close (1001) themselves.
            closing.send_replace(true);
        };
        // Small JSON answers and socket frames must leave at once, not wait for
        // Nagle's algorithm to gather a full packet.
        let listener = self.listener.tap_io(|tcp| {
            if let Err(e) = tcp.set_nodelay(true) {
                tracing::debug!(error = %e, "TCP_NODELAY");
            }
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
            .context("serving HTTP")?;
        // Before the store closes: imports not yet committing stop, the rest commit.
        imports.shutdown().await;
        // It ends when `closing` turns true; nothing is left to feed.
        if let Err(e) = self.hub_task.await {
            tracing::error!(error = %e, "the fan-out task failed");
        }
        self.stop_live.send_replace(true);
        match self.live_task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "the read models had stopped"),
            Err(e) => tracing::error!(error = %e, "the read models' task failed"),
        }
        self.store.close().await;
        tracing::info!(position = %self.live.position(), "stopped");
        Ok(())
    }
}
