//! The Alerts page's rules: the fleet-wide default rule in words (when an alert opens, how
//! often it reminds, where it goes), the projects with a rule of their own, and for admins a
//! form to change the default.
//!
//! The form posts as a map (`form[fail_after]`, `form[device_3]`, …): a checkbox that is not
//! ticked is simply absent, which a map says plainly and a struct of lists would not.

use std::collections::HashMap;

use fleet::model::{AlertChannelView, AlertRule, AlertRules};
use leptos::{prelude::*, server_fn::ServerFn};

use crate::error::AppError;

#[cfg(feature = "ssr")]
fn rule_from_form(form: &HashMap<String, String>) -> Result<AlertRule, fleet::FleetError> {
    let number = |key: &str, what: &str| {
        crate::page::form_number(form.get(key).map_or("", String::as_str), what)
    };
    let ticked = |key: &str| form.contains_key(key);
    let channels = |prefix: &str| {
        let mut ids: Vec<i64> = form
            .keys()
            .filter_map(|k| k.strip_prefix(prefix)?.parse().ok())
            .collect();
        ids.sort_unstable();
        ids
    };
    Ok(AlertRule {
        fail_after: number("fail_after", "failing polls before an alert")?,
        on_timeout: ticked("on_timeout"),
        on_unpaired: ticked("on_unpaired"),
        on_unknown_state: ticked("on_unknown_state"),
        on_dashboard_faults: ticked("on_dashboard_faults"),
        repeat_every_minutes: number("repeat_every_minutes", "minutes between reminders")?,
        repeat_max: number("repeat_max", "reminders at most")?,
        recover_after: number("recover_after", "good polls before recovered")?,
        device_channels: channels("device_"),
        fault_channels: channels("fault_"),
    })
}

#[server(prefix = "/fn", endpoint = "set_default_alert_rule")]
pub async fn set_default_alert_rule(form: HashMap<String, String>) -> Result<(), AppError> {
    let (fleet, actor) = crate::auth::ssr::caller().await?;
    let outcome = match rule_from_form(&form) {
        Ok(rule) => fleet
            .set_alert_rule(&actor, None, rule)
            .await
            .map(|_| "Default rule saved.".to_owned()),
        Err(e) => Err(e),
    };
    crate::page::back_with_outcome("/alerts", outcome);
    Ok(())
}

/// "Acme, Bella" from channel ids, or "nobody".
fn channel_names(ids: &[i64], channels: &[AlertChannelView]) -> String {
    let names: Vec<&str> = ids
        .iter()
        .filter_map(|id| channels.iter().find(|c| c.id == *id))
        .map(|c| c.name.as_str())
        .collect();
    if names.is_empty() {
        "nobody".to_owned()
    } else {
        names.join(", ")
    }
}

/// The rule in one paragraph.
fn describe(rule: &AlertRule, channels: &[AlertChannelView]) -> String {
    let states: Vec<&str> = [
        (rule.on_timeout, "Timeout"),
        (rule.on_unpaired, "Unpaired"),
        (rule.on_unknown_state, "Unknown state"),
    ]
    .into_iter()
    .filter_map(|(on, label)| on.then_some(label))
    .collect();
    let states = if states.is_empty() {
        "no device state".to_owned()
    } else {
        states.join(", ")
    };
    let faults = if rule.on_dashboard_faults {
        format!(
            " Faults on the dashboard's side go to {}.",
            channel_names(&rule.fault_channels, channels)
        )
    } else {
        " Faults on the dashboard's side alert nobody.".to_owned()
    };
    format!(
        "An alert opens after {} failing polls ({states}) and goes to {}; it reminds every {} \
         min, at most {} times, and recovers after {} good polls.{faults}",
        rule.fail_after,
        channel_names(&rule.device_channels, channels),
        rule.repeat_every_minutes,
        rule.repeat_max,
        rule.recover_after,
    )
}

#[component]
pub(super) fn Rules(
    rules: AlertRules,
    channels: Vec<AlertChannelView>,
    is_admin: bool,
) -> impl IntoView {
    let summary = describe(&rules.default, &channels);
    let own: Vec<String> = rules
        .projects
        .iter()
        .map(|p| p.project_name.clone())
        .collect();
    view! {
        <h2 id="rules-title">"Default rule"</h2>
        <p>{summary}</p>
        {(!own.is_empty()).then(|| view! {
            <p class="muted">{format!("With a rule of their own (PUT /api/v1/alert-rules/{{project_id}}): {}.", own.join(", "))}</p>
        })}
        {is_admin.then(|| view! { <RuleForm rule=rules.default channels/> })}
    }
}

#[component]
fn RuleForm(rule: AlertRule, channels: Vec<AlertChannelView>) -> impl IntoView {
    let number = |name: &'static str, label: &'static str, value: u32, min: u32, max: u32| {
        view! {
            <label class="field">{label}<input type="number" name=format!("form[{name}]") value=value min=min max=max required/></label>
        }
    };
    let tick = |name: &'static str, label: &'static str, on: bool| {
        view! {
            <label class="check"><input type="checkbox" name=format!("form[{name}]") checked=on/>" "{label}</label>
        }
    };
    let choose = |prefix: &'static str, chosen: Vec<i64>, channels: &[AlertChannelView]| {
        if channels.is_empty() {
            return view! { <p class="muted">"No channels yet: add one above."</p> }.into_any();
        }
        channels
            .iter()
            .map(|c| {
                let on = chosen.contains(&c.id);
                view! {
                    <label class="check"><input type="checkbox" name=format!("form[{prefix}{}]", c.id) checked=on/>" "{c.name.clone()}</label>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <details class="settings-form">
            <summary>"Change the default rule"</summary>
            <form method="post" action={<SetDefaultAlertRule as ServerFn>::url()} class="channel-form">
                {number("fail_after", "Failing polls before an alert", rule.fail_after, 1, 100)}
                <fieldset>
                    <legend>"What counts as failing"</legend>
                    {tick("on_timeout", "Timeout", rule.on_timeout)}
                    {tick("on_unpaired", "Unpaired", rule.on_unpaired)}
                    {tick("on_unknown_state", "Unknown state", rule.on_unknown_state)}
                    {tick("on_dashboard_faults", "Faults on the dashboard's side (unreachable, token rejected, bad answers)", rule.on_dashboard_faults)}
                </fieldset>
                {number("repeat_every_minutes", "Minutes between reminders", rule.repeat_every_minutes, 1, 10_080)}
                {number("repeat_max", "Reminders at most (0: none)", rule.repeat_max, 0, 100)}
                {number("recover_after", "Good polls before recovered", rule.recover_after, 1, 100)}
                <fieldset>
                    <legend>"Device alerts go to (the customer's contacts)"</legend>
                    {choose("device_", rule.device_channels.clone(), &channels)}
                </fieldset>
                <fieldset>
                    <legend>"Dashboard faults and storms go to (whoever runs the dashboard)"</legend>
                    {choose("fault_", rule.fault_channels.clone(), &channels)}
                </fieldset>
                <button type="submit" class="btn btn--primary">"Save the default rule"</button>
            </form>
        </details>
    }
}
