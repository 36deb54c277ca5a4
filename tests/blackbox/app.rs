//! A typed client for the HTTP API, so a test says what it does ("record an expense")
//! instead of how the request is built, and reads answers as structs instead of
//! picking JSON apart.
//!
//! Each write has two forms: `record_expense` answers the typed success and panics
//! with the status and body on anything else; `try_record_expense` answers the raw
//! [`Answer`] for tests that check a refusal. [`Api::call`] is the escape hatch for
//! requests no typed method can express (a float amount, an unknown field).

use ledger::event::Role;
use ledger::{BudgetId, ExpenseId, LedgerId, UserId};
use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::helpers::assert_error;

/// The request and answer types; the ones a method names are re-exported here.
pub(crate) mod shapes;
/// The WebSocket client: connect, subscribe, the next message with a timeout.
pub(crate) mod socket;

pub(crate) use shapes::{
    Alerts, Analytics, Budgets, ExpensePage, LogPage, NewBudget, NewExpense, User, Verification,
    Versioned, Written,
};

/// A client of one server: its base URL and the admin token it was started with,
/// where the test knows it.
pub(crate) struct Api {
    pub(crate) base: String,
    pub(crate) client: Client,
    admin: Option<String>,
}

/// What the server answered: the status and the body, parsed as JSON where it is
/// JSON and kept as a string where it is not.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Answer {
    /// The body as `T`, after checking the server answered `expected`.
    #[track_caller]
    pub(crate) fn expect<T: DeserializeOwned>(self, expected: StatusCode) -> T {
        assert_eq!(self.status, expected, "{}", self.body);
        serde_json::from_value(self.body.clone())
            .unwrap_or_else(|e| panic!("an unexpected answer ({e}): {}", self.body))
    }

    /// Checks the answer is the contract's error body with this status and code.
    #[track_caller]
    pub(crate) fn refused(&self, expected: StatusCode, code: &str) {
        assert_error(self.status, &self.body, expected, code);
    }
}

impl Api {
    pub(crate) fn new(base: impl Into<String>, admin: Option<&str>) -> Api {
        Api {
            base: base.into(),
            client: Client::new(),
            admin: admin.map(str::to_owned),
        }
    }

    /// The WebSocket URL for `token`.
    pub(crate) fn ws_url(&self, token: &str) -> String {
        format!(
            "{}/v1/ws?token={token}",
            self.base.replace("http://", "ws://")
        )
    }

    async fn send(request: RequestBuilder) -> Answer {
        let response = request.send().await.expect("the server answers");
        let status = response.status();
        let text = response.text().await.expect("the server sends its body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Answer { status, body }
    }

    fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let request = self.client.request(method, format!("{}{path}", self.base));
        match token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    /// The escape hatch: any request, its status and body.
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = self.request(method, path, token);
        if let Some(b) = body {
            request = request.json(&b);
        }
        let answer = Self::send(request).await;
        (answer.status, answer.body)
    }

    /// A GET with `token`; `path` may carry a query.
    pub(crate) async fn get(&self, token: &str, path: &str) -> Answer {
        Self::send(self.request(Method::GET, path, Some(token))).await
    }

    /// A POST of any JSON body with `token`.
    pub(crate) async fn post(&self, token: &str, path: &str, body: &impl Serialize) -> Answer {
        self.write(Method::POST, path, token, body).await
    }

    /// A POST of a body sent as it is, for what serde would never write.
    pub(crate) async fn raw(&self, path: &str, token: &str, body: &str) -> (StatusCode, Value) {
        let request = self
            .request(Method::POST, path, Some(token))
            .header("content-type", "application/json")
            .body(body.to_owned());
        let answer = Self::send(request).await;
        // A body that is not JSON reads as null here, as the tests always expected.
        let body = if answer.body.is_string() {
            Value::Null
        } else {
            answer.body
        };
        (answer.status, body)
    }

    async fn write(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &impl Serialize,
    ) -> Answer {
        Self::send(self.request(method, path, Some(token)).json(body)).await
    }

    // Users and ledgers.

    pub(crate) async fn try_create_user(&self, token: &str, name: &str) -> Answer {
        self.write(Method::POST, "/v1/users", token, &json!({ "name": name }))
            .await
    }

    /// A user created by the admin.
    pub(crate) async fn create_user(&self, name: &str) -> User {
        let admin = self.admin.as_deref().expect("a server with an admin token");
        self.try_create_user(admin, name)
            .await
            .expect(StatusCode::CREATED)
    }

    /// As [`Api::create_user`], the id and the token as strings.
    pub(crate) async fn user(&self, name: &str) -> (String, String) {
        let user = self.create_user(name).await;
        (user.id.to_string(), user.token)
    }

    pub(crate) async fn try_open_ledger(&self, token: &str, name: &str, currency: &str) -> Answer {
        let body = json!({ "name": name, "currency": currency });
        self.write(Method::POST, "/v1/ledgers", token, &body).await
    }

    pub(crate) async fn open_ledger(&self, token: &str, name: &str, currency: &str) -> LedgerId {
        #[derive(Deserialize)]
        struct Opened {
            ledger_id: LedgerId,
        }
        let opened: Opened = self
            .try_open_ledger(token, name, currency)
            .await
            .expect(StatusCode::CREATED);
        opened.ledger_id
    }

    /// A ledger named "Home", its id as a string.
    pub(crate) async fn ledger(&self, token: &str, currency: &str) -> String {
        self.open_ledger(token, "Home", currency).await.to_string()
    }

    pub(crate) async fn try_add_member(
        &self,
        token: &str,
        ledger: LedgerId,
        user: UserId,
        role: Role,
    ) -> Answer {
        let body = json!({ "user_id": user, "role": role });
        let path = format!("/v1/ledgers/{ledger}/members");
        self.write(Method::POST, &path, token, &body).await
    }

    pub(crate) async fn add_member(&self, token: &str, ledger: LedgerId, user: UserId, role: Role) {
        let _: IgnoredAny = self
            .try_add_member(token, ledger, user, role)
            .await
            .expect(StatusCode::OK);
    }

    // Expenses.

    pub(crate) async fn try_record_expense(
        &self,
        token: &str,
        ledger: LedgerId,
        expense: &NewExpense,
    ) -> Answer {
        let path = format!("/v1/ledgers/{ledger}/expenses");
        self.write(Method::POST, &path, token, expense).await
    }

    pub(crate) async fn record_expense(
        &self,
        token: &str,
        ledger: LedgerId,
        expense: &NewExpense,
    ) -> Written {
        self.try_record_expense(token, ledger, expense)
            .await
            .expect(StatusCode::CREATED)
    }

    /// As [`Api::record_expense`], with an `Idempotency-Key`.
    pub(crate) async fn record_expense_once(
        &self,
        token: &str,
        ledger: LedgerId,
        key: &str,
        expense: &NewExpense,
    ) -> Written {
        let path = format!("/v1/ledgers/{ledger}/expenses");
        let request = self
            .request(Method::POST, &path, Some(token))
            .header("idempotency-key", key)
            .json(expense);
        Self::send(request).await.expect(StatusCode::CREATED)
    }

    /// A PATCH of `changes` (JSON, so a field can be set to null), with `If-Match`
    /// where `if_match` is given.
    pub(crate) async fn try_amend_expense(
        &self,
        token: &str,
        ledger: LedgerId,
        expense: ExpenseId,
        if_match: Option<u64>,
        changes: &Value,
    ) -> Answer {
        let path = format!("/v1/ledgers/{ledger}/expenses/{expense}");
        let mut request = self
            .request(Method::PATCH, &path, Some(token))
            .json(changes);
        if let Some(version) = if_match {
            request = request.header("if-match", version.to_string());
        }
        Self::send(request).await
    }

    pub(crate) async fn amend_expense(
        &self,
        token: &str,
        ledger: LedgerId,
        expense: ExpenseId,
        if_match: Option<u64>,
        changes: &Value,
    ) -> Versioned {
        self.try_amend_expense(token, ledger, expense, if_match, changes)
            .await
            .expect(StatusCode::OK)
    }

    pub(crate) async fn try_delete_expense(
        &self,
        token: &str,
        ledger: LedgerId,
        expense: ExpenseId,
    ) -> Answer {
        let path = format!("/v1/ledgers/{ledger}/expenses/{expense}");
        Self::send(self.request(Method::DELETE, &path, Some(token))).await
    }

    pub(crate) async fn delete_expense(
        &self,
        token: &str,
        ledger: LedgerId,
        expense: ExpenseId,
    ) -> Versioned {
        self.try_delete_expense(token, ledger, expense)
            .await
            .expect(StatusCode::OK)
    }

    /// `GET /v1/ledgers/{lid}/expenses`; `query` without its `?`, possibly empty.
    pub(crate) async fn try_expenses(&self, token: &str, ledger: LedgerId, query: &str) -> Answer {
        self.get(
            token,
            &with_query(&format!("/v1/ledgers/{ledger}/expenses"), query),
        )
        .await
    }

    pub(crate) async fn expenses(&self, token: &str, ledger: LedgerId, query: &str) -> ExpensePage {
        self.try_expenses(token, ledger, query)
            .await
            .expect(StatusCode::OK)
    }

    pub(crate) async fn expense_history(
        &self,
        token: &str,
        ledger: LedgerId,
        expense: ExpenseId,
    ) -> LogPage {
        let path = format!("/v1/ledgers/{ledger}/expenses/{expense}/history");
        self.get(token, &path).await.expect(StatusCode::OK)
    }

    // Budgets.

    pub(crate) async fn try_set_budget(
        &self,
        token: &str,
        ledger: LedgerId,
        budget: BudgetId,
        body: &NewBudget,
    ) -> Answer {
        let path = format!("/v1/ledgers/{ledger}/budgets/{budget}");
        self.write(Method::PUT, &path, token, body).await
    }

    pub(crate) async fn set_budget(
        &self,
        token: &str,
        ledger: LedgerId,
        budget: BudgetId,
        body: &NewBudget,
    ) -> Versioned {
        self.try_set_budget(token, ledger, budget, body)
            .await
            .expect(StatusCode::OK)
    }

    /// Snoozes the budget's alerts until `until` (RFC 3339).
    pub(crate) async fn snooze_budget(
        &self,
        token: &str,
        ledger: LedgerId,
        budget: BudgetId,
        until: &str,
    ) {
        let path = format!("/v1/ledgers/{ledger}/budgets/{budget}/snooze");
        let _: IgnoredAny = self
            .write(Method::POST, &path, token, &json!({ "until": until }))
            .await
            .expect(StatusCode::OK);
    }

    pub(crate) async fn try_delete_budget(
        &self,
        token: &str,
        ledger: LedgerId,
        budget: BudgetId,
    ) -> Answer {
        let path = format!("/v1/ledgers/{ledger}/budgets/{budget}");
        Self::send(self.request(Method::DELETE, &path, Some(token))).await
    }

    pub(crate) async fn delete_budget(&self, token: &str, ledger: LedgerId, budget: BudgetId) {
        let _: IgnoredAny = self
            .try_delete_budget(token, ledger, budget)
            .await
            .expect(StatusCode::OK);
    }

    // Reads of the ledger as a whole.

    pub(crate) async fn budgets(&self, token: &str, ledger: LedgerId, query: &str) -> Budgets {
        self.read(token, ledger, "budgets", query).await
    }

    pub(crate) async fn try_analytics(&self, token: &str, ledger: LedgerId, query: &str) -> Answer {
        self.get(
            token,
            &with_query(&format!("/v1/ledgers/{ledger}/analytics"), query),
        )
        .await
    }

    pub(crate) async fn analytics(&self, token: &str, ledger: LedgerId, query: &str) -> Analytics {
        self.read(token, ledger, "analytics", query).await
    }

    pub(crate) async fn alerts(&self, token: &str, ledger: LedgerId, query: &str) -> Alerts {
        self.read(token, ledger, "alerts", query).await
    }

    pub(crate) async fn events(&self, token: &str, ledger: LedgerId, query: &str) -> LogPage {
        self.read(token, ledger, "events", query).await
    }

    pub(crate) async fn verify(&self, token: &str, ledger: LedgerId) -> Verification {
        self.read(token, ledger, "verify", "").await
    }

    /// `GET /v1/ledgers/{lid}/{what}?{query}`, answered 200 and read as `T`.
    async fn read<T: DeserializeOwned>(
        &self,
        token: &str,
        ledger: LedgerId,
        what: &str,
        query: &str,
    ) -> T {
        let path = with_query(&format!("/v1/ledgers/{ledger}/{what}"), query);
        self.get(token, &path).await.expect(StatusCode::OK)
    }
}

fn with_query(path: &str, query: &str) -> String {
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}
