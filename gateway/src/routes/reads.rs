//! Reads of a ledger's read models and of its log: budgets, analytics, alerts,
//! events and the verification of its hash chain.
//!
//! Every answer carries the `position` it reflects. `min_position=N` waits (bounded)
//! until the read models reach N; `as_of=<RFC 3339 | position>` answers as the
//! ledger stood then, folded from its log.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::Role;
use ledger::{EventId, Hash, LedgerId, Position, StreamId, Verification};
use projections::{Alert, AnalyticsSnapshot, BudgetStatus, LedgerProjection};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::routes::openapi::ErrorBody;

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Budgets {
    #[schema(value_type = i64)]
    position: Position,
    #[schema(value_type = Vec<crate::routes::openapi::BudgetStatus>)]
    budgets: Vec<BudgetStatus>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct Alerts<'a> {
    #[schema(value_type = i64)]
    position: Position,
    /// Newest first.
    #[schema(value_type = Vec<crate::routes::openapi::Alert>)]
    alerts: Vec<&'a Alert>,
}

/// The analytics snapshot and the position it reflects. Its schema is
/// `openapi::Analytics`: the snapshot is the projections crate's and flattened, which
/// utoipa could only describe as an `allOf` the document's readers handle poorly.
#[derive(Serialize)]
pub(crate) struct Analytics {
    position: Position,
    #[serde(flatten)]
    figures: AnalyticsSnapshot,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LogEvent {
    #[schema(value_type = i64)]
    position: Position,
    #[schema(value_type = String, example = "expense-0193...")]
    stream: StreamId,
    version: u64,
    #[schema(value_type = uuid::Uuid)]
    event_id: EventId,
    #[serde(rename = "type")]
    #[schema(example = "ExpenseRecorded")]
    kind: String,
    schema_version: u16,
    #[schema(value_type = Object)]
    data: Value,
    #[schema(value_type = Object)]
    metadata: Value,
    /// RFC 3339 with microseconds, as the hash covers it.
    #[schema(value_type = DateTime<Utc>)]
    recorded_at: String,
    /// Hex SHA-256 of the previous event of this ledger.
    #[schema(value_type = String)]
    prev_hash: Hash,
    /// Hex SHA-256 over this event and `prev_hash`.
    #[schema(value_type = String)]
    hash: Hash,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct LogPage {
    /// The log's head when read.
    #[schema(value_type = i64)]
    position: Position,
    events: Vec<LogEvent>,
    /// Pass as `after` for the next page; `null` on the last one.
    #[schema(required = true, value_type = Option<i64>)]
    next_after: Option<Position>,
}
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ReadQuery {
    /// Wait (up to 5 s) until the read models reach this position.
    #[param(value_type = Option<i64>, minimum = 0)]
    min_position: Option<String>,
    /// An RFC 3339 moment or a log position: answer as the ledger stood then.
    #[param(example = "2026-11-01T00:00:00Z")]
    as_of: Option<String>,
    /// Budgets: `YYYY-MM`, `YYYY-Www` or `YYYY`.
    #[param(pattern = "^[0-9]{4}(-[0-9]{2}|-W[0-9]{2})?$")]
    period: Option<String>,
    /// Budgets and analytics: the day "now" is taken to be.
    #[param(format = Date)]
    date: Option<String>,
}

/// The ledger's read models, now or as of a moment or position, and the position
/// and date they answer for.
async fn view(
    state: &AppState,
    ledger: LedgerId,
    query: &ReadQuery,
) -> Result<(Position, NaiveDate, LedgerProjection), ApiError> {
    let missing = || ApiError::NotFound(format!("no ledger {ledger}"));
    let min_position = query
        .min_position
        .as_deref()
        .map(|p| crate::input::position("min_position", p))
        .transpose()?;
    let (position, moment, view) = match query.as_of.as_deref() {
        None => {
            if let Some(p) = min_position {
                state.caught_up(p).await;
            }
            let (position, view) = state
                .live
                .read(|p| (p.position(), p.ledger(ledger).cloned()));
            (position, Utc::now(), view.ok_or_else(missing)?)
        }
        Some(text) => {
            if let Ok(p) = text.parse::<Position>() {
                // A position the log has not reached has no "then" to answer for.
                let head = state.head().await?;
                if p > head {
                    return Err(ApiError::invalid(
                        "as_of",
                        format!("position {p} is beyond the log's head ({head})"),
                    ));
                }
                let view = projections::ledger_at_position(&state.store, ledger, p)
                    .await
                    .map_err(run_error)?;
                // "Then" is when the event at that position was recorded.
                let before = Position::new(p.get().saturating_sub(1)).unwrap_or(Position::ZERO);
                let at = state
                    .store
                    .read_all(before, 1)
                    .await?
                    .first()
                    .map_or_else(Utc::now, |e| e.recorded_at);
                (p, at, view.ok_or_else(missing)?)
            } else {
                let at: DateTime<Utc> = text.parse().map_err(|_| {
                    ApiError::invalid("as_of", "an RFC 3339 moment or a log position")
                })?;
                let (p, view) = projections::ledger_at_time(&state.store, ledger, at)
                    .await
                    .map_err(run_error)?;
                (p, at, view.ok_or_else(missing)?)
            }
        }
    };
    let date = match query.date.as_deref() {
        Some(d) => crate::input::any_date("date", d)?,
        None => moment.date_naive(),
    };
    Ok((position, date, view))
}

fn run_error(e: projections::RunError) -> ApiError {
    ApiError::Unavailable(e.to_string())
}

/// `GET /v1/ledgers/{lid}/budgets`.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/budgets",
    tag = "budgets",
    params(("lid" = Uuid, Path, description = "The ledger"), ReadQuery),
    responses(
        (status = 200, description = "Every budget's status in the period", body = Budgets),
        (status = 400, description = "A malformed query string or an unknown parameter", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = ErrorBody),
        (status = 404, description = "No such ledger (then)", body = ErrorBody),
        (status = 422, description = "A bad period, date, min_position or as_of (a position beyond the head included)", body = ErrorBody),
    ),
)]
pub(crate) async fn budgets(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Json<Budgets>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    let (position, today, view) = view(&state, ledger, &query).await?;
    let date = match query.period.as_deref() {
        Some(label) => {
            projections::parse_period_label(label)
                .ok_or_else(|| ApiError::invalid("period", "YYYY-MM, YYYY-Www or YYYY"))?
                .1
        }
        None => today,
    };
    Ok(Json(Budgets {
        position,
        budgets: view.budgets().statuses(date),
    }))
}

/// `GET /v1/ledgers/{lid}/analytics`.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/analytics",
    tag = "reads",
    params(("lid" = Uuid, Path, description = "The ledger"), ReadQuery),
    responses(
        (status = 200, description = "Totals by day, month, category and merchant", body = crate::routes::openapi::Analytics),
        (status = 400, description = "A malformed query string or an unknown parameter", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = ErrorBody),
        (status = 404, description = "No such ledger (then)", body = ErrorBody),
        (status = 422, description = "A bad date, min_position or as_of (a position beyond the head included)", body = ErrorBody),
    ),
)]
pub(crate) async fn analytics(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<Json<Analytics>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    let (position, today, view) = view(&state, ledger, &query).await?;
    Ok(Json(Analytics {
        position,
        figures: view.analytics().snapshot(today),
    }))
}

/// `GET /v1/ledgers/{lid}/alerts`: newest first.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/alerts",
    tag = "budgets",
    params(("lid" = Uuid, Path, description = "The ledger"), ReadQuery),
    responses(
        (status = 200, description = "Alerts, newest first", body = Alerts),
        (status = 400, description = "A malformed query string or an unknown parameter", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = ErrorBody),
        (status = 404, description = "No such ledger (then)", body = ErrorBody),
        (status = 422, description = "A bad min_position or as_of (a position beyond the head included)", body = ErrorBody),
    ),
)]
pub(crate) async fn alerts(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<ReadQuery>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse as _;
    caller.require(&state, ledger, Role::Viewer).await?;
    let (position, _, view) = view(&state, ledger, &query).await?;
    let alerts = view.alerts().newest_first().collect();
    // Serialized here, while the alerts are borrowed from the view.
    Ok(Json(Alerts { position, alerts }).into_response())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct EventsQuery {
    /// Events after this position (the `next_after` of the previous page).
    #[param(value_type = Option<i64>, minimum = 0)]
    after: Option<String>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
}

/// `GET /v1/ledgers/{lid}/events`: the ledger's log with its hashes, for audits.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/events",
    tag = "reads",
    params(("lid" = Uuid, Path, description = "The ledger"), EventsQuery),
    responses(
        (status = 200, description = "A page of the ledger's events, oldest first", body = LogPage),
        (status = 400, description = "A malformed query string or an unknown parameter", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
        (status = 422, description = "A negative or unreadable `after`, or a limit out of range", body = ErrorBody),
    ),
)]
pub(crate) async fn events(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<EventsQuery>,
) -> Result<Json<LogPage>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    let limit = crate::input::limit(query.limit.as_deref(), 100, 1..=1000)?;
    let after = query
        .after
        .as_deref()
        .map(|p| crate::input::position("after", p))
        .transpose()?
        .unwrap_or(Position::ZERO);
    let head = state.head().await?;
    let events = state.store.read_ledger(ledger, after, None, limit).await?;
    let next_after = (events.len() == limit)
        .then(|| events.last().map(|e| e.position))
        .flatten();
    let events = events
        .into_iter()
        .map(|e| LogEvent {
            position: e.position,
            stream: e.stream_id,
            version: e.stream_version,
            event_id: e.event_id,
            data: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
            metadata: serde_json::from_str(&e.metadata).unwrap_or(Value::Null),
            kind: e.event_type,
            schema_version: e.schema_version,
            recorded_at: e
                .recorded_at
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            prev_hash: e.prev_hash,
            hash: e.hash,
        })
        .collect();
    Ok(Json(LogPage {
        position: head,
        events,
        next_after,
    }))
}

/// `GET /v1/ledgers/{lid}/verify`: walks the ledger's hash chain.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/verify",
    tag = "reads",
    params(("lid" = Uuid, Path, description = "The ledger")),
    responses(
        (status = 200, description = "Whether every link of the chain holds", body = crate::routes::openapi::Verification),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
    ),
)]
pub(crate) async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
) -> Result<Json<Verification>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    Ok(Json(state.store.verify(ledger).await?))
}
