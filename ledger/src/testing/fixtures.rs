//! Small fixtures the store and projection tests share.

use crate::append::{AppendRequest, ExpectedVersion};
use crate::event::{Event, LedgerOpened};
use crate::ids::{LedgerId, StreamId, UserId};
use crate::money::Currency;
use crate::store::Store;

/// # Panics
/// Never: EUR is always known.
pub fn eur() -> Currency {
    Currency::parse("EUR").expect("EUR is a currency")
}

/// Opens a new EUR ledger, "Household" in UTC, owned by a new user.
///
/// # Panics
/// When the append fails.
pub async fn open_ledger(store: &Store) -> LedgerId {
    let ledger = LedgerId::new();
    let opened = Event::LedgerOpened(LedgerOpened {
        ledger_id: ledger,
        name: "Household".into(),
        currency: eur(),
        timezone: "UTC".into(),
        owner: UserId::new(),
    });
    store
        .append(AppendRequest::new(
            ledger,
            StreamId::ledger(ledger),
            ExpectedVersion::NoStream,
            vec![opened],
        ))
        .await
        .expect("open a ledger");
    ledger
}
