//! No input may panic the parser: every file is either a statement or an error.

use proptest::prelude::*;
use statements::Format;

use crate::{fixture, good_fixtures, opts};

const FIXTURES: &[&str] = &[
    "uk_debit_credit.csv",
    "de_semicolon_1252.csv",
    "us_quoted_balance.csv",
    "with_id.csv",
    "utf8_bom.csv",
    "iso_8859_1.csv",
    "ofx1_sgml_1252.ofx",
    "ofx2_xml.ofx",
    "card.qfx",
    "bank.qif",
    "malformed.csv",
    "malformed.ofx",
    "malformed.qif",
];

fn all_formats() -> [Option<Format>; 4] {
    [
        None,
        Some(Format::Csv),
        Some(Format::Ofx),
        Some(Format::Qif),
    ]
}

fn parse_every_way(bytes: &[u8]) {
    for format in all_formats() {
        for skip_invalid in [false, true] {
            let mut o = opts("EUR", 2);
            o.format = format;
            o.skip_invalid = skip_invalid;
            o.allow_any_currency = true;
            let _ = statements::parse(bytes, &o);
        }
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Set(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for edit in edits {
        let len = bytes.len().max(1);
        match edit {
            Edit::Set(at, b) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = *b;
                }
            }
            Edit::Insert(at, more) => {
                let at = (at % len).min(bytes.len());
                bytes.splice(at..at, more.iter().copied());
            }
            Edit::Remove(at, n) => {
                let start = (at % len).min(bytes.len());
                let end = (start + n).min(bytes.len());
                bytes.drain(start..end);
            }
            Edit::Truncate(at) => bytes.truncate(at % len),
        }
    }
    bytes
}

fn edit() -> impl Strategy<Value = Edit> {
    // Bytes that matter to the parsers turn up more often than chance would have them.
    let interesting = prop_oneof![
        any::<u8>(),
        Just(b'<'),
        Just(b'>'),
        Just(b'/'),
        Just(b'"'),
        Just(b';'),
        Just(b','),
        Just(b'\n'),
        Just(b'^'),
        Just(b'!'),
        Just(b'&'),
        Just(0u8),
        Just(0xFFu8),
    ];
    prop_oneof![
        (any::<usize>(), interesting).prop_map(|(at, b)| Edit::Set(at, b)),
        (
            any::<usize>(),
            proptest::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(at, v)| Edit::Insert(at, v)),
        (any::<usize>(), 0usize..64).prop_map(|(at, n)| Edit::Remove(at, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ]
}

proptest! {
    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        parse_every_way(&bytes);
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec(edit(), 1..8),
    ) {
        parse_every_way(&apply(fixture(FIXTURES[which]), &edits));
    }

    #[test]
    fn random_text_lines_never_panic(lines in proptest::collection::vec("[ -~äöü€]{0,40}", 0..40)) {
        for head in ["Date,Description,Amount\n", "!Type:Bank\n", "<OFX><STMTRS><BANKTRANLIST>\n", ""] {
            let text = format!("{head}{}", lines.join("\n"));
            parse_every_way(text.as_bytes());
        }
    }
}

#[test]
fn hostile_shapes_are_errors_not_crashes() {
    let deep = "<OFX>".repeat(100_000);
    parse_every_way(deep.as_bytes());
    let wide = format!(
        "Date,Description,Amount\n2025-01-01,{},-1\n",
        "x,".repeat(100_000)
    );
    parse_every_way(wide.as_bytes());
    let digits = format!(
        "Date,Description,Amount\n2025-01-01,A,-{}\n",
        "9".repeat(10_000)
    );
    parse_every_way(digits.as_bytes());
    parse_every_way("\u{feff}\u{feff}".as_bytes());
    parse_every_way(&[0xFE, 0xFF, 0xD8, 0x00]);
    parse_every_way(b"OFXHEADER:100\r\nCHARSET:\xff\r\n<OFX>");
}

#[test]
fn every_good_fixture_parses() {
    for (name, o) in good_fixtures() {
        let p = statements::parse(&fixture(name), &o);
        assert!(p.is_ok(), "{name}: {p:?}");
    }
}

#[test]
fn pathological_inputs_stay_fast() {
    let cases = [
        (
            "ampersands",
            format!(
                "<OFX><STMTRS><BANKTRANLIST><STMTTRN><NAME>{}</STMTTRN></BANKTRANLIST></STMTRS></OFX>",
                "&".repeat(N)
            ),
        ),
        ("quotes", format!("Date,Description,Amount\n{}", "\"".repeat(N + 1))),
        ("one line", "x;".repeat(N / 2)),
        ("newlines", "\n".repeat(N)),
        ("tags", "<A>".repeat(N / 3)),
        ("qif fields", format!("!Type:Bank\n{}", "PShop\n".repeat(N / 6))),
    ];
    for (name, text) in cases {
        let start = std::time::Instant::now();
        parse_every_way(text.as_bytes());
        eprintln!("{name}: {:?}", start.elapsed());
        // Generous for a debug build on a busy machine; quadratic work would take minutes.
        assert!(
            start.elapsed().as_secs() < 20,
            "{name}: {:?}",
            start.elapsed()
        );
    }
}

const N: usize = 200_000;
