//! `/api/v1/alert-channels`, `/alert-rules`, `/alerts`, `/maintenance-windows` and
//! `/projects/{id}/mute`: alerts over the service's rules (admins configure, operators
//! acknowledge and mute, viewers read).

use axum::{extract::State, http::StatusCode, Json};
use fleet::{
    model::{
        AlertChannelChange, AlertChannelView, AlertDetail, AlertPage, AlertQueryText, AlertRule,
        AlertRules, AlertView, CreatedAlertChannel, DeliveryResult, MaintenanceWindow, MuteRequest,
        NewAlertChannel, NewMaintenanceWindow, ProjectMute,
    },
    Fleet,
};

use super::{ApiError, ApiJson, ApiPath, ApiQuery, Caller, ErrorBody};

/// Every alert channel. Secrets (URLs' paths, signing secrets, SMTP passwords) are never
/// shown: `target` is the URL's host or the e-mail recipients.
#[utoipa::path(get, path = "/api/v1/alert-channels", tag = "alerts",
    responses((status = 200, body = Vec<AlertChannelView>), (status = 401, body = ErrorBody)))]
pub async fn list_channels(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
) -> Result<Json<Vec<AlertChannelView>>, ApiError> {
    Ok(Json(fleet.list_alert_channels(&actor).await?))
}

/// Adds a channel (admins). A webhook without a `secret` gets one made up, returned here once
/// as `signing_secret`: receivers check `X-Picky-Fleet-Signature: sha256=<hex HMAC-SHA256 of
/// the body>`. URLs must be http or https.
#[utoipa::path(post, path = "/api/v1/alert-channels", tag = "alerts", request_body = NewAlertChannel,
    responses((status = 201, body = CreatedAlertChannel), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_channel(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewAlertChannel>,
) -> Result<(StatusCode, Json<CreatedAlertChannel>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(fleet.add_alert_channel(&actor, new).await?),
    ))
}

/// Changes a channel (admins): name, enabled, URL, signing secret, e-mail settings, password.
/// A secret given replaces the stored one; one left out is kept.
#[utoipa::path(patch, path = "/api/v1/alert-channels/{id}", tag = "alerts", request_body = AlertChannelChange,
    params(("id" = i64, Path, description = "The channel's id")),
    responses((status = 200, body = AlertChannelView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn change_channel(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(change): ApiJson<AlertChannelChange>,
) -> Result<Json<AlertChannelView>, ApiError> {
    Ok(Json(fleet.change_alert_channel(&actor, id, change).await?))
}

/// Removes a channel (admins); its pending deliveries fail.
#[utoipa::path(delete, path = "/api/v1/alert-channels/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "The channel's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_channel(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    fleet.remove_alert_channel(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Sends a test alert to the channel now (admins) and says how it went: `ok`, the receiver's
/// HTTP status or SMTP code, the latency, the error. Waits at most 10 s.
#[utoipa::path(post, path = "/api/v1/alert-channels/{id}/test", tag = "alerts",
    params(("id" = i64, Path, description = "The channel's id")),
    responses((status = 200, body = DeliveryResult), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn test_channel(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<DeliveryResult>, ApiError> {
    Ok(Json(fleet.send_test_alert(&actor, id).await?))
}

/// The fleet-wide default rule and every project's own.
#[utoipa::path(get, path = "/api/v1/alert-rules", tag = "alerts",
    responses((status = 200, body = AlertRules), (status = 401, body = ErrorBody)))]
pub async fn rules(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
) -> Result<Json<AlertRules>, ApiError> {
    Ok(Json(fleet.alert_rules(&actor)?))
}

/// Sets the default rule (admins). Fields left out take their defaults: alert after 2 failing
/// polls, repeat every 60 min at most 5 times, recovered after 2 good polls.
#[utoipa::path(put, path = "/api/v1/alert-rules/default", tag = "alerts", request_body = AlertRule,
    responses((status = 200, body = AlertRule), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 422, body = ErrorBody)))]
pub async fn set_default_rule(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiJson(rule): ApiJson<AlertRule>,
) -> Result<Json<AlertRule>, ApiError> {
    Ok(Json(fleet.set_alert_rule(&actor, None, rule).await?))
}

/// Gives a project a rule of its own (admins); it replaces the default whole.
#[utoipa::path(put, path = "/api/v1/alert-rules/{project_id}", tag = "alerts", request_body = AlertRule,
    params(("project_id" = i64, Path, description = "The project's id")),
    responses((status = 200, body = AlertRule), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_project_rule(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(project_id): ApiPath<i64>,
    ApiJson(rule): ApiJson<AlertRule>,
) -> Result<Json<AlertRule>, ApiError> {
    Ok(Json(
        fleet.set_alert_rule(&actor, Some(project_id), rule).await?,
    ))
}

/// Removes a project's own rule (admins): the default applies again.
#[utoipa::path(delete, path = "/api/v1/alert-rules/{project_id}", tag = "alerts",
    params(("project_id" = i64, Path, description = "The project's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_project_rule(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(project_id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    fleet.remove_alert_rule(&actor, project_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Alerts, newest first, with the outbox's counts: filter by `status` (open, acknowledged,
/// resolved) and `project_id`; page with `before` and `limit` (1–500, default 100).
#[utoipa::path(get, path = "/api/v1/alerts", tag = "alerts", params(AlertQueryText),
    responses((status = 200, body = AlertPage), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn list_alerts(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiQuery(query): ApiQuery<AlertQueryText>,
) -> Result<Json<AlertPage>, ApiError> {
    Ok(Json(fleet.alerts_page(&actor, &query).await?))
}

/// One alert with every delivery and each attempt's result.
#[utoipa::path(get, path = "/api/v1/alerts/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "The alert's id")),
    responses((status = 200, body = AlertDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_alert(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertDetail>, ApiError> {
    Ok(Json(fleet.alert_detail(&actor, id).await?))
}

/// Acknowledges an open alert (operators): its reminders stop; who and when are kept.
#[utoipa::path(post, path = "/api/v1/alerts/{id}/acknowledge", tag = "alerts",
    params(("id" = i64, Path, description = "The alert's id")),
    responses((status = 200, body = AlertView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn acknowledge(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<Json<AlertView>, ApiError> {
    Ok(Json(fleet.acknowledge_alert(&actor, id).await?))
}

/// Maintenance windows: one-off or weekly (UTC).
#[utoipa::path(get, path = "/api/v1/maintenance-windows", tag = "alerts",
    responses((status = 200, body = Vec<MaintenanceWindow>), (status = 401, body = ErrorBody)))]
pub async fn list_windows(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
) -> Result<Json<Vec<MaintenanceWindow>>, ApiError> {
    Ok(Json(fleet.maintenance_windows(&actor).await?))
}

/// Schedules maintenance (admins): during it the project (or every project, without
/// `project_id`) alerts nobody.
#[utoipa::path(post, path = "/api/v1/maintenance-windows", tag = "alerts", request_body = NewMaintenanceWindow,
    responses((status = 201, body = MaintenanceWindow), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_window(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewMaintenanceWindow>,
) -> Result<(StatusCode, Json<MaintenanceWindow>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(fleet.add_maintenance_window(&actor, new).await?),
    ))
}

#[utoipa::path(delete, path = "/api/v1/maintenance-windows/{id}", tag = "alerts",
    params(("id" = i64, Path, description = "The window's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn remove_window(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    fleet.remove_maintenance_window(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Mutes a project's alerts for `minutes` (1 to 43200) (operators).
#[utoipa::path(put, path = "/api/v1/projects/{id}/mute", tag = "alerts", request_body = MuteRequest,
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 200, body = ProjectMute), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn mute(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
    ApiJson(request): ApiJson<MuteRequest>,
) -> Result<Json<ProjectMute>, ApiError> {
    Ok(Json(fleet.mute_project(&actor, id, request).await?))
}

/// Ends a project's mute (operators).
#[utoipa::path(delete, path = "/api/v1/projects/{id}/mute", tag = "alerts",
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unmute(
    State(fleet): State<Fleet>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<i64>,
) -> Result<StatusCode, ApiError> {
    fleet.unmute_project(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
