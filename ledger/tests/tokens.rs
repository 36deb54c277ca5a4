//! Users' named tokens on both backends: created with the user, added, listed,
//! capped, revoked, and their last use recorded.

use chrono::{TimeDelta, Utc};
use ledger::testing::TestDb;
use ledger::{TokenCreated, TokenHash, TokenId, TokenName, User, UserId, MAX_TOKENS_PER_USER};

ledger::on_both_backends!(
    a_user_starts_with_a_default_token_and_adds_more,
    revoking_is_only_for_the_holder_and_ends_the_token,
    a_user_holds_a_bounded_number_of_tokens,
);

async fn user(db: &TestDb, token: &str) -> (ledger::Store, UserId) {
    let store = db.store().await;
    let user = User {
        user_id: UserId::new(),
        name: "Alice".into(),
    };
    store
        .create_user(&user, &TokenHash::of(token))
        .await
        .unwrap();
    (store, user.user_id)
}

async fn a_user_starts_with_a_default_token_and_adds_more(db: &TestDb) {
    let (store, alice) = user(db, "first").await;
    let listed = store.tokens(alice).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].name, "default");
    assert_eq!(listed[0].last_used_at, None);
    let owner = store
        .token_owner(&TokenHash::of("first"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.user_id, alice);
    assert_eq!(owner.token_id, listed[0].token_id);

    let laptop = TokenId::new();
    let name = TokenName::parse("laptop").unwrap();
    assert_eq!(
        store
            .create_token(alice, laptop, &name, &TokenHash::of("second"))
            .await
            .unwrap(),
        TokenCreated::Created
    );
    let used = Utc::now() - TimeDelta::seconds(5);
    store.touch_token(laptop, used).await.unwrap();
    let owner = store
        .token_owner(&TokenHash::of("second"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(owner.token_id, laptop);
    // Stored to the microsecond on both backends.
    assert_eq!(
        owner.last_used_at.map(|t| t.timestamp_micros()),
        Some(used.timestamp_micros())
    );
    let names: Vec<String> = store
        .tokens(alice)
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert_eq!(names, ["default", "laptop"]);
    // Either token finds the user.
    assert_eq!(
        store
            .user_by_token(&TokenHash::of("second"))
            .await
            .unwrap()
            .map(|u| u.user_id),
        Some(alice)
    );
    // A token hash belongs to one token only.
    assert!(store
        .create_token(alice, TokenId::new(), &name, &TokenHash::of("first"))
        .await
        .is_err());
}

async fn revoking_is_only_for_the_holder_and_ends_the_token(db: &TestDb) {
    let (store, alice) = user(db, "alice").await;
    let bob = User {
        user_id: UserId::new(),
        name: "Bob".into(),
    };
    store
        .create_user(&bob, &TokenHash::of("bob"))
        .await
        .unwrap();
    let alices = store.tokens(alice).await.unwrap()[0].token_id;
    assert!(!store.revoke_token(bob.user_id, alices).await.unwrap());
    assert!(store
        .token_owner(&TokenHash::of("alice"))
        .await
        .unwrap()
        .is_some());
    assert!(store.revoke_token(alice, alices).await.unwrap());
    assert!(!store.revoke_token(alice, alices).await.unwrap());
    assert_eq!(
        store.token_owner(&TokenHash::of("alice")).await.unwrap(),
        None
    );
    assert_eq!(
        store.user_by_token(&TokenHash::of("alice")).await.unwrap(),
        None
    );
    assert!(store.tokens(alice).await.unwrap().is_empty());
    // The user remains.
    assert!(store.user(alice).await.unwrap().is_some());
}

async fn a_user_holds_a_bounded_number_of_tokens(db: &TestDb) {
    let (store, alice) = user(db, "t-default").await;
    let name = TokenName::parse("script").unwrap();
    for i in 1..MAX_TOKENS_PER_USER {
        let created = store
            .create_token(
                alice,
                TokenId::new(),
                &name,
                &TokenHash::of(&format!("t{i}")),
            )
            .await
            .unwrap();
        assert_eq!(created, TokenCreated::Created);
    }
    assert_eq!(
        store
            .create_token(alice, TokenId::new(), &name, &TokenHash::of("one more"))
            .await
            .unwrap(),
        TokenCreated::TooMany
    );
    assert_eq!(
        store.tokens(alice).await.unwrap().len(),
        MAX_TOKENS_PER_USER
    );
    assert_eq!(
        store.token_owner(&TokenHash::of("one more")).await.unwrap(),
        None
    );
}
