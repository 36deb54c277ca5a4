//! Amount parsing: any text against any currency answers Ok or a typed error, and
//! what it accepts prints back to a text that parses to the same amount.
#![no_main]

use ledger::{Amount, Currency};
use libfuzzer_sys::fuzz_target;

/// A spread of precisions: 2, 0, 3 and 4 minor units.
const CURRENCIES: [&str; 4] = ["EUR", "JPY", "KWD", "CLF"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let currency = Currency::parse(CURRENCIES[usize::from(selector) % CURRENCIES.len()])
        .expect("a known currency");
    if let Ok(amount) = Amount::parse(text, currency) {
        let printed = amount.to_string();
        let again = Amount::parse(&printed, currency).expect("a printed amount parses");
        assert_eq!(again, amount, "{text:?} printed as {printed:?}");
    }
    let _ = Amount::parse_nonzero(text, currency);
    let _ = Amount::parse_positive(text, currency);
    let _ = Currency::parse(text);
});
