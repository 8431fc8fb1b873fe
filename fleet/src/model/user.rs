//! Users and their keys: [`Role`], [`Username`], the signed-in [`CurrentUser`], the admin
//! page's [`UserView`] and API keys ([`ApiKeyView`], [`CreatedApiKey`]).

use serde::{Deserialize, Serialize};

/// What a user may do. Each role includes the ones before it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Sees the fleet and the audit log.
    Viewer,
    /// Also runs device commands and refreshes.
    Operator,
    /// Also manages projects, tokens, users and API keys.
    Admin,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];

    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }

    pub const fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Operator => "Operator",
            Role::Admin => "Admin",
        }
    }

    pub fn can_run_commands(self) -> bool {
        self >= Role::Operator
    }

    pub fn is_admin(self) -> bool {
        self == Role::Admin
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim().to_ascii_lowercase())
            .ok_or_else(|| "the role must be viewer, operator or admin".to_owned())
    }
}

/// A sign-in name: 1–64 characters of letters, digits, `.`, `_`, `-` and `@`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("the username is empty".into());
        }
        if name.len() > Self::MAX_CHARS {
            return Err(format!(
                "the username is longer than {} characters",
                Self::MAX_CHARS
            ));
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'))
        {
            return Err(
                "the username may only contain letters, digits, '.', '_', '-' and '@'".into(),
            );
        }
        // The server's own actor: a person by that name would read as the server in the audit.
        if name.eq_ignore_ascii_case("auto-heal") {
            return Err("\"auto-heal\" is the name the dashboard itself acts under".into());
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Username {
    type Error = String;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<Username> for String {
    fn from(name: Username) -> Self {
        name.0
    }
}

/// The signed-in user, as the browser knows them.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
}

/// A user as the admin page lists them (no password hash, ever).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    pub created_at: String,
}

/// An API key as listed: never the key itself, only its prefix.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: i64,
    pub username: String,
    pub label: String,
    /// The first characters of the key (`pf_1a2b3c4d`), enough to recognise it.
    pub prefix: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A freshly created key: the only time the secret is ever shown.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedApiKey {
    pub id: i64,
    pub key: String,
    pub prefix: String,
    pub username: String,
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_and_parsed_from_their_names() {
        assert!(Role::Admin > Role::Operator && Role::Operator > Role::Viewer);
        assert!(!Role::Viewer.can_run_commands());
        assert!(Role::Operator.can_run_commands() && !Role::Operator.is_admin());
        assert_eq!(" Admin ".parse::<Role>(), Ok(Role::Admin));
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn usernames_are_checked() {
        assert_eq!(Username::parse(" alice ").unwrap().as_str(), "alice");
        assert!(Username::parse("ops.team-lead@acme").is_ok());
        for bad in [
            "",
            "a b",
            "<script>",
            "ü",
            &"x".repeat(65),
            "auto-heal",
            "Auto-Heal",
        ] {
            assert!(Username::parse(bad).is_err(), "{bad:?}");
        }
    }
}
