//! The Alerts page's channels: the list (target in brief, never a secret), a "send test
//! alert" button and a Remove button per channel, and a form to add one, for admins.
//!
//! The form shows the fields of the kind chosen (CSS `:has()`, no script). A webhook added
//! here needs its signing secret typed: the API makes one up and shows it once in its answer,
//! but a redirect back to this page could only carry it in the URL, where secrets do not go.

use fleet::model::AlertChannelView;
use leptos::{either::Either, prelude::*, server_fn::ServerFn};

use crate::error::AppError;

/// From the channel list: sends a test alert, then back to the page with the result.
#[server(prefix = "/fn", endpoint = "test_alert_channel")]
pub async fn test_alert_channel(channel_id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = fleet
        .send_test_alert(&actor, channel_id)
        .await
        .and_then(|result| match result.ok {
            true => Ok(format!("Test alert delivered ({} ms).", result.latency_ms)),
            false => Err(fleet::FleetError::Unavailable(format!(
                "The test alert failed: {}",
                result.error.unwrap_or_default()
            ))),
        });
    crate::page::back_with_outcome("/alerts", outcome);
    Ok(())
}

/// The add form's fields, as the browser posts them (every input, filled or not).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ChannelForm {
    name: String,
    kind: String,
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    smtp_security: String,
    #[serde(default)]
    smtp_username: String,
    #[serde(default)]
    smtp_password: String,
    #[serde(default)]
    mail_from: String,
    #[serde(default)]
    mail_to: String,
}

#[cfg(feature = "ssr")]
impl ChannelForm {
    /// The request the API would take; what the service checks, it checks there.
    fn into_new_channel(self) -> Result<fleet::model::NewAlertChannel, fleet::FleetError> {
        use fleet::{
            model::{ChannelKind, EmailSettings, NewAlertChannel, SmtpSecurity},
            FleetError,
        };
        let filled = |s: String| (!s.trim().is_empty()).then_some(s);
        let kind = ChannelKind::parse(&self.kind)
            .ok_or_else(|| FleetError::Invalid(format!("unknown channel kind {:?}", self.kind)))?;
        if kind == ChannelKind::Webhook && self.secret.trim().is_empty() {
            return Err(FleetError::Invalid(
                "type a signing secret: the receiver checks each message's signature with it"
                    .into(),
            ));
        }
        let email = (kind == ChannelKind::Email)
            .then(|| {
                let port = self.smtp_port.trim().parse().map_err(|_| {
                    FleetError::Invalid(format!("{:?} is not a port number", self.smtp_port))
                })?;
                let security = match self.smtp_security.as_str() {
                    "tls" => SmtpSecurity::Tls,
                    "none" => SmtpSecurity::None,
                    _ => SmtpSecurity::Starttls,
                };
                Ok::<_, FleetError>(EmailSettings {
                    host: self.smtp_host.trim().to_owned(),
                    port,
                    security,
                    username: self.smtp_username.trim().to_owned(),
                    from: self.mail_from.trim().to_owned(),
                    to: self
                        .mail_to
                        .split([',', '\n'])
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect(),
                })
            })
            .transpose()?;
        Ok(NewAlertChannel {
            name: self.name,
            kind,
            url: (kind != ChannelKind::Email).then_some(self.url),
            secret: (kind == ChannelKind::Webhook).then_some(self.secret),
            email,
            password: filled(self.smtp_password).filter(|_| kind == ChannelKind::Email),
        })
    }
}

#[server(prefix = "/fn", endpoint = "add_alert_channel")]
pub async fn add_alert_channel(form: ChannelForm) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = match form.into_new_channel() {
        Ok(new) => fleet
            .add_alert_channel(&actor, new)
            .await
            .map(|created| format!("Channel {:?} added.", created.channel.name)),
        Err(e) => Err(e),
    };
    crate::page::back_with_outcome("/alerts", outcome);
    Ok(())
}

#[server(prefix = "/fn", endpoint = "remove_alert_channel")]
pub async fn remove_alert_channel(channel_id: i64) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = fleet
        .remove_alert_channel(&actor, channel_id)
        .await
        .map(|()| "Channel removed.".to_owned());
    crate::page::back_with_outcome("/alerts", outcome);
    Ok(())
}

#[component]
pub(super) fn Channels(channels: Vec<AlertChannelView>, is_admin: bool) -> impl IntoView {
    view! {
        <h2 id="channels-title">"Channels"</h2>
        {if channels.is_empty() {
            Either::Left(view! {
                <p class="empty">
                    {if is_admin {
                        "No channels yet: add one below, then choose it in the default rule."
                    } else {
                        "No channels yet: an admin adds them here."
                    }}
                </p>
            })
        } else {
            Either::Right(view! {
                <ul class="alerts__channels" aria-labelledby="channels-title">
                    {channels.into_iter().map(|c| view! { <ChannelItem channel=c is_admin/> }).collect_view()}
                </ul>
            })
        }}
        {is_admin.then(|| view! { <AddChannel/> })}
    }
}

#[component]
fn ChannelItem(channel: AlertChannelView, is_admin: bool) -> impl IntoView {
    let buttons = is_admin.then(|| {
        view! {
            <form method="post" action={<TestAlertChannel as ServerFn>::url()} class="inline-form">
                <input type="hidden" name="channel_id" value=channel.id/>
                <button type="submit" class="btn" aria-label=format!("Send a test alert to {}", channel.name)>"Send test alert"</button>
            </form>
            " "
            <form method="post" action={<RemoveAlertChannel as ServerFn>::url()} class="inline-form">
                <input type="hidden" name="channel_id" value=channel.id/>
                <button type="submit" class="btn btn--danger" aria-label=format!("Remove channel {}", channel.name)>"Remove"</button>
            </form>
        }
    });
    view! {
        <li>
            <strong>{channel.name.clone()}</strong>" · "{channel.kind.label()}" · "
            <span class="muted">{channel.target.clone()}</span>
            {(!channel.enabled).then_some(" · disabled")}
            " "{buttons}
        </li>
    }
}

#[component]
fn AddChannel() -> impl IntoView {
    view! {
        <details class="settings-form">
            <summary>"Add a channel"</summary>
            <form method="post" action={<AddAlertChannel as ServerFn>::url()} class="channel-form">
                <label class="field">"Name"<input type="text" name="form[name]" required maxlength="60" placeholder="On call"/></label>
                <label class="field">
                    "Kind"
                    <select name="form[kind]" class="channel-form__kind">
                        <option value="webhook">"Webhook (signed JSON)"</option>
                        <option value="slack">"Slack-compatible (Slack, Mattermost, Rocket.Chat, Discord /slack)"</option>
                        <option value="email">"E-mail (SMTP)"</option>
                    </select>
                </label>
                <fieldset class="channel-form__web">
                    <legend>"Web address"</legend>
                    <label class="field">"URL"<input type="url" name="form[url]" placeholder="https://hooks.example.com/…"/></label>
                    <label class="field channel-form__secret">
                        "Signing secret (webhook; write-only)"
                        <input type="password" name="form[secret]" autocomplete="new-password" minlength="16"/>
                    </label>
                </fieldset>
                <fieldset class="channel-form__email">
                    <legend>"SMTP server"</legend>
                    <label class="field">"Host"<input type="text" name="form[smtp_host]" placeholder="smtp.example.com"/></label>
                    <label class="field">"Port"<input type="number" name="form[smtp_port]" min="1" max="65535" value="587"/></label>
                    <label class="field">
                        "Security"
                        <select name="form[smtp_security]">
                            <option value="starttls">"STARTTLS (587)"</option>
                            <option value="tls">"TLS (465)"</option>
                            <option value="none">"None (local relay only)"</option>
                        </select>
                    </label>
                    <label class="field">"User name (empty: none)"<input type="text" name="form[smtp_username]" autocomplete="off"/></label>
                    <label class="field">"Password (write-only)"<input type="password" name="form[smtp_password]" autocomplete="new-password"/></label>
                    <label class="field">"From"<input type="text" name="form[mail_from]" placeholder="Picky Fleet <alerts@example.com>"/></label>
                    <label class="field">"To (comma-separated)"<input type="text" name="form[mail_to]" placeholder="oncall@example.com"/></label>
                </fieldset>
                <button type="submit" class="btn btn--primary">"Add channel"</button>
            </form>
        </details>
    }
}
