//! Unit tests of the session tokens: sealing, tampering, expiry, and sessions that never
//! outlive the one they came from.

use super::*;
use secrecy::SecretString;

fn key(k: &str) -> SecretKey {
    SecretKey::from_secret(SecretString::from(k.repeat(40)))
}

#[test]
fn course_token_round_trips_and_rejects_tampering() {
    let secret = key("a");
    let session = CourseSession::new(UserId(3), PlatformId(1), DeploymentId(2), CourseId(7), true);
    let token = session.token(&secret);
    assert_eq!(CourseSession::from_token(&secret, &token).unwrap(), session);

    let forged = CourseSession {
        course: CourseId(8),
        ..session.clone()
    };
    let (_, tag) = token.split_once('.').unwrap();
    let tampered = format!(
        "{}.{tag}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap())
    );
    assert_eq!(
        CourseSession::from_token(&secret, &tampered),
        Err(TokenProblem::BadSignature)
    );
    assert_eq!(
        CourseSession::from_token(&key("b"), &token),
        Err(TokenProblem::BadSignature)
    );
    assert_eq!(
        CourseSession::from_token(&secret, "garbage"),
        Err(TokenProblem::Malformed)
    );
}

#[test]
fn expired_course_token_is_rejected() {
    let secret = key("a");
    let session = CourseSession {
        expires: EpochMs(EpochMs::now().0 - 1),
        ..CourseSession::new(UserId(1), PlatformId(1), DeploymentId(1), CourseId(1), true)
    };
    assert_eq!(
        CourseSession::from_token(&secret, &session.token(&secret)),
        Err(TokenProblem::Expired)
    );
}

#[test]
fn a_session_in_another_course_ends_with_this_one() {
    let launched = CourseSession {
        expires: EpochMs(EpochMs::now().0 + 60_000),
        ..CourseSession::new(UserId(1), PlatformId(1), DeploymentId(1), CourseId(1), true)
    };
    let other = Course {
        id: CourseId(2),
        platform_id: PlatformId(1),
        deployment_id: DeploymentId(3),
        lms_context_id: "ctx-2".into(),
        lms_course_uuid: None,
        lms_course_pk: None,
        title: String::new(),
        code: String::new(),
        term: String::new(),
        start_date: None,
        weeks: 12,
        time_zone: "UTC".into(),
        updated_at: EpochMs(0),
    };
    let linked = launched.in_course(&other);
    assert_eq!(linked.expires, launched.expires);
    assert_eq!(
        (linked.user, linked.course, linked.deployment),
        (UserId(1), CourseId(2), DeploymentId(3))
    );
}

#[test]
fn admin_and_course_tokens_are_not_interchangeable() {
    let secret = key("a");
    let admin = AdminSession::new(AdminId(1)).token(&secret);
    assert!(CourseSession::from_token(&secret, &admin).is_err());
}
