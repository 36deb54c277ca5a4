//! The HTTP API: one module per resource.

mod admin;
mod budgets;
mod expenses;
mod health;
mod imports;
mod ledgers;
mod reads;
mod users;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;

use crate::state::AppState;

/// Largest JSON body accepted; larger ones get 413.
const MAX_BODY: usize = 64 * 1024;

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(admin::metrics))
        .route("/v1/status", get(admin::status))
        .route("/v1/connections", get(admin::connections))
        .route("/v1/broadcast", post(admin::broadcast))
        .route("/v1/users", post(users::create))
        .route("/v1/ledgers", post(ledgers::create))
        .route("/v1/ledgers/{lid}/members", post(ledgers::grant))
        .route(
            "/v1/ledgers/{lid}/expenses",
            post(expenses::record).get(expenses::list),
        )
        .route(
            "/v1/ledgers/{lid}/expenses/{eid}",
            axum::routing::patch(expenses::amend).delete(expenses::delete),
        )
        .route(
            "/v1/ledgers/{lid}/expenses/{eid}/history",
            get(expenses::history),
        )
        .route("/v1/ledgers/{lid}/budgets", get(reads::budgets))
        .route(
            "/v1/ledgers/{lid}/budgets/{bid}",
            axum::routing::put(budgets::set).delete(budgets::remove),
        )
        .route(
            "/v1/ledgers/{lid}/budgets/{bid}/snooze",
            post(budgets::snooze),
        )
        .route(
            "/v1/ledgers/{lid}/imports",
            post(imports::start).layer(DefaultBodyLimit::max(imports::MAX_UPLOAD)),
        )
        .route(
            "/v1/ledgers/{lid}/imports/{iid}",
            get(imports::get).delete(imports::cancel),
        )
        .route("/v1/ledgers/{lid}/analytics", get(reads::analytics))
        .route("/v1/ledgers/{lid}/alerts", get(reads::alerts))
        .route("/v1/ledgers/{lid}/events", get(reads::events))
        .route("/v1/ledgers/{lid}/verify", get(reads::verify))
        .route("/v1/ws", get(crate::ws::upgrade))
        .route("/v1/ledgers/{lid}/stream", get(crate::sse::stream))
        .fallback(health::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}
