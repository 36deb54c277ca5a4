//! Sums of money as read models show them: exact, at the ledger currency's precision.
//!
//! A [`ledger::Amount`] is one validated amount below 10^12; a sum of many can exceed
//! that bound, so sums get their own type instead of being forced back into `Amount`.

use std::fmt;

use ledger::Currency;
use rust_decimal::Decimal;
use serde::Serialize;

/// An exact sum, shown with exactly its currency's minor units (`"12.50"`, `"1500"`),
/// and serialized as a string, never as a JSON number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(Decimal);

impl Money {
    /// `value` at `currency`'s precision. Every sum this crate builds adds amounts that
    /// already have at most that many decimals, so rescaling only pads with zeros.
    pub fn new(value: Decimal, currency: Currency) -> Self {
        let mut value = value;
        value.rescale(u32::from(currency.minor_units()));
        // Without this, a sum that cancels out to a negative zero would print "-0.00".
        if value.is_zero() {
            value.set_sign_positive(true);
        }
        Money(value)
    }

    pub const fn as_decimal(&self) -> Decimal {
        self.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    #[test]
    fn sums_show_their_currency_precision() {
        let sum = Decimal::new(1250, 2) + Decimal::new(320, 2);
        assert_eq!(Money::new(sum, currency("EUR")).to_string(), "15.70");
        assert_eq!(
            Money::new(Decimal::new(1500, 0), currency("JPY")).to_string(),
            "1500"
        );
        assert_eq!(
            Money::new(Decimal::new(12, 1), currency("KWD")).to_string(),
            "1.200"
        );
        assert_eq!(
            Money::new(Decimal::ZERO, currency("EUR")).to_string(),
            "0.00"
        );
        let cancelled = Decimal::new(-500, 2) + Decimal::new(500, 2);
        assert_eq!(Money::new(-cancelled, currency("EUR")).to_string(), "0.00");
        let json = serde_json::to_string(&Money::new(Decimal::new(-3, 0), currency("EUR")));
        assert_eq!(json.unwrap(), "\"-3.00\"");
    }
}
