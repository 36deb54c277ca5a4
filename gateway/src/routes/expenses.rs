//! Expenses: record, amend, delete (reads are in `expense_reads.rs`).

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use ledger::commands::expense::{self as command, ExpenseChanges, ExpenseState};
use ledger::event::Role;
use ledger::text::parse_tags;
use ledger::{
    Category, Currency, Description, ExpectedVersion, ExpenseId, LedgerId, Merchant, Metadata,
    Position,
};
use projections::Expense;
use serde::{Deserialize, Serialize};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::extract::{idempotency_key, if_match, ApiJson, ApiPath};
use crate::input;
use crate::routes::answers::Written;
use crate::routes::openapi::{DeviceId, ErrorBody, Idempotency, IfMatch};
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
    #[schema(
        example = "groceries",
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 64
    )]
    category: String,
    /// 1 to 128 characters.
    #[schema(
        example = "Market",
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 128
    )]
    merchant: Option<String>,
    /// At most 2000 characters.
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 2000
    )]
    description: Option<String>,
    /// At most 20, each 1 to 40 characters.
    #[serde(default)]
    #[schema(value_type = Vec<crate::routes::openapi::TagText>, max_items = 20)]
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

/// `POST .../expenses`' answer.
#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ExpenseCreated {
    #[schema(value_type = uuid::Uuid)]
    expense_id: ExpenseId,
    version: u64,
    #[schema(value_type = i64)]
    position: Position,
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
) -> Result<(StatusCode, Json<ExpenseCreated>), ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let currency = currency_of(&state, ledger)?;
    let metadata = metadata(caller, &headers)?;
    let original = match (&body.original_amount, &body.original_currency) {
        (None, None) => None,
        (Some(amount), Some(code)) => {
            let original = input::currency("original_currency", code)?;
            Some((
                input::amount("original_amount", amount, original)?,
                original,
            ))
        }
        _ => {
            return Err(ApiError::invalid(
                "original_amount",
                "comes together with original_currency",
            ))
        }
    };
    let expense_id = body
        .expense_id
        .unwrap_or_else(|| command::new_id(ledger, metadata.idempotency_key.as_deref()));
    let expense = command::NewExpense {
        expense_id,
        amount: input::amount("amount", &body.amount, currency)?,
        occurred_on: input::date("occurred_on", &body.occurred_on)?,
        category: Category::parse(&body.category)?,
        merchant: body.merchant.as_deref().map(Merchant::parse).transpose()?,
        description: body
            .description
            .as_deref()
            .map(Description::parse)
            .transpose()?,
        tags: parse_tags(&body.tags)?,
        original,
    };
    let request = command::record(ledger, expense, metadata);
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
        Json(ExpenseCreated {
            expense_id,
            version: appended.version(),
            position: appended.last_position,
        }),
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
    state.caught_up(state.head().await?).await;
    lookup(state)
        .ok_or_else(|| ApiError::NotFound(format!("no expense {expense} in ledger {ledger}")))
}

/// A refusal or a conflict about an expense carries the expense as it stands.
fn state_of(expense: &Expense) -> ExpenseState {
    ExpenseState {
        version: expense.version,
        deleted: expense.deleted,
    }
}

fn conflict(e: impl Into<ApiError>, current: &Expense) -> ApiError {
    match e.into() {
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
    #[schema(
        pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$",
        max_length = 64
    )]
    category: Option<String>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "input::present")]
    #[schema(value_type = Option<String>, pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$", max_length = 128)]
    merchant: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "input::present")]
    #[schema(value_type = Option<String>, pattern = r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$", max_length = 2000)]
    description: Option<Option<String>>,
    /// Replaces the tags.
    #[schema(value_type = Option<Vec<crate::routes::openapi::TagText>>, max_items = 20)]
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
) -> Result<Json<Written>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let currency = currency_of(&state, ledger)?;
    let expected = if_match(&headers)?;
    let metadata = metadata(caller, &headers)?;
    let existing = current(&state, ledger, expense_id).await?;
    let now = state_of(&existing);
    // A deleted expense is refused before its changes are read, as it always was.
    command::amendable(expense_id, now).map_err(|e| conflict(e, &existing))?;
    let changes = ExpenseChanges {
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
        category: body.category.as_deref().map(Category::parse).transpose()?,
        merchant: body
            .merchant
            .map(|m| m.as_deref().map(Merchant::parse).transpose())
            .transpose()?,
        description: body
            .description
            .map(|d| d.as_deref().map(Description::parse).transpose())
            .transpose()?,
        tags: body.tags.as_deref().map(parse_tags).transpose()?,
    };
    let expected = expected.map_or(ExpectedVersion::Any, ExpectedVersion::Exact);
    let request = command::amend(ledger, expense_id, changes, now, expected, metadata)
        .map_err(|e| conflict(e, &existing))?;
    let appended = state
        .append(request)
        .await
        .map_err(|e| conflict(e, &existing))?;
    Ok(Json(Written::from(&appended)))
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
) -> Result<Json<Written>, ApiError> {
    caller.require(&state, ledger, Role::Member).await?;
    let expected = if_match(&headers)?;
    let metadata = metadata(caller, &headers)?;
    let existing = current(&state, ledger, expense_id).await?;
    let expected = expected.map_or(ExpectedVersion::Any, ExpectedVersion::Exact);
    let request = command::delete(ledger, expense_id, state_of(&existing), expected, metadata)
        .map_err(|e| conflict(e, &existing))?;
    let appended = state
        .append(request)
        .await
        .map_err(|e| conflict(e, &existing))?;
    Ok(Json(Written::from(&appended)))
}
