//! The checks of what people type into alert settings: names, URLs, secrets, e-mail settings.
//! Pure functions, apart from the service that stores what passes them.

use lettre::message::Mailbox;

use crate::{model::EmailSettings, FleetError};

const MAX_RECIPIENTS: usize = 20;

pub(super) fn channel_name(name: &str) -> Result<String, FleetError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 80 || name.chars().any(char::is_control) {
        return Err(FleetError::Invalid(
            "the channel name must be 1–80 printable characters".into(),
        ));
    }
    Ok(name.to_owned())
}

pub(super) fn short_text(text: &str, max: usize, what: &str) -> Result<String, FleetError> {
    let text = text.trim();
    if text.chars().count() > max || text.chars().any(char::is_control) {
        return Err(FleetError::Invalid(format!(
            "{what} must be at most {max} printable characters"
        )));
    }
    Ok(text.to_owned())
}

/// A receiver's URL: http or https with a host, at most 2,000 characters.
pub(super) fn channel_url(url: Option<&str>) -> Result<String, FleetError> {
    let raw = url
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .ok_or_else(|| FleetError::Invalid("a webhook or Slack channel needs a url".into()))?;
    if raw.len() > 2000 {
        return Err(FleetError::Invalid(
            "the URL is longer than 2,000 characters".into(),
        ));
    }
    let parsed = reqwest::Url::parse(raw)
        .map_err(|e| FleetError::Invalid(format!("the URL is not valid: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(FleetError::Invalid(format!(
            "the URL must start with http:// or https://, not {}:",
            parsed.scheme()
        )));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(FleetError::Invalid("the URL has no host".into()));
    }
    Ok(parsed.to_string())
}

/// What lists show of a URL: its scheme and host; the path may hold the receiver's secret.
pub(super) fn url_in_brief(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => {
            let port = u.port().map(|p| format!(":{p}")).unwrap_or_default();
            let rest = if u.path().len() > 1 || u.query().is_some() {
                "/…"
            } else {
                ""
            };
            format!(
                "{}://{}{port}{rest}",
                u.scheme(),
                u.host_str().unwrap_or("")
            )
        }
        Err(_) => String::new(),
    }
}

pub(super) fn signing_secret(secret: &str) -> Result<String, FleetError> {
    let secret = secret.trim();
    if !(16..=200).contains(&secret.len()) || secret.chars().any(char::is_control) {
        return Err(FleetError::Invalid(
            "the signing secret must be 16–200 printable characters (leave it out to have one made)"
                .into(),
        ));
    }
    Ok(secret.to_owned())
}

pub(super) fn password(password: Option<String>) -> Result<Option<String>, FleetError> {
    match password {
        None => Ok(None),
        Some(p) if p.is_empty() => Ok(None),
        Some(p) if p.len() > 200 || p.chars().any(char::is_control) => Err(FleetError::Invalid(
            "the SMTP password must be at most 200 printable characters".into(),
        )),
        Some(p) => Ok(Some(p)),
    }
}

pub(super) fn email_settings(settings: Option<EmailSettings>) -> Result<EmailSettings, FleetError> {
    let mut s = settings
        .ok_or_else(|| FleetError::Invalid("an e-mail channel needs its email settings".into()))?;
    s.host = s.host.trim().to_owned();
    if s.host.is_empty()
        || s.host.len() > 253
        || s.host.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(FleetError::Invalid(
            "the SMTP host must be a host name or address".into(),
        ));
    }
    if s.port == 0 {
        return Err(FleetError::Invalid(
            "the SMTP port must be 1 to 65535".into(),
        ));
    }
    s.username = short_text(&s.username, 200, "the SMTP user name")?;
    s.from = s.from.trim().to_owned();
    if s.from.parse::<Mailbox>().is_err() {
        return Err(FleetError::Invalid(format!(
            "the sender {:?} is not an e-mail address",
            s.from
        )));
    }
    s.to = s.to.iter().map(|t| t.trim().to_owned()).collect();
    if s.to.is_empty() || s.to.len() > MAX_RECIPIENTS {
        return Err(FleetError::Invalid(format!(
            "an e-mail channel needs 1 to {MAX_RECIPIENTS} recipients"
        )));
    }
    if let Some(bad) = s.to.iter().find(|t| t.parse::<Mailbox>().is_err()) {
        return Err(FleetError::Invalid(format!(
            "the recipient {bad:?} is not an e-mail address"
        )));
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_urls_with_a_host_are_taken() {
        assert!(channel_url(Some("https://hooks.example.com/x")).is_ok());
        assert!(channel_url(Some("http://127.0.0.1:9000/hook")).is_ok());
        for bad in [
            "ftp://example.com/",
            "javascript:alert(1)",
            "file:///etc/passwd",
            "",
            "hooks",
        ] {
            let error = channel_url(Some(bad)).expect_err(bad).to_string();
            assert!(!error.is_empty(), "{bad}");
        }
        assert_eq!(
            channel_url(Some("ftp://example.com/"))
                .unwrap_err()
                .to_string(),
            "the URL must start with http:// or https://, not ftp:"
        );
    }

    #[test]
    fn lists_show_a_url_without_its_path() {
        assert_eq!(
            url_in_brief("https://hooks.slack.com/services/T0/B0/secret"),
            "https://hooks.slack.com/…"
        );
        assert_eq!(
            url_in_brief("http://127.0.0.1:9000/"),
            "http://127.0.0.1:9000"
        );
    }
}
