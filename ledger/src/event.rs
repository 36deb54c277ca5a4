//! The domain events: immutable, past-tense facts with a schema version per type.
//!
//! Each variant's payload is stored as JSON next to its type name and version. When a
//! payload's shape changes, its version goes up and [`Event::decode`] gains an upcaster
//! from the older shape, so every event ever written still loads.

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use crate::error::DecodeError;
use crate::ids::{BudgetId, ExpenseId, ImportId, LedgerId, StreamId, UserId};
use crate::money::{Amount, Currency};

/// What a member may do in a ledger; each role includes the ones below it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Member,
    Owner,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BudgetPeriod {
    Weekly,
    Monthly,
    Yearly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerOpened {
    pub ledger_id: LedgerId,
    pub name: String,
    pub currency: Currency,
    pub timezone: String,
    pub owner: UserId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberGranted {
    pub user_id: UserId,
    pub role: Role,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberRevoked {
    pub user_id: UserId,
}

/// Spending (positive) or a refund (negative) in the ledger's currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseRecorded {
    pub expense_id: ExpenseId,
    pub amount: Amount,
    #[serde(deserialize_with = "date")]
    pub occurred_on: NaiveDate,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Informational: what was paid in a foreign currency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_amount: Option<Amount>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_currency: Option<Currency>,
    /// Set when the expense came from a statement import.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub import_id: Option<ImportId>,
}

/// Only the fields that changed; `Some(None)` clears an optional field.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseAmended {
    pub expense_id: ExpenseId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "some_date"
    )]
    pub occurred_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub merchant: Option<Option<String>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub description: Option<Option<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExpenseDeleted {
    pub expense_id: ExpenseId,
}

/// Sets (or replaces) a budget; `category: None` budgets all spending.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetSet {
    pub budget_id: BudgetId,
    pub category: Option<String>,
    pub amount: Amount,
    pub period: BudgetPeriod,
    /// Percentages of the amount at which an alert is raised, ascending.
    pub thresholds: Vec<u32>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetRemoved {
    pub budget_id: BudgetId,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BudgetAlertRaised {
    pub budget_id: BudgetId,
    pub period_start: NaiveDate,
    pub threshold: u32,
    pub severity: Severity,
    /// Percentage with one decimal, as text (`"84.5"`).
    pub utilization: String,
    pub spent: Amount,
    pub limit: Amount,
    pub snoozed: bool,
    /// The budget stream version of the `BudgetSet` that armed this alert: changing
    /// the budget re-arms its alerts under a new value.
    pub armed_by_version: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertSnoozed {
    pub budget_id: BudgetId,
    pub until: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportStarted {
    pub import_id: ImportId,
    pub format: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    pub rows: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRowError {
    pub line: u64,
    pub message: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCompleted {
    pub import_id: ImportId,
    pub imported: u64,
    pub duplicates: u64,
    #[serde(default)]
    pub errors: Vec<ImportRowError>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportCancelled {
    pub import_id: ImportId,
    pub reason: String,
}

/// Every fact the log can hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    LedgerOpened(LedgerOpened),
    MemberGranted(MemberGranted),
    MemberRevoked(MemberRevoked),
    ExpenseRecorded(ExpenseRecorded),
    ExpenseAmended(ExpenseAmended),
    ExpenseDeleted(ExpenseDeleted),
    BudgetSet(BudgetSet),
    BudgetRemoved(BudgetRemoved),
    BudgetAlertRaised(BudgetAlertRaised),
    AlertSnoozed(AlertSnoozed),
    ImportStarted(ImportStarted),
    ImportCompleted(ImportCompleted),
    ImportCancelled(ImportCancelled),
}

/// Calls `$body` with the payload of whichever variant `$event` is.
macro_rules! with_payload {
    ($event:expr, $p:ident => $body:expr) => {
        match $event {
            Event::LedgerOpened($p) => $body,
            Event::MemberGranted($p) => $body,
            Event::MemberRevoked($p) => $body,
            Event::ExpenseRecorded($p) => $body,
            Event::ExpenseAmended($p) => $body,
            Event::ExpenseDeleted($p) => $body,
            Event::BudgetSet($p) => $body,
            Event::BudgetRemoved($p) => $body,
            Event::BudgetAlertRaised($p) => $body,
            Event::AlertSnoozed($p) => $body,
            Event::ImportStarted($p) => $body,
            Event::ImportCompleted($p) => $body,
            Event::ImportCancelled($p) => $body,
        }
    };
}

impl Event {
    /// The stored type name, which is also the variant's name.
    pub const fn event_type(&self) -> &'static str {
        match self {
            Event::LedgerOpened(_) => "LedgerOpened",
            Event::MemberGranted(_) => "MemberGranted",
            Event::MemberRevoked(_) => "MemberRevoked",
            Event::ExpenseRecorded(_) => "ExpenseRecorded",
            Event::ExpenseAmended(_) => "ExpenseAmended",
            Event::ExpenseDeleted(_) => "ExpenseDeleted",
            Event::BudgetSet(_) => "BudgetSet",
            Event::BudgetRemoved(_) => "BudgetRemoved",
            Event::BudgetAlertRaised(_) => "BudgetAlertRaised",
            Event::AlertSnoozed(_) => "AlertSnoozed",
            Event::ImportStarted(_) => "ImportStarted",
            Event::ImportCompleted(_) => "ImportCompleted",
            Event::ImportCancelled(_) => "ImportCancelled",
        }
    }

    /// The payload version this code writes for the event's type.
    pub const fn schema_version(&self) -> u16 {
        match self {
            // v1 called the description `note` and had no tags.
            Event::ExpenseRecorded(_) => 2,
            _ => 1,
        }
    }

    /// The stream this event belongs to inside `ledger`.
    pub fn stream(&self, ledger: LedgerId) -> StreamId {
        match self {
            Event::LedgerOpened(_) | Event::MemberGranted(_) | Event::MemberRevoked(_) => {
                StreamId::ledger(ledger)
            }
            Event::ExpenseRecorded(e) => StreamId::expense(e.expense_id),
            Event::ExpenseAmended(e) => StreamId::expense(e.expense_id),
            Event::ExpenseDeleted(e) => StreamId::expense(e.expense_id),
            Event::BudgetSet(e) => StreamId::budget(e.budget_id),
            Event::BudgetRemoved(e) => StreamId::budget(e.budget_id),
            Event::BudgetAlertRaised(e) => StreamId::budget(e.budget_id),
            Event::AlertSnoozed(e) => StreamId::budget(e.budget_id),
            Event::ImportStarted(e) => StreamId::import(e.import_id),
            Event::ImportCompleted(e) => StreamId::import(e.import_id),
            Event::ImportCancelled(e) => StreamId::import(e.import_id),
        }
    }

    /// The payload as JSON text, exactly as it is stored and hashed.
    pub fn encode(&self) -> String {
        with_payload!(self, p => serde_json::to_string(p)).expect("event payloads always serialize")
    }

    /// The payload as a JSON value (for APIs that embed it).
    pub fn payload(&self) -> Value {
        with_payload!(self, p => serde_json::to_value(p)).expect("event payloads always serialize")
    }

    /// Reads a stored payload of any version this code has known, upcasting old ones.
    ///
    /// # Errors
    /// An unknown type, a version newer than this code, or a payload that does not fit.
    pub fn decode(
        event_type: &str,
        schema_version: u16,
        payload: &str,
    ) -> Result<Event, DecodeError> {
        let fail = |reason: String| DecodeError {
            event_type: event_type.chars().take(64).collect(),
            schema_version,
            reason,
        };
        let current =
            Self::current_version(event_type).ok_or_else(|| fail("unknown event type".into()))?;
        if schema_version == 0 || schema_version > current {
            return Err(fail(format!(
                "unsupported schema version (this build reads 1..={current})"
            )));
        }
        if schema_version == current {
            // The common case, read straight from the text: no intermediate tree.
            return typed(event_type, payload).map_err(fail);
        }
        let mut value: Value = serde_json::from_str(payload).map_err(|e| fail(e.to_string()))?;
        for from in schema_version..current {
            value = upcast(event_type, from, value).map_err(fail)?;
        }
        typed(event_type, value).map_err(fail)
    }

    fn current_version(event_type: &str) -> Option<u16> {
        match event_type {
            "ExpenseRecorded" => Some(2),
            "LedgerOpened" | "MemberGranted" | "MemberRevoked" | "ExpenseAmended"
            | "ExpenseDeleted" | "BudgetSet" | "BudgetRemoved" | "BudgetAlertRaised"
            | "AlertSnoozed" | "ImportStarted" | "ImportCompleted" | "ImportCancelled" => Some(1),
            _ => None,
        }
    }
}

/// Where a payload is read from: its stored text, or a tree an upcaster rewrote.
trait Source {
    fn parse<T: DeserializeOwned>(self) -> Result<T, String>;
}

impl Source for &str {
    fn parse<T: DeserializeOwned>(self) -> Result<T, String> {
        serde_json::from_str(self).map_err(|e| e.to_string())
    }
}

impl Source for Value {
    fn parse<T: DeserializeOwned>(self) -> Result<T, String> {
        serde_json::from_value(self).map_err(|e| e.to_string())
    }
}

/// Reads a payload of the current version of `event_type`.
fn typed(event_type: &str, payload: impl Source) -> Result<Event, String> {
    match event_type {
        "LedgerOpened" => payload.parse().map(Event::LedgerOpened),
        "MemberGranted" => payload.parse().map(Event::MemberGranted),
        "MemberRevoked" => payload.parse().map(Event::MemberRevoked),
        "ExpenseRecorded" => payload.parse().map(Event::ExpenseRecorded),
        "ExpenseAmended" => payload.parse().map(Event::ExpenseAmended),
        "ExpenseDeleted" => payload.parse().map(Event::ExpenseDeleted),
        "BudgetSet" => payload.parse().map(Event::BudgetSet),
        "BudgetRemoved" => payload.parse().map(Event::BudgetRemoved),
        "BudgetAlertRaised" => payload.parse().map(Event::BudgetAlertRaised),
        "AlertSnoozed" => payload.parse().map(Event::AlertSnoozed),
        "ImportStarted" => payload.parse().map(Event::ImportStarted),
        "ImportCompleted" => payload.parse().map(Event::ImportCompleted),
        "ImportCancelled" => payload.parse().map(Event::ImportCancelled),
        _ => Err("unknown event type".into()),
    }
}

/// Turns a payload of version `from` into version `from + 1`.
fn upcast(event_type: &str, from: u16, mut value: Value) -> Result<Value, String> {
    match (event_type, from) {
        ("ExpenseRecorded", 1) => {
            let object = value.as_object_mut().ok_or("payload is not an object")?;
            if let Some(note) = object.remove("note") {
                object.insert("description".into(), note);
            }
            object
                .entry("tags")
                .or_insert_with(|| Value::Array(Vec::new()));
            Ok(value)
        }
        _ => Err(format!("no upcaster from version {from}")),
    }
}

/// A date as chrono reads it, the `YYYY-MM-DD` every stored date has read without
/// chrono's general parser: each expense event carries one, so a rebuild reads
/// a date per event.
fn date<'de, D: Deserializer<'de>>(d: D) -> Result<NaiveDate, D::Error> {
    struct Visitor;

    impl serde::de::Visitor<'_> for Visitor {
        type Value = NaiveDate;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a date")
        }

        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<NaiveDate, E> {
            plain_date(text)
                .or_else(|| text.parse().ok())
                .ok_or_else(|| E::custom(format!("not a date: {:?}", truncated(text))))
        }
    }

    d.deserialize_str(Visitor)
}

fn some_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    date(d).map(Some)
}

/// `YYYY-MM-DD` with four-digit years; `None` for anything else, valid or not, which
/// chrono then reads or refuses.
fn plain_date(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |digits: &[u8]| {
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let year = i32::try_from(number(&b[..4])?).ok()?;
    NaiveDate::from_ymd_opt(year, number(&b[5..7])?, number(&b[8..])?)
}

fn truncated(text: &str) -> String {
    text.chars().take(32).collect()
}

/// Keeps "absent" (`None`) apart from "null" (`Some(None)`) when deserializing.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(s: &str) -> Amount {
        Amount::parse(s, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn expense() -> ExpenseRecorded {
        ExpenseRecorded {
            expense_id: ExpenseId::new(),
            amount: eur("12.50"),
            occurred_on: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            category: "groceries".into(),
            merchant: Some("Corner shop".into()),
            description: None,
            tags: vec!["food".into()],
            original_amount: None,
            original_currency: None,
            import_id: None,
        }
    }

    #[test]
    fn dates_read_as_chrono_reads_them() {
        for text in [
            "2026-11-01",
            "0001-01-01",
            "2028-02-29",
            "2026-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "+2026-11-01",
            "-0001-12-31",
            "20261101",
            "2026-11-0a",
            "２０２６-11-01",
            "",
        ] {
            let json = serde_json::to_string(text).unwrap();
            let mut d = serde_json::Deserializer::from_str(&json);
            let ours = date(&mut d).ok();
            let chrono: Option<NaiveDate> = serde_json::from_str(&json).ok();
            assert_eq!(ours, chrono, "{text}");
        }
    }

    #[test]
    fn events_round_trip_through_their_stored_form() {
        let e = Event::ExpenseRecorded(expense());
        let back = Event::decode(e.event_type(), e.schema_version(), &e.encode()).unwrap();
        assert_eq!(back, e);
        assert!(e.encode().contains("\"amount\":\"12.50\""));
    }

    #[test]
    fn expense_recorded_v1_is_upcast() {
        let v1 = r#"{"expense_id":"7f1c7d1e-0c55-4b8f-9a57-1f9d7a3b2c10","amount":"3.20",
            "occurred_on":"2025-02-28","category":"coffee","note":"flat white"}"#;
        let Event::ExpenseRecorded(e) = Event::decode("ExpenseRecorded", 1, v1).unwrap() else {
            panic!("wrong variant")
        };
        assert_eq!(e.description.as_deref(), Some("flat white"));
        assert!(e.tags.is_empty());
        assert_eq!(e.amount, eur("3.20"));
    }

    #[test]
    fn amendments_keep_absent_apart_from_cleared() {
        let cleared: ExpenseAmended = serde_json::from_str(
            r#"{"expense_id":"7f1c7d1e-0c55-4b8f-9a57-1f9d7a3b2c10","merchant":null}"#,
        )
        .unwrap();
        assert_eq!(cleared.merchant, Some(None));
        assert_eq!(cleared.description, None);
        let text = serde_json::to_string(&cleared).unwrap();
        let again: ExpenseAmended = serde_json::from_str(&text).unwrap();
        assert_eq!(again, cleared);
    }

    #[test]
    fn unreadable_payloads_are_errors_not_panics() {
        assert!(Event::decode("ExpenseRecorded", 3, "{}").is_err());
        assert!(Event::decode("ExpenseRecorded", 0, "{}").is_err());
        assert!(Event::decode("NoSuchEvent", 1, "{}").is_err());
        assert!(Event::decode("ExpenseRecorded", 2, "not json").is_err());
        assert!(Event::decode("ExpenseRecorded", 2, r#"{"amount":12.5}"#).is_err());
        assert!(Event::decode("ExpenseRecorded", 1, "[]").is_err());
    }

    #[test]
    fn events_know_their_stream() {
        let ledger = LedgerId::new();
        let e = expense();
        assert_eq!(
            Event::ExpenseRecorded(e.clone()).stream(ledger),
            StreamId::expense(e.expense_id)
        );
        let m = Event::MemberRevoked(MemberRevoked {
            user_id: UserId::new(),
        });
        assert_eq!(m.stream(ledger), StreamId::ledger(ledger));
    }
}
