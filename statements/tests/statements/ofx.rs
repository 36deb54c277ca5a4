use statements::{Credits, Detection, Error, Format};

use crate::{day, dec, eur, fixture, opts, parse, parse_ok};

/// The 1-based line of the n-th occurrence of `needle` in a fixture.
fn line_of(name: &str, needle: &str, nth: usize) -> usize {
    let text = String::from_utf8_lossy(&fixture(name)).into_owned();
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap()
}

#[test]
fn ofx1_sgml_with_charset_1252() {
    let p = parse_ok("ofx1_sgml_1252.ofx", &eur());
    assert_eq!(p.format, Format::Ofx);
    assert_eq!(p.encoding.name(), "windows-1252");
    assert_eq!(p.encoding.detection, Detection::OfxHeader);
    let s = &p.statement;
    assert_eq!(s.account.as_deref(), Some("00012345678"));
    assert_eq!(s.currency.as_deref(), Some("EUR"));
    assert_eq!(s.rows.len(), 3);
    assert_eq!(s.skipped_credits, 1);
    let cafe = &s.rows[0];
    assert_eq!(cafe.description, "CAFÉ DE FLORE");
    assert_eq!(cafe.memo.as_deref(), Some("CB CAFE DE FLORE 03/02"));
    assert_eq!((cafe.date, cafe.amount), (day(2025, 2, 3), dec("4.50")));
    assert_eq!(cafe.bank_id.as_deref(), Some("2025020300001"));
    assert_eq!(cafe.line, line_of("ofx1_sgml_1252.ofx", "<STMTTRN>", 0));
    assert_eq!(s.rows[1].description, "PRLV EDF & GDF");
    assert_eq!(s.rows[2].amount, dec("120.00"));
}

#[test]
fn ofx2_xml_with_payee_aggregate_and_zero_amount() {
    let mut o = opts("USD", 2);
    let s = parse_ok("ofx2_xml.ofx", &o).statement;
    assert_eq!(s.account.as_deref(), Some("9876543210"));
    assert_eq!(s.rows.len(), 2);
    assert_eq!(s.rows[0].description, "AT&T WIRELESS");
    assert_eq!(s.rows[0].date, day(2025, 1, 10));
    assert_eq!(s.rows[0].amount, dec("85.40"));
    assert_eq!(s.rows[1].description, "TRADER JOE'S #552");
    assert_eq!((s.skipped_credits, s.skipped_zero), (1, 1));

    o.credits = Credits::Refund;
    let s = parse_ok("ofx2_xml.ofx", &o).statement;
    let refund = s
        .rows
        .iter()
        .find(|r| r.description == "REFUND NETFLIX.COM")
        .unwrap();
    assert_eq!(refund.amount, dec("-12.99"));
    assert_eq!(s.skipped_credits, 0);
}

#[test]
fn qfx_credit_card_statement() {
    let s = parse_ok("card.qfx", &opts("USD", 2)).statement;
    assert_eq!(s.account.as_deref(), Some("4111111111111111"));
    assert_eq!(s.rows.len(), 2);
    assert_eq!(s.rows[0].description, "UBER *TRIP HELP.UBER.COM");
    assert_eq!(
        (s.rows[0].date, s.rows[0].amount),
        (day(2025, 3, 3), dec("18.45"))
    );
    assert_eq!(s.skipped_credits, 1);
    // Everything sits on one line in this export.
    assert!(s.rows.iter().all(|r| r.line == 11));
}

#[test]
fn truncated_ofx_names_the_line() {
    let err = parse(&fixture("malformed.ofx"), &eur()).unwrap_err();
    match &err {
        Error::Malformed {
            format: Format::Ofx,
            line,
            message,
        } => {
            assert_eq!(*line, 25);
            assert!(
                message.contains("</STMTTRN>") && message.contains("line 20"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.line(), Some(25));
}

#[test]
fn a_csv_sent_as_ofx_is_refused() {
    let err = parse(&fixture("with_id.csv"), &{
        let mut o = eur();
        o.format = Some(Format::Ofx);
        o
    })
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongFormat {
                claimed: Format::Ofx,
                line: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn ofx_rows_with_bad_fields_are_row_errors() {
    let text = "<OFX><BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR<BANKTRANLIST>\n\
        <STMTTRN><DTPOSTED>2025-01-01<TRNAMT>-1.00<FITID>1</STMTTRN>\n\
        <STMTTRN><DTPOSTED>20250102<TRNAMT>lots<FITID>2</STMTTRN>\n\
        <STMTTRN><DTPOSTED>20250103<FITID>3</STMTTRN>\n\
        <STMTTRN><DTPOSTED>20250104<TRNAMT>-2.00<FITID>4</STMTTRN>\n\
        </BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>";
    let err = parse(text.as_bytes(), &eur()).unwrap_err();
    let lines: Vec<_> = err.row_errors().iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4], "{err}");
    let mut o = eur();
    o.skip_invalid = true;
    let s = parse(text.as_bytes(), &o).unwrap().statement;
    assert_eq!(s.rows.len(), 1);
    assert_eq!(s.errors.len(), 3);
}

#[test]
fn ofx_without_statement_is_malformed() {
    let err = parse(b"<OFX><SIGNONMSGSRSV1></SIGNONMSGSRSV1></OFX>", &eur()).unwrap_err();
    assert!(matches!(err, Error::Malformed { line: 1, .. }), "{err}");
}
