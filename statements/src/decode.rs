//! Bytes to text. Banks export UTF-8 (with or without a BOM), UTF-16 from
//! spreadsheet "Unicode text" exports, and Windows-1252 or ISO-8859-1 from older
//! systems; none of them says which outside the bytes.
//!
//! Order of evidence, strongest first: a byte order mark; NUL bytes in every
//! other position (UTF-16 without a BOM, which is mostly ASCII); valid UTF-8
//! (8-bit text with accents is practically never valid UTF-8 by accident); the
//! caller's explicit encoding; the OFX header (`CHARSET:1252` in 1.x,
//! `encoding="..."` in the 2.x XML prolog); and Windows-1252 as the last
//! resort, since every byte sequence is valid in it.
//!
//! ISO-8859-1 is decoded as Windows-1252: the WHATWG Encoding Standard, which
//! encoding_rs implements, maps the `iso-8859-1` and `latin1` labels there. The
//! two differ only in 0x80..0x9F, which are control codes in ISO-8859-1 and
//! never appear in real statements, whereas exports labelled Latin-1 do use
//! 0x80 for the euro sign.

use encoding_rs::{Encoding, UTF_16BE, UTF_16LE, UTF_8, WINDOWS_1252};

use crate::error::Error;

/// How the encoding of a file was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    ByteOrderMark,
    NulPattern,
    Explicit,
    OfxHeader,
    ValidUtf8,
    Fallback,
}

/// The encoding a file was decoded with, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectedEncoding {
    pub encoding: &'static Encoding,
    pub detection: Detection,
}

impl DetectedEncoding {
    pub fn name(&self) -> &'static str {
        self.encoding.name()
    }
}

/// Resolves an encoding label the way browsers do (`latin1` -> windows-1252).
///
/// # Errors
/// [`Error::UnknownEncoding`] for a label the Encoding Standard does not know.
pub fn encoding_for_label(label: &str) -> Result<&'static Encoding, Error> {
    Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| Error::UnknownEncoding(label.into()))
}

/// Decodes `bytes` to text, never failing: bytes invalid in the chosen encoding
/// become U+FFFD, which later shows up as an unreadable row rather than a panic.
pub fn decode(bytes: &[u8], explicit: Option<&'static Encoding>) -> (String, DetectedEncoding) {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        let rest = bytes.get(bom_len..).unwrap_or_default();
        return (
            decode_with(encoding, rest),
            DetectedEncoding {
                encoding,
                detection: Detection::ByteOrderMark,
            },
        );
    }
    if let Some(encoding) = utf16_without_bom(bytes) {
        return (
            decode_with(encoding, bytes),
            DetectedEncoding {
                encoding,
                detection: Detection::NulPattern,
            },
        );
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        let detected = DetectedEncoding {
            encoding: UTF_8,
            detection: Detection::ValidUtf8,
        };
        return (text.to_string(), detected);
    }
    let (encoding, detection) = match (explicit, declared_by_ofx(bytes)) {
        (Some(e), _) => (e, Detection::Explicit),
        (None, Some(e)) => (e, Detection::OfxHeader),
        (None, None) => (WINDOWS_1252, Detection::Fallback),
    };
    (
        decode_with(encoding, bytes),
        DetectedEncoding {
            encoding,
            detection,
        },
    )
}

fn decode_with(encoding: &'static Encoding, bytes: &[u8]) -> String {
    let (text, _had_errors) = encoding.decode_without_bom_handling(bytes);
    text.into_owned()
}

/// UTF-16 text that is mostly ASCII has a NUL in every other byte; no 8-bit
/// statement has NULs at all.
fn utf16_without_bom(bytes: &[u8]) -> Option<&'static Encoding> {
    let sample = &bytes[..bytes.len().min(1024) & !1];
    let pairs = sample.len() / 2;
    if pairs < 2 {
        return None;
    }
    let (mut even_nul, mut odd_nul) = (0usize, 0usize);
    for pair in sample.chunks_exact(2) {
        even_nul += usize::from(pair[0] == 0);
        odd_nul += usize::from(pair[1] == 0);
    }
    // Thresholds leave room for non-ASCII characters (é is 0xE9 0x00 in LE)
    // while refusing binary files that merely contain some NULs.
    if odd_nul * 10 >= pairs * 7 && even_nul * 10 <= pairs {
        Some(UTF_16LE)
    } else if even_nul * 10 >= pairs * 7 && odd_nul * 10 <= pairs {
        Some(UTF_16BE)
    } else {
        None
    }
}

/// The encoding an OFX file declares in its (ASCII) header, if it is OFX.
fn declared_by_ofx(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(1024)];
    let head: String = head.iter().map(|&b| char::from(b)).collect();
    let upper = head.to_ascii_uppercase();
    let start = upper.trim_start();
    if start.starts_with("OFXHEADER") {
        // OFX 1.x: `ENCODING:USASCII|UTF-8` then `CHARSET:1252|ISO-8859-1|NONE`.
        let mut encoding_utf8 = false;
        let mut charset = None;
        for line in upper.lines() {
            let line = line.trim();
            if line.starts_with('<') {
                break;
            }
            if let Some(v) = line.strip_prefix("ENCODING:") {
                encoding_utf8 = v.trim() == "UTF-8";
            } else if let Some(v) = line.strip_prefix("CHARSET:") {
                charset = Some(v.trim().to_string());
            }
        }
        if encoding_utf8 {
            return Some(UTF_8);
        }
        return match charset.as_deref() {
            Some("1252") | Some("WINDOWS-1252") => Some(WINDOWS_1252),
            Some(label) if label != "NONE" => {
                let label = if label.bytes().all(|b| b.is_ascii_digit()) {
                    format!("windows-{label}")
                } else {
                    label.to_string()
                };
                Encoding::for_label(label.as_bytes())
            }
            _ => None,
        };
    }
    if start.starts_with("<?XML") && upper.contains("OFX") {
        let prolog_end = upper.find("?>")?;
        let prolog = &head[..prolog_end];
        let at = prolog.to_ascii_lowercase().find("encoding=")?;
        let value = prolog.get(at + "encoding=".len()..)?;
        let quote = value.chars().next()?;
        let value = value.get(1..)?;
        let end = value.find(quote)?;
        return Encoding::for_label(value.get(..end)?.as_bytes());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf16le(text: &str) -> Vec<u8> {
        text.encode_utf16().flat_map(|u| u.to_le_bytes()).collect()
    }

    #[test]
    fn plain_utf8_is_taken_as_is() {
        let (text, enc) = decode("Café;12,50".as_bytes(), None);
        assert_eq!(text, "Café;12,50");
        assert_eq!(enc.detection, Detection::ValidUtf8);
    }

    #[test]
    fn utf8_bom_is_stripped() {
        let (text, enc) = decode(b"\xEF\xBB\xBFDate,Amount", None);
        assert_eq!(text, "Date,Amount");
        assert_eq!(enc.encoding, UTF_8);
        assert_eq!(enc.detection, Detection::ByteOrderMark);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let body = utf16le("Datum;Betrag\n01.02.2025;-3,50 Bäckerei\n");
        let mut with_bom = vec![0xFF, 0xFE];
        with_bom.extend_from_slice(&body);
        for (bytes, detection) in [
            (with_bom, Detection::ByteOrderMark),
            (body, Detection::NulPattern),
        ] {
            let (text, enc) = decode(&bytes, None);
            assert_eq!(text, "Datum;Betrag\n01.02.2025;-3,50 Bäckerei\n");
            assert_eq!(enc.encoding, UTF_16LE);
            assert_eq!(enc.detection, detection);
        }
        let be: Vec<u8> = "Date,Amount\n"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(decode(&be, None).1.encoding, UTF_16BE);
    }

    #[test]
    fn invalid_utf8_falls_back_to_windows_1252() {
        let (text, enc) = decode(b"M\xFCller \x80 5", None);
        assert_eq!(text, "Müller € 5");
        assert_eq!(enc.detection, Detection::Fallback);
    }

    #[test]
    fn valid_utf8_wins_over_an_explicit_label() {
        let latin1 = encoding_for_label("latin1").unwrap();
        assert_eq!(decode("Café".as_bytes(), Some(latin1)).0, "Café");
    }

    #[test]
    fn explicit_latin1_label_is_windows_1252() {
        let latin1 = encoding_for_label("ISO-8859-1").unwrap();
        assert_eq!(latin1, WINDOWS_1252);
        let (text, enc) = decode(b"Caf\xE9", Some(latin1));
        assert_eq!(text, "Café");
        assert_eq!(enc.detection, Detection::Explicit);
        assert!(encoding_for_label("klingon").is_err());
    }

    #[test]
    fn ofx_charset_header_is_honoured() {
        let file = b"OFXHEADER:100\r\nDATA:OFXSGML\r\nENCODING:USASCII\r\nCHARSET:1252\r\n\r\n<OFX><NAME>Caf\xE9";
        let (text, enc) = decode(file, None);
        assert!(text.ends_with("Café"));
        assert_eq!(enc.detection, Detection::OfxHeader);
        let xml =
            b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><?OFX OFXHEADER=\"200\"?><OFX>\xE9";
        assert_eq!(decode(xml, None).1.encoding, WINDOWS_1252);
    }

    #[test]
    fn odd_inputs_do_not_panic() {
        for bytes in [
            &b""[..],
            b"\xFF",
            b"\xFE\xFF\x00",
            b"\x00\x00\x00",
            b"<?xml encoding=\"",
            b"OFXHEADER\nCHARSET:",
        ] {
            let _ = decode(bytes, None);
        }
    }
}
