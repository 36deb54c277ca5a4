use std::collections::HashSet;

use crate::{fingerprints, fixture, good_fixtures, opts, parse, parse_ok};

#[test]
fn reparsing_gives_identical_fingerprints() {
    for (name, o) in good_fixtures() {
        let a = parse_ok(name, &o);
        let b = parse_ok(name, &o);
        assert_eq!(fingerprints(&a), fingerprints(&b), "{name}");
        let unique: HashSet<_> = fingerprints(&a).into_iter().collect();
        assert_eq!(
            unique.len(),
            a.statement.rows.len(),
            "{name}: fingerprints must differ within a file"
        );
    }
}

#[test]
fn two_identical_coffees_stay_two() {
    let s = parse_ok("us_quoted_balance.csv", &opts("USD", 2)).statement;
    let coffees: Vec<_> = s
        .rows
        .iter()
        .filter(|r| r.description.starts_with("STARBUCKS"))
        .collect();
    assert_eq!(coffees.len(), 2);
    assert_eq!(
        (coffees[0].date, coffees[0].amount),
        (coffees[1].date, coffees[1].amount)
    );
    assert_ne!(coffees[0].fingerprint, coffees[1].fingerprint);
}

#[test]
fn overlapping_statements_share_the_overlap() {
    let gbp = opts("GBP", 2);
    let full = String::from_utf8(fixture("uk_debit_credit.csv")).unwrap();
    let lines: Vec<&str> = full.lines().collect();
    // The newer statement repeats the last days of the older one (both
    // coffees of the 31st included) and adds a day.
    let newer = format!(
        "{}\r\n01/02/2025,DEB,'30-94-57,12345678,PRET A MANGER LONDON,4.35,,1515.75\r\n{}\r\n",
        lines[0],
        lines[1..5].join("\r\n")
    );
    let older = parse_ok("uk_debit_credit.csv", &gbp).statement;
    let newer = parse(newer.as_bytes(), &gbp).unwrap().statement;
    let old_keys: HashSet<_> = older.rows.iter().map(|r| r.fingerprint.as_str()).collect();
    let shared: Vec<_> = newer
        .rows
        .iter()
        .filter(|r| old_keys.contains(r.fingerprint.as_str()))
        .collect();
    assert_eq!(shared.len(), 3, "both coffees and the water bill");
    let new_only: Vec<_> = newer
        .rows
        .iter()
        .filter(|r| !old_keys.contains(r.fingerprint.as_str()))
        .collect();
    assert_eq!(new_only.len(), 1);
    assert_eq!(new_only[0].date, crate::day(2025, 2, 1));
}

#[test]
fn line_endings_and_description_noise_do_not_change_keys() {
    let gbp = opts("GBP", 2);
    let crlf = fixture("uk_debit_credit.csv");
    let lf: Vec<u8> = String::from_utf8(crlf.clone())
        .unwrap()
        .replace("\r\n", "\n")
        .into_bytes();
    assert_eq!(
        fingerprints(&parse(&crlf, &gbp).unwrap()),
        fingerprints(&parse(&lf, &gbp).unwrap())
    );

    let a = "Date,Description,Amount\n2025-01-02,CARD 4929123456781234 Tesco  Stores,-5.00\n";
    let b = "Date,Description,Amount\n2025-01-02,card 4929000011112222 TESCO STORES.,-5\n";
    let eur = crate::eur();
    assert_eq!(
        fingerprints(&parse(a.as_bytes(), &eur).unwrap()),
        fingerprints(&parse(b.as_bytes(), &eur).unwrap())
    );
}

#[test]
fn the_account_label_separates_accounts() {
    let mut o = opts("GBP", 2);
    let a = parse_ok("uk_debit_credit.csv", &o);
    o.account = Some("joint".into());
    let b = parse_ok("uk_debit_credit.csv", &o);
    assert!(fingerprints(&a)
        .iter()
        .zip(fingerprints(&b))
        .all(|(x, y)| *x != y));
}

#[test]
fn bank_ids_make_the_key_whatever_else_changes() {
    let eur = crate::eur();
    let a = "Date,Id,Description,Amount\n2025-01-02,A1,Shop,-5.00\n";
    let b = "Date,Id,Description,Amount\n2025-01-03,A1,SHOP (corrected),-5.10\n";
    assert_eq!(
        fingerprints(&parse(a.as_bytes(), &eur).unwrap()),
        fingerprints(&parse(b.as_bytes(), &eur).unwrap())
    );
}
