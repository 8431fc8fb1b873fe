//! Projects as names and admin rows: [`ProjectName`] and its rules, the admin page's
//! [`ProjectAdminView`], and [`token_hint`], the only form of a token the browser sees.

use serde::{Deserialize, Serialize};

/// A project's display name: trimmed, 1–80 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ProjectName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidProjectName {
    #[error("the project name is empty")]
    Empty,
    #[error("the project name is longer than {0} characters")]
    TooLong(usize),
    #[error("the project name contains control characters")]
    ControlCharacters,
}

impl ProjectName {
    pub const MAX_CHARS: usize = 80;

    pub fn parse(raw: &str) -> Result<Self, InvalidProjectName> {
        let name = raw.trim();
        if name.is_empty() {
            return Err(InvalidProjectName::Empty);
        }
        if name.chars().count() > Self::MAX_CHARS {
            return Err(InvalidProjectName::TooLong(Self::MAX_CHARS));
        }
        if name.chars().any(char::is_control) {
            return Err(InvalidProjectName::ControlCharacters);
        }
        Ok(Self(name.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ProjectName {
    type Error = InvalidProjectName;
    fn try_from(raw: String) -> Result<Self, Self::Error> {
        Self::parse(&raw)
    }
}

impl From<ProjectName> for String {
    fn from(name: ProjectName) -> Self {
        name.0
    }
}

impl std::fmt::Display for ProjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A project as the admin page lists it: the token only as its hint.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectAdminView {
    pub id: i64,
    pub name: String,
    pub token_hint: String,
    pub upstream_project_id: Option<String>,
    pub created_at: String,
}

/// A token shown as `••••` plus its last four characters.
pub fn token_hint(last4: &str) -> String {
    format!("••••{last4}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            ProjectName::parse("  Acme Support ").unwrap().as_str(),
            "Acme Support"
        );
        assert_eq!(ProjectName::parse(" \t"), Err(InvalidProjectName::Empty));
        assert_eq!(
            ProjectName::parse(&"x".repeat(81)),
            Err(InvalidProjectName::TooLong(80))
        );
        assert_eq!(
            ProjectName::parse("a\u{0}b"),
            Err(InvalidProjectName::ControlCharacters)
        );
        assert!(ProjectName::parse("Café Ünïcode 📱").is_ok());
    }

    proptest! {
        #[test]
        fn a_parsed_name_always_parses_again_to_itself(raw in ".{0,100}") {
            if let Ok(name) = ProjectName::parse(&raw) {
                prop_assert_eq!(ProjectName::parse(name.as_str()), Ok(name.clone()));
                prop_assert!(!name.as_str().is_empty());
            }
        }
    }
}
