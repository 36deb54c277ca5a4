//! Expenses: record, amend, delete, list, and an expense's full history.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use chrono::NaiveDate;
use ledger::event::{ExpenseAmended, ExpenseDeleted, ExpenseRecorded, Role};
use ledger::{
    AppendRequest, Currency, Event, ExpectedVersion, ExpenseId, LedgerId, Metadata, Position,
    StreamId,
};
use projections::Expense;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, if_match, ApiJson, ApiPath, ApiQuery};
use crate::input;
use crate::routes::openapi::{
    DeviceId, ErrorBody, ExpenseCreated, ExpenseHistory, ExpensePage, Idempotency, IfMatch, Written,
};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct NewExpense {
    /// In the ledger's currency, at its precision; negative for a refund.
    #[schema(example = "12.50")]
    amount: String,
    #[schema(format = Date, example = "2026-11-02")]
    occurred_on: String,
    /// 1 to 64 characters.
    #[schema(example = "groceries")]
    category: String,
    /// 1 to 128 characters.
    #[schema(example = "Market")]
    merchant: Option<String>,
    /// At most 2000 characters.
    description: Option<String>,
    /// At most 20, each 1 to 40 characters.
    #[serde(default)]
    tags: Vec<String>,
    /// Chosen by the client; otherwise derived from `Idempotency-Key`, or new.
    #[schema(value_type = Option<uuid::Uuid>)]
    expense_id: Option<ExpenseId>,
    /// What was paid abroad, with `original_currency` (informational).
    #[schema(example = "14.00")]
    original_amount: Option<String>,
    #[schema(example = "USD")]
    original_currency: Option<String>,
}

fn currency_of(state: &AppState, ledger: LedgerId) -> Result<Currency, ApiError> {
    state
        .live
        .read(|p| p.ledger(ledger).map(|l| l.currency()))
        .ok_or_else(|| ApiError::NotFound(format!("no ledger {ledger}")))
}

fn metadata(caller: Caller, headers: &HeaderMap) -> Result<Metadata, ApiError> {
    let device_id = headers
        .get("x-device-id")
        .and_then(|v| v.to_str().ok())
        .map(|d| d.chars().take(100).collect());
    Ok(Metadata {
        actor: caller.user(),
        device_id,
        idempotency_key: idempotency_key(headers)?,
        ..Metadata::default()
    })
}

/// `POST /v1/ledgers/{lid}/expenses`.
#[utoipa::path(
    post,
    path = "/v1/ledgers/{lid}/expenses",
    tag = "expenses",
    params(("lid" = Uuid, Path, description = "The ledger"), Idempotency, DeviceId),
    request_body = NewExpense,
    responses(
        (status = 201, description = "Recorded", body = ExpenseCreated),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
        (status = 409, description = "An expense with this id exists (`exists`)", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 422, description = "An invalid amount, date or text; a reused Idempotency-Key", body = ErrorBody),
    ),
)]
pub(crate) async fn record(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<NewExpense>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let currency = currency_of(&state, ledger)?;
    let metadata = metadata(caller, &headers)?;
    let (original_amount, original_currency) =
        match (&body.original_amount, &body.original_currency) {
            (None, None) => (None, None),
            (Some(amount), Some(code)) => {
                let original = input::currency("original_currency", code)?;
                (
                    Some(input::amount("original_amount", amount, original)?),
                    Some(original),
                )
            }
            _ => {
                return Err(ApiError::invalid(
                    "original_amount",
                    "comes together with original_currency",
                ))
            }
        };
    // A retry with the same Idempotency-Key must be the same request, expense id
    // included, so a key without an id names the expense.
    let expense_id = match (body.expense_id, &metadata.idempotency_key) {
        (Some(id), _) => id,
        (None, Some(key)) => ExpenseId::from_uuid(uuid::Uuid::new_v5(
            &ledger.as_uuid(),
            format!("expense:{key}").as_bytes(),
        )),
        (None, None) => ExpenseId::new(),
    };
    let recorded = ExpenseRecorded {
        expense_id,
        amount: input::amount("amount", &body.amount, currency)?,
        occurred_on: input::date("occurred_on", &body.occurred_on)?,
        category: input::label("category", &body.category, 64)?,
        merchant: body
            .merchant
            .as_deref()
            .map(|m| input::label("merchant", m, 128))
            .transpose()?,
        description: body
            .description
            .as_deref()
            .map(|d| input::text("description", d, 2000))
            .transpose()?,
        tags: input::tags(&body.tags)?,
        original_amount,
        original_currency,
        import_id: None,
    };
    let request = AppendRequest::new(
        ledger,
        StreamId::expense(expense_id),
        ExpectedVersion::NoStream,
        vec![Event::ExpenseRecorded(recorded)],
    )
    .metadata(metadata);
    let appended = state.append(request).await.map_err(|e| match e {
        ledger::AppendError::VersionConflict { .. } => ApiError::Conflict {
            code: "exists",
            message: format!("expense {expense_id} already exists"),
            version: None,
            current: None,
        },
        other => other.into(),
    })?;
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "expense_id": expense_id, "version": appended.version(), "position": appended.last_position }),
        ),
    ))
}

/// The expense as the read models know it, after letting them catch up with
/// everything committed so far if they do not know it yet.
async fn current(
    state: &AppState,
    ledger: LedgerId,
    expense: ExpenseId,
) -> Result<Expense, ApiError> {
    let lookup = |state: &AppState| {
        state.live.read(|p| {
            p.ledger(ledger)
                .and_then(|l| l.expenses().get(expense).cloned())
        })
    };
    if let Some(found) = lookup(state) {
        return Ok(found);
    }
    state.caught_up(state.store.head().await?).await;
    lookup(state)
        .ok_or_else(|| ApiError::NotFound(format!("no expense {expense} in ledger {ledger}")))
}

fn conflict(e: ledger::AppendError, current: &Expense) -> ApiError {
    match ApiError::from(e) {
        ApiError::Conflict {
            code,
            message,
            version,
            ..
        } => ApiError::Conflict {
            code,
            message,
            version,
            current: serde_json::to_value(current).ok(),
        },
        other => other,
    }
}

/// Any subset of an expense's fields; at least one.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExpensePatch {
    #[schema(example = "13.20")]
    amount: Option<String>,
    #[schema(format = Date)]
    occurred_on: Option<String>,
    category: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "input::present")]
    #[schema(value_type = Option<String>)]
    merchant: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "input::present")]
    #[schema(value_type = Option<String>)]
    description: Option<Option<String>>,
    /// Replaces the tags.
    tags: Option<Vec<String>>,
}

/// `PATCH /v1/ledgers/{lid}/expenses/{eid}`: any subset of the fields.
#[utoipa::path(
    patch,
    path = "/v1/ledgers/{lid}/expenses/{eid}",
    tag = "expenses",
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        ("eid" = Uuid, Path, description = "The expense"),
        Idempotency,
        IfMatch,
        DeviceId,
    ),
    request_body = ExpensePatch,
    responses(
        (status = 200, description = "Amended", body = Written),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger or expense", body = ErrorBody),
        (status = 409, description = "`If-Match` is stale (`version_conflict`) or the expense is deleted (`deleted`); carries `version` and `current`", body = ErrorBody),
        (status = 413, description = "A body over 64 KiB", body = ErrorBody),
        (status = 422, description = "Nothing to change, or an invalid field", body = ErrorBody),
    ),
)]
pub(crate) async fn amend(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, expense_id)): ApiPath<(LedgerId, ExpenseId)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ExpensePatch>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let currency = currency_of(&state, ledger)?;
    let expected = if_match(&headers)?;
    let metadata = metadata(caller, &headers)?;
    let existing = current(&state, ledger, expense_id).await?;
    if existing.deleted {
        return Err(ApiError::Conflict {
            code: "deleted",
            message: format!("expense {expense_id} is deleted"),
            version: Some(existing.version),
            current: serde_json::to_value(&existing).ok(),
        });
    }
    let amended = ExpenseAmended {
        expense_id,
        amount: body
            .amount
            .as_deref()
            .map(|a| input::amount("amount", a, currency))
            .transpose()?,
        occurred_on: body
            .occurred_on
            .as_deref()
            .map(|d| input::date("occurred_on", d))
            .transpose()?,
        category: body
            .category
            .as_deref()
            .map(|c| input::label("category", c, 64))
            .transpose()?,
        merchant: body
            .merchant
            .map(|m| {
                m.as_deref()
                    .map(|m| input::label("merchant", m, 128))
                    .transpose()
            })
            .transpose()?,
        description: body
            .description
            .map(|d| {
                d.as_deref()
                    .map(|d| input::text("description", d, 2000))
                    .transpose()
            })
            .transpose()?,
        tags: body.tags.as_deref().map(input::tags).transpose()?,
    };
    if amended
        == (ExpenseAmended {
            expense_id,
            ..ExpenseAmended::default()
        })
    {
        return Err(ApiError::Invalid {
            message: "nothing to change".into(),
            field: None,
        });
    }
    let request = AppendRequest::new(
        ledger,
        StreamId::expense(expense_id),
        expected.map_or(ExpectedVersion::Any, ExpectedVersion::Exact),
        vec![Event::ExpenseAmended(amended)],
    )
    .metadata(metadata);
    let appended = state
        .append(request)
        .await
        .map_err(|e| conflict(e, &existing))?;
    Ok(Json(
        json!({ "version": appended.version(), "position": appended.last_position }),
    ))
}

/// `DELETE /v1/ledgers/{lid}/expenses/{eid}`: it stays listed, with `deleted: true`.
#[utoipa::path(
    delete,
    path = "/v1/ledgers/{lid}/expenses/{eid}",
    tag = "expenses",
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        ("eid" = Uuid, Path, description = "The expense"),
        Idempotency,
        IfMatch,
        DeviceId,
    ),
    responses(
        (status = 200, description = "Deleted", body = Written),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger or expense", body = ErrorBody),
        (status = 409, description = "`If-Match` is stale or the expense is already deleted", body = ErrorBody),
        (status = 422, description = "A bad header", body = ErrorBody),
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, expense_id)): ApiPath<(LedgerId, ExpenseId)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let expected = if_match(&headers)?;
    let metadata = metadata(caller, &headers)?;
    let existing = current(&state, ledger, expense_id).await?;
    if existing.deleted && metadata.idempotency_key.is_none() {
        return Err(ApiError::Conflict {
            code: "deleted",
            message: format!("expense {expense_id} is already deleted"),
            version: Some(existing.version),
            current: serde_json::to_value(&existing).ok(),
        });
    }
    let request = AppendRequest::new(
        ledger,
        StreamId::expense(expense_id),
        expected.map_or(ExpectedVersion::Any, ExpectedVersion::Exact),
        vec![Event::ExpenseDeleted(ExpenseDeleted { expense_id })],
    )
    .metadata(metadata);
    let appended = state
        .append(request)
        .await
        .map_err(|e| conflict(e, &existing))?;
    Ok(Json(
        json!({ "version": appended.version(), "position": appended.last_position }),
    ))
}

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
    limit: Option<usize>,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
    /// Wait (up to 5 s) until the read models reach this position.
    #[param(value_type = Option<i64>)]
    min_position: Option<Position>,
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
        (status = 422, description = "A bad date, limit or cursor", body = ErrorBody),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(ledger): ApiPath<LedgerId>,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    if let Some(p) = query.min_position {
        state.caught_up(p).await;
    }
    let from = query
        .from
        .as_deref()
        .map(|d| input::date("from", d))
        .transpose()?;
    let to = query
        .to
        .as_deref()
        .map(|d| input::date("to", d))
        .transpose()?;
    let cursor = query.cursor.as_deref().map(parse_cursor).transpose()?;
    let limit = query.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "between 1 and 1000"));
    }
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
    Ok(Json(
        json!({ "position": position, "items": items, "next_cursor": next_cursor }),
    ))
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
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Viewer).await?;
    let events = state
        .store
        .read_stream(StreamId::expense(expense_id), 0, 10_000)
        .await?;
    let events: Vec<Value> = events
        .into_iter()
        .filter(|e| e.ledger_id == ledger)
        .map(|e| {
            json!({
                "position": e.position,
                "version": e.stream_version,
                "type": e.event_type,
                "data": serde_json::from_str::<Value>(&e.payload).unwrap_or(Value::Null),
                "metadata": serde_json::from_str::<Value>(&e.metadata).unwrap_or(Value::Null),
                "recorded_at": e.recorded_at,
            })
        })
        .collect();
    if events.is_empty() {
        return Err(ApiError::NotFound(format!(
            "no expense {expense_id} in ledger {ledger}"
        )));
    }
    Ok(Json(json!({ "expense_id": expense_id, "events": events })))
}
