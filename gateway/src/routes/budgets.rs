//! Budgets: set (create or replace), remove, snooze their alerts.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use ledger::commands::budget::{self as command, BudgetSpec, Thresholds};
use ledger::event::{BudgetPeriod, Role};
use ledger::{AppendRequest, BudgetId, Category, ExpectedVersion, LedgerId, Metadata};
use serde::Deserialize;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, if_match, ApiJson, ApiPath};
use crate::routes::answers::Written;
use crate::routes::openapi::{ErrorBody, Idempotency, IfMatch};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BudgetBody {
    /// Absent or null: the budget covers all spending.
    #[serde(default)]
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 64
    )]
    category: Option<String>,
    /// The limit per period, positive, in the ledger's currency.
    #[schema(example = "500.00")]
    amount: String,
    #[schema(value_type = crate::routes::openapi::BudgetPeriod)]
    period: BudgetPeriod,
    /// Percentages that raise an alert when crossed: 1 to 10 values in 1..=1000,
    /// default `[80, 100]`.
    #[schema(example = json!([80, 100]))]
    thresholds: Option<Vec<u32>>,
}

/// Who writes, and what version they expect the budget's stream at.
fn write_headers(
    caller: Caller,
    headers: &HeaderMap,
) -> Result<(ExpectedVersion, Metadata), ApiError> {
    let metadata = Metadata {
        actor: caller.user(),
        idempotency_key: idempotency_key(headers)?,
        ..Metadata::default()
    };
    let expected = if_match(headers)?.map_or(ExpectedVersion::Any, ExpectedVersion::Exact);
    Ok((expected, metadata))
}

async fn append(state: &AppState, request: AppendRequest) -> Result<Json<Written>, ApiError> {
    let appended = state.append(request).await?;
    Ok(Json(Written::from(&appended)))
}

/// Whether the read models know this budget in this ledger, after letting them
/// catch up with the log if they do not yet.
async fn exists(state: &AppState, ledger: LedgerId, budget: BudgetId) -> Result<bool, ApiError> {
    let known = |state: &AppState| {
        state.live.read(|p| {
            p.ledger(ledger)
                .is_some_and(|l| l.budgets().get(budget).is_some())
        })
    };
    if known(state) {
        return Ok(true);
    }
    state.caught_up(state.head().await?).await;
    Ok(known(state))
}

/// `PUT /v1/ledgers/{lid}/budgets/{bid}`: creates or replaces; re-arms its alerts.
#[utoipa::path(
    put,
    path = "/v1/ledgers/{lid}/budgets/{bid}",
    tag = "budgets",
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        ("bid" = Uuid, Path, description = "The budget, chosen by the client"),
        Idempotency,
        IfMatch,
    ),
    request_body = BudgetBody,
    responses(
        (status = 200, description = "Set", body = Written),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger", body = ErrorBody),
        (status = 409, description = "`If-Match` is stale", body = ErrorBody),
        (status = 422, description = "A bad amount, period or thresholds", body = ErrorBody),
    ),
)]
pub(crate) async fn set(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, budget_id)): ApiPath<(LedgerId, BudgetId)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<BudgetBody>,
) -> Result<Json<Written>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let currency = state
        .live
        .read(|p| p.ledger(ledger).map(|l| l.currency()))
        .ok_or_else(|| ApiError::NotFound(format!("no ledger {ledger}")))?;
    let amount = ledger::Amount::parse_positive(&body.amount, currency)
        .map_err(|e| ApiError::invalid("amount", e))?;
    let spec = BudgetSpec {
        category: body.category.as_deref().map(Category::parse).transpose()?,
        amount,
        period: body.period,
        thresholds: Thresholds::parse(body.thresholds)?,
    };
    let (expected, metadata) = write_headers(caller, &headers)?;
    append(
        &state,
        command::set(ledger, budget_id, spec, expected, metadata),
    )
    .await
}

/// `DELETE /v1/ledgers/{lid}/budgets/{bid}`.
#[utoipa::path(
    delete,
    path = "/v1/ledgers/{lid}/budgets/{bid}",
    tag = "budgets",
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        ("bid" = Uuid, Path, description = "The budget, chosen by the client"),
        Idempotency,
        IfMatch,
    ),
    responses(
        (status = 200, description = "Removed", body = Written),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger or budget", body = ErrorBody),
        (status = 409, description = "`If-Match` is stale", body = ErrorBody),
        (status = 422, description = "A bad `If-Match` or `Idempotency-Key`", body = ErrorBody),
    ),
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, budget_id)): ApiPath<(LedgerId, BudgetId)>,
    headers: HeaderMap,
) -> Result<Json<Written>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let exists = exists(&state, ledger, budget_id).await?;
    // A missing budget is answered before the headers are read, as it always was.
    command::existing(ledger, budget_id, exists)?;
    let (expected, metadata) = write_headers(caller, &headers)?;
    append(
        &state,
        command::remove(ledger, budget_id, exists, expected, metadata)?,
    )
    .await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Snooze {
    /// RFC 3339.
    until: DateTime<Utc>,
}

/// `POST /v1/ledgers/{lid}/budgets/{bid}/snooze`: alerts are still recorded until
/// then, marked snoozed, and raise no toast.
#[utoipa::path(
    post,
    path = "/v1/ledgers/{lid}/budgets/{bid}/snooze",
    tag = "budgets",
    params(
        ("lid" = Uuid, Path, description = "The ledger"),
        ("bid" = Uuid, Path, description = "The budget, chosen by the client"),
        Idempotency,
        IfMatch,
    ),
    request_body = Snooze,
    responses(
        (status = 200, description = "Snoozed", body = Written),
        (status = 400, description = "Not JSON", body = ErrorBody),
        (status = 401, description = "No token or an unknown one", body = ErrorBody),
        (status = 403, description = "The caller is not a member", body = ErrorBody),
        (status = 404, description = "No such ledger or budget", body = ErrorBody),
        (status = 409, description = "`If-Match` is stale", body = ErrorBody),
        (status = 422, description = "Not an RFC 3339 moment", body = ErrorBody),
    ),
)]
pub(crate) async fn snooze(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, budget_id)): ApiPath<(LedgerId, BudgetId)>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<Snooze>,
) -> Result<Json<Written>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let exists = exists(&state, ledger, budget_id).await?;
    command::existing(ledger, budget_id, exists)?;
    let (expected, metadata) = write_headers(caller, &headers)?;
    let request = command::snooze(ledger, budget_id, body.until, exists, expected, metadata)?;
    append(&state, request).await
}
