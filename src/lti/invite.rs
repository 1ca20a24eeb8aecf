//! Registration invites: the dynamic-registration URL an admin hands an LMS, signed by
//! this instance, expiring after a day, and good for one registration.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::SecretKey;
use crate::store::EpochMs;

/// How long a registration URL handed out on the admin page stays usable: long enough to
/// pass it to the LMS admin the same day, short enough that a copy left in a mail or a
/// ticket is soon worthless (and each is used up by its registration anyway).
pub const INVITE_SECS: i64 = 24 * 3600;
const INVITE_PURPOSE: &str = "registration-invite";

/// A registration invitation: its expiry, signed. Only an admin can hand one out, so a
/// stranger cannot register a platform of their own making.
pub fn invite(secret: &SecretKey, expires: EpochMs) -> String {
    let tag = secret.sign(INVITE_PURPOSE, expires.0.to_string().as_bytes());
    format!("{}.{}", expires.0, URL_SAFE_NO_PAD.encode(tag))
}

/// An unexpired invitation this instance signed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invite {
    expires: EpochMs,
    /// Names the invite in the store without keeping the invite itself.
    hash: String,
}

impl Invite {
    /// The invite in `text`, when this instance signed it and it has not expired.
    pub fn parse(secret: &SecretKey, text: &str) -> Option<Self> {
        let (expires, tag) = text.split_once('.')?;
        let expires_ms = expires.parse::<i64>().ok()?;
        let tag_bytes = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let valid = expires_ms > EpochMs::now().0
            && secret.verify(INVITE_PURPOSE, expires.as_bytes(), &tag_bytes);
        valid.then(|| Self {
            expires: EpochMs(expires_ms),
            hash: SecretKey::hash_token(tag),
        })
    }

    pub fn expires(&self) -> EpochMs {
        self.expires
    }

    pub fn hash(&self) -> &str {
        &self.hash
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SecretKey {
        SecretKey::from_secret(SecretKey::random_token().into())
    }

    #[test]
    fn only_unexpired_invites_signed_here_parse() {
        let secret = key();
        let text = invite(&secret, EpochMs::now().plus_secs(60));
        let parsed = Invite::parse(&secret, &text).expect("a fresh invite");
        assert_eq!(
            parsed,
            Invite::parse(&secret, &text).unwrap(),
            "the same hash each time"
        );
        assert!(Invite::parse(&key(), &text).is_none(), "signed elsewhere");
        assert!(Invite::parse(&secret, &invite(&secret, EpochMs(EpochMs::now().0 - 1))).is_none());
        let (expires, tag) = text.split_once('.').unwrap();
        let later = format!("{}.{tag}", expires.parse::<i64>().unwrap() + 1000);
        assert!(
            Invite::parse(&secret, &later).is_none(),
            "the expiry is signed"
        );
        assert!(Invite::parse(&secret, "garbage").is_none());
    }
}
