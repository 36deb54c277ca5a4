use statements::{AmountSign, ColumnRef, Error, Format};

use crate::{day, dec, eur, opts, parse, parse_ok};

#[test]
fn uk_bank_with_debit_and_credit_columns() {
    let p = parse_ok("uk_debit_credit.csv", &opts("GBP", 2));
    assert_eq!(p.format, Format::Csv);
    let s = &p.statement;
    assert_eq!(s.rows.len(), 6);
    assert_eq!(s.skipped_credits, 1);
    let first = &s.rows[0];
    assert_eq!(
        (first.line, first.date, first.amount),
        (2, day(2025, 1, 31), dec("4.35"))
    );
    assert_eq!(first.description, "PRET A MANGER LONDON");
    let rent = s
        .rows
        .iter()
        .find(|r| r.description == "RENT JANUARY")
        .unwrap();
    assert_eq!(
        (rent.date, rent.amount, rent.line),
        (day(2025, 1, 3), dec("950.00"), 7)
    );
    assert!(s.rows.iter().all(|r| r.bank_id.is_none()));
}

#[test]
fn german_bank_with_semicolons_decimal_comma_and_preamble() {
    let p = parse_ok("de_semicolon_1252.csv", &eur());
    let s = &p.statement;
    assert_eq!(p.encoding.name(), "windows-1252");
    assert_eq!(s.rows.len(), 5, "{:?}", s.rows);
    assert_eq!(s.skipped_credits, 1);
    let bakery = &s.rows[0];
    assert_eq!(bakery.line, 6);
    assert_eq!(bakery.date, day(2025, 2, 3));
    assert_eq!(bakery.amount, dec("3.85"));
    assert_eq!(bakery.payee.as_deref(), Some("Bäckerei Müller GmbH"));
    assert_eq!(bakery.description, "Bäckerei Müller GmbH");
    let purpose = bakery.memo.as_deref().unwrap_or_default();
    assert!(
        purpose.starts_with("Kartenzahlung 2025-02-03T07:12"),
        "{purpose}"
    );
    let rent = s
        .rows
        .iter()
        .find(|r| r.description == "Hausverwaltung Weiß & Söhne")
        .unwrap();
    assert_eq!(rent.amount, dec("1250.00"));
    assert_eq!(rent.memo.as_deref(), Some("Miete Februar Whg. 3 OG"));
    let sofa = s
        .rows
        .iter()
        .find(|r| r.payee.as_deref() == Some("Möbelhaus Größe KG"))
        .unwrap();
    assert_eq!((sofa.amount, sofa.date), (dec("1034.50"), day(2025, 2, 11)));
}

#[test]
fn us_bank_with_quoted_commas_and_running_balance() {
    let p = parse_ok("us_quoted_balance.csv", &opts("USD", 2));
    let s = &p.statement;
    assert_eq!(s.rows.len(), 5);
    assert_eq!(s.skipped_credits, 1);
    assert_eq!(s.rows[0].description, "STARBUCKS STORE 12345, SEATTLE WA");
    assert_eq!(s.rows[0].date, day(2025, 1, 15));
    let amazon = s
        .rows
        .iter()
        .find(|r| r.description.starts_with("AMAZON"))
        .unwrap();
    assert_eq!(amazon.amount, dec("1234.56"));
    assert_eq!(amazon.line, 5);
}

#[test]
fn id_column_becomes_bank_id_and_currency_column_is_checked() {
    let p = parse_ok("with_id.csv", &eur());
    let s = &p.statement;
    assert_eq!(s.currency.as_deref(), Some("EUR"));
    assert_eq!(s.rows.len(), 3);
    assert_eq!(s.rows[0].bank_id.as_deref(), Some("TX-0001"));
    assert_eq!(s.rows[0].payee.as_deref(), Some("Corner Café"));
    assert_eq!(s.rows[0].description, "Corner Café");
    assert_eq!(s.rows[0].memo.as_deref(), Some("Flat white"));
    assert_eq!(s.rows[0].category.as_deref(), Some("Coffee"));
}

#[test]
fn explicit_mapping_by_name() {
    let text = "When,What,How much,Left\n2025-06-01,Kiosk,-2.50,100.00\n";
    let mut o = eur();
    o.columns.date = Some("When".parse().unwrap());
    o.columns.amount = Some("how much".parse().unwrap());
    o.columns.description = Some("What".parse().unwrap());
    let s = parse(text.as_bytes(), &o).unwrap().statement;
    assert_eq!(s.rows.len(), 1);
    assert_eq!(
        (s.rows[0].amount, s.rows[0].description.as_str()),
        (dec("2.50"), "Kiosk")
    );

    o.columns.amount = Some(ColumnRef::Name("Betrag".into()));
    assert_eq!(
        parse(text.as_bytes(), &o).unwrap_err(),
        Error::UnknownColumn {
            line: 1,
            column: "Betrag".into()
        }
    );
}

#[test]
fn positions_for_a_file_without_header() {
    let text = "2025-06-01;Kiosk;-2,50\n2025-06-02;Bakery;-1.203,10\n";
    let mut o = eur();
    o.columns.date = Some("#1".parse().unwrap());
    o.columns.description = Some("2".parse().unwrap());
    o.columns.amount = Some(ColumnRef::Index(3));
    let s = parse(text.as_bytes(), &o).unwrap().statement;
    let amounts: Vec<_> = s.rows.iter().map(|r| r.amount).collect();
    assert_eq!(amounts, [dec("2.50"), dec("1203.10")]);
    assert_eq!(s.rows[1].line, 2);
}

#[test]
fn a_file_without_a_recognizable_header_names_what_is_missing() {
    let err = parse(b"foo,bar\n1,2\n", &eur()).unwrap_err();
    assert!(
        matches!(err, Error::MissingColumns { line: 1, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("date"), "{err}");
}

#[test]
fn tab_separated_and_card_sign_convention() {
    let text = "Date\tMerchant\tAmount\n2025-02-01\tCinema\t11.00\n2025-02-02\tPayment received\t-200.00\n";
    let mut o = eur();
    o.amount_sign = AmountSign::DebitPositive;
    let s = parse(text.as_bytes(), &o).unwrap().statement;
    assert_eq!(s.rows.len(), 1);
    assert_eq!(s.rows[0].amount, dec("11.00"));
    assert_eq!(s.rows[0].payee.as_deref(), Some("Cinema"));
    assert_eq!(s.skipped_credits, 1);
}

#[test]
fn zero_in_both_debit_and_credit_is_a_zero_amount() {
    let text =
        "Date,Description,Debit,Credit\n01/02/2025,Card check,0.00,0.00\n13/02/2025,Shop,5.00,\n";
    let s = parse(text.as_bytes(), &eur()).unwrap().statement;
    assert_eq!((s.rows.len(), s.skipped_zero), (1, 1));
}
