//! Running sums that know how many expenses feed them, so a sum can be dropped
//! exactly when its last contributor leaves and the state matches a recomputation.
//!
//! Plain `+`/`-` on [`Decimal`] is safe here: every amount was checked at the
//! boundary to stay below 10^12, and reaching `Decimal`'s 7.9·10^28 would take more
//! than 10^16 expenses in one sum.

use std::borrow::Borrow;
use std::collections::BTreeMap;

use rust_decimal::Decimal;

/// The sum and number of the expenses that contribute to one key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) sum: Decimal,
    pub(crate) count: u64,
}

impl Tally {
    fn add(&mut self, amount: Decimal) {
        self.sum += amount;
        self.count += 1;
    }

    fn remove(&mut self, amount: Decimal) {
        self.sum -= amount;
        self.count = self.count.saturating_sub(1);
    }
}

/// Counts `amount` in under `key`.
pub(crate) fn add<K: Ord>(map: &mut BTreeMap<K, Tally>, key: K, amount: Decimal) {
    map.entry(key).or_default().add(amount);
}

/// Counts `amount` in under the name `key`, which is copied into the map only the
/// first time it is seen.
pub(crate) fn add_named(map: &mut BTreeMap<String, Tally>, key: &str, amount: Decimal) {
    if let Some(tally) = map.get_mut(key) {
        tally.add(amount);
        return;
    }
    map.entry(key.to_owned()).or_default().add(amount);
}

/// Takes a contribution of `amount` back out of `key`, dropping the entry when no
/// contributor is left. Removing what was never added leaves the map as it was.
pub(crate) fn remove<K, Q>(map: &mut BTreeMap<K, Tally>, key: &Q, amount: Decimal)
where
    K: Borrow<Q> + Ord,
    Q: Ord + ?Sized,
{
    if let Some(tally) = map.get_mut(key) {
        tally.remove(amount);
        if tally.count == 0 {
            map.remove(key);
        }
    }
}

/// The sum under `key`, zero when nothing contributes to it.
pub(crate) fn sum<K, Q>(map: &BTreeMap<K, Tally>, key: &Q) -> Decimal
where
    K: Borrow<Q> + Ord,
    Q: Ord + ?Sized,
{
    map.get(key).map_or(Decimal::ZERO, |t| t.sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_leave_with_their_last_contributor_even_at_zero() {
        let mut map = BTreeMap::new();
        add(&mut map, "a", Decimal::new(500, 2));
        add(&mut map, "a", Decimal::new(-500, 2));
        assert_eq!(map.get("a").map(|t| t.count), Some(2));
        assert_eq!(sum(&map, &"a"), Decimal::ZERO);
        remove(&mut map, &"a", Decimal::new(500, 2));
        assert_eq!(sum(&map, &"a"), Decimal::new(-500, 2));
        remove(&mut map, &"a", Decimal::new(-500, 2));
        assert!(map.is_empty());
        remove(&mut map, &"b", Decimal::ONE);
        assert!(map.is_empty());
    }
}
