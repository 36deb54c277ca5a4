use std::collections::BTreeMap;

use statements::{Credits, DateOrder, DecimalSeparator, Error, Format};

use crate::{day, dec, eur, fixture, opts, parse, parse_ok};

#[test]
fn ambiguous_dates_ask_for_a_date_format() {
    let text = b"Date,Description,Amount\n03/04/2025,A,-1.00\n05/06/2025,B,-2.00\n";
    let err = parse(text, &eur()).unwrap_err();
    assert!(
        matches!(err, Error::AmbiguousDates { line: 2, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("date_format"), "{err}");
    let mut o = eur();
    o.date_order = Some(DateOrder::Dmy);
    assert_eq!(
        parse(text, &o).unwrap().statement.rows[0].date,
        day(2025, 4, 3)
    );
    o.date_order = Some(DateOrder::Mdy);
    assert_eq!(
        parse(text, &o).unwrap().statement.rows[0].date,
        day(2025, 3, 4)
    );
}

#[test]
fn contradictory_dates_are_refused() {
    let text = b"Date,Description,Amount\n25/04/2025,A,-1.00\n04/26/2025,B,-2.00\n";
    assert!(matches!(
        parse(text, &eur()),
        Err(Error::InconsistentDates { line: 3 })
    ));
}

#[test]
fn decimal_comma_detected_or_chosen() {
    let text = "Date;Description;Amount\n2025-01-02;A;-1.234,56\n2025-01-03;B;-7,5\n";
    let s = parse(text.as_bytes(), &eur()).unwrap().statement;
    assert_eq!(s.rows[0].amount, dec("1234.56"));
    assert_eq!(s.rows[1].amount, dec("7.50"));

    // `1,234` alone tells nothing; a `;` file leans to the decimal comma,
    // which EUR's two decimals then refuse, until the caller says otherwise.
    let text = "Date;Description;Amount\n2025-01-02;A;-1,234\n";
    let err = parse(text.as_bytes(), &eur()).unwrap_err();
    assert!(err.to_string().contains("more decimals than EUR"), "{err}");
    let mut o = eur();
    o.decimal = Some(DecimalSeparator::Dot);
    assert_eq!(
        parse(text.as_bytes(), &o).unwrap().statement.rows[0].amount,
        dec("1234.00")
    );
}

#[test]
fn skip_invalid_lets_the_good_rows_in() {
    let err = parse(&fixture("malformed.csv"), &eur()).unwrap_err();
    let lines: Vec<_> = err.row_errors().iter().map(|e| e.line).collect();
    assert_eq!(lines, [3, 4, 5], "{err}");
    assert_eq!(err.line(), Some(3));

    let mut o = eur();
    o.skip_invalid = true;
    let s = parse(&fixture("malformed.csv"), &o).unwrap().statement;
    assert_eq!(s.rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 6]);
    assert_eq!(s.errors.len(), 3);
    assert!(
        s.errors[0].message.contains("expected at least 3 fields"),
        "{:?}",
        s.errors
    );
    assert!(s.errors[1].message.contains("not a date"), "{:?}", s.errors);
    assert!(
        s.errors[2].message.contains("not an amount"),
        "{:?}",
        s.errors
    );
}

#[test]
fn another_currency_is_an_error_unless_mapped() {
    let gbp = opts("GBP", 2);
    let err = parse(&fixture("with_id.csv"), &gbp).unwrap_err();
    assert_eq!(
        err,
        Error::CurrencyMismatch {
            line: 2,
            found: "EUR".into(),
            expected: "GBP".into()
        }
    );
    let mut mapped = gbp.clone();
    mapped.currency_map = BTreeMap::from([("eur".to_string(), "GBP".to_string())]);
    assert_eq!(
        parse(&fixture("with_id.csv"), &mapped)
            .unwrap()
            .statement
            .rows
            .len(),
        3
    );
    let mut any = gbp;
    any.allow_any_currency = true;
    assert!(parse(&fixture("with_id.csv"), &any).is_ok());

    let err = parse(&fixture("ofx2_xml.ofx"), &eur()).unwrap_err();
    assert!(
        matches!(err, Error::CurrencyMismatch { line: 16, .. }),
        "{err}"
    );
}

#[test]
fn mixed_currency_rows_are_row_errors() {
    let text =
        b"Date,Description,Amount,Currency\n2025-01-02,A,-1.00,EUR\n2025-01-03,B,-2.00,USD\n";
    let err = parse(text, &eur()).unwrap_err();
    assert_eq!(err.row_errors().len(), 1);
    assert_eq!(err.row_errors()[0].line, 3);
}

#[test]
fn amounts_respect_the_currency_minor_units() {
    let mut jpy = opts("JPY", 0);
    jpy.allow_any_currency = true;
    let err = parse(&fixture("with_id.csv"), &jpy).unwrap_err();
    assert!(err.to_string().contains("more decimals than JPY"), "{err}");
    let kwd = opts("KWD", 3);
    let text = b"Date,Description,Amount\n2025-01-02,A,-1.125\n";
    assert_eq!(
        parse(text, &kwd).unwrap().statement.rows[0]
            .amount
            .to_string(),
        "1.125"
    );
    assert!(parse(text, &eur()).is_err());
    let s = parse(
        b"Date,Description,Amount\n2025-01-02,A,-1500\n",
        &opts("JPY", 0),
    )
    .unwrap()
    .statement;
    assert_eq!(s.rows[0].amount.to_string(), "1500");
}

#[test]
fn max_rows_stops_early_and_names_the_line() {
    let mut o = opts("USD", 2);
    o.max_rows = 3;
    let err = parse(&fixture("us_quoted_balance.csv"), &o).unwrap_err();
    assert_eq!(err, Error::TooManyRows { line: 5, max: 3 });
    o.max_rows = 6;
    assert!(parse(&fixture("us_quoted_balance.csv"), &o).is_ok());
}

#[test]
fn credits_skipped_or_refunds() {
    let mut o = opts("USD", 2);
    let skipped = parse_ok("us_quoted_balance.csv", &o).statement;
    assert_eq!((skipped.rows.len(), skipped.skipped_credits), (5, 1));
    o.credits = Credits::Refund;
    let refunds = parse_ok("us_quoted_balance.csv", &o).statement;
    assert_eq!((refunds.rows.len(), refunds.skipped_credits), (6, 0));
    let pay = refunds
        .rows
        .iter()
        .find(|r| r.description.starts_with("PAYROLL"))
        .unwrap();
    assert_eq!(pay.amount, dec("-2100.00"));
    assert_eq!(pay.description, "PAYROLL \"ACME, INC.\" DIR DEP");
    // Debits keep their keys whichever way credits go.
    let debit_keys = |s: &statements::Statement| {
        s.rows
            .iter()
            .filter(|r| r.amount > dec("0"))
            .map(|r| r.fingerprint.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(debit_keys(&skipped), debit_keys(&refunds));
}

#[test]
fn claimed_format_must_match() {
    let mut o = opts("USD", 2);
    o.format = Some(Format::Csv);
    let err = parse(&fixture("ofx2_xml.ofx"), &o).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongFormat {
                claimed: Format::Csv,
                line: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("OFX"), "{err}");
    o.format = Some(Format::Ofx);
    assert!(parse(&fixture("ofx2_xml.ofx"), &o).is_ok());
}

#[test]
fn empty_and_binary_files() {
    assert_eq!(parse(b"", &eur()).unwrap_err(), Error::Empty);
    assert_eq!(parse(b" \r\n\n", &eur()).unwrap_err(), Error::Empty);
    let err = parse(b"PK\x03\x04\x14\x00\x06\x00", &eur()).unwrap_err();
    assert!(matches!(err, Error::WrongFormat { line: 1, .. }), "{err}");
    let err = parse(b"%PDF-1.7\n", &eur()).unwrap_err();
    assert!(err.to_string().contains("PDF"), "{err}");
}

#[test]
fn option_values_parse_from_query_strings() {
    assert_eq!("QFX".parse::<Format>().unwrap(), Format::Ofx);
    assert_eq!("dmy".parse::<DateOrder>().unwrap(), DateOrder::Dmy);
    assert_eq!(
        "comma".parse::<DecimalSeparator>().unwrap(),
        DecimalSeparator::Comma
    );
    assert!("pdf".parse::<Format>().is_err());
    assert!("#0".parse::<statements::ColumnRef>().is_err());
    assert!(statements::Currency::new("EURO", 2).is_err());
}
