//! A ledger's time zone: an IANA name (`Europe/Berlin`) that the IANA database
//! (through `chrono-tz`) knows. Budget periods, and the period closes built on
//! them, start at midnight in this zone, so a name that only looks like one
//! (`Mars/Olympus`) would leave them undefined.
//!
//! Parsed once at the boundary; the event payload keeps the name as a string, and
//! it is always the database's own spelling of the zone.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::text::TextError;

/// A time zone the IANA database knows. Its JSON form is its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Timezone(chrono_tz::Tz);

impl Timezone {
    /// Every name [`Timezone::parse`] takes (the IANA database's), in order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    pub const UTC: Timezone = Timezone(chrono_tz::Tz::UTC);

    /// # Errors
    /// A name the IANA database does not hold, naming `field`.
    pub fn parse(field: &'static str, name: &str) -> Result<Timezone, TextError> {
        // Exact names only: the database also answers case-insensitive lookups,
        // which would store a spelling nobody else uses.
        name.parse::<chrono_tz::Tz>()
            .map(Timezone)
            .map_err(|_| TextError::NotATimezone { field })
    }

    pub fn name(self) -> &'static str {
        self.0.name()
    }

    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }
}

impl fmt::Display for Timezone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl TryFrom<String> for Timezone {
    type Error = TextError;
    fn try_from(name: String) -> Result<Self, Self::Error> {
        Timezone::parse("timezone", &name)
    }
}

impl From<Timezone> for String {
    fn from(zone: Timezone) -> String {
        zone.name().to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names_parse_and_others_are_refused() {
        for name in [
            "UTC",
            "Europe/Berlin",
            "America/Argentina/Buenos_Aires",
            "Etc/GMT+5",
        ] {
            assert_eq!(Timezone::parse("timezone", name).unwrap().name(), name);
        }
        for name in [
            "Mars/Olympus",
            "",
            "europe/berlin",
            "Europe/Berlin ",
            "+02:00",
            "Europe/",
        ] {
            assert_eq!(
                Timezone::parse("timezone", name),
                Err(TextError::NotATimezone { field: "timezone" }),
                "{name:?}"
            );
        }
    }

    #[test]
    fn json_is_the_name_and_reading_it_checks_it() {
        let zone: Timezone = serde_json::from_str("\"Asia/Tokyo\"").unwrap();
        assert_eq!(serde_json::to_string(&zone).unwrap(), "\"Asia/Tokyo\"");
        assert!(serde_json::from_str::<Timezone>("\"Mars/Olympus\"").is_err());
    }
}
