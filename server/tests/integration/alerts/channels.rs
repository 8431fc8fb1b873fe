//! Channels: e-mail through a real SMTP server, and settings that are refused.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_channel_sends_through_a_real_smtp_server_and_never_shows_its_password() {
    let s = setup().await;
    let mut smtp = SmtpReceiver::start("alerts@example.com", "smtp-pass-9876").await;
    let (status, body) = s
        .admin
        .call(
            Method::POST,
            "/api/v1/alert-channels",
            Some(json!({"name": "Support mail", "kind": "email", "password": "smtp-pass-9876",
                        "email": {"host": "127.0.0.1", "port": smtp.port, "security": "none",
                                  "username": "alerts@example.com", "from": "Picky Fleet <alerts@example.com>",
                                  "to": ["support@example.com", "oncall@example.com"]}})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert!(!body.contains("smtp-pass-9876"));
    let id = serde_json::from_str::<Value>(&body).expect("json")["channel"]["id"]
        .as_i64()
        .expect("id");
    let (status, body) = s
        .admin
        .call(
            Method::POST,
            &format!("/api/v1/alert-channels/{id}/test"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let result: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(result["ok"], true, "{body}");
    assert_eq!(result["status"], 250);
    let mail = smtp.next_message().await;
    assert_eq!(mail["user"], "alerts@example.com");
    assert_eq!(
        mail["to"],
        json!(["support@example.com", "oncall@example.com"])
    );
    assert!(mail["data"]
        .as_str()
        .is_some_and(|d| d.contains("Subject: [Picky Fleet] Test")));
    // A wrong password: the test says so, and the password is in no answer.
    let (status, _) = s
        .admin
        .call(
            Method::PATCH,
            &format!("/api/v1/alert-channels/{id}"),
            Some(json!({"password": "wrong-password"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, body) = s
        .admin
        .call(
            Method::POST,
            &format!("/api/v1/alert-channels/{id}/test"),
            None,
        )
        .await;
    let result: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(result["ok"], false, "{body}");
    assert!(
        result["error"]
            .as_str()
            .is_some_and(|e| e.contains("SMTP 535")),
        "{body}"
    );
    let (_, listed) = s
        .admin
        .call(Method::GET, "/api/v1/alert-channels", None)
        .await;
    assert!(
        !listed.contains("smtp-pass")
            && !listed.contains("wrong-password")
            && !listed.contains("secret-path")
    );
    assert_eq!(s.app.audit_rows(AuditAction::AlertTestSent).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn impossible_settings_are_refused_with_a_reason_and_change_nothing() {
    let s = setup().await;
    let cases = [
        (
            "/api/v1/alert-channels",
            Method::POST,
            json!({"name": "x", "kind": "webhook", "url": "ftp://example.com/x"}),
            "http:// or https://",
        ),
        (
            "/api/v1/alert-channels",
            Method::POST,
            json!({"name": "x", "kind": "slack", "url": "javascript:alert(1)"}),
            "http:// or https://",
        ),
        (
            "/api/v1/alert-channels",
            Method::POST,
            json!({"name": "x", "kind": "email", "email": {"host": "h", "port": 25, "from": "not an address", "to": ["a@example.com"]}}),
            "is not an e-mail address",
        ),
        (
            "/api/v1/alert-rules/default",
            Method::PUT,
            json!({"fail_after": 0}),
            "fail_after",
        ),
        (
            "/api/v1/alert-rules/default",
            Method::PUT,
            json!({"repeat_every_minutes": 0}),
            "repeat_every_minutes",
        ),
        (
            "/api/v1/alert-rules/default",
            Method::PUT,
            json!({"device_channels": [999]}),
            "no alert channel with id 999",
        ),
        (
            "/api/v1/maintenance-windows",
            Method::POST,
            json!({"schedule": {"kind": "once", "starts_at": "2026-12-03T10:00:00Z", "ends_at": "2026-12-03T09:00:00Z"}}),
            "end after it starts",
        ),
        (
            "/api/v1/maintenance-windows",
            Method::POST,
            json!({"schedule": {"kind": "weekly", "weekday": 9, "start": "10:00", "duration_minutes": 60}}),
            "weekday",
        ),
    ];
    let rules_before = s
        .admin
        .call(Method::GET, "/api/v1/alert-rules", None)
        .await
        .1;
    let audit_before = s.app.audit_rows(AuditAction::AlertRuleChanged).await.len();
    for (path, method, body, why) in cases {
        let (status, answer) = s.admin.call(method, path, Some(body.clone())).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {answer}");
        assert!(answer.contains(why), "{body}: {answer}");
    }
    let (_, channels) = s
        .admin
        .call(Method::GET, "/api/v1/alert-channels", None)
        .await;
    assert_eq!(
        serde_json::from_str::<Vec<Value>>(&channels)
            .expect("json")
            .len(),
        1
    );
    assert_eq!(
        s.admin
            .call(Method::GET, "/api/v1/alert-rules", None)
            .await
            .1,
        rules_before
    );
    assert_eq!(
        s.app.audit_rows(AuditAction::AlertRuleChanged).await.len(),
        audit_before
    );
    let (_, windows) = s
        .admin
        .call(Method::GET, "/api/v1/maintenance-windows", None)
        .await;
    assert_eq!(windows, "[]");
    // Operators mute but do not configure.
    let operator = client(
        &s.app,
        Some(s.app.api_key_for("olga", Role::Operator).await),
    );
    let (status, _) = operator
        .call(
            Method::POST,
            "/api/v1/alert-channels",
            Some(json!({"name": "y", "kind": "slack", "url": "https://example.com/"})),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}
