//! Indexes derived from a read model's own data, built the first time they are read
//! and kept current from then on.
//!
//! A rebuild folds every event of the log while nothing reads these indexes. Building
//! one once from the finished data (a rebuild does, for every ledger in parallel, when
//! it is done) costs less than keeping it current through every event of the past; a
//! checkpoint saves no derived data. Both folds treat them alike (update an index only
//! if it has been built), so they still reach the same state.

use std::sync::OnceLock;

/// An index over data its owner holds, built on first read.
#[derive(Clone, Debug)]
pub(crate) struct Derived<T>(OnceLock<T>);

/// Not built: by hand, as the derived `Default` would ask `T` to have one too.
impl<T> Default for Derived<T> {
    fn default() -> Self {
        Derived(OnceLock::new())
    }
}

impl<T> Derived<T> {
    /// The index, built by `build` from the data it derives from if nobody read it
    /// before. Concurrent readers build it once.
    pub(crate) fn get_or_build(&self, build: impl FnOnce() -> T) -> &T {
        self.0.get_or_init(build)
    }

    /// The index, if it has been built.
    pub(crate) fn built(&self) -> Option<&T> {
        self.0.get()
    }

    /// The index to keep current after a change to its data, if it has been built.
    /// `None` needs no update: the index will be built from the changed data.
    pub(crate) fn built_mut(&mut self) -> Option<&mut T> {
        self.0.get_mut()
    }
}

/// Always equal: the index is a function of the data it derives from, and that data
/// is what decides whether its owners are equal, built index or not.
impl<T> PartialEq for Derived<T> {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl<T> Eq for Derived<T> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_once_then_kept_current() {
        let mut index: Derived<Vec<u32>> = Derived::default();
        assert!(
            index.built_mut().is_none(),
            "nothing to update before a read"
        );
        assert_eq!(index.get_or_build(|| vec![1, 2]), &[1, 2]);
        if let Some(built) = index.built_mut() {
            built.push(3);
        }
        assert_eq!(
            index.get_or_build(|| unreachable!("built already")),
            &[1, 2, 3]
        );
        assert!(index == Derived::default());
    }
}
