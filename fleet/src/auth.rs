//! Who is acting, and passwords.

use std::sync::OnceLock;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::{
    model::{CurrentUser, Role},
    FleetError,
};

/// The subject of every service call: a signed-in user, an API key's user, or the CLI.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<i64>,
    /// Written to the audit log.
    pub name: String,
    pub role: Role,
    /// Ties audit rows to log lines.
    pub request_id: Option<String>,
}

impl Actor {
    pub fn user(user: &CurrentUser) -> Self {
        Self {
            user_id: Some(user.id),
            name: user.username.clone(),
            role: user.role,
            request_id: None,
        }
    }

    /// The admin command line on the server itself (whoever can run it owns the database).
    pub fn cli() -> Self {
        Self {
            user_id: None,
            name: "cli".into(),
            role: Role::Admin,
            request_id: None,
        }
    }

    /// Somebody acting through a capability rather than an account (an acknowledge link in an
    /// alert message): audited under `name`, allowed only what its door allows.
    pub fn link(name: &str) -> Self {
        Self {
            user_id: None,
            name: name.to_owned(),
            role: Role::Viewer,
            request_id: None,
        }
    }

    /// The server healing a project by itself under an admin's policy (`crate::autoheal`):
    /// an operator's commands, audited as `auto-heal`.
    pub fn auto_heal() -> Self {
        Self {
            user_id: None,
            name: "auto-heal".into(),
            role: Role::Operator,
            request_id: None,
        }
    }

    pub fn with_request_id(mut self, request_id: Option<String>) -> Self {
        self.request_id = request_id;
        self
    }

    /// Refuses unless the actor's role is at least `needed`.
    pub fn require(&self, needed: Role, to: &str) -> Result<(), FleetError> {
        if self.role >= needed {
            Ok(())
        } else {
            Err(FleetError::Forbidden(format!(
                "your role ({}) may not {to}; ask an {}",
                self.role.as_str(),
                if needed == Role::Admin {
                    "admin"
                } else {
                    "operator or an admin"
                }
            )))
        }
    }
}

/// A password as typed: 10–256 characters. Never logged, never stored.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 10;

    pub fn parse(raw: &str) -> Result<Self, FleetError> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(FleetError::Invalid(format!(
                "the password must be at least {} characters long",
                Self::MIN_CHARS
            )));
        }
        if chars > 256 {
            return Err(FleetError::Invalid(
                "the password must be at most 256 characters long".into(),
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A random 20-character password for the demo admin.
    pub fn generate() -> String {
        use rand::{distributions::Alphanumeric, Rng};
        rand::rngs::OsRng
            .sample_iter(&Alphanumeric)
            .take(20)
            .map(char::from)
            .collect()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(••••)")
    }
}

/// argon2id with the crate's recommended parameters. CPU-heavy: call from `spawn_blocking`.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("password hashing failed: {e}"))
}

/// Checks `password` against a stored PHC string; `None` runs a check against a dummy hash
/// so that an unknown user takes as long to refuse as a wrong password.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    let stored = stored.unwrap_or_else(|| dummy_hash());
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&Password::generate()).unwrap_or_default())
}

/// Where to send the browser after signing in: `next` if it is a path on this site, `/`
/// otherwise, so sign-in cannot be turned into a redirector. A browser reads `/\t/evil`,
/// `/\\evil` and `//evil` as another host (it drops tabs and newlines and takes `\` for `/`),
/// so only a plain path passes: it starts with one `/`, holds no control characters, spaces or
/// backslashes, and decoded once more it still starts with one `/` and holds no controls.
pub fn local_redirect(next: Option<&str>) -> String {
    const MAX_LEN: usize = 2048;
    let Some(path) = next else {
        return "/".to_owned();
    };
    let plain = path.starts_with('/')
        && !path.starts_with("//")
        && !path
            .chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '\\');
    let decoded = percent_decoded(path);
    let still_local = decoded.starts_with('/')
        && !decoded.starts_with("//")
        && !decoded.starts_with("/\\")
        && !decoded.chars().any(char::is_control);
    if path.len() <= MAX_LEN && plain && still_local {
        path.to_owned()
    } else {
        "/".to_owned()
    }
}

/// `%XX` sequences decoded (as Latin-1 is enough to see a slash, a backslash or a control).
fn percent_decoded(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied(),
            bytes.get(i + 2).copied(),
        ) {
            (b'%', Some(hi), Some(lo)) if hex(hi).is_some() && hex(lo).is_some() => {
                let value = hex(hi).unwrap_or(0) * 16 + hex(lo).unwrap_or(0);
                out.push(char::from_u32(value).unwrap_or('\u{fffd}'));
                i += 3;
            }
            (byte, _, _) => {
                out.push(char::from(byte));
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::local_redirect;

    #[test]
    fn only_plain_local_paths_are_followed_after_sign_in() {
        for good in [
            "/",
            "/audit?actor=alice&since=2026-11-25",
            "/admin/users",
            "/a%20b",
        ] {
            assert_eq!(local_redirect(Some(good)), good, "{good:?}");
        }
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            " /evil",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5C/evil.example",
            "/%09/evil.example",
            "/%0A",
            "javascript:alert(1)",
            "JavaScript:alert(1)",
            "evil.example",
            "",
            "/\u{0}",
        ] {
            assert_eq!(local_redirect(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_redirect(None), "/");
        assert_eq!(local_redirect(Some(&format!("/{}", "a".repeat(3000)))), "/");
    }

    use super::*;

    /// An unknown user must not be refused faster than a wrong password, or response times
    /// tell which usernames exist. Compared with medians and a wide band: the failure this
    /// guards against (skipping the hash) is a thousand times faster, not 30 %.
    #[test]
    fn an_unknown_user_costs_as_much_as_a_wrong_password() {
        let stored = hash_password("the real password").unwrap();
        let median = |stored: Option<&str>| {
            let mut times: Vec<_> = (0..5)
                .map(|_| {
                    let started = std::time::Instant::now();
                    assert!(!verify_password(stored, "a wrong guess"));
                    started.elapsed()
                })
                .collect();
            times.sort();
            times[2]
        };
        median(None); // the dummy hash is made once, on first use
        let (unknown, wrong) = (median(None), median(Some(&stored)));
        let ratio = unknown.as_secs_f64() / wrong.as_secs_f64();
        assert!(
            (0.3..3.0).contains(&ratio),
            "unknown user {unknown:?}, wrong password {wrong:?}"
        );
    }

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password(Some(&hash), "correct horse battery"));
        assert!(!verify_password(Some(&hash), "correct horse battery!"));
        assert!(!verify_password(None, "correct horse battery"));
        assert!(!verify_password(Some("not a hash"), "x"));
    }

    #[test]
    fn short_passwords_are_refused_and_debug_hides_them() {
        assert!(Password::parse("short").is_err());
        let p = Password::parse("long enough password").unwrap();
        assert_eq!(format!("{p:?}"), "Password(••••)");
        assert_eq!(Password::generate().len(), 20);
    }

    #[test]
    fn roles_below_the_requirement_are_forbidden() {
        let viewer = Actor {
            user_id: Some(1),
            name: "v".into(),
            role: Role::Viewer,
            request_id: None,
        };
        assert!(matches!(
            viewer.require(Role::Operator, "run commands"),
            Err(FleetError::Forbidden(_))
        ));
        assert!(viewer.require(Role::Viewer, "look").is_ok());
        assert!(Actor::cli().require(Role::Admin, "manage users").is_ok());
    }
}

/// Put in each request's extensions by the server's auth middleware: who is calling, if anyone.
#[derive(Debug, Clone, Default)]
pub struct RequestActor(pub Option<Actor>);

/// The session key under which the signed-in user's id is kept.
pub const SESSION_USER_KEY: &str = "user_id";

/// Put in each request's extensions by the server: the client's address, as the TCP peer or,
/// behind a trusted reverse proxy, as the proxy saw it (see the server's `client_addr`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub std::net::IpAddr);
