//! Tokens at rest: AES-256-GCM with a random nonce per encryption. The same secret key also
//! gives the audit log's chain key ([`TokenCipher::audit_chain_key`]), so that seals cannot be
//! recomputed by someone who has the database file but not the key.

use std::path::Path;

use aes_gcm::{
    aead::{Aead, KeyInit, Payload},
    Aes256Gcm, Key, Nonce,
};
use anyhow::{bail, Context};
use base64::{engine::general_purpose::STANDARD as BASE64, Engine};
use pickyassist::ApiToken;
use rand::RngCore;

/// Binds ciphertexts to their purpose, so a sealed token can't be passed off as anything else.
const AAD: &[u8] = b"picky-fleet/project-token/v1";
const CHANNEL_AAD: &[u8] = b"picky-fleet/alert-channel-secret/v1";

/// The encryption key, held only in memory; prints as `TokenCipher(••••)`.
#[derive(Clone)]
pub struct TokenCipher {
    cipher: Aes256Gcm,
    audit_chain_key: crate::db::audit_chain::ChainKey,
    alert_link_key: crate::alerts::ack::LinkKey,
    notice_key: crate::notice::NoticeKey,
}

impl std::fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCipher(••••)")
    }
}

/// An encrypted token as stored in `projects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedToken {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

impl TokenCipher {
    pub fn from_key_bytes(key: &[u8]) -> anyhow::Result<Self> {
        if key.len() != 32 {
            bail!("the secret key must be 32 bytes, got {}", key.len());
        }
        Ok(Self {
            cipher: Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(key)),
            audit_chain_key: crate::db::audit_chain::ChainKey::derive(key),
            alert_link_key: crate::alerts::ack::LinkKey::derive(key),
            notice_key: crate::notice::NoticeKey::derive(key),
        })
    }

    /// From `PICKY_FLEET_SECRET_KEY` (base64 of 32 bytes).
    pub fn from_base64(encoded: &str) -> anyhow::Result<Self> {
        let bytes = BASE64
            .decode(encoded.trim())
            .context("PICKY_FLEET_SECRET_KEY is not valid base64")?;
        Self::from_key_bytes(&bytes).context("PICKY_FLEET_SECRET_KEY")
    }

    /// Reads the key file, or creates it (mode 0600) with a fresh random key.
    pub fn load_or_create_key_file(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read_to_string(path) {
            Ok(contents) => {
                Self::from_base64(&contents).with_context(|| format!("key file {}", path.display()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = [0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut key);
                write_private_file(path, BASE64.encode(key).as_bytes())
                    .with_context(|| format!("could not create key file {}", path.display()))?;
                tracing::info!(path = %path.display(), "created a new token encryption key");
                Self::from_key_bytes(&key)
            }
            Err(e) => Err(e).with_context(|| format!("could not read key file {}", path.display())),
        }
    }

    /// The key that seals audit rows: derived from the secret key, never stored.
    pub fn audit_chain_key(&self) -> crate::db::audit_chain::ChainKey {
        self.audit_chain_key.clone()
    }

    /// The key that signs the acknowledge links in alert messages.
    pub fn alert_link_key(&self) -> crate::alerts::ack::LinkKey {
        self.alert_link_key.clone()
    }

    /// The key that signs the notices plain forms send back to their pages.
    pub fn notice_key(&self) -> crate::notice::NoticeKey {
        self.notice_key.clone()
    }

    pub fn seal(&self, token: &ApiToken) -> anyhow::Result<SealedToken> {
        self.seal_bytes(token.expose().as_bytes(), AAD)
    }

    /// An alert channel's secrets (URL, signing secret, SMTP password) as JSON.
    pub fn seal_channel_secret(&self, secret: &str) -> anyhow::Result<SealedToken> {
        self.seal_bytes(secret.as_bytes(), CHANNEL_AAD)
    }

    pub fn open_channel_secret(&self, sealed: &SealedToken) -> anyhow::Result<String> {
        let plain = self.open_bytes(sealed, CHANNEL_AAD).map_err(|_| {
            anyhow::anyhow!(
                "an alert channel's secret could not be decrypted: wrong secret key or damaged row"
            )
        })?;
        String::from_utf8(plain)
            .map_err(|_| anyhow::anyhow!("an alert channel's secret is not text"))
    }

    fn open_bytes(&self, sealed: &SealedToken, aad: &[u8]) -> anyhow::Result<Vec<u8>> {
        if sealed.nonce.len() != 12 {
            bail!("stored nonce has the wrong length");
        }
        self.cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad,
                },
            )
            .map_err(|_| anyhow::anyhow!("decryption failed"))
    }

    fn seal_bytes(&self, plain: &[u8], aad: &[u8]) -> anyhow::Result<SealedToken> {
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ciphertext = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad })
            .map_err(|_| anyhow::anyhow!("encryption failed"))?;
        Ok(SealedToken {
            nonce: nonce.to_vec(),
            ciphertext,
        })
    }

    pub fn open(&self, sealed: &SealedToken) -> anyhow::Result<ApiToken> {
        if sealed.nonce.len() != 12 {
            bail!("stored token nonce has the wrong length");
        }
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(&sealed.nonce),
                Payload {
                    msg: &sealed.ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| {
                anyhow::anyhow!(
                    "a stored token could not be decrypted: wrong secret key or damaged row"
                )
            })?;
        let text =
            String::from_utf8(plain).map_err(|_| anyhow::anyhow!("a stored token is not text"))?;
        ApiToken::parse(&text).map_err(|e| anyhow::anyhow!("a stored token is invalid: {e}"))
    }
}

#[cfg(unix)]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    use std::{io::Write, os::unix::fs::OpenOptionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private_file(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "2fb9da4f0544f6c57883a0122188121f29";

    fn cipher() -> TokenCipher {
        TokenCipher::from_key_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn a_sealed_token_opens_to_the_same_token() {
        let token = ApiToken::parse(TOKEN).unwrap();
        let sealed = cipher().seal(&token).unwrap();
        assert_eq!(cipher().open(&sealed).unwrap(), token);
    }

    #[test]
    fn the_ciphertext_does_not_contain_the_token_and_nonces_differ() {
        let token = ApiToken::parse(TOKEN).unwrap();
        let a = cipher().seal(&token).unwrap();
        let b = cipher().seal(&token).unwrap();
        assert_ne!(a.nonce, b.nonce);
        assert_ne!(a.ciphertext, b.ciphertext);
        assert!(!a
            .ciphertext
            .windows(8)
            .any(|w| TOKEN.as_bytes().windows(8).any(|t| t == w)));
    }

    #[test]
    fn a_wrong_key_or_a_tampered_row_is_an_error_without_the_token() {
        let token = ApiToken::parse(TOKEN).unwrap();
        let mut sealed = cipher().seal(&token).unwrap();
        let other = TokenCipher::from_key_bytes(&[8u8; 32]).unwrap();
        let err = other.open(&sealed).unwrap_err().to_string();
        assert!(!err.contains(&TOKEN[..8]));
        sealed.ciphertext[0] ^= 1;
        assert!(cipher().open(&sealed).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64() {
        assert!(TokenCipher::from_base64("not base64!").is_err());
        assert!(TokenCipher::from_base64(&BASE64.encode([1u8; 16])).is_err());
        assert!(TokenCipher::from_base64(&BASE64.encode([1u8; 32])).is_ok());
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("fleet.key");
        let token = ApiToken::parse(TOKEN).unwrap();
        let sealed = TokenCipher::load_or_create_key_file(&path)
            .unwrap()
            .seal(&token)
            .unwrap();
        let again = TokenCipher::load_or_create_key_file(&path).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), token);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
        }
    }

    #[test]
    fn debug_output_hides_the_key() {
        assert_eq!(format!("{:?}", cipher()), "TokenCipher(••••)");
    }
}
