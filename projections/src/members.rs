//! Who may do what in one ledger.

use std::collections::BTreeMap;

use ledger::event::Role;
use ledger::UserId;

/// The members of a ledger and their roles; the owner who opened it is one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Members {
    roles: BTreeMap<UserId, Role>,
}

impl Members {
    /// `None` when `user` is not (or no longer) a member.
    pub fn role(&self, user: UserId) -> Option<Role> {
        self.roles.get(&user).copied()
    }

    /// Every member with their role, in user id order.
    pub fn iter(&self) -> impl Iterator<Item = (UserId, Role)> + '_ {
        self.roles.iter().map(|(user, role)| (*user, *role))
    }

    pub(crate) fn grant(&mut self, user: UserId, role: Role) {
        self.roles.insert(user, role);
    }

    pub(crate) fn revoke(&mut self, user: UserId) {
        self.roles.remove(&user);
    }
}
