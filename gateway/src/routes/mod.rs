//! The HTTP API: one module per resource.
//!
//! Routes are registered with their OpenAPI entries (`routes!` reads each handler's
//! `#[utoipa::path]`, path and method included), so the document at
//! `/v1/openapi.json` lists exactly the routes the server has.

mod admin;
mod answers;
mod budgets;
mod expense_reads;
mod expenses;
mod health;
mod imports;
mod ledgers;
mod live;
mod me;
mod members;
pub(crate) mod openapi;
mod reads;
mod tokens;
mod users;

use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::Router;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::config::Limits;
use crate::limits::RateLimits;
use crate::state::AppState;

/// Largest JSON body accepted; larger ones get 413.
const MAX_BODY: usize = 64 * 1024;

/// Every route with its documentation, before the state is given.
fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(admin::metrics))
        .routes(routes!(openapi::document))
        .routes(routes!(admin::status))
        .routes(routes!(admin::connections))
        .routes(routes!(admin::broadcast))
        .routes(routes!(users::create))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(tokens::revoke))
        .routes(routes!(me::get, me::update))
        .routes(routes!(ledgers::create, members::mine))
        .routes(routes!(ledgers::grant, members::list))
        .routes(routes!(members::revoke))
        .routes(routes!(expenses::record, expense_reads::list))
        .routes(routes!(expenses::amend, expenses::delete))
        .routes(routes!(expense_reads::history))
        .routes(routes!(reads::budgets))
        .routes(routes!(budgets::set, budgets::remove))
        .routes(routes!(budgets::snooze))
        .merge(
            OpenApiRouter::new()
                .routes(routes!(imports::start))
                .layer(DefaultBodyLimit::max(imports::MAX_UPLOAD)),
        )
        .routes(routes!(imports::get, imports::cancel))
        .routes(routes!(reads::analytics))
        .routes(routes!(reads::alerts))
        .routes(routes!(reads::events))
        .routes(routes!(reads::verify))
        .routes(routes!(live::socket))
        .routes(routes!(live::stream))
}

/// The API with its state and the request limits (`crate::limits`): the rate limits
/// run first, so a refused request costs no body read.
pub(crate) fn router(state: AppState, limits: &Limits) -> Router {
    let (router, _) = api().split_for_parts();
    router
        .fallback(health::not_found)
        .method_not_allowed_fallback(health::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(from_fn_with_state(
            limits.body_read_timeout,
            crate::limits::body_deadline,
        ))
        .layer(from_fn_with_state(
            RateLimits::new(limits),
            crate::limits::rate_limit,
        ))
        .with_state(state)
}
