//! Accounts: users with unique addresses, memberships, sessions, tokens, invitations, one-time
//! links, the audit chain and the server secret; and removing a user or an organization removes
//! everything of theirs and nothing of anyone else's.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use chatter_model::audit::{AuditEntry, verify_chain};
use chatter_model::{
    ApiToken, DeviceToken, EmailLink, Interval, Invitation, LinkPurpose, MachineStatus, Membership,
    OrgId, PartCount, Role, Session, User, UserId,
};
use chatter_store::{Accounts, AuditFilter, DerivedRecords, SledStore, Store, StoreError};
use common::*;

fn user_id(id: &str) -> UserId {
    UserId::new(id).unwrap()
}

fn user(id: &str, email: &str) -> User {
    User {
        id: user_id(id),
        email: email.to_owned(),
        name: format!("{id} the machinist"),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".to_owned(),
        email_verified: false,
        marketing_opt_in: false,
        created_at_ms: 1_700_000_000_000,
    }
}

fn membership(org: &str, user: &str, role: Role) -> Membership {
    Membership {
        org: org_id(org),
        user: user_id(user),
        role,
        joined_at_ms: 1_700_000_000_000,
    }
}

fn session(user: &str, created_at_ms: i64) -> Session {
    Session {
        user: user_id(user),
        org: None,
        csrf_token: "csrf".to_owned(),
        created_at_ms,
        last_seen_ms: created_at_ms,
        expires_at_ms: created_at_ms + 86_400_000,
        user_agent: "Firefox".to_owned(),
    }
}

fn api_token(user: &str, org: &str, created_at_ms: i64) -> ApiToken {
    ApiToken {
        id: format!("tok{created_at_ms}"),
        user: user_id(user),
        org: org_id(org),
        role: Role::Member,
        name: "reporting".to_owned(),
        created_at_ms,
        last_used_ms: None,
        expires_at_ms: None,
        revoked_at_ms: None,
    }
}

fn invitation(org: &str, email: &str, created_at_ms: i64) -> Invitation {
    Invitation {
        id: format!("inv{created_at_ms}"),
        org: org_id(org),
        email: email.to_owned(),
        role: Role::Viewer,
        invited_by: user_id("ann"),
        created_at_ms,
        expires_at_ms: created_at_ms + 86_400_000,
        accepted: None,
        revoked_at_ms: None,
    }
}

fn link(user: &str) -> EmailLink {
    EmailLink {
        user: user_id(user),
        purpose: LinkPurpose::ResetPassword,
        email: format!("{user}@example.com"),
        expires_at_ms: 1_700_000_000_000,
    }
}

fn device_token(org: &str, name: &str) -> DeviceToken {
    DeviceToken {
        kind: chatter_model::DeviceKind::Edge,
        id: format!("dev-{name}"),
        org: org_id(org),
        name: name.to_owned(),
        created_at_ms: 1,
        revoked_at_ms: None,
    }
}

fn entry(
    action: &str,
    org: Option<&str>,
    actor: Option<&str>,
    subject: Option<&str>,
) -> AuditEntry {
    AuditEntry {
        at_ms: 1_700_000_000_000,
        action: action.to_owned(),
        org: org.map(org_id),
        actor: actor.map(user_id),
        subject: subject.map(user_id),
        ip: Some("192.0.2.1".to_owned()),
        details: vec![("k".to_owned(), "v".to_owned())],
    }
}

/// A hash-like key for a secret, as the callers pass it.
fn hash(name: &str) -> String {
    hex::encode(<sha2::Sha256 as sha2::Digest>::digest(name.as_bytes()))
}

async fn store_with_users(users: &[(&str, &str)]) -> Arc<dyn Store> {
    let store = store_with(&[]).await;
    for (id, email) in users {
        store.create_user(&user(id, email)).await.unwrap();
    }
    store
}

#[tokio::test]
async fn a_user_is_found_by_id_and_email_and_an_address_is_taken_once() {
    let store = store_with_users(&[("ann", "ann@example.com")]).await;
    let ann = user("ann", "ann@example.com");
    assert_eq!(store.user(&ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(
        store.user_by_email("ann@example.com").await.unwrap(),
        Some(ann)
    );
    assert_eq!(store.user_by_email("bob@example.com").await.unwrap(), None);

    let err = store
        .create_user(&user("impostor", "ann@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::EmailTaken(e) if e == "ann@example.com"));
    assert_eq!(
        err.to_string(),
        "another user has the e-mail address `ann@example.com`"
    );
    assert_eq!(store.user(&user_id("impostor")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_two_concurrent_sign_ups_with_one_address_exactly_one_succeeds() {
    const ROUNDS: usize = 150;
    let store = store_with(&[]).await;
    let sign_ups = ["left", "right"].map(|side| {
        let store = Arc::clone(&store);
        tokio::spawn(async move {
            let mut won = Vec::new();
            for round in 0..ROUNDS {
                let candidate = user(&format!("{side}-{round}"), &format!("u{round}@example.com"));
                match store.create_user(&candidate).await {
                    Ok(()) => won.push(true),
                    Err(StoreError::EmailTaken(_)) => won.push(false),
                    Err(other) => panic!("{other}"),
                }
            }
            won
        })
    });
    let [left, right] = sign_ups;
    let (left, right) = (left.await.unwrap(), right.await.unwrap());
    for round in 0..ROUNDS {
        assert!(left[round] ^ right[round], "round {round}");
        let winner = if left[round] { "left" } else { "right" };
        let found = store
            .user_by_email(&format!("u{round}@example.com"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, user_id(&format!("{winner}-{round}")));
        let loser = if left[round] { "right" } else { "left" };
        let lost = user_id(&format!("{loser}-{round}"));
        assert_eq!(store.user(&lost).await.unwrap(), None);
    }
}

#[tokio::test]
async fn put_user_moves_the_email_index_and_refuses_an_address_taken_by_another() {
    let store = store_with_users(&[("ann", "ann@example.com"), ("bob", "bob@example.com")]).await;
    let mut ann = user("ann", "ann@new.example.com");
    ann.email_verified = true;
    store.put_user(&ann).await.unwrap();
    assert_eq!(
        store.user_by_email("ann@new.example.com").await.unwrap(),
        Some(ann.clone())
    );
    assert_eq!(store.user_by_email("ann@example.com").await.unwrap(), None);
    // The old address is free again.
    store
        .create_user(&user("cid", "ann@example.com"))
        .await
        .unwrap();

    let err = store
        .put_user(&user("ann", "bob@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::EmailTaken(_)));
    assert_eq!(store.user(&ann.id).await.unwrap(), Some(ann.clone()));
    assert_eq!(
        store
            .user_by_email("bob@example.com")
            .await
            .unwrap()
            .unwrap()
            .id,
        user_id("bob")
    );

    // Keeping one's own address is no conflict.
    ann.name = "Ann B.".to_owned();
    store.put_user(&ann).await.unwrap();
    assert_eq!(
        store.user_by_email("ann@new.example.com").await.unwrap(),
        Some(ann)
    );

    let err = store
        .put_user(&user("ghost", "ghost@example.com"))
        .await
        .unwrap_err();
    assert!(matches!(&err, StoreError::UnknownUser(u) if u.as_str() == "ghost"));
    assert_eq!(
        store.user_by_email("ghost@example.com").await.unwrap(),
        None
    );
}

#[tokio::test]
async fn memberships_are_listed_by_organization_and_by_user() {
    let store = store_with_users(&[("ann", "a@x"), ("bob", "b@x"), ("cid", "c@x")]).await;
    populate(
        store.as_ref(),
        &["acme/mill", "zeta/lathe", "acme-east/mill"],
    )
    .await;
    for (org, user, role) in [
        ("acme", "cid", Role::Viewer),
        ("acme", "ann", Role::Owner),
        ("zeta", "ann", Role::Admin),
        ("acme-east", "bob", Role::Member),
        ("acme", "bob", Role::Member),
    ] {
        store
            .put_membership(&membership(org, user, role))
            .await
            .unwrap();
    }
    let members: Vec<_> = store
        .members(&org_id("acme"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.user.to_string(), m.role))
        .collect();
    assert_eq!(
        members,
        [
            ("ann".to_owned(), Role::Owner),
            ("bob".to_owned(), Role::Member),
            ("cid".to_owned(), Role::Viewer)
        ]
    );
    let of_ann = store.memberships_of(&user_id("ann")).await.unwrap();
    assert_eq!(
        of_ann,
        [
            membership("acme", "ann", Role::Owner),
            membership("zeta", "ann", Role::Admin)
        ]
    );
    let of_bob: Vec<_> = store
        .memberships_of(&user_id("bob"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.org.to_string())
        .collect();
    assert_eq!(of_bob, ["acme", "acme-east"]);

    // Replacing changes the role in both listings.
    store
        .put_membership(&membership("acme", "cid", Role::Admin))
        .await
        .unwrap();
    assert_eq!(
        store
            .membership(&org_id("acme"), &user_id("cid"))
            .await
            .unwrap()
            .map(|m| m.role),
        Some(Role::Admin)
    );
    assert_eq!(
        store.memberships_of(&user_id("cid")).await.unwrap().len(),
        1
    );

    let err = store
        .put_membership(&membership("ghost", "ann", Role::Owner))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownOrganization(_)));
    let err = store
        .put_membership(&membership("acme", "ghost", Role::Owner))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownUser(_)));
    assert_eq!(store.members(&org_id("ghost")).await.unwrap(), []);
}

#[tokio::test]
async fn removing_a_membership_removes_the_users_tokens_for_that_organization_only() {
    let store = store_with_users(&[("ann", "a@x"), ("bob", "b@x")]).await;
    populate(store.as_ref(), &["acme/mill", "zeta/lathe"]).await;
    for (org, user) in [("acme", "ann"), ("zeta", "ann"), ("acme", "bob")] {
        store
            .put_membership(&membership(org, user, Role::Member))
            .await
            .unwrap();
    }
    let tokens = [
        ("t1", "ann", "acme"),
        ("t2", "ann", "zeta"),
        ("t3", "bob", "acme"),
    ];
    for (i, (name, user, org)) in tokens.iter().enumerate() {
        let token = api_token(user, org, i as i64);
        store.put_api_token(&hash(name), &token).await.unwrap();
    }

    let (acme, ann) = (org_id("acme"), user_id("ann"));
    assert!(store.remove_membership(&acme, &ann).await.unwrap());
    assert!(!store.remove_membership(&acme, &ann).await.unwrap());
    assert_eq!(store.membership(&acme, &ann).await.unwrap(), None);
    assert_eq!(store.memberships_of(&ann).await.unwrap().len(), 1);
    assert_eq!(store.members(&acme).await.unwrap().len(), 1);
    assert_eq!(store.api_token(&hash("t1")).await.unwrap(), None);
    let left: Vec<_> = store
        .api_tokens_of(&ann)
        .await
        .unwrap()
        .into_iter()
        .map(|(h, _)| h)
        .collect();
    assert_eq!(left, [hash("t2")]);
    assert!(store.api_token(&hash("t3")).await.unwrap().is_some());
}

#[tokio::test]
async fn sessions_are_stored_listed_and_removed() {
    let store = store_with_users(&[("ann", "a@x"), ("bob", "b@x")]).await;
    // Stored out of order: listed by creation.
    for (name, user, created) in [("s3", "ann", 30), ("s1", "ann", 10), ("s2", "ann", 20)] {
        store
            .put_session(&hash(name), &session(user, created))
            .await
            .unwrap();
    }
    store
        .put_session(&hash("b1"), &session("bob", 5))
        .await
        .unwrap();
    let ann = user_id("ann");
    let listed: Vec<_> = store.sessions_of(&ann).await.unwrap();
    assert_eq!(
        listed,
        [
            (hash("s1"), session("ann", 10)),
            (hash("s2"), session("ann", 20)),
            (hash("s3"), session("ann", 30))
        ]
    );
    assert_eq!(
        store.session(&hash("s2")).await.unwrap(),
        Some(session("ann", 20))
    );
    assert_eq!(store.session(&hash("nope")).await.unwrap(), None);

    // Replacing a session (switching organization, say) keeps it listed once.
    let mut switched = session("ann", 20);
    switched.org = Some(org_id("acme"));
    store.put_session(&hash("s2"), &switched).await.unwrap();
    assert_eq!(store.sessions_of(&ann).await.unwrap().len(), 3);

    assert!(store.remove_session(&hash("s1")).await.unwrap());
    assert!(!store.remove_session(&hash("s1")).await.unwrap());
    assert_eq!(store.session(&hash("s1")).await.unwrap(), None);
    assert_eq!(store.sessions_of(&ann).await.unwrap().len(), 2);

    assert_eq!(store.remove_sessions_of(&ann).await.unwrap(), 2);
    assert_eq!(store.remove_sessions_of(&ann).await.unwrap(), 0);
    assert_eq!(store.sessions_of(&ann).await.unwrap(), []);
    assert_eq!(store.sessions_of(&user_id("bob")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn api_tokens_are_listed_by_creation_and_touching_keeps_revocation() {
    let store = store_with_users(&[("ann", "a@x"), ("bob", "b@x")]).await;
    let ann = user_id("ann");
    for (name, created) in [("late", 20), ("early", 10)] {
        store
            .put_api_token(&hash(name), &api_token("ann", "acme", created))
            .await
            .unwrap();
    }
    store
        .put_api_token(&hash("bobs"), &api_token("bob", "acme", 1))
        .await
        .unwrap();
    let listed: Vec<_> = store
        .api_tokens_of(&ann)
        .await
        .unwrap()
        .into_iter()
        .map(|(h, t)| (h, t.created_at_ms))
        .collect();
    assert_eq!(listed, [(hash("early"), 10), (hash("late"), 20)]);

    store.touch_api_token(&hash("early"), 500).await.unwrap();
    // An older use does not move it back.
    store.touch_api_token(&hash("early"), 400).await.unwrap();
    store.touch_api_token(&hash("unknown"), 400).await.unwrap();
    let touched = store.api_token(&hash("early")).await.unwrap().unwrap();
    assert_eq!(touched.last_used_ms, Some(500));

    let mut revoked = touched.clone();
    revoked.revoked_at_ms = Some(600);
    store.put_api_token(&hash("early"), &revoked).await.unwrap();
    store.touch_api_token(&hash("early"), 700).await.unwrap();
    let after = store.api_token(&hash("early")).await.unwrap().unwrap();
    assert_eq!(
        (after.revoked_at_ms, after.last_used_ms),
        (Some(600), Some(700))
    );
    assert_eq!(store.api_tokens_of(&ann).await.unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_touches_never_undo_a_revocation() {
    let store = store_with_users(&[("ann", "a@x")]).await;
    let key = hash("tok");
    for round in 0..50 {
        store
            .put_api_token(&key, &api_token("ann", "acme", 1))
            .await
            .unwrap();
        let toucher = {
            let (store, key) = (Arc::clone(&store), key.clone());
            tokio::spawn(async move {
                for at in 0..20 {
                    store.touch_api_token(&key, round * 100 + at).await.unwrap();
                }
            })
        };
        let mut revoked = api_token("ann", "acme", 1);
        revoked.revoked_at_ms = Some(9);
        store.put_api_token(&key, &revoked).await.unwrap();
        toucher.await.unwrap();
        let stored = store.api_token(&key).await.unwrap().unwrap();
        assert_eq!(stored.revoked_at_ms, Some(9), "round {round}");
    }
}

#[tokio::test]
async fn invitations_are_listed_newest_first_and_need_their_organization() {
    let store = store_with(&["acme/mill", "zeta/lathe"]).await;
    for (name, org, created) in [("i1", "acme", 10), ("i3", "acme", 30), ("i2", "acme", 20)] {
        store
            .put_invitation(&hash(name), &invitation(org, "x@example.com", created))
            .await
            .unwrap();
    }
    store
        .put_invitation(&hash("z"), &invitation("zeta", "y@example.com", 1))
        .await
        .unwrap();
    let listed: Vec<_> = store
        .invitations(&org_id("acme"))
        .await
        .unwrap()
        .into_iter()
        .map(|(h, i)| (h, i.created_at_ms))
        .collect();
    assert_eq!(
        listed,
        [(hash("i3"), 30), (hash("i2"), 20), (hash("i1"), 10)]
    );

    let mut accepted = invitation("acme", "x@example.com", 20);
    accepted.accepted = Some((user_id("bob"), 25));
    store.put_invitation(&hash("i2"), &accepted).await.unwrap();
    assert_eq!(store.invitation(&hash("i2")).await.unwrap(), Some(accepted));
    assert_eq!(store.invitations(&org_id("acme")).await.unwrap().len(), 3);

    let err = store
        .put_invitation(&hash("g"), &invitation("ghost", "x@example.com", 1))
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::UnknownOrganization(_)));
    assert_eq!(store.invitation(&hash("g")).await.unwrap(), None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_link_is_taken_once_however_many_try() {
    const TAKERS: usize = 4;
    let store = store_with(&[]).await;
    for round in 0..40 {
        let key = hash(&format!("link-{round}"));
        store.put_email_link(&key, &link("ann")).await.unwrap();
        let takers: Vec<_> = (0..TAKERS)
            .map(|_| {
                let (store, key) = (Arc::clone(&store), key.clone());
                tokio::spawn(async move { store.take_email_link(&key).await.unwrap() })
            })
            .collect();
        let mut taken = Vec::new();
        for taker in takers {
            taken.extend(taker.await.unwrap());
        }
        assert_eq!(taken, [link("ann")], "round {round}");
        assert_eq!(store.take_email_link(&key).await.unwrap(), None);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_audit_appends_form_one_unbroken_chain() {
    const TASKS: usize = 4;
    const EACH: usize = 50;
    let store = store_with(&[]).await;
    let appenders: Vec<_> = (0..TASKS)
        .map(|task| {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..EACH {
                    let org = if task % 2 == 0 { "acme" } else { "zeta" };
                    let action = format!("test.t{task}_{i}");
                    let appended = store
                        .append_audit(entry(&action, Some(org), Some("ann"), None))
                        .await
                        .unwrap();
                    assert_eq!(appended.entry.action, action);
                }
            })
        })
        .collect();
    for appender in appenders {
        appender.await.unwrap();
    }
    let written = store.audit_written().await.unwrap();
    assert_eq!(written, (TASKS * EACH) as u64);
    let all = store
        .audit_records(&AuditFilter::All, 0, usize::MAX)
        .await
        .unwrap();
    let (checked, head) = verify_chain(&all, written).unwrap();
    assert_eq!(checked, written);
    assert_eq!(Some(&head), all.last().map(|r| &r.hash));
    // Each task's appends are in its own order within the chain.
    for task in 0..TASKS {
        let own: Vec<_> = all
            .iter()
            .filter(|r| r.entry.action.starts_with(&format!("test.t{task}_")))
            .map(|r| r.entry.action.clone())
            .collect();
        let expected: Vec<_> = (0..EACH).map(|i| format!("test.t{task}_{i}")).collect();
        assert_eq!(own, expected);
    }
}

#[tokio::test]
async fn audit_records_are_filtered_and_paged_both_ways() {
    let store = store_with(&[]).await;
    let entries = [
        entry("org.create", Some("acme"), Some("ann"), None),
        entry("member.add", Some("acme"), Some("ann"), Some("bob")),
        entry("session.sign_in", None, Some("bob"), None),
        entry("org.create", Some("zeta"), Some("cid"), None),
        entry("member.role_change", Some("acme"), Some("ann"), Some("cid")),
        entry("user.delete", None, None, Some("bob")),
        entry("token.create", Some("acme"), Some("bob"), None),
    ];
    for (i, entry) in entries.iter().enumerate() {
        let record = store.append_audit(entry.clone()).await.unwrap();
        assert_eq!(record.seq, i as u64 + 1);
    }
    const NONE: [u64; 0] = [];
    let seqs = |records: Vec<chatter_model::audit::AuditRecord>| -> Vec<u64> {
        records.into_iter().map(|r| r.seq).collect()
    };
    let acme = AuditFilter::Org(org_id("acme"));
    let bob = AuditFilter::User(user_id("bob"));
    assert_eq!(
        seqs(store.audit_records(&acme, 0, 100).await.unwrap()),
        [1, 2, 5, 7]
    );
    assert_eq!(
        seqs(store.audit_records(&bob, 0, 100).await.unwrap()),
        [2, 3, 6, 7]
    );
    assert_eq!(
        seqs(
            store
                .audit_records(&AuditFilter::User(user_id("cid")), 0, 100)
                .await
                .unwrap()
        ),
        [4, 5]
    );

    // Forward pages of 2.
    assert_eq!(
        seqs(store.audit_records(&acme, 0, 2).await.unwrap()),
        [1, 2]
    );
    assert_eq!(
        seqs(store.audit_records(&acme, 2, 2).await.unwrap()),
        [5, 7]
    );
    assert_eq!(seqs(store.audit_records(&acme, 7, 2).await.unwrap()), NONE);
    assert_eq!(
        seqs(store.audit_records(&acme, u64::MAX, 2).await.unwrap()),
        NONE
    );
    assert_eq!(seqs(store.audit_records(&acme, 0, 0).await.unwrap()), NONE);
    // Backward pages of 3, newest first.
    let back = |before, limit| store.audit_records_back(&bob, before, limit);
    assert_eq!(seqs(back(u64::MAX, 3).await.unwrap()), [7, 6, 3]);
    assert_eq!(seqs(back(3, 3).await.unwrap()), [2]);
    assert_eq!(seqs(back(1, 3).await.unwrap()), NONE);
    assert_eq!(
        seqs(
            store
                .audit_records_back(&AuditFilter::All, 6, 2)
                .await
                .unwrap()
        ),
        [5, 4]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_secret_is_created_once_and_kept_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let first = {
        let store = Arc::new(SledStore::open(dir.path()).unwrap());
        let firsts: Vec<_> = (0..4)
            .map(|_| {
                let store = Arc::clone(&store);
                tokio::spawn(async move { store.server_secret().await.unwrap() })
            })
            .collect();
        let mut secrets = Vec::new();
        for first in firsts {
            secrets.push(first.await.unwrap());
        }
        secrets.dedup();
        assert_eq!(
            secrets.len(),
            1,
            "concurrent first uses got different secrets"
        );
        assert_ne!(secrets[0], [0; 32]);
        assert_eq!(store.server_secret().await.unwrap(), secrets[0]);
        secrets[0]
    };
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(store.server_secret().await.unwrap(), first);
    // Another installation has another secret.
    let other = SledStore::temporary().unwrap();
    assert_ne!(other.server_secret().await.unwrap(), first);
}

#[tokio::test]
async fn accounts_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let (acme, ann) = (org_id("acme"), user_id("ann"));
    {
        let store = SledStore::open(dir.path()).unwrap();
        populate(&store, &["acme/mill"]).await;
        store.create_user(&user("ann", "a@x")).await.unwrap();
        store
            .put_membership(&membership("acme", "ann", Role::Owner))
            .await
            .unwrap();
        store
            .put_session(&hash("s"), &session("ann", 1))
            .await
            .unwrap();
        store
            .put_api_token(&hash("t"), &api_token("ann", "acme", 1))
            .await
            .unwrap();
        store
            .put_invitation(&hash("i"), &invitation("acme", "b@x", 1))
            .await
            .unwrap();
        store
            .put_email_link(&hash("l"), &link("ann"))
            .await
            .unwrap();
        store
            .put_email_link(&hash("used"), &link("ann"))
            .await
            .unwrap();
        store.take_email_link(&hash("used")).await.unwrap().unwrap();
        for i in 0..3 {
            store
                .append_audit(entry(&format!("a.{i}"), Some("acme"), Some("ann"), None))
                .await
                .unwrap();
        }
    }
    let store = SledStore::open(dir.path()).unwrap();
    assert_eq!(
        store.user_by_email("a@x").await.unwrap(),
        Some(user("ann", "a@x"))
    );
    assert_eq!(store.memberships_of(&ann).await.unwrap().len(), 1);
    assert_eq!(store.members(&acme).await.unwrap().len(), 1);
    assert_eq!(store.sessions_of(&ann).await.unwrap().len(), 1);
    assert_eq!(store.api_tokens_of(&ann).await.unwrap().len(), 1);
    assert_eq!(store.invitations(&acme).await.unwrap().len(), 1);
    assert_eq!(
        store.take_email_link(&hash("l")).await.unwrap(),
        Some(link("ann"))
    );
    assert_eq!(store.take_email_link(&hash("used")).await.unwrap(), None);
    let written = store.audit_written().await.unwrap();
    assert_eq!(written, 3);
    let all = store
        .audit_records(&AuditFilter::All, 0, 100)
        .await
        .unwrap();
    verify_chain(&all, written).unwrap();
    // The chain continues where it stopped.
    let next = store
        .append_audit(entry("a.3", None, None, None))
        .await
        .unwrap();
    assert_eq!((next.seq, &next.prev_hash), (4, &all[2].hash));
    assert!(store.create_user(&user("impostor", "a@x")).await.is_err());
}

/// Every key and value of every tree of the closed store at `path`, but the audit log's.
fn raw_contents(path: &Path) -> Vec<(String, Vec<u8>, Vec<u8>)> {
    let db = open_raw(path);
    let mut contents = Vec::new();
    for name in db.tree_names() {
        let name = String::from_utf8_lossy(&name).into_owned();
        if name == "audit" {
            continue;
        }
        for entry in db.open_tree(&name).unwrap().iter() {
            let (key, value) = entry.unwrap();
            contents.push((name.clone(), key.to_vec(), value.to_vec()));
        }
    }
    contents
}

fn mentions(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn removing_a_user_removes_everything_personal_but_keeps_the_audit_log() {
    let dir = tempfile::tempdir().unwrap();
    let (bob, ann) = (user_id("bob"), user_id("ann"));
    {
        let store = SledStore::open(dir.path()).unwrap();
        populate(&store, &["acme/mill", "zeta/lathe"]).await;
        for (id, email) in [("ann", "ann@x"), ("bob", "bob@x")] {
            store.create_user(&user(id, email)).await.unwrap();
            for org in ["acme", "zeta"] {
                store
                    .put_membership(&membership(org, id, Role::Member))
                    .await
                    .unwrap();
                let token = api_token(id, org, 1);
                store
                    .put_api_token(&hash(&format!("{id}-{org}")), &token)
                    .await
                    .unwrap();
            }
            for n in 0..3 {
                let key = hash(&format!("{id}-session-{n}"));
                store.put_session(&key, &session(id, n)).await.unwrap();
            }
            store
                .put_email_link(&hash(&format!("{id}-link")), &link(id))
                .await
                .unwrap();
        }
        store
            .append_audit(entry("user.delete", None, Some("bob"), Some("bob")))
            .await
            .unwrap();

        assert!(store.remove_user(&bob).await.unwrap());
        assert!(!store.remove_user(&bob).await.unwrap());
        assert_eq!(store.user(&bob).await.unwrap(), None);
        assert_eq!(store.user_by_email("bob@x").await.unwrap(), None);
        assert_eq!(store.memberships_of(&bob).await.unwrap(), []);
        assert_eq!(store.sessions_of(&bob).await.unwrap(), []);
        assert_eq!(store.api_tokens_of(&bob).await.unwrap(), []);
        assert_eq!(
            store.take_email_link(&hash("bob-link")).await.unwrap(),
            None
        );
        assert_eq!(store.members(&org_id("acme")).await.unwrap().len(), 1);
        // The address can be used again.
        store.create_user(&user("bob2", "bob@x")).await.unwrap();
        store.remove_user(&user_id("bob2")).await.unwrap();

        // Ann lost nothing.
        assert!(store.user(&ann).await.unwrap().is_some());
        assert_eq!(store.memberships_of(&ann).await.unwrap().len(), 2);
        assert_eq!(store.sessions_of(&ann).await.unwrap().len(), 3);
        assert_eq!(store.api_tokens_of(&ann).await.unwrap().len(), 2);
        // The audit log keeps its records of bob, by id.
        let of_bob = store
            .audit_records(&AuditFilter::User(bob.clone()), 0, 10)
            .await
            .unwrap();
        assert_eq!(of_bob.len(), 1);
    }
    let contents = raw_contents(dir.path());
    for (tree, key, value) in &contents {
        assert!(
            !mentions(key, b"bob") && !mentions(value, b"bob"),
            "tree `{tree}` still has `{}`",
            key.escape_ascii()
        );
    }
    assert!(contents.iter().any(|(_, key, _)| mentions(key, b"ann")));
}

/// The data one organization's machine `mill` holds, read through the store.
async fn machine_data(store: &dyn Store, org: &OrgId) -> String {
    let mill = machine_id("mill");
    let day = 24 * 3_600_000_000_000;
    format!(
        "{:?}",
        (
            store.machines(org).await.unwrap(),
            store.observations(org, &mill, 0, 1000).await.unwrap(),
            store.latest_observations(org, &mill).await.unwrap(),
            store.last_sequence(org, &mill).await.unwrap(),
            store.last_forwarded(org, &mill).await.unwrap(),
            store.data_items(org, &mill).await.unwrap(),
            store.plugin_state(org, &mill).await.unwrap(),
            store.deriver_snapshot(org, &mill).await.unwrap(),
            store.intervals(org, &mill, 0, day).await.unwrap(),
            store.totals(org, &mill, 0, day).await.unwrap(),
            store.parts(org, &mill, 0, day, 100).await.unwrap(),
        )
    )
}

/// Gives each organization's `mill` every kind of data, and the organization tokens, members
/// and invitations.
async fn fill_organizations(store: &dyn Store, orgs: &[&str]) {
    store.create_user(&user("ann", "ann@x")).await.unwrap();
    for org_name in orgs {
        let org = org_id(org_name);
        let mill = machine_id("mill");
        populate(
            store,
            &[&format!("{org_name}/mill"), &format!("{org_name}/lathe")],
        )
        .await;
        store
            .append_observations(&org, &mill, &samples(0, 50))
            .await
            .unwrap();
        store
            .append_forwarded(&org, &mill, "edge-a", &[1, 2], &samples(100, 2))
            .await
            .unwrap();
        store
            .put_data_items(&org, &mill, &[data_item("x", "POSITION")])
            .await
            .unwrap();
        let state = BTreeMap::from([("k".to_owned(), org_name.as_bytes().to_vec())]);
        store.put_plugin_state(&org, &mill, &state).await.unwrap();
        let interval = Interval {
            status: MachineStatus::Running,
            start: 0,
            end: 7_200_000_000_000,
        };
        let part = PartCount {
            at: 5,
            parts: 1,
            counter: 1,
            program: None,
        };
        let derived = DerivedRecords {
            intervals: &[interval],
            parts: &[part],
            cycles: &[],
            alarms: &[],
            snapshot: b"snap",
        };
        store.put_derived(&org, &mill, derived).await.unwrap();
        store
            .put_device_token(
                &hash(&format!("{org_name}-device")),
                &device_token(org_name, "bay"),
            )
            .await
            .unwrap();
        store
            .put_membership(&membership(org_name, "ann", Role::Owner))
            .await
            .unwrap();
        store
            .put_api_token(
                &hash(&format!("{org_name}-api")),
                &api_token("ann", org_name, 1),
            )
            .await
            .unwrap();
        store
            .put_invitation(
                &hash(&format!("{org_name}-inv")),
                &invitation(org_name, "b@x", 1),
            )
            .await
            .unwrap();
        store
            .append_audit(entry("org.create", Some(org_name), Some("ann"), None))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn removing_an_organization_removes_everything_of_it_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    // `acme` is a prefix of `acme-east`: nothing of the latter may go.
    let (acme, east) = (org_id("acme"), org_id("acme-east"));
    {
        let store = SledStore::open(dir.path()).unwrap();
        fill_organizations(&store, &["acme", "acme-east"]).await;
        let east_before = machine_data(&store, &east).await;
        assert!(east_before.contains("edge-a"));

        assert!(store.remove_organization(&acme).await.unwrap());
        assert!(!store.remove_organization(&acme).await.unwrap());

        assert_eq!(store.organization(&acme).await.unwrap(), None);
        assert_eq!(store.machines(&acme).await.unwrap(), []);
        assert_eq!(store.device_tokens(&acme).await.unwrap(), []);
        assert_eq!(
            store.device_token(&hash("acme-device")).await.unwrap(),
            None
        );
        assert_eq!(store.members(&acme).await.unwrap(), []);
        assert_eq!(store.invitations(&acme).await.unwrap(), []);
        assert_eq!(store.api_token(&hash("acme-api")).await.unwrap(), None);
        let ann = user_id("ann");
        let orgs: Vec<_> = store
            .memberships_of(&ann)
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.org)
            .collect();
        assert_eq!(orgs, [org_id("acme-east")]);
        assert_eq!(store.api_tokens_of(&ann).await.unwrap().len(), 1);
        // The audit log keeps the organization's records.
        let audit = store
            .audit_records(&AuditFilter::Org(acme.clone()), 0, 10)
            .await
            .unwrap();
        assert_eq!(audit.len(), 1);

        // The other organization lost nothing.
        assert_eq!(machine_data(&store, &east).await, east_before);
        assert_eq!(store.machines(&east).await.unwrap().len(), 2);
        assert_eq!(store.device_tokens(&east).await.unwrap().len(), 1);
        assert_eq!(store.members(&east).await.unwrap().len(), 1);
        assert_eq!(store.invitations(&east).await.unwrap().len(), 1);
        assert!(
            store
                .api_token(&hash("acme-east-api"))
                .await
                .unwrap()
                .is_some()
        );
        assert!(store.user(&ann).await.unwrap().is_some());
    }
    for (tree, key, value) in raw_contents(dir.path()) {
        let of_acme = key == b"acme"
            || key.starts_with(b"acme\0")
            || key.ends_with(b"\0acme")
            || mentions(&value, b"\"org\":\"acme\"");
        assert!(!of_acme, "tree `{tree}` still has `{}`", key.escape_ascii());
    }

    // An organization created again with the id starts empty: sequences too.
    let store = SledStore::open(dir.path()).unwrap();
    populate(&store, &["acme/mill"]).await;
    let mill = machine_id("mill");
    assert_eq!(store.last_sequence(&acme, &mill).await.unwrap(), 0);
    assert_eq!(store.last_forwarded(&acme, &mill).await.unwrap(), None);
    assert_eq!(store.observations(&acme, &mill, 0, 10).await.unwrap(), []);
}

#[tokio::test]
async fn a_new_organization_does_not_inherit_what_an_interrupted_removal_left() {
    let dir = tempfile::tempdir().unwrap();
    let acme = org_id("acme");
    {
        let store = SledStore::open(dir.path()).unwrap();
        fill_organizations(&store, &["acme"]).await;
    }
    {
        // A crash right after the removal took the organization's record.
        let db = open_raw(dir.path());
        db.open_tree("organizations")
            .unwrap()
            .remove("acme")
            .unwrap();
        db.flush().unwrap();
    }
    let store = SledStore::open(dir.path()).unwrap();
    store.put_organization(&organization("acme")).await.unwrap();
    assert_eq!(store.machines(&acme).await.unwrap(), []);
    assert_eq!(store.device_tokens(&acme).await.unwrap(), []);
    assert_eq!(store.members(&acme).await.unwrap(), []);
    assert_eq!(store.invitations(&acme).await.unwrap(), []);
    assert_eq!(store.api_token(&hash("acme-api")).await.unwrap(), None);
    assert_eq!(store.memberships_of(&user_id("ann")).await.unwrap(), []);
    populate(&store, &["acme/mill"]).await;
    assert_eq!(
        store
            .last_sequence(&acme, &machine_id("mill"))
            .await
            .unwrap(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_machine_or_token_outlives_a_concurrent_removal_of_its_organization() {
    let store = store_with(&[]).await;
    for round in 0..20 {
        let acme = org_id("acme");
        store.put_organization(&organization("acme")).await.unwrap();
        let writer = {
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                for i in 0..20 {
                    let created = store.put_machine(&machine("acme", &format!("m{i}"))).await;
                    let token = device_token("acme", &format!("bay{i}"));
                    let stored = store
                        .put_device_token(&hash(&format!("d{i}")), &token)
                        .await;
                    for result in [created, stored] {
                        assert!(matches!(
                            result,
                            Ok(()) | Err(StoreError::UnknownOrganization(_))
                        ));
                    }
                }
            })
        };
        tokio::task::yield_now().await;
        store.remove_organization(&acme).await.unwrap();
        writer.await.unwrap();
        assert_eq!(store.machines(&acme).await.unwrap(), [], "round {round}");
        assert_eq!(
            store.device_tokens(&acme).await.unwrap(),
            [],
            "round {round}"
        );
    }
}
