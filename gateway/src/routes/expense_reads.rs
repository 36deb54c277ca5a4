//! Reading expenses: a ledger's list, and one expense's full history.

use axum::extract::State;
use axum::Json;
use chrono::{DateTime, NaiveDate, Utc};
use ledger::event::Role;
use ledger::{ExpenseId, LedgerId, Position, StreamId};
use projections::Expense;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{ApiPath, ApiQuery};
use crate::input;
use crate::routes::openapi::ErrorBody;
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// First day, `YYYY-MM-DD`, inclusive.
    #[param(format = Date)]
    from: Option<String>,
    /// Last day, `YYYY-MM-DD`, inclusive.
    #[param(format = Date)]
    to: Option<String>,
    category: Option<String>,
    /// 1 to 1000, default 100.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 1000)]
    limit: Option<String>,
    /// The `next_cursor` of the previous page (`<date>.<expense id>`).
    #[param(
        pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}\\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"
    )]
    cursor: Option<String>,
    /// Wait (up to 5 s) until the read models reach this position.
    #[param(value_type = Option<i64>, minimum = 0)]
    min_position: Option<String>,
}

/// Cursors name the last item of the previous page: `<date>.<expense id>`.
fn parse_cursor(cursor: &str) -> Result<(NaiveDate, ExpenseId), ApiError> {
    let bad = || ApiError::invalid("cursor", "use the next_cursor of the previous page");
    let (date, id) = cursor.split_once('.').ok_or_else(bad)?;
    Ok((
        NaiveDate::parse_from_str(date, "%Y-%m-%d").map_err(|_| bad())?,
        ExpenseId::parse(id).map_err(|_| bad())?,
    ))
}

/// A page of expenses.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ExpensePage {
    #[schema(value_type = i64)]
    position: Position,
    #[schema(value_type = Vec<crate::routes::openapi::Expense>)]
    items: Vec<Expense>,
    /// Pass as `cursor` for the next page; `null` on the last one.
    #[schema(required = true)]
    next_cursor: Option<String>,
}

/// `GET /v1/ledgers/{lid}/expenses`: by date, then id; deleted ones included.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/expenses",
    tag = "expenses",
    params(("lid" = Uuid, Path, description = "The ledger"), ListQuery),
    responses(
        (status = 200, description = "A page of expenses", body = ExpensePage),
        (status = 400, description = "A malformed query string or an unknown parameter", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
        (status = 422, description = "A bad date, limit, cursor or min_position", body = ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<ExpensePage>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    if let Some(p) = query.min_position.as_deref() {
        state.caught_up(input::position("min_position", p)?).await;
    }
    let from = query
        .from
        .as_deref()
        .map(|d| input::any_date("from", d))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|d| input::any_date("to", d))
        .transpose()?;
    let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let limit = input::limit(query.limit.as_deref(), 100, 1..=1000)?;
    let (position, items, more) = state.live.read(|p| {
        let Some(l) = p.ledger(ledger) else {
            return (p.position(), Vec::new(), false);
        };
        let mut matching = l
            .expenses()
            .in_date_order(from, to, cursor)
            .filter(|e| query.category.as_deref().is_none_or(|c| e.category == c));
        let items: Vec<Expense> = matching.by_ref().take(limit).cloned().collect();
        (p.position(), items, matching.next().is_some())
    });
    let next_cursor = items
        .last()
        .filter(|_| more)
        .map(|e| format!("{}.{}", e.occurred_on, e.expense_id));
    Ok(Json(ExpensePage {
        position,
        items,
        next_cursor,
    }))
}

/// One event of an expense's history.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct HistoryEvent {
    #[schema(value_type = i64)]
    position: Position,
    version: u64,
    #[serde(rename = "type")]
    #[schema(example = "ExpenseRecorded")]
    kind: String,
    #[schema(value_type = Object)]
    data: Value,
    #[schema(value_type = Object)]
    metadata: Value,
    recorded_at: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ExpenseHistory {
    #[schema(value_type = uuid::Uuid)]
    expense_id: ExpenseId,
    /// Oldest first.
    events: Vec<HistoryEvent>,
}

/// `GET /v1/ledgers/{lid}/expenses/{eid}/history`: every event, oldest first.
#[utoipa::path(
    get,
    path = "/v1/ledgers/{lid}/expenses/{eid}/history",
    tag = "expenses",
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        ("eid" = Uuid, Path, description = "The expense"),
    ),
    responses(
        (status = 200, description = "Every event of the expense, oldest first", body = ExpenseHistory),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller may not read this ledger", body = ErrorBody),
        (status = 404, description = "No such ledger or expense", body = ErrorBody),
    ),
)]
pub(crate) async fn history(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, expense_id)): ApiPath<(LedgerId, ExpenseId)>,
) -> Result<Json<ExpenseHistory>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    let events = state
        .store
        .read_stream(StreamId::expense(expense_id), 0, 10_000)
        .await?;
    let events: Vec<HistoryEvent> = events
        .into_iter()
        .filter(|e| e.ledger_id == ledger)
        .map(|e| HistoryEvent {
            position: e.position,
            version: e.stream_version,
            data: serde_json::from_str(&e.payload).unwrap_or(Value::Null),
            metadata: serde_json::from_str(&e.metadata).unwrap_or(Value::Null),
            kind: e.event_type,
            recorded_at: e.recorded_at,
        })
        .collect();
    if events.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no expense {expense_id} in ledger {ledger}"
        )));
    }
    Ok(Json(ExpenseHistory { expense_id, events }))
}
