use std::time::Duration;

use serde::Serialize;
use url::Url;

use crate::{
    ActionOutcome, ApiToken, Command, DeviceStatus, ErrorKind, ParseError, StatusReply,
    APPLICATION_WHATSAPP_WEB,
};

/// Largest body we read from upstream; a real answer is under 1 KiB.
const MAX_BODY_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// e.g. `https://pickyassist.com/app/api/v2` (a trailing slash is optional).
    pub base_url: Url,
    pub connect_timeout: Duration,
    /// For the whole exchange, body included, so a server that drips bytes cannot hold us.
    pub request_timeout: Duration,
}

impl ClientConfig {
    pub fn new(base_url: Url) -> Self {
        Self {
            base_url,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
        }
    }
}

/// Why a call failed. No variant carries the token, the request body or the response body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("PickyAssist could not be reached: {0}")]
    Unreachable(String),
    #[error("PickyAssist did not answer within {0:?}")]
    TimedOut(Duration),
    #[error("PickyAssist answered with HTTP {0}")]
    HttpStatus(u16),
    #[error("PickyAssist sent an answer we could not read: {0}")]
    Malformed(#[from] ParseError),
    #[error("PickyAssist refused the request (code {code}): {message}")]
    Rejected { code: i64, message: String },
}

impl ClientError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            ClientError::Unreachable(_) => ErrorKind::Unreachable,
            ClientError::TimedOut(_) => ErrorKind::TimedOut,
            ClientError::HttpStatus(_) => ErrorKind::HttpStatus,
            ClientError::Malformed(_) => ErrorKind::Malformed,
            ClientError::Rejected { .. } => ErrorKind::Rejected,
        }
    }
}

/// An async client for the two device endpoints. Cheap to clone (one connection pool).
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    status_url: Url,
    action_url: Url,
    request_timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("status_url", &self.status_url.as_str())
            .finish()
    }
}

#[derive(Serialize)]
struct StatusRequest<'a> {
    token: &'a str,
    application: u32,
}

#[derive(Serialize)]
struct ActionRequest<'a> {
    token: &'a str,
    command: &'static str,
    application: u32,
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .timeout(config.request_timeout)
            // A redirect would post the token again to whatever host `Location` names.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("picky-fleet/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                ClientError::Unreachable(format!("could not build the HTTP client: {e}"))
            })?;
        let mut base = config.base_url;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let join = |endpoint: &str| {
            base.join(endpoint)
                .map_err(|e| ClientError::Unreachable(format!("bad base URL: {e}")))
        };
        Ok(Self {
            status_url: join("device-status")?,
            action_url: join("device-action")?,
            http,
            request_timeout: config.request_timeout,
        })
    }

    /// The most one call may take, connecting included.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }

    /// `POST device-status`.
    pub async fn device_status(&self, token: &ApiToken) -> Result<DeviceStatus, ClientError> {
        let body = StatusRequest {
            token: token.expose(),
            application: APPLICATION_WHATSAPP_WEB,
        };
        let bytes = self.post(&self.status_url, &body).await?;
        match StatusReply::parse(&bytes)? {
            StatusReply::Status(status) => Ok(status),
            StatusReply::Rejected { code, message } => Err(ClientError::Rejected { code, message }),
        }
    }

    /// `POST device-action`. Upstream's "Success" only means the command was accepted.
    pub async fn device_action(
        &self,
        token: &ApiToken,
        command: Command,
    ) -> Result<ActionOutcome, ClientError> {
        let body = ActionRequest {
            token: token.expose(),
            command: command.wire_name(),
            application: APPLICATION_WHATSAPP_WEB,
        };
        let bytes = self.post(&self.action_url, &body).await?;
        let outcome = ActionOutcome::parse(&bytes)?;
        if outcome.is_success() {
            Ok(outcome)
        } else {
            Err(ClientError::Rejected {
                code: outcome.code,
                message: outcome.message,
            })
        }
    }

    async fn post(&self, url: &Url, body: &impl Serialize) -> Result<Vec<u8>, ClientError> {
        let mut response = self
            .http
            .post(url.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| self.transport_error(e))?;
        let status = response.status();
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(e))?
        {
            if bytes.len() + chunk.len() > MAX_BODY_BYTES {
                return Err(ClientError::Malformed(ParseError::NotJson(format!(
                    "the answer is larger than {MAX_BODY_BYTES} bytes"
                ))));
            }
            bytes.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            // Some gateways wrap a rejection in an error status; keep its message if so.
            if let Ok(outcome) = ActionOutcome::parse(&bytes) {
                if !outcome.is_success() && !outcome.message.is_empty() {
                    return Err(ClientError::Rejected {
                        code: outcome.code,
                        message: outcome.message,
                    });
                }
            }
            return Err(ClientError::HttpStatus(status.as_u16()));
        }
        Ok(bytes)
    }

    fn transport_error(&self, error: reqwest::Error) -> ClientError {
        if error.is_timeout() {
            return ClientError::TimedOut(self.request_timeout);
        }
        // The URL holds no secret (the token travels in the body), but keep messages short.
        let error = error.without_url();
        let mut cause = error.to_string();
        let mut source = std::error::Error::source(&error);
        while let Some(inner) = source {
            cause = format!("{cause}: {inner}");
            source = inner.source();
        }
        ClientError::Unreachable(cause.chars().take(300).collect())
    }
}
