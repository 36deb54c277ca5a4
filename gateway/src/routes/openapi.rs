//! The OpenAPI document: its frame (info, security schemes, tags), the header sets
//! several writes accept, and the schemas of types other crates define (which stay
//! free of utoipa) or that handlers still build as JSON values.
//!
//! Each route's entry sits on its handler (`#[utoipa::path]`) and is registered with
//! the route itself (`routes!` in `routes/mod.rs`), so no route exists undocumented
//! and no documented route is missing. The answer shapes below are checked against
//! real answers by the black-box tests (`tests/blackbox/openapi.rs`).

// The header sets and the schemas below exist for the document only and are never
// constructed: each mirrors a type serialized elsewhere. Answers the handlers build
// are real types beside their handlers (and `routes/answers.rs`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::http::header;
use axum::response::IntoResponse;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use uuid::Uuid;

#[path = "openapi_refine.rs"]
mod refine;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "ledger",
        description = "An event-sourced expense ledger with live projections. \
            Amounts are decimal strings at the ledger currency's precision; every write \
            answers with the log `position` it was stored at and every read with the \
            position it reflects. The live socket's messages are described in docs/PROTOCOL.md."
    ),
    security(("bearer" = [])),
    modifiers(&SecuritySchemes),
    // Named only from a query parameter's `value_type`, which does not register it.
    components(schemas(ImportFormat)),
    tags(
        (name = "health", description = "Liveness, readiness, metrics and this document: no token"),
        (name = "users", description = "Users and their tokens"),
        (name = "ledgers", description = "Ledgers and their members"),
        (name = "expenses", description = "Recording, amending, deleting and listing expenses"),
        (name = "budgets", description = "Budgets, their status and their alerts"),
        (name = "reads", description = "Analytics, the ledger's log and its verification"),
        (name = "live", description = "Live updates: WebSocket and Server-Sent Events"),
        (name = "admin", description = "Operators' endpoints: the admin token only"),
    )
)]
pub(crate) struct ApiDoc;

/// Adds the security schemes the document's `security` entries name.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        // Browsers cannot set headers on WebSockets and EventSource.
        components.add_security_scheme(
            "token_query",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::with_description(
                "token",
                "The same token as a query parameter, where headers cannot be set",
            ))),
        );
    }
}

/// The document as served at `/v1/openapi.json` and printed by `ledger openapi`:
/// pretty JSON with a final newline, so the committed copy diffs cleanly.
pub(crate) fn json() -> &'static str {
    static DOCUMENT: OnceLock<String> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, mut document) = super::api().split_for_parts();
        refine::add_rate_limited(&mut document);
        // Closed sets too long to write out by hand, from the tables the server uses.
        let currencies: Vec<&str> = ledger::Currency::codes().collect();
        let timezones: Vec<&str> = ledger::Timezone::names().collect();
        refine::allow_only(&mut document, "NewLedger", "currency", &currencies);
        refine::allow_only(&mut document, "NewLedger", "timezone", &timezones);
        // Serializing a tree of strings, maps and numbers cannot fail; an empty
        // object is still a valid answer if it somehow did.
        let mut text = serde_json::to_string_pretty(&document).unwrap_or_else(|_| "{}".into());
        text.push('\n');
        text
    })
}

/// `GET /v1/openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/v1/openapi.json",
    tag = "health",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document of this server", body = Object)),
)]
pub(crate) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], json())
}

// ---------------------------------------------------------------------------------
// The text rules of `ledger::text` are written on the fields as JSON Schema patterns
// (ECMA-262; utoipa takes only literals), so that what the document allows is exactly
// what the server takes: a label (category, merchant, tag, a ledger's, user's or
// token's name) has no control characters but tabs and line breaks, and something
// besides white space; free text (a description, a broadcast) only the former.

/// One of an expense's tags: a label of at most 40 characters (written by hand:
/// utoipa's derive takes no pattern for a newtype).
pub(crate) struct TagText;

impl utoipa::PartialSchema for TagText {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(r"^[^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*[^\s\u0000-\u001F\u007F-\u009F][^\u0000-\u0008\u000B-\u001F\u007F-\u009F]*$"))
            .max_length(Some(40))
            .into()
    }
}

impl ToSchema for TagText {}

// ---------------------------------------------------------------------------------
// Headers several writes accept.

#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct Idempotency {
    /// 1 to 255 visible ASCII characters, per ledger: a retry with the same key
    /// returns the first answer and appends nothing; the same key with a different
    /// request is a 422.
    #[param(
        rename = "Idempotency-Key",
        min_length = 1,
        max_length = 255,
        pattern = "^[!-~]{1,255}$"
    )]
    idempotency_key: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct IfMatch {
    /// The stream version the write expects (`3` or `"3"`): 409 when it moved on;
    /// anything else is a 422.
    #[param(
        rename = "If-Match",
        pattern = "^([1-9][0-9]{0,18}|\"[1-9][0-9]{0,18}\")$"
    )]
    if_match: Option<String>,
}

#[derive(IntoParams)]
#[into_params(parameter_in = Header)]
pub(crate) struct DeviceId {
    /// Kept in the event's metadata (at most 100 characters).
    #[param(rename = "X-Device-Id")]
    device_id: Option<String>,
}

// ---------------------------------------------------------------------------------
// Names shared with the `ledger` crate, described here so it stays free of utoipa.

/// A member's role in a ledger; each includes the ones below it.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum Role {
    Viewer,
    Member,
    Owner,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum BudgetPeriod {
    Weekly,
    Monthly,
    Yearly,
}

// ---------------------------------------------------------------------------------
// Errors.

/// Every error answer: `{"error": {"code", "message", ...}}`.
#[derive(ToSchema)]
pub(crate) struct ErrorBody {
    error: ErrorDetail,
}

#[derive(ToSchema)]
pub(crate) struct ErrorDetail {
    /// `malformed` (400), `unauthorized` (401), `forbidden` (403), `not_found` (404),
    /// `unknown_endpoint` (404: no such route), `method_not_allowed` (405),
    /// `version_conflict`, `exists` or `deleted` (409), `too_large` (413),
    /// `validation_failed` (422), `unavailable` (503).
    #[schema(example = "validation_failed")]
    code: String,
    #[schema(example = "amount: EUR allows at most 2 decimals")]
    message: String,
    /// The request field at fault, on 422s that have one.
    field: Option<String>,
    /// 409: the stream's current version.
    version: Option<u64>,
    /// 409 on an expense: the expense as it stands.
    #[schema(value_type = Option<Object>)]
    current: Option<Value>,
}

// ---------------------------------------------------------------------------------
// Reads.

/// An expense as the read models show it; deleted ones stay, with `deleted: true`.
#[derive(ToSchema)]
pub(crate) struct Expense {
    expense_id: Uuid,
    version: u64,
    /// In the ledger's currency.
    #[schema(example = "12.50")]
    amount: String,
    #[schema(example = "EUR")]
    currency: String,
    occurred_on: NaiveDate,
    category: String,
    #[schema(required = true)]
    merchant: Option<String>,
    #[schema(required = true)]
    description: Option<String>,
    tags: Vec<String>,
    deleted: bool,
    recorded_at: DateTime<Utc>,
    /// `null` when the admin recorded it.
    #[schema(required = true)]
    recorded_by: Option<Uuid>,
    #[schema(required = true)]
    original_amount: Option<String>,
    #[schema(required = true)]
    original_currency: Option<String>,
    #[schema(required = true)]
    import_id: Option<Uuid>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum BudgetState {
    Ok,
    Warning,
    Exceeded,
}

#[derive(ToSchema)]
pub(crate) struct BudgetStatus {
    budget_id: Uuid,
    /// `null`: the budget covers all spending.
    #[schema(required = true)]
    category: Option<String>,
    period: BudgetPeriod,
    period_start: NaiveDate,
    /// The period's last day, inclusive.
    period_end: NaiveDate,
    #[schema(example = "500.00")]
    limit: String,
    #[schema(example = "422.50")]
    spent: String,
    /// Negative once the limit is exceeded.
    #[schema(example = "77.50")]
    remaining: String,
    /// Percent with one decimal.
    #[schema(example = "84.5")]
    utilization: String,
    status: BudgetState,
    thresholds: Vec<u32>,
    #[schema(required = true)]
    snoozed_until: Option<DateTime<Utc>>,
}

/// A statement's format: `tsv` is `csv` with tabs, `qfx` is `ofx`.
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ImportFormat {
    Csv,
    Tsv,
    Ofx,
    Qfx,
    Qif,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(ToSchema)]
pub(crate) struct Alert {
    budget_id: Uuid,
    #[schema(required = true)]
    category: Option<String>,
    period_start: NaiveDate,
    threshold: u32,
    severity: Severity,
    utilization: String,
    spent: String,
    limit: String,
    /// Recorded while the budget was snoozed: no toast.
    snoozed: bool,
    message: String,
    position: i64,
    recorded_at: DateTime<Utc>,
    /// The budget version that armed this alert.
    armed_by_version: u64,
}

#[derive(ToSchema)]
pub(crate) struct MerchantTotal {
    merchant: String,
    total: String,
    count: u64,
}

#[derive(ToSchema)]
pub(crate) struct Analytics {
    position: i64,
    #[schema(example = "1234.50")]
    total: String,
    count: u64,
    month_to_date: String,
    previous_month_same_day: String,
    /// Spending per day (`YYYY-MM-DD`).
    by_day: BTreeMap<String, String>,
    /// Spending per month (`YYYY-MM`).
    by_month: BTreeMap<String, String>,
    /// Per month (`YYYY-MM`), spending per category.
    by_category: BTreeMap<String, BTreeMap<String, String>>,
    top_merchants: Vec<MerchantTotal>,
}

#[derive(ToSchema)]
pub(crate) struct Verification {
    ok: bool,
    /// Events checked.
    checked: u64,
    /// Only when the chain is broken.
    first_bad_position: Option<i64>,
}

// ---------------------------------------------------------------------------------
// Admin.

#[derive(ToSchema)]
pub(crate) struct ProjectionStatus {
    /// Every event up to here is folded in.
    position: i64,
    checkpoint_position: i64,
    /// Set when an event could not be folded: the read models stopped before it.
    error: Option<String>,
    error_position: Option<i64>,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ImportRunState {
    Running,
    Completed,
    Cancelled,
    Failed,
}

#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
pub(crate) enum ImportStage {
    Parsing,
    Deduplicating,
    Appending,
}

#[derive(ToSchema)]
pub(crate) struct ImportLineError {
    line: u64,
    message: String,
}

/// A new row that looks like an expense recorded by hand (same amount, date within
/// a few days): reported, never merged.
#[derive(ToSchema)]
pub(crate) struct ImportPossibleDuplicate {
    line: u64,
    expense_id: Uuid,
}

/// One statement import, at any moment.
#[derive(ToSchema)]
pub(crate) struct ImportStatus {
    import_id: Uuid,
    ledger_id: Uuid,
    state: ImportRunState,
    stage: ImportStage,
    /// Rows done in the current stage, of `total`.
    processed: u64,
    total: u64,
    /// Across all stages; never goes back.
    percent: u32,
    imported: u64,
    duplicates: u64,
    errors: Vec<ImportLineError>,
    possible_duplicates: Vec<ImportPossibleDuplicate>,
    skipped_credits: u64,
    skipped_zero: u64,
    #[schema(example = "csv")]
    format: String,
    #[schema(example = "UTF-8")]
    encoding: String,
    #[schema(required = true)]
    file_name: Option<String>,
    /// The position of the import's `ImportCompleted` once it is in the log.
    #[schema(required = true)]
    position: Option<i64>,
    /// Why the import failed or was cancelled.
    #[schema(required = true)]
    message: Option<String>,
}
