//! Stored-event decoding and upcasting: any type, schema version and payload text
//! decode to an event or a typed error; a decoded event encodes to a payload that
//! decodes to the same event at the current version.
#![no_main]

use ledger::Event;
use libfuzzer_sys::fuzz_target;

const TYPES: [&str; 13] = [
    "LedgerOpened",
    "MemberGranted",
    "MemberRevoked",
    "ExpenseRecorded",
    "ExpenseAmended",
    "ExpenseDeleted",
    "BudgetSet",
    "BudgetRemoved",
    "BudgetAlertRaised",
    "AlertSnoozed",
    "ImportStarted",
    "ImportCompleted",
    "ImportCancelled",
];

fuzz_target!(|data: &[u8]| {
    let [kind, version, payload @ ..] = data else {
        return;
    };
    let Ok(payload) = std::str::from_utf8(payload) else {
        return;
    };
    let event_type = TYPES[usize::from(*kind) % TYPES.len()];
    let schema_version = u16::from(*version % 4);
    if let Ok(event) = Event::decode(event_type, schema_version, payload) {
        let encoded = event.encode();
        let current = if event_type == "ExpenseRecorded" { 2 } else { 1 };
        let again = Event::decode(event_type, current, &encoded).expect("an encoded event decodes");
        assert_eq!(again.encode(), encoded);
    }
});
