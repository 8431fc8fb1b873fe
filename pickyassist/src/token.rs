use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A project's API token. It can only be read through [`ApiToken::expose`], prints as
/// `ApiToken(••••)` and is deliberately neither `Serialize` nor `Display`, so it cannot
/// slip into a response, a page or a log line by accident.
#[derive(Clone)]
pub struct ApiToken(SecretString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidToken {
    #[error("the token is empty")]
    Empty,
    #[error("the token must be between {min} and {max} characters long")]
    Length { min: usize, max: usize },
    #[error("the token may only contain letters, digits, '-' and '_'")]
    Characters,
}

impl ApiToken {
    pub const MIN_LEN: usize = 16;
    pub const MAX_LEN: usize = 128;

    /// Parses a token as typed by a person: surrounding whitespace is ignored; the rest must be
    /// 16–128 characters of `[A-Za-z0-9_-]` (PickyAssist tokens are long hex strings).
    pub fn parse(raw: &str) -> Result<Self, InvalidToken> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidToken::Empty);
        }
        if !trimmed
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(InvalidToken::Characters);
        }
        if !(Self::MIN_LEN..=Self::MAX_LEN).contains(&trimmed.len()) {
            return Err(InvalidToken::Length {
                min: Self::MIN_LEN,
                max: Self::MAX_LEN,
            });
        }
        Ok(Self(SecretString::from(trimmed.to_owned())))
    }

    /// The token itself, for the request body and for encryption at rest only.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The last four characters, which the dashboard may show (`••••1f29`).
    pub fn last4(&self) -> String {
        let t = self.expose();
        // Tokens are ASCII (checked in `parse`), so byte slicing is on char boundaries.
        t[t.len().saturating_sub(4)..].to_owned()
    }
}

impl fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiToken(••••)")
    }
}

impl PartialEq for ApiToken {
    fn eq(&self, other: &Self) -> bool {
        self.expose() == other.expose()
    }
}
impl Eq for ApiToken {}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "2fb9da4f0544f6c57883a0122188121f29";

    #[test]
    fn parses_the_documented_sample_tokens() {
        assert!(ApiToken::parse(SAMPLE).is_ok());
        assert!(ApiToken::parse("f068950cf8a61e666bd8644c26dbf556e3bd").is_ok());
    }

    #[test]
    fn trims_whitespace_around_a_pasted_token() {
        let token = ApiToken::parse(&format!("  {SAMPLE}\n")).unwrap();
        assert_eq!(token.expose(), SAMPLE);
    }

    #[test]
    fn rejects_empty_short_long_and_odd_tokens() {
        assert_eq!(ApiToken::parse("   "), Err(InvalidToken::Empty));
        assert!(matches!(
            ApiToken::parse("abc123"),
            Err(InvalidToken::Length { .. })
        ));
        assert!(matches!(
            ApiToken::parse(&"a".repeat(129)),
            Err(InvalidToken::Length { .. })
        ));
        assert_eq!(
            ApiToken::parse("2fb9da4f 0544f6c57883a"),
            Err(InvalidToken::Characters)
        );
        assert_eq!(
            ApiToken::parse("2fb9da4f0544f6c5788\"};"),
            Err(InvalidToken::Characters)
        );
    }

    #[test]
    fn debug_output_never_contains_the_token() {
        let token = ApiToken::parse(SAMPLE).unwrap();
        let printed = format!("{token:?} {:?}", Some(&token));
        assert!(!printed.contains(&SAMPLE[..8]), "{printed}");
        assert!(!printed.contains("1f29"), "{printed}");
    }

    #[test]
    fn last4_is_the_tail_of_the_token() {
        assert_eq!(ApiToken::parse(SAMPLE).unwrap().last4(), "1f29");
    }
}
