use statements::{Error, Format};

use crate::{day, dec, eur, fixture, opts, parse, parse_ok};

#[test]
fn bank_qif_with_both_date_forms_and_splits() {
    let p = parse_ok("bank.qif", &opts("USD", 2));
    assert_eq!(p.format, Format::Qif);
    let s = &p.statement;
    assert_eq!(s.account.as_deref(), Some("Everyday Checking"));
    assert_eq!(s.rows.len(), 4);
    assert_eq!(s.skipped_credits, 1);
    let coffee = &s.rows[0];
    assert_eq!(
        (coffee.line, coffee.date, coffee.amount),
        (6, day(2025, 1, 3), dec("4.50"))
    );
    assert_eq!(coffee.description, "Blue Bottle Coffee");
    assert_eq!(coffee.memo.as_deref(), Some("Latte"));
    assert_eq!(coffee.category.as_deref(), Some("Dining:Coffee"));
    assert_ne!(s.rows[0].fingerprint, s.rows[1].fingerprint);
    assert_eq!(
        (s.rows[2].date, s.rows[2].amount),
        (day(2025, 1, 15), dec("1250.00"))
    );
    assert_eq!(
        (s.rows[3].date, s.rows[3].amount),
        (day(2025, 1, 28), dec("62.18"))
    );
}

#[test]
fn malformed_qif_fails_or_skips_its_bad_records() {
    let err = parse(&fixture("malformed.qif"), &eur()).unwrap_err();
    let lines: Vec<_> = err.row_errors().iter().map(|e| e.line).collect();
    assert_eq!(lines, [6, 9], "{err}");
    assert!(err.row_errors()[0].message.contains("no amount"));
    assert!(err.row_errors()[1].message.contains("not a QIF field"));

    let mut o = eur();
    o.skip_invalid = true;
    let s = parse(&fixture("malformed.qif"), &o).unwrap().statement;
    assert_eq!(s.rows.len(), 2);
    assert_eq!(s.errors.len(), 2);
}

#[test]
fn a_csv_sent_as_qif_is_refused() {
    let mut o = eur();
    o.format = Some(Format::Qif);
    let err = parse(b"\n\nDate,Amount\n2025-01-01,-1\n", &o).unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongFormat {
                claimed: Format::Qif,
                line: 3,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn investment_only_qif_is_refused() {
    let err = parse(b"!Type:Invst\nD1/2/25\nNBuy\n^\n", &eur()).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Malformed {
                format: Format::Qif,
                line: 1,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn multi_account_exports_keep_accounts_apart() {
    let text = "!Account\nNChecking\nTBank\n^\n!Type:Bank\nD01/15/2025\nT-5.00\nPShop\n^\n\
        !Account\nNSavings\nTBank\n^\n!Type:Bank\nD01/15/2025\nT-5.00\nPShop\n^\n";
    let s = parse(text.as_bytes(), &opts("USD", 2)).unwrap().statement;
    assert_eq!(s.account.as_deref(), Some("Checking"));
    assert_eq!(s.rows.len(), 2);
    assert_ne!(s.rows[0].fingerprint, s.rows[1].fingerprint);
}
