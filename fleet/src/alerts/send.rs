//! Sending one message to one channel, once: a signed JSON POST, a Slack-compatible POST or
//! an e-mail. Every attempt ends within [`ATTEMPT_TIMEOUT`] with a [`DeliveryResult`]; the
//! outbox (`service::alerts::outbox`) decides about retries. Errors are described without the
//! URL (its path may be a secret) and without any password.

use std::time::{Duration, Instant};

use hmac::{Hmac, Mac};
use lettre::{
    message::{header::ContentType, Mailbox},
    transport::smtp::{
        authentication::Credentials,
        client::{Tls, TlsParameters},
    },
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use super::message::AlertMessage;
use crate::model::{ChannelKind, DeliveryResult, EmailSettings, SmtpSecurity};

/// One attempt never takes longer: a receiver that hangs costs a retry, not the outbox.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// A channel's secrets, stored encrypted as this JSON and opened only to send.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct ChannelSecret {
    /// Webhooks and Slack: the whole URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Webhooks: the signing key.
    #[serde(default)]
    pub signing_secret: Option<String>,
    /// E-mail: the SMTP password.
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for ChannelSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChannelSecret(••••)")
    }
}

/// Everything needed to reach a channel.
#[derive(Debug, Clone)]
pub struct Target {
    pub kind: ChannelKind,
    pub email: Option<EmailSettings>,
    pub secret: ChannelSecret,
}

/// The client alerts go out with: no redirects followed (a receiver cannot bounce an alert to
/// another host), the attempt timeout.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ATTEMPT_TIMEOUT)
        .connect_timeout(ATTEMPT_TIMEOUT)
        .user_agent(concat!("picky-fleet/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_default()
}

/// `sha256=<hex>`: HMAC-SHA256 of the body under the channel's signing secret.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Sends `message` once. `delivery_id` goes out as `X-Picky-Fleet-Delivery`, so a receiver can
/// drop a repeat of a delivery it has already seen.
pub async fn deliver(
    http: &reqwest::Client,
    target: &Target,
    message: &AlertMessage,
    delivery_id: i64,
) -> DeliveryResult {
    let started = Instant::now();
    let result = tokio::time::timeout(ATTEMPT_TIMEOUT, async {
        match target.kind {
            ChannelKind::Webhook => webhook(http, target, message, delivery_id).await,
            ChannelKind::Slack => slack(http, target, message).await,
            ChannelKind::Email => email(target, message).await,
        }
    })
    .await
    .unwrap_or_else(|_| {
        Err(Failure {
            status: None,
            error: format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs()),
        })
    });
    let latency_ms = started.elapsed().as_millis() as i64;
    match result {
        Ok(status) => DeliveryResult {
            ok: true,
            status: Some(status),
            latency_ms,
            error: None,
        },
        Err(failure) => DeliveryResult {
            ok: false,
            status: failure.status,
            latency_ms,
            error: Some(failure.error),
        },
    }
}

struct Failure {
    status: Option<u16>,
    error: String,
}

impl Failure {
    fn new(error: impl Into<String>) -> Self {
        Self {
            status: None,
            error: error.into(),
        }
    }
}

fn url_of(target: &Target) -> Result<&str, Failure> {
    target
        .secret
        .url
        .as_deref()
        .ok_or_else(|| Failure::new("the channel has no URL"))
}

async fn webhook(
    http: &reqwest::Client,
    target: &Target,
    message: &AlertMessage,
    delivery_id: i64,
) -> Result<u16, Failure> {
    let body = serde_json::to_vec(message).map_err(|e| Failure::new(e.to_string()))?;
    let mut request = http
        .post(url_of(target)?)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("X-Picky-Fleet-Event", message.event.as_str())
        .header("X-Picky-Fleet-Delivery", delivery_id.to_string());
    if let Some(secret) = &target.secret.signing_secret {
        request = request.header("X-Picky-Fleet-Signature", signature(secret, &body));
    }
    answer(request.body(body).send().await).await
}

async fn slack(
    http: &reqwest::Client,
    target: &Target,
    message: &AlertMessage,
) -> Result<u16, Failure> {
    answer(
        http.post(url_of(target)?)
            .json(&message.slack())
            .send()
            .await,
    )
    .await
}

/// A 2xx is delivered; anything else is a failure with the status (and no body: a receiver's
/// error page is not ours to store).
async fn answer(response: reqwest::Result<reqwest::Response>) -> Result<u16, Failure> {
    let response = response.map_err(|e| Failure::new(describe_http_error(&e)))?;
    let status = response.status();
    if status.is_success() {
        Ok(status.as_u16())
    } else {
        Err(Failure {
            status: Some(status.as_u16()),
            error: format!("the receiver answered {status}"),
        })
    }
}

/// reqwest's errors print the URL; ours must not.
fn describe_http_error(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        format!("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())
    } else if error.is_connect() {
        "could not connect to the receiver".to_owned()
    } else if error.is_redirect() {
        "the receiver answered with a redirect (not followed)".to_owned()
    } else {
        "the request to the receiver failed".to_owned()
    }
}

async fn email(target: &Target, message: &AlertMessage) -> Result<u16, Failure> {
    let settings = target
        .email
        .as_ref()
        .ok_or_else(|| Failure::new("the channel has no e-mail settings"))?;
    let email = build_email(settings, message)?;
    let transport = smtp_transport(settings, target.secret.password.as_deref())?;
    match transport.send(email).await {
        Ok(response) => Ok(u16::from(response.code())),
        Err(e) => Err(Failure {
            status: e.status().map(u16::from),
            error: describe_smtp_error(&e),
        }),
    }
}

fn build_email(settings: &EmailSettings, message: &AlertMessage) -> Result<Message, Failure> {
    let from: Mailbox = settings
        .from
        .parse()
        .map_err(|_| Failure::new("the sender address is not valid"))?;
    let mut builder = Message::builder().from(from).subject(message.subject());
    for to in &settings.to {
        let to: Mailbox = to
            .parse()
            .map_err(|_| Failure::new("a recipient address is not valid"))?;
        builder = builder.to(to);
    }
    builder
        .header(ContentType::TEXT_PLAIN)
        .body(message.text())
        .map_err(|e| Failure::new(format!("the e-mail could not be built: {e}")))
}

fn smtp_transport(
    settings: &EmailSettings,
    password: Option<&str>,
) -> Result<AsyncSmtpTransport<Tokio1Executor>, Failure> {
    let tls = || {
        TlsParameters::new(settings.host.clone())
            .map_err(|e| Failure::new(format!("TLS could not be set up: {e}")))
    };
    let security = match settings.security {
        SmtpSecurity::Starttls => Tls::Required(tls()?),
        SmtpSecurity::Tls => Tls::Wrapper(tls()?),
        SmtpSecurity::None => Tls::None,
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&settings.host)
        .port(settings.port)
        .tls(security)
        .timeout(Some(ATTEMPT_TIMEOUT));
    if !settings.username.is_empty() {
        builder = builder.credentials(Credentials::new(
            settings.username.clone(),
            password.unwrap_or_default().to_owned(),
        ));
    }
    Ok(builder.build())
}

/// lettre's errors are plain enough, but say so in our words and never echo credentials.
fn describe_smtp_error(error: &lettre::transport::smtp::Error) -> String {
    if let Some(code) = error.status() {
        let kind = if error.is_permanent() {
            "refused"
        } else {
            "deferred"
        };
        format!("the mail server {kind} the message (SMTP {code})")
    } else if error.is_timeout() {
        format!(
            "no answer from the mail server within {} s",
            ATTEMPT_TIMEOUT.as_secs()
        )
    } else if error.is_tls() {
        "the TLS handshake with the mail server failed".to_owned()
    } else {
        "could not talk to the mail server".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_body_in_hex() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn secrets_never_print() {
        let secret = ChannelSecret {
            url: Some("https://hooks.example.com/T000/B000/XXXX".into()),
            signing_secret: Some("s3cret".into()),
            password: Some("hunter2".into()),
        };
        let printed = format!("{secret:?}");
        assert!(
            !printed.contains("XXXX")
                && !printed.contains("s3cret")
                && !printed.contains("hunter2")
        );
    }
}
