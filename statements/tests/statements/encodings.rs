use statements::Detection;

use crate::{eur, fingerprints, fixture, opts, parse, parse_ok};

fn utf16le(bytes: &[u8], bom: bool) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    let mut out = if bom { vec![0xFF, 0xFE] } else { Vec::new() };
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

#[test]
fn utf8_with_bom() {
    let p = parse_ok("utf8_bom.csv", &eur());
    assert_eq!(p.encoding.detection, Detection::ByteOrderMark);
    assert_eq!(p.statement.rows[0].description, "Café Crème");
    assert_eq!(p.statement.rows[0].line, 2);
}

#[test]
fn utf16le_with_and_without_bom_reads_like_utf8() {
    let gbp = opts("GBP", 2);
    let original = parse_ok("uk_debit_credit.csv", &gbp);
    for (bom, detection) in [
        (true, Detection::ByteOrderMark),
        (false, Detection::NulPattern),
    ] {
        let p = parse(&utf16le(&fixture("uk_debit_credit.csv"), bom), &gbp).unwrap();
        assert_eq!(p.encoding.name(), "UTF-16LE");
        assert_eq!(p.encoding.detection, detection);
        assert_eq!(p.statement, original.statement);
    }
    let utf8 = "Date,Description,Amount\n2025-04-01,Café Crème,-3.90\n";
    let p = parse(&utf16le(utf8.as_bytes(), false), &eur()).unwrap();
    assert_eq!(p.statement.rows[0].description, "Café Crème");
}

#[test]
fn iso_8859_1_by_fallback_and_by_label() {
    let p = parse_ok("iso_8859_1.csv", &eur());
    assert_eq!(p.encoding.detection, Detection::Fallback);
    assert_eq!(p.statement.rows[0].description, "Crêperie Saint-Malo");
    assert_eq!(p.statement.rows[1].description, "Boulangerie Pâtisserie");
    let mut o = eur();
    o.encoding = Some("ISO-8859-1".into());
    let by_label = parse_ok("iso_8859_1.csv", &o);
    assert_eq!(by_label.encoding.detection, Detection::Explicit);
    assert_eq!(fingerprints(&by_label), fingerprints(&p));
    o.encoding = Some("no-such-encoding".into());
    assert!(parse(&fixture("iso_8859_1.csv"), &o).is_err());
}
