//! A ledger's own stream: opening it, and who may do what in it.

use super::{id_from_key, CommandError};
use crate::append::{AppendRequest, ExpectedVersion};
use crate::event::{Event, LedgerOpened, MemberGranted, MemberRevoked, Role};
use crate::ids::{LedgerId, StreamId, UserId};
use crate::money::Currency;
use crate::recorded::Metadata;
use crate::text::LedgerName;
use crate::timezone::Timezone;

/// What opening a ledger needs.
#[derive(Clone, Debug)]
pub struct OpenLedger {
    pub owner: UserId,
    pub name: LedgerName,
    pub currency: Currency,
    pub timezone: Timezone,
}

/// The id a new ledger gets: derived from the owner's idempotency key when there is
/// one, so a retried create names the same ledger and is recognised; new otherwise.
pub fn new_id(owner: UserId, idempotency_key: Option<&str>) -> LedgerId {
    match idempotency_key {
        Some(key) => LedgerId::from_uuid(id_from_key(owner.as_uuid(), "ledger", key)),
        None => LedgerId::new(),
    }
}

/// Opens ledger `ledger_id` with its owner. Only the first open of an id succeeds:
/// the write expects no stream, so a second is the store's version conflict.
pub fn open(ledger_id: LedgerId, open: OpenLedger, metadata: Metadata) -> AppendRequest {
    let opened = LedgerOpened {
        ledger_id,
        name: open.name.into_string(),
        currency: open.currency,
        timezone: open.timezone.to_string(),
        owner: open.owner,
    };
    AppendRequest::new(
        ledger_id,
        StreamId::ledger(ledger_id),
        ExpectedVersion::NoStream,
        vec![Event::LedgerOpened(opened)],
    )
    .metadata(metadata)
}

/// Gives `user` a role in the ledger, replacing any role they had.
///
/// # Errors
/// [`CommandError::NoUser`] when the directory does not know `user`
/// (`user_exists` is false).
pub fn grant(
    ledger: LedgerId,
    user: UserId,
    role: Role,
    user_exists: bool,
    metadata: Metadata,
) -> Result<AppendRequest, CommandError> {
    if !user_exists {
        return Err(CommandError::NoUser(user));
    }
    let event = Event::MemberGranted(MemberGranted {
        user_id: user,
        role,
    });
    Ok(AppendRequest::new(
        ledger,
        StreamId::ledger(ledger),
        ExpectedVersion::Any,
        vec![event],
    )
    .metadata(metadata))
}

/// Takes `user`'s role in the ledger away; `role` is the one they hold now.
///
/// # Errors
/// [`CommandError::NotAMember`] when they hold none; [`CommandError::Owner`] for the
/// owner, whose ledger would be left without one.
pub fn revoke(
    ledger: LedgerId,
    user: UserId,
    role: Option<Role>,
    metadata: Metadata,
) -> Result<AppendRequest, CommandError> {
    match role {
        None => Err(CommandError::NotAMember(user)),
        Some(Role::Owner) => Err(CommandError::Owner(user)),
        Some(Role::Member | Role::Viewer) => Ok(AppendRequest::new(
            ledger,
            StreamId::ledger(ledger),
            ExpectedVersion::Any,
            vec![Event::MemberRevoked(MemberRevoked { user_id: user })],
        )
        .metadata(metadata)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn only_event(request: &AppendRequest) -> &Event {
        assert_eq!(request.writes.len(), 1);
        assert_eq!(request.writes[0].events.len(), 1);
        &request.writes[0].events[0]
    }

    #[test]
    fn opening_expects_no_stream_and_a_key_names_the_ledger() {
        let owner = UserId::new();
        let id = new_id(owner, Some("k1"));
        assert_eq!(id, new_id(owner, Some("k1")));
        assert_ne!(id, new_id(UserId::new(), Some("k1")));
        assert_ne!(new_id(owner, None), new_id(owner, None));
        let request = open(
            id,
            OpenLedger {
                owner,
                name: LedgerName::parse(" Home ").unwrap(),
                currency: Currency::parse("EUR").unwrap(),
                timezone: Timezone::UTC,
            },
            Metadata::default(),
        );
        assert_eq!(request.writes[0].expected, ExpectedVersion::NoStream);
        let Event::LedgerOpened(opened) = only_event(&request) else {
            panic!("not an open")
        };
        assert_eq!(opened.name, "Home");
        assert_eq!(opened.owner, owner);
    }

    #[test]
    fn grants_need_a_known_user() {
        let (ledger, user) = (LedgerId::new(), UserId::new());
        assert_eq!(
            grant(ledger, user, Role::Viewer, false, Metadata::default()).unwrap_err(),
            CommandError::NoUser(user)
        );
        let request = grant(ledger, user, Role::Viewer, true, Metadata::default()).unwrap();
        assert_eq!(request.writes[0].stream, StreamId::ledger(ledger));
        assert!(matches!(only_event(&request), Event::MemberGranted(g) if g.role == Role::Viewer));
    }

    #[test]
    fn revoking_needs_a_member_who_is_not_the_owner() {
        let (ledger, user) = (LedgerId::new(), UserId::new());
        let revoke = |role| revoke(ledger, user, role, Metadata::default());
        assert_eq!(revoke(None).unwrap_err(), CommandError::NotAMember(user));
        assert_eq!(
            revoke(Some(Role::Owner)).unwrap_err(),
            CommandError::Owner(user)
        );
        let request = revoke(Some(Role::Member)).unwrap();
        assert!(matches!(only_event(&request), Event::MemberRevoked(r) if r.user_id == user));
    }
}
