//! The texts people type into a ledger (categories, merchants, descriptions, ledger
//! and user names, tags) as newtypes that are parsed once, at the boundary.
//!
//! Every limit lives here. A value of one of these types has passed its checks, so
//! the commands and everything after them take it as it is. Their JSON form is the
//! bare string (`serde(transparent)` on the way out); reading one from JSON parses
//! it, so no unchecked value gets in through serde either.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::user::MAX_USER_NAME;

/// Why a text was refused, naming the request field it came from. The messages are
/// the API's: a client sees `"<field>: <message>"`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty { field: &'static str },
    #[error("at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("must not contain control characters")]
    Control { field: &'static str },
    #[error("at most {max} {field}")]
    TooMany { field: &'static str, max: usize },
    #[error("must be an IANA time zone such as Europe/Berlin")]
    NotATimezone { field: &'static str },
}

impl TextError {
    /// The request field the text came from.
    pub fn field(&self) -> &'static str {
        match self {
            TextError::Empty { field }
            | TextError::TooLong { field, .. }
            | TextError::Control { field }
            | TextError::TooMany { field, .. }
            | TextError::NotATimezone { field } => field,
        }
    }
}

/// Free text: at most `max` characters, no control characters but line breaks and
/// tabs (a description may have paragraphs). Public for texts that are no part of
/// a ledger (an operator's broadcast), so they follow the same rules.
///
/// # Errors
/// A text too long or with control characters, naming `field`.
pub fn free_text(field: &'static str, value: &str, max: usize) -> Result<String, TextError> {
    if value.chars().count() > max {
        return Err(TextError::TooLong { field, max });
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\t'))
    {
        return Err(TextError::Control { field });
    }
    Ok(value.to_owned())
}

/// A label: free text, trimmed, and not empty.
fn label(field: &'static str, value: &str, max: usize) -> Result<String, TextError> {
    // The limit counts what was sent, spaces around it included, as a JSON Schema
    // `maxLength` does.
    if value.chars().count() > max {
        return Err(TextError::TooLong { field, max });
    }
    let value = value.trim();
    if value.is_empty() {
        return Err(TextError::Empty { field });
    }
    free_text(field, value, max)
}

/// A bank's text made a label: trimmed, control characters as spaces, cut at `max`
/// characters (a bank's 300-character memo is cut rather than refused); `None`
/// when nothing is left. Public for other texts from files (a file's name).
pub fn cleaned(value: &str, max: usize) -> Option<String> {
    let text: String = value
        .trim()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(max)
        .collect();
    Some(text.trim().to_owned()).filter(|t| !t.is_empty())
}

/// Defines a text newtype: its request field, its limit and how it is checked.
macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, field = $field:literal, max = $max:expr, check = $check:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            /// Longest accepted value, in characters.
            pub const MAX: usize = $max;
            /// The request field this text is read from.
            pub const FIELD: &'static str = $field;

            /// # Errors
            /// A value that breaks this text's rules, naming [`Self::FIELD`].
            pub fn parse(value: &str) -> Result<Self, TextError> {
                $check(Self::FIELD, value, Self::MAX).map(Self)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }
    };
}

text_type!(
    /// What an expense or a budget is about: `groceries`.
    Category, field = "category", max = 64, check = label
);
text_type!(
    /// Where the money went: `Corner shop`.
    Merchant, field = "merchant", max = 128, check = label
);
text_type!(
    /// Free words about an expense; may be empty, may span lines.
    Description, field = "description", max = 2000, check = free_text
);
text_type!(
    /// A ledger's name: `Household`.
    LedgerName, field = "name", max = 200, check = label
);
text_type!(
    /// A user's display name.
    UserName, field = "name", max = MAX_USER_NAME, check = label
);
text_type!(
    /// A token's name, so its holder can tell their tokens apart ("laptop", "CI").
    TokenName, field = "name", max = 100, check = label
);
text_type!(
    /// One of an expense's tags.
    Tag, field = "tags", max = 40, check = label
);

impl Category {
    /// A statement's category as a label, cut to fit; `None` when nothing is left.
    pub fn cleaned(value: &str) -> Option<Category> {
        cleaned(value, Self::MAX).map(Category)
    }
}

impl Merchant {
    /// A statement's payee as a label, cut to fit; `None` when nothing is left.
    pub fn cleaned(value: &str) -> Option<Merchant> {
        cleaned(value, Self::MAX).map(Merchant)
    }
}

impl Description {
    /// A statement's memo, cut to fit; `None` when nothing is left.
    pub fn cleaned(value: &str) -> Option<Description> {
        cleaned(value, Self::MAX).map(Description)
    }
}

/// An expense's tags: at most this many.
pub const MAX_TAGS: usize = 20;

/// Parses an expense's tags, in order.
///
/// # Errors
/// More than [`MAX_TAGS`] tags, or a tag that is not a valid [`Tag`].
pub fn parse_tags<S: AsRef<str>>(values: &[S]) -> Result<Vec<Tag>, TextError> {
    if values.len() > MAX_TAGS {
        return Err(TextError::TooMany {
            field: Tag::FIELD,
            max: MAX_TAGS,
        });
    }
    values.iter().map(|t| Tag::parse(t.as_ref())).collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn labels_are_trimmed_and_must_not_be_empty() {
        assert_eq!(Category::parse("  food ").unwrap().as_str(), "food");
        let e = Category::parse("   ").unwrap_err();
        assert_eq!(e, TextError::Empty { field: "category" });
        assert_eq!(e.to_string(), "must not be empty");
    }

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(Category::parse(&"é".repeat(64)).is_ok());
        let e = Category::parse(&"é".repeat(65)).unwrap_err();
        assert_eq!(e.to_string(), "at most 64 characters");
        assert_eq!(e.field(), "category");
        assert!(Merchant::parse(&"m".repeat(128)).is_ok());
        assert!(Merchant::parse(&"m".repeat(129)).is_err());
        assert!(Description::parse(&"d".repeat(2000)).is_ok());
        assert!(Description::parse(&"d".repeat(2001)).is_err());
        assert_eq!(
            UserName::parse(&"u".repeat(201)).unwrap_err().field(),
            "name"
        );
    }

    #[test]
    fn control_characters_are_refused_but_descriptions_keep_line_breaks() {
        let e = Merchant::parse("a\u{7}b").unwrap_err();
        assert_eq!(e.to_string(), "must not contain control characters");
        assert_eq!(
            Description::parse("one\n\ttwo").unwrap().as_str(),
            "one\n\ttwo"
        );
        // A description is free text: kept as sent, and may be empty.
        assert_eq!(Description::parse(" x ").unwrap().as_str(), " x ");
        assert!(Description::parse("").is_ok());
    }

    #[test]
    fn tags_are_counted_then_parsed() {
        let many = vec!["t"; 21];
        assert_eq!(
            parse_tags(&many).unwrap_err().to_string(),
            "at most 20 tags"
        );
        assert_eq!(parse_tags(&[" a "]).unwrap()[0].as_str(), "a");
        assert_eq!(parse_tags(&[""]).unwrap_err().field(), "tags");
    }

    #[test]
    fn json_is_the_bare_string_and_reading_it_checks() {
        let c = Category::parse("food").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"food\"");
        assert_eq!(serde_json::from_str::<Category>("\"food\"").unwrap(), c);
        assert!(serde_json::from_str::<Category>("\"\"").is_err());
    }

    #[test]
    fn statement_texts_are_cleaned_not_refused() {
        assert_eq!(
            Merchant::cleaned(" A\tB ").unwrap().as_str(),
            "A B",
            "control characters become spaces"
        );
        assert_eq!(
            Description::cleaned(&"x".repeat(3000))
                .unwrap()
                .as_str()
                .len(),
            2000
        );
        assert_eq!(Category::cleaned(" \u{1} "), None);
    }

    proptest! {
        #[test]
        fn whatever_parses_is_within_its_limits(text in "\\PC{0,80}") {
            if let Ok(c) = Category::parse(&text) {
                prop_assert!(!c.as_str().is_empty());
                prop_assert!(c.as_str().chars().count() <= Category::MAX);
                prop_assert_eq!(c.as_str(), c.as_str().trim());
                // Parsing is idempotent: a parsed value parses to itself.
                prop_assert_eq!(Category::parse(c.as_str()).unwrap(), c);
            }
        }

        #[test]
        fn cleaned_texts_always_parse(text in any::<String>()) {
            if let Some(m) = Merchant::cleaned(&text) {
                prop_assert_eq!(Merchant::parse(m.as_str()).unwrap(), m);
            }
        }
    }
}
