//! Acknowledge links: an alert message carries a link that acknowledges its alert without a
//! sign-in. The token in it names the alert and an expiry, signed with HMAC-SHA256 under a key
//! derived from the secret key (so the database alone cannot mint one). It is single-use in
//! effect: the first use acknowledges the alert and every later one is refused as "already
//! acknowledged". Opening the link shows a page with a button; only the button's POST
//! acknowledges, so a chat app fetching the link for a preview changes nothing.

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How long an acknowledge link works.
pub const LINK_LIFETIME: chrono::Duration = chrono::Duration::days(7);

#[derive(Clone)]
pub struct LinkKey([u8; 32]);

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(••••)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl LinkKey {
    /// Derived from the secret key under a label of its own.
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"picky-fleet/alert-ack-link-key/v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac(&self, alert_id: i64, expires: i64) -> HmacSha256 {
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(format!("ack/v1/{alert_id}/{expires}").as_bytes());
        mac
    }

    /// A token for `alert_id` that works until `expires`.
    pub fn token(&self, alert_id: i64, expires: DateTime<Utc>) -> String {
        let expires = expires.timestamp();
        let tag = hex::encode(self.mac(alert_id, expires).finalize().into_bytes());
        format!("{alert_id}.{expires}.{tag}")
    }

    /// The alert a token is for, if it is genuine and has not expired.
    pub fn check(&self, token: &str, now: DateTime<Utc>) -> Result<i64, LinkError> {
        let mut parts = token.trim().splitn(3, '.');
        let (Some(id), Some(expires), Some(tag)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(LinkError::Invalid);
        };
        let alert_id: i64 = id.parse().map_err(|_| LinkError::Invalid)?;
        let expires: i64 = expires.parse().map_err(|_| LinkError::Invalid)?;
        let tag = hex::decode(tag).map_err(|_| LinkError::Invalid)?;
        self.mac(alert_id, expires)
            .verify_slice(&tag)
            .map_err(|_| LinkError::Invalid)?;
        if now.timestamp() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(alert_id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this acknowledge link is not valid")]
    Invalid,
    #[error("this acknowledge link has expired; acknowledge the alert on the Alerts page")]
    Expired,
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    #[test]
    fn a_token_works_for_its_alert_until_it_expires_and_cannot_be_altered() {
        let key = LinkKey::derive(&[7; 32]);
        let now = Utc.with_ymd_and_hms(2026, 12, 2, 10, 0, 0).unwrap();
        let token = key.token(42, now + LINK_LIFETIME);
        assert_eq!(key.check(&token, now), Ok(42));
        assert_eq!(
            key.check(&token, now + LINK_LIFETIME),
            Err(LinkError::Expired)
        );
        let other_alert = token.replacen("42.", "43.", 1);
        assert_eq!(key.check(&other_alert, now), Err(LinkError::Invalid));
        let later = token.replacen(
            &(now + LINK_LIFETIME).timestamp().to_string(),
            &(now + LINK_LIFETIME * 2).timestamp().to_string(),
            1,
        );
        assert_eq!(key.check(&later, now), Err(LinkError::Invalid));
        let other_key = LinkKey::derive(&[8; 32]);
        assert_eq!(other_key.check(&token, now), Err(LinkError::Invalid));
        for junk in ["", "1", "1.2", "a.b.c", "1.2.zz"] {
            assert_eq!(key.check(junk, now), Err(LinkError::Invalid), "{junk:?}");
        }
    }
}
