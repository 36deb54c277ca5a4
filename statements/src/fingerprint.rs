//! Duplicate keys for imported transactions.
//!
//! A bank's own transaction id (OFX `FITID`, a CSV id column) is the best key:
//! the fingerprint is then a hash of account and id. Without one, the key is a
//! hash of account, date, amount, normalized description and an occurrence
//! number: the n-th identical (account, date, amount, description) row of the
//! file gets occurrence n. Two identical coffees on one day thus stay two
//! expenses, re-importing a file gives the same keys, and a statement that
//! overlaps an earlier one gives the same keys for the days both cover (as long
//! as each covers whole days, which statements do).
//!
//! Hash input fields are separated by U+001F (unit separator), which never
//! survives normalization, so no two different inputs join to the same text.
//! SHA-256 is cut to 128 bits (32 hex digits): far beyond any collision risk
//! for one ledger, and half the index size.

use std::collections::HashMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use sha2::{Digest, Sha256};

/// Digit runs at least this long are dropped: card numbers, references and
/// terminal ids that the same bank writes differently from one export to the
/// next, while store numbers ("TESCO 3021") and years stay.
const LONG_DIGITS: usize = 6;

/// The description as compared for duplicates: lowercase, punctuation as
/// spaces, long digit runs removed, whitespace collapsed.
///
/// `"CARD PAYMENT  TO Starbucks*Coffee, ref 000123456789"` and
/// `"card payment to starbucks coffee ref 000987654321"` normalize alike.
pub fn normalize_description(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    // Each word is written straight into `out` and taken back if it holds a
    // long digit run: this runs once per imported row.
    let mut word_start = 0;
    let mut run = 0;
    let mut longest = 0;
    let end_word = |out: &mut String, word_start: usize, longest: usize| {
        if longest >= LONG_DIGITS {
            // Keep the letters of a mixed token such as "ref000123456".
            let letters: String = out[word_start..]
                .chars()
                .filter(|c| !c.is_ascii_digit())
                .collect();
            out.truncate(word_start);
            out.push_str(&letters);
        }
        if out.len() == word_start {
            // Nothing was kept: drop the space written before the word.
            if out.ends_with(' ') {
                out.pop();
            }
        }
    };
    let mut in_word = false;
    for c in text.chars() {
        if c.is_alphanumeric() {
            if !in_word {
                if !out.is_empty() {
                    out.push(' ');
                }
                word_start = out.len();
                run = 0;
                longest = 0;
                in_word = true;
            }
            if c.is_ascii_digit() {
                run += 1;
                longest = longest.max(run);
            } else {
                run = 0;
            }
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        } else if in_word {
            end_word(&mut out, word_start, longest);
            in_word = false;
        }
    }
    if in_word {
        end_word(&mut out, word_start, longest);
    }
    out
}

const SEP: char = '\u{1f}';

fn digest(input: &str) -> String {
    let hash = Sha256::digest(input.as_bytes());
    hex::encode(&hash[..16])
}

/// The key for a row that carries the bank's own transaction id.
pub fn by_bank_id(account: &str, bank_id: &str) -> String {
    digest(&format!("id{SEP}{account}{SEP}{}", bank_id.trim()))
}

/// Numbers identical rows within one file, in file order.
///
/// Rows are told apart by a 128-bit hash of their key rather than the key
/// itself, which saves an allocation per row on large files.
#[derive(Debug, Default)]
pub(crate) struct Occurrences {
    seen: HashMap<[u8; 16], u32>,
}

impl Occurrences {
    /// The key for a row without a bank id; call once per row, in file order.
    /// It is the hash of `tx␟account␟date␟amount␟description␟n`.
    pub(crate) fn fingerprint(
        &mut self,
        account: &str,
        date: NaiveDate,
        amount: Decimal,
        description: &str,
    ) -> String {
        let mut base = Sha256::new();
        let mut field = |text: &str| {
            base.update(text.as_bytes());
            base.update(SEP.encode_utf8(&mut [0; 4]).as_bytes());
        };
        field("tx");
        field(account);
        field(&date.to_string());
        field(&amount.to_string());
        base.update(normalize_description(description).as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&base.clone().finalize()[..16]);
        let n = self.seen.entry(id).or_insert(0);
        *n += 1;
        base.update(format!("{SEP}{n}").as_bytes());
        hex::encode(&base.finalize()[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalization() {
        assert_eq!(
            normalize_description("CARD PAYMENT  TO Starbucks*Coffee, ref 000123456789"),
            "card payment to starbucks coffee ref"
        );
        assert_eq!(
            normalize_description("card payment to starbucks coffee REF:000987654321"),
            "card payment to starbucks coffee ref"
        );
        assert_eq!(
            normalize_description("TESCO STORES 3021"),
            "tesco stores 3021"
        );
        assert_eq!(
            normalize_description("Bäckerei Müller GmbH"),
            "bäckerei müller gmbh"
        );
        assert_eq!(normalize_description("POS4929123456781234"), "pos");
        assert_eq!(normalize_description("  ...  "), "");
        assert_eq!(normalize_description("1234567 shop 12345678"), "shop");
        assert_eq!(normalize_description("Ä 0000000"), "ä");
    }

    #[test]
    fn occurrences_separate_identical_rows() {
        let day = NaiveDate::from_ymd_opt(2025, 3, 4).unwrap();
        let amount = Decimal::new(320, 2);
        let mut occ = Occurrences::default();
        let a = occ.fingerprint("acct", day, amount, "Coffee");
        // The documented form of the key, spelled out.
        let spelled =
            Sha256::digest("tx\u{1f}acct\u{1f}2025-03-04\u{1f}3.20\u{1f}coffee\u{1f}1".as_bytes());
        assert_eq!(a, hex::encode(&spelled[..16]));
        let b = occ.fingerprint("acct", day, amount, "COFFEE!");
        assert_ne!(a, b);
        let mut again = Occurrences::default();
        assert_eq!(again.fingerprint("acct", day, amount, "coffee"), a);
        assert_eq!(a.len(), 32);
        assert_ne!(by_bank_id("acct", "1"), by_bank_id("acct2", "1"));
    }
}
