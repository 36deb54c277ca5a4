//! Budgets: set (create or replace), remove, snooze their alerts.

use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use chrono::{DateTime, Utc};
use ledger::event::{AlertSnoozed, BudgetPeriod, BudgetRemoved, BudgetSet, Role};
use ledger::{AppendRequest, BudgetId, Event, ExpectedVersion, LedgerId, Metadata, StreamId};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, if_match, ApiJson, ApiPath};
use crate::input;
use crate::routes::openapi::{ErrorBody, Idempotency, IfMatch, Written};
use crate::state::AppState;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct BudgetBody {
    /// Absent or null: the budget covers all spending.
    #[serde(default)]
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

fn thresholds(values: Option<Vec<u32>>) -> Result<Vec<u32>, ApiError> {
    let mut values = values.unwrap_or_else(|| vec![80, 100]);
    if values.is_empty() || values.len() > 10 || values.iter().any(|t| !(1..=1000).contains(t)) {
        return Err(ApiError::invalid(
            "thresholds",
            "1 to 10 percentages between 1 and 1000",
        ));
    }
    values.sort_unstable();
    values.dedup();
    Ok(values)
}

/// Appends one event to a budget's stream on behalf of the caller.
async fn append(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    ledger: LedgerId,
    budget: BudgetId,
    event: Event,
) -> Result<Json<Value>, ApiError> {
    let metadata = Metadata {
        actor: caller.user(),
        idempotency_key: idempotency_key(headers)?,
        ..Metadata::default()
    };
    let expected = if_match(headers)?.map_or(ExpectedVersion::Any, ExpectedVersion::Exact);
    let request = AppendRequest::new(ledger, StreamId::budget(budget), expected, vec![event])
        .metadata(metadata);
    let appended = state.append(request).await?;
    Ok(Json(
        json!({ "version": appended.version(), "position": appended.last_position }),
    ))
}

/// A budget of this ledger that the read models know, after letting them catch up.
async fn existing(state: &AppState, ledger: LedgerId, budget: BudgetId) -> Result<(), ApiError> {
    let known = |state: &AppState| {
        state.live.read(|p| {
            p.ledger(ledger)
                .is_some_and(|l| l.budgets().get(budget).is_some())
        })
    };
    if known(state) {
        return Ok(());
    }
    state.caught_up(state.store.head().await?).await;
    if known(state) {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "no budget {budget} in ledger {ledger}"
        )))
    }
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
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let currency = state
        .live
        .read(|p| p.ledger(ledger).map(|l| l.currency()))
        .ok_or_else(|| ApiError::NotFound(format!("no ledger {ledger}")))?;
    let amount = ledger::Amount::parse_positive(&body.amount, currency)
        .map_err(|e| ApiError::invalid("amount", e))?;
    let set = BudgetSet {
        budget_id,
        category: body
            .category
            .as_deref()
            .map(|c| input::label("category", c, 64))
            .transpose()?,
        amount,
        period: body.period,
        thresholds: thresholds(body.thresholds)?,
    };
    append(
        &state,
        caller,
        &headers,
        ledger,
        budget_id,
        Event::BudgetSet(set),
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
    ),
)]
pub(crate) async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath((ledger, budget_id)): ApiPath<(LedgerId, BudgetId)>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    existing(&state, ledger, budget_id).await?;
    append(
        &state,
        caller,
        &headers,
        ledger,
        budget_id,
        Event::BudgetRemoved(BudgetRemoved { budget_id }),
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
) -> Result<Json<Value>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    existing(&state, ledger, budget_id).await?;
    let event = Event::AlertSnoozed(AlertSnoozed {
        budget_id,
        until: body.until,
    });
    append(&state, caller, &headers, ledger, budget_id, event).await
}
