//! Statement parsing of Qif files: any bytes give a statement or a typed error, never
//! a panic, and every row of a statement is within the limits the server relies on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use statements::{Currency, Format, Options};

fuzz_target!(|data: &[u8]| {
    let mut options = Options::new(Currency::new("EUR", 2).expect("EUR"));
    options.format = Some(Format::Qif);
    // Half the inputs also take the lenient path, which lists bad rows instead.
    options.skip_invalid = data.first().is_some_and(|b| b & 1 == 1);
    if let Ok(parsed) = statements::parse(data, &options) {
        assert!(parsed.statement.rows.len() <= options.max_rows);
    }
});
