//! Staff accounts: lockout, sessions, TOTP and recovery codes.

use super::*;

fn user(id: Uuid, term: u8) -> UserRow {
    UserRow {
        id,
        email_term: vec![term; 16],
        sealed: vec![1],
        roles: vec!["sales".into()],
        teams: Vec::new(),
        status: "active".into(),
        password_hash: "$argon2id$test".into(),
        password_changed_at: 1,
        totp: None,
        totp_pending: None,
        totp_last_step: None,
        failed_logins: 0,
        first_failed_at: None,
        locked_until: None,
        created_at: 1,
        updated_at: 1,
    }
}

fn session(user: Uuid, hash: u8) -> SessionRow {
    SessionRow {
        id: Uuid::new_v4(),
        user_id: user,
        secret_hash: vec![hash; 32],
        created_at: 10,
        last_seen_at: 10,
        expires_at: 1_000_000,
        revoked_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_lock_after_failures_and_sessions_start_only_when_allowed() {
    for engine in engines().await {
        let s = &engine.store;
        let id = Uuid::new_v4();
        s.insert_user(&user(id, 3), &key(id, "k1")).await.unwrap();
        let other = Uuid::new_v4();
        assert!(matches!(s.insert_user(&user(other, 3), &key(other, "k1")).await, Err(StoreError::Duplicate)));
        assert_eq!(s.user_by_email_term(&[3; 16]).await.unwrap().map(|u| u.id), Some(id));
        // Three failures within the window lock the account for the rule's time.
        let rule = LockoutRule { max_failures: 3, window_ms: 1_000, lock_ms: 5_000 };
        assert_eq!(s.record_login_failure(id, 100, rule).await.unwrap(), None);
        assert_eq!(s.record_login_failure(id, 200, rule).await.unwrap(), None);
        assert_eq!(s.record_login_failure(id, 300, rule).await.unwrap(), Some(5_300));
        assert_eq!(s.start_session(&session(id, 1), 1).await.unwrap(), SessionStart::Locked);
        // A password changed since the attempt read the account refuses too.
        let mut unlocked = s.user(id).await.unwrap().unwrap();
        (unlocked.locked_until, unlocked.failed_logins, unlocked.first_failed_at) = (None, 0, None);
        assert!(s.update_user(&unlocked, true).await.unwrap());
        assert!(s.set_password(id, "$argon2id$new", 50).await.unwrap());
        assert_eq!(s.start_session(&session(id, 1), 1).await.unwrap(), SessionStart::PasswordChanged);
        let started = session(id, 2);
        assert_eq!(s.start_session(&started, 50).await.unwrap(), SessionStart::Started);
        assert_eq!(s.session_by_hash(&[2; 32]).await.unwrap().map(|r| r.id), Some(started.id));
        assert_eq!(s.revoke_user_sessions(id, 60, None).await.unwrap(), 1);
        assert!(!s.revoke_session(started.id, 61).await.unwrap(), "revoked already");
        // Enrolment needs a pending secret; then a recovery code and a step work once.
        assert!(!s.enrol_totp(id, &[9], 7, &[vec![5; 32]], 70).await.unwrap(), "nothing pending");
        assert!(s.set_totp_pending(id, Some(&[8]), 70).await.unwrap());
        assert!(s.enrol_totp(id, &[9], 7, &[vec![5; 32]], 71).await.unwrap());
        assert_eq!(s.user(id).await.unwrap().unwrap().totp, Some(vec![9]));
        assert!(s.use_recovery_code(id, &[5; 32], 80).await.unwrap());
        assert!(!s.use_recovery_code(id, &[5; 32], 81).await.unwrap());
        assert!(!s.accept_totp_step(id, 7).await.unwrap(), "the enrolment's step is taken");
        assert!(s.accept_totp_step(id, 8).await.unwrap());
        assert!(!s.accept_totp_step(id, 8).await.unwrap(), "a step is taken once");
        engine.cleanup().await;
    }
}
