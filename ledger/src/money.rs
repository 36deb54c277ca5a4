//! Exact money: ISO-4217 currencies with their minor units, and amounts that carry
//! exactly the precision their currency allows. No floating point anywhere.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::error::MoneyError;

/// Active ISO-4217 codes and their minor units (digits after the decimal point).
/// Codes whose minor unit is "N.A." (precious metals, testing codes) are left out:
/// nobody records an expense in them.
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("AFN", 2),
    ("ALL", 2),
    ("AMD", 2),
    ("ANG", 2),
    ("AOA", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("AWG", 2),
    ("AZN", 2),
    ("BAM", 2),
    ("BBD", 2),
    ("BDT", 2),
    ("BGN", 2),
    ("BHD", 3),
    ("BIF", 0),
    ("BMD", 2),
    ("BND", 2),
    ("BOB", 2),
    ("BOV", 2),
    ("BRL", 2),
    ("BSD", 2),
    ("BTN", 2),
    ("BWP", 2),
    ("BYN", 2),
    ("BZD", 2),
    ("CAD", 2),
    ("CDF", 2),
    ("CHE", 2),
    ("CHF", 2),
    ("CHW", 2),
    ("CLF", 4),
    ("CLP", 0),
    ("CNY", 2),
    ("COP", 2),
    ("COU", 2),
    ("CRC", 2),
    ("CUC", 2),
    ("CUP", 2),
    ("CVE", 2),
    ("CZK", 2),
    ("DJF", 0),
    ("DKK", 2),
    ("DOP", 2),
    ("DZD", 2),
    ("EGP", 2),
    ("ERN", 2),
    ("ETB", 2),
    ("EUR", 2),
    ("FJD", 2),
    ("FKP", 2),
    ("GBP", 2),
    ("GEL", 2),
    ("GHS", 2),
    ("GIP", 2),
    ("GMD", 2),
    ("GNF", 0),
    ("GTQ", 2),
    ("GYD", 2),
    ("HKD", 2),
    ("HNL", 2),
    ("HTG", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("IRR", 2),
    ("ISK", 0),
    ("JMD", 2),
    ("JOD", 3),
    ("JPY", 0),
    ("KES", 2),
    ("KGS", 2),
    ("KHR", 2),
    ("KMF", 0),
    ("KPW", 2),
    ("KRW", 0),
    ("KWD", 3),
    ("KYD", 2),
    ("KZT", 2),
    ("LAK", 2),
    ("LBP", 2),
    ("LKR", 2),
    ("LRD", 2),
    ("LSL", 2),
    ("LYD", 3),
    ("MAD", 2),
    ("MDL", 2),
    ("MGA", 2),
    ("MKD", 2),
    ("MMK", 2),
    ("MNT", 2),
    ("MOP", 2),
    ("MRU", 2),
    ("MUR", 2),
    ("MVR", 2),
    ("MWK", 2),
    ("MXN", 2),
    ("MXV", 2),
    ("MYR", 2),
    ("MZN", 2),
    ("NAD", 2),
    ("NGN", 2),
    ("NIO", 2),
    ("NOK", 2),
    ("NPR", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PAB", 2),
    ("PEN", 2),
    ("PGK", 2),
    ("PHP", 2),
    ("PKR", 2),
    ("PLN", 2),
    ("PYG", 0),
    ("QAR", 2),
    ("RON", 2),
    ("RSD", 2),
    ("RUB", 2),
    ("RWF", 0),
    ("SAR", 2),
    ("SBD", 2),
    ("SCR", 2),
    ("SDG", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("SHP", 2),
    ("SLE", 2),
    ("SLL", 2),
    ("SOS", 2),
    ("SRD", 2),
    ("SSP", 2),
    ("STN", 2),
    ("SVC", 2),
    ("SYP", 2),
    ("SZL", 2),
    ("THB", 2),
    ("TJS", 2),
    ("TMT", 2),
    ("TND", 3),
    ("TOP", 2),
    ("TRY", 2),
    ("TTD", 2),
    ("TWD", 2),
    ("TZS", 2),
    ("UAH", 2),
    ("UGX", 0),
    ("USD", 2),
    ("USN", 2),
    ("UYI", 0),
    ("UYU", 2),
    ("UYW", 4),
    ("UZS", 2),
    ("VED", 2),
    ("VES", 2),
    ("VND", 0),
    ("VUV", 0),
    ("WST", 2),
    ("XAF", 0),
    ("XCD", 2),
    ("XCG", 2),
    ("XOF", 0),
    ("XPF", 0),
    ("YER", 2),
    ("ZAR", 2),
    ("ZMW", 2),
    ("ZWG", 2),
    ("ZWL", 2),
];

/// Amounts must stay strictly below this in absolute value.
const MAX_ABS_AMOUNT: i64 = 1_000_000_000_000;

/// Longest text accepted as an amount; anything longer is hostile, not money.
const MAX_AMOUNT_TEXT: usize = 40;

/// An ISO-4217 currency that this ledger knows the precision of.
///
/// One byte, its place in [`CURRENCIES`]: every expense of a read model carries its
/// currency, a million expenses a megabyte of it.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency(u8);

// Every currency has a place that fits in the byte.
const _: () = assert!(CURRENCIES.len() <= 256);

impl Currency {
    /// Every code [`Currency::parse`] takes, in order.
    pub fn codes() -> impl Iterator<Item = &'static str> {
        CURRENCIES.iter().map(|(code, _)| *code)
    }

    /// # Errors
    /// [`MoneyError::UnknownCurrency`] unless `code` is an active ISO-4217 code
    /// (upper case, as the standard writes it).
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(code))
            // In range: the table has at most 256 entries.
            .map(|i| Currency(i as u8))
            .map_err(|_| MoneyError::UnknownCurrency(truncate(code)))
    }

    pub const fn code(&self) -> &'static str {
        CURRENCIES[self.0 as usize].0
    }

    /// Digits after the decimal point: EUR 2, JPY 0, KWD 3.
    pub const fn minor_units(&self) -> u8 {
        CURRENCIES[self.0 as usize].1
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An exact amount of money in some currency, at that currency's precision.
///
/// The currency itself is not carried: a ledger has exactly one, and an amount only
/// exists after being parsed against it. It serializes as a decimal string
/// (`"12.50"`), never as a JSON number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Amount(Decimal);

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::ZERO);

    /// Parses a decimal string for `currency`: digits with at most its minor units of
    /// decimals as written (`"12.500"` is refused for EUR even though the zeros add
    /// nothing: in much of Europe it reads as twelve thousand five hundred), at least
    /// one digit before the point, an absolute value below 10^12. Zero is allowed here;
    /// [`Amount::parse_nonzero`] and [`Amount::parse_positive`] are stricter.
    ///
    /// # Errors
    /// A [`MoneyError`] naming what is wrong.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        if text.is_empty() || text.len() > MAX_AMOUNT_TEXT {
            return Err(MoneyError::NotANumber(truncate(text)));
        }
        let digits_only = text
            .strip_prefix('-')
            .unwrap_or(text)
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.');
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        if !digits_only
            || text.bytes().filter(|b| *b == b'.').count() > 1
            || text.ends_with('.')
            || unsigned.starts_with('.')
        {
            return Err(MoneyError::NotANumber(truncate(text)));
        }
        let written_decimals = unsigned.split_once('.').map_or(0, |(_, f)| f.len());
        if written_decimals > usize::from(currency.minor_units()) {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.code(),
                allowed: currency.minor_units(),
            });
        }
        let value =
            Decimal::from_str_exact(text).map_err(|_| MoneyError::NotANumber(truncate(text)))?;
        Self::from_decimal(value, currency)
    }

    /// # Errors
    /// As [`Amount::parse`], and [`MoneyError::Zero`] for zero.
    pub fn parse_nonzero(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let amount = Self::parse(text, currency)?;
        if amount.is_zero() {
            return Err(MoneyError::Zero);
        }
        Ok(amount)
    }

    /// # Errors
    /// As [`Amount::parse`], and [`MoneyError::NotPositive`] for zero or less.
    pub fn parse_positive(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        let amount = Self::parse(text, currency)?;
        if amount.0 <= Decimal::ZERO {
            return Err(MoneyError::NotPositive);
        }
        Ok(amount)
    }

    /// # Errors
    /// When `value` has more decimals than `currency` allows or is out of range.
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        // Stored amounts are already written at their currency's precision, and every
        // folded event goes through here: those are checked without normalizing and
        // rescaling (divisions and multiplications of 96-bit numbers). Zero takes the
        // long way, which also turns a negative zero into zero.
        let units = u32::from(currency.minor_units());
        if value.scale() == units && !value.is_zero() {
            let limit = u128::from(MAX_ABS_AMOUNT.unsigned_abs()) * 10u128.pow(units);
            if value.mantissa().unsigned_abs() >= limit {
                return Err(MoneyError::TooLarge);
            }
            return Ok(Amount(value));
        }
        let value = value.normalize();
        if value.scale() > u32::from(currency.minor_units()) {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.code(),
                allowed: currency.minor_units(),
            });
        }
        if value.abs() >= Decimal::from(MAX_ABS_AMOUNT) {
            return Err(MoneyError::TooLarge);
        }
        let mut value = value;
        value.rescale(u32::from(currency.minor_units()));
        Ok(Amount(value))
    }

    pub const fn as_decimal(&self) -> Decimal {
        self.0
    }

    pub fn is_zero(&self) -> bool {
        self.0.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// Stored amounts were validated against their ledger's currency when they were
/// appended, so reading them back only needs them to be exact decimals.
impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read from the text in place rather than from a copy: every expense event
        // has an amount.
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Amount;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal amount as a string")
            }

            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Amount, E> {
                Decimal::from_str_exact(s)
                    .map(Amount)
                    .map_err(|_| E::custom(format!("not a decimal amount: {s:?}")))
            }
        }

        d.deserialize_str(Visitor)
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(16).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn table_is_sorted_so_binary_search_works() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        for (code, units) in [("EUR", 2), ("JPY", 0), ("KWD", 3), ("CLF", 4), ("USD", 2)] {
            assert_eq!(Currency::parse(code).unwrap().minor_units(), units);
        }
        assert!(matches!(
            Currency::parse("XXX"),
            Err(MoneyError::UnknownCurrency(_))
        ));
        assert!(Currency::parse("eur").is_err());
    }

    #[test]
    fn amounts_take_their_currency_precision() {
        assert_eq!(Amount::parse("12.5", eur()).unwrap().to_string(), "12.50");
        assert_eq!(Amount::parse("12.50", eur()).unwrap().to_string(), "12.50");
        assert_eq!(Amount::parse("0.5", eur()).unwrap().to_string(), "0.50");
        assert_eq!(Amount::parse("-3", eur()).unwrap().to_string(), "-3.00");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(Amount::parse("1500", jpy).unwrap().to_string(), "1500");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(Amount::parse("1.234", kwd).unwrap().to_string(), "1.234");
    }

    #[test]
    fn bad_amounts_are_typed_errors() {
        let jpy = Currency::parse("JPY").unwrap();
        assert!(matches!(
            Amount::parse("12.345", eur()),
            Err(MoneyError::TooManyDecimals {
                currency: "EUR",
                allowed: 2
            })
        ));
        assert!(matches!(
            Amount::parse("1.5", jpy),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        // Written decimals count, zeros too: "12.500" is ambiguous across locales.
        for written in ["12.500", "1.000", "0.000"] {
            assert!(
                matches!(
                    Amount::parse(written, eur()),
                    Err(MoneyError::TooManyDecimals { .. })
                ),
                "{written:?}"
            );
        }
        assert!(matches!(
            Amount::parse("1.0", jpy),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert!(matches!(
            Amount::parse_nonzero("0.00", eur()),
            Err(MoneyError::Zero)
        ));
        assert!(matches!(
            Amount::parse("1000000000000", eur()),
            Err(MoneyError::TooLarge)
        ));
        assert!(matches!(
            Amount::parse("-1000000000000", eur()),
            Err(MoneyError::TooLarge)
        ));
        assert!(Amount::parse("999999999999.99", eur()).is_ok());
        assert!(matches!(
            Amount::parse_positive("-1", eur()),
            Err(MoneyError::NotPositive)
        ));
        for bad in [
            "", "abc", "1e5", "1E5", "1,50", " 1", "1.", ".", ".5", "-.5", "--1", "+1", "1.2.3",
            "NaN", "١٢",
        ] {
            assert!(
                matches!(Amount::parse(bad, eur()), Err(MoneyError::NotANumber(_))),
                "{bad:?}"
            );
        }
        let huge = "9".repeat(100_000);
        assert!(Amount::parse(&huge, eur()).is_err());
    }

    #[test]
    fn serializes_as_a_string() {
        let a = Amount::parse("7.1", eur()).unwrap();
        assert_eq!(serde_json::to_string(&a).unwrap(), "\"7.10\"");
        let back: Amount = serde_json::from_str("\"7.10\"").unwrap();
        assert_eq!(back, a);
        assert!(serde_json::from_str::<Amount>("7.1").is_err());
    }

    proptest! {
        #[test]
        fn the_fast_path_agrees_with_normalizing(mantissa in -10_000_000_000_000_000i64..10_000_000_000_000_000i64, scale in 0u32..6) {
            for code in ["EUR", "JPY", "KWD", "CLF"] {
                let currency = Currency::parse(code).unwrap();
                let value = Decimal::new(mantissa, scale);
                let long_way = {
                    let mut v = value.normalize();
                    if v.scale() > u32::from(currency.minor_units()) {
                        Err("decimals")
                    } else if v.abs() >= Decimal::from(MAX_ABS_AMOUNT) {
                        Err("large")
                    } else {
                        v.rescale(u32::from(currency.minor_units()));
                        Ok(v)
                    }
                };
                let fast = Amount::from_decimal(value, currency).map(|a| a.0).map_err(|e| match e {
                    MoneyError::TooLarge => "large",
                    _ => "decimals",
                });
                prop_assert_eq!(fast.map(|v| (v, v.scale())), long_way.map(|v| (v, v.scale())));
            }
        }

        #[test]
        fn any_cent_amount_round_trips_exactly(cents in -99_999_999_999_999i64..99_999_999_999_999i64) {
            prop_assume!(cents != 0);
            let text = Decimal::new(cents, 2).to_string();
            let a = Amount::parse_nonzero(&text, eur()).unwrap();
            prop_assert_eq!(a.to_string(), text);
            prop_assert_eq!(a.as_decimal(), Decimal::new(cents, 2));
        }
    }
}
