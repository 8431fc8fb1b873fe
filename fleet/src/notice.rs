//! Signed notices. A plain form's server function sends its outcome back to its page in the
//! query string (`done=…` or `error=…`), which the page shows as its status line. Signed with
//! HMAC-SHA256 under a key derived from the secret key, the page shows it only when the
//! signature holds: a crafted link cannot make the dashboard say "session expired, sign in at
//! evil.example" in its own green box.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct NoticeKey([u8; 32]);

impl std::fmt::Debug for NoticeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NoticeKey(••••)")
    }
}

impl NoticeKey {
    /// Derived from the secret key under a label of its own.
    pub fn derive(secret: &[u8]) -> Self {
        let mut mac = Self::mac_with(secret);
        mac.update(b"picky-fleet/notice-key/v1");
        Self(mac.finalize().into_bytes().into())
    }

    fn mac_with(key: &[u8]) -> HmacSha256 {
        <HmacSha256 as Mac>::new_from_slice(key)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"))
    }

    fn mac(&self, kind: &str, text: &str) -> HmacSha256 {
        let mut mac = Self::mac_with(&self.0);
        // The kind's length first: no kind and text run together into another pair.
        mac.update(&(kind.len() as u64).to_be_bytes());
        mac.update(kind.as_bytes());
        mac.update(text.as_bytes());
        mac
    }

    /// The signature of a notice (`kind` is `done` or `error`): 32 hex characters.
    pub fn sign(&self, kind: &str, text: &str) -> String {
        hex::encode(&self.mac(kind, text).finalize().into_bytes()[..16])
    }

    /// Whether `signature` is this key's for the notice (compared in constant time).
    pub fn is_genuine(&self, kind: &str, text: &str, signature: &str) -> bool {
        hex::decode(signature).is_ok_and(|tag| {
            tag.len() == 16 && self.mac(kind, text).verify_truncated_left(&tag).is_ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_shows_only_with_its_own_signature() {
        let key = NoticeKey::derive(&[7; 32]);
        let sig = key.sign("done", "Channel added.");
        assert_eq!(sig.len(), 32);
        assert!(key.is_genuine("done", "Channel added.", &sig));
        assert!(
            !key.is_genuine("done", "Sign in at evil.example.", &sig),
            "other text"
        );
        assert!(
            !key.is_genuine("error", "Channel added.", &sig),
            "other kind"
        );
        assert!(!key.is_genuine("done", "Channel added.", "zz"), "not hex");
        let other = NoticeKey::derive(&[8; 32]);
        assert!(
            !other.is_genuine("done", "Channel added.", &sig),
            "other key"
        );
    }
}
