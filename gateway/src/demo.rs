//! `ledger demo`: a server with a household ledger full of realistic spending over the
//! last three months, so there is something to look at right away.

use anyhow::Context;
use chrono::{Days, Utc};
use ledger::commands::budget::{self, BudgetSpec, Thresholds};
use ledger::commands::expense::{self, NewExpense};
use ledger::commands::ledger::{self as ledgers, OpenLedger};
use ledger::event::{BudgetPeriod, Role};
use ledger::{
    Amount, BudgetId, Category, Currency, ExpectedVersion, ExpenseId, LedgerId, LedgerName,
    Merchant, Metadata, Store, Tag, TokenHash, User, UserId,
};
use rust_decimal::Decimal;

use crate::random::Random;

/// (category, merchants, typical cents, visits per week)
const SPENDING: [(&str, &[&str], i64, usize); 6] = [
    (
        "groceries",
        &["Corner Market", "Fresh & Co", "Bio Basket"],
        3_800,
        4,
    ),
    (
        "dining",
        &["Trattoria Roma", "Noodle Bar", "Café Lumen"],
        2_400,
        2,
    ),
    ("transport", &["City Transit", "Fuel Stop"], 1_500, 2),
    ("household", &["Hardware Haus", "Home Goods"], 2_900, 1),
    (
        "fun",
        &["Cinema Paradiso", "Book Nook", "Climbing Gym"],
        1_800,
        1,
    ),
    ("health", &["Pharmacy Plus"], 1_200, 1),
];

/// What the demo made: who to be and what to look at.
pub(crate) struct Demo {
    pub(crate) token: String,
    pub(crate) ledger: LedgerId,
    pub(crate) events: usize,
}

/// Writes the demo household into `store`: a user with a fresh token, a shared EUR
/// ledger with a second member, four budgets and about three months of expenses.
pub(crate) async fn seed(store: &Store) -> anyhow::Result<Demo> {
    let eur = Currency::parse("EUR")?;
    let owner = User {
        user_id: UserId::new(),
        name: "Demo Owner".into(),
    };
    let token = format!("lt_demo_{}", uuid::Uuid::new_v4().simple());
    store
        .create_user(&owner, &TokenHash::of(&token))
        .await
        .context("creating the demo user")?;
    let partner = User {
        user_id: UserId::new(),
        name: "Demo Partner".into(),
    };
    store
        .create_user(
            &partner,
            &TokenHash::of(&format!("lt_demo_{}", uuid::Uuid::new_v4().simple())),
        )
        .await?;

    let ledger = LedgerId::new();
    let by = |user: UserId| Metadata {
        actor: Some(user),
        device_id: Some("demo".into()),
        ..Metadata::default()
    };
    let open = OpenLedger {
        owner: owner.user_id,
        name: LedgerName::parse("Household")?,
        currency: eur,
        timezone: ledger::Timezone::parse("timezone", "Europe/Berlin")?,
    };
    // Opened with its second member in one append.
    let mut opening = ledgers::open(ledger, open, by(owner.user_id));
    let member = ledgers::grant(
        ledger,
        partner.user_id,
        Role::Member,
        true,
        Metadata::default(),
    )?;
    opening.writes.extend(member.writes);
    let mut events = store.append(opening).await?.positions().count();

    for (category, amount, period) in [
        (Some("groceries"), "450", BudgetPeriod::Monthly),
        (Some("dining"), "180", BudgetPeriod::Monthly),
        (Some("transport"), "60", BudgetPeriod::Weekly),
        (None, "2500", BudgetPeriod::Monthly),
    ] {
        let spec = BudgetSpec {
            category: category.map(Category::parse).transpose()?,
            amount: Amount::parse(amount, eur)?,
            period,
            thresholds: Thresholds::parse(None)?,
        };
        let request = budget::set(
            ledger,
            BudgetId::new(),
            spec,
            ExpectedVersion::NoStream,
            by(owner.user_id),
        );
        events += store.append(request).await?.positions().count();
    }

    let mut random = Random(0x5eed_1e06_e700_0001);
    let today = Utc::now().date_naive();
    let start = today.checked_sub_days(Days::new(90)).context("a date")?;
    for day in 0..=90u64 {
        let date = start + Days::new(day);
        for (category, merchants, typical, per_week) in SPENDING {
            if random.below(7) >= per_week {
                continue;
            }
            let spread = typical / 2 + random.below(typical as usize) as i64;
            // Now and then something goes back to the shop.
            let cents = if random.chance(3) {
                -spread / 2
            } else {
                spread
            };
            let expense = NewExpense {
                expense_id: ExpenseId::new(),
                amount: Amount::from_decimal(Decimal::new(cents, 2), eur)?,
                occurred_on: date,
                category: Category::parse(category)?,
                merchant: Some(Merchant::parse(merchants[random.below(merchants.len())])?),
                description: None,
                tags: if random.chance(10) {
                    vec![Tag::parse("shared")?]
                } else {
                    vec![]
                },
                original: None,
            };
            let who = if random.chance(40) {
                partner.user_id
            } else {
                owner.user_id
            };
            events += store
                .append(expense::record(ledger, expense, by(who)))
                .await?
                .positions()
                .count();
        }
    }
    Ok(Demo {
        token,
        ledger,
        events,
    })
}
