use fleet::{
    auth::Actor,
    model::{AuditAction, AuditOutcome, Role},
};

use crate::helpers::{assert_no_token_in, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_sets_a_strict_http_only_session_cookie_and_is_audited() {
    let app = spawn_app().await;
    let client = app.anonymous();
    let response = client.sign_in("admin", &app.admin_password).await;
    assert!(
        response.status().is_redirection() || response.status().is_success(),
        "{}",
        response.status()
    );
    let cookie = session_cookie(&response);
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let signed_in = app.audit_rows(AuditAction::SignIn).await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].actor, "admin");
    assert_eq!(client.get("/").await.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_and_an_unknown_user_get_the_same_answer_and_are_audited() {
    let app = spawn_app().await;
    let wrong = app.anonymous().sign_in("admin", "not-the-password").await;
    let unknown = app.anonymous().sign_in("nobody", "not-the-password").await;
    for response in [wrong, unknown] {
        assert_eq!(
            response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok()),
            Some("/sign-in?failed=1")
        );
    }
    let failed = app.audit_rows(AuditAction::SignInFailed).await;
    assert!(
        failed
            .iter()
            .all(|r| r.request_id.as_deref().is_some_and(|id| id.len() >= 32)),
        "failed sign-ins carry their request id: {failed:?}"
    );
    assert_eq!(failed.len(), 2);
    assert!(failed.iter().all(|r| r.outcome == AuditOutcome::Denied));
    assert_eq!(failed[0].actor, "nobody");
    assert!(failed[0]
        .detail
        .as_deref()
        .unwrap_or_default()
        .contains("unknown user"));
    assert!(failed[1]
        .detail
        .as_deref()
        .unwrap_or_default()
        .contains("wrong password"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_visitors_are_sent_to_sign_in_and_get_401_from_server_functions() {
    let app = spawn_app().await;
    let anonymous = app.anonymous();
    let page = anonymous.get_page("/").await;
    assert!(page.status().is_redirection(), "{}", page.status());
    assert_eq!(
        page.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/sign-in")
    );
    for endpoint in ["/fn/fleet", "/fn/refresh_project"] {
        let response = anonymous.post_form(endpoint, &[("project_id", "1")]).await;
        assert_eq!(response.status(), 401, "{endpoint}");
    }
    assert_eq!(anonymous.get("/api/v1/events").await.status(), 401);
    let sign_in_page = anonymous.get_page("/sign-in").await;
    assert_eq!(sign_in_page.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    assert_eq!(viewer.post_form("/fn/fleet", &[]).await.status(), 200);
    viewer.post_form("/fn/sign_out", &[]).await;
    assert_eq!(viewer.post_form("/fn/fleet", &[]).await.status(), 401);
    assert_eq!(app.audit_rows(AuditAction::SignOut).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_see_the_fleet_without_command_buttons_and_no_token_anywhere() {
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let page = viewer.text("/").await;
    assert!(page.contains("Acme Support"));
    assert!(
        !page.contains("data-command="),
        "viewers get no command buttons"
    );
    assert_no_token_in(&page, "viewer fleet page");
    let fleet = viewer
        .post_form("/fn/fleet", &[])
        .await
        .text()
        .await
        .expect("body");
    assert_no_token_in(&fleet, "fleet server function");
    let acme = app.project_id("Acme Support");
    let asked = viewer.text(&format!("/?commands={acme}")).await;
    assert!(
        !asked.contains("data-command="),
        "viewers get no command buttons, even when they ask"
    );

    // Operators get a closed panel per card; its forms come when it is opened, or with
    // `?commands=ID` (how a browser without JavaScript opens it).
    let operator = app.signed_in("otto", Role::Operator).await;
    let page = operator.text("/").await;
    assert!(
        page.contains(&format!("href=\"/?commands={acme}#card-{acme}-name\"")),
        "each card links to its commands"
    );
    assert!(
        !page.contains("data-command="),
        "no forms until a panel is opened"
    );
    let page = operator.text(&format!("/?commands={acme}")).await;
    assert_eq!(
        page.matches("data-command=\"restart\"").count(),
        1,
        "the asked card's forms, and only its"
    );
    assert_eq!(
        page.matches("<details open class=\"commands\">").count(),
        1,
        "that panel is rendered open"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers_and_big_bodies_are_refused() {
    let app = spawn_app().await;
    let anonymous = app.anonymous();
    for path in ["/sign-in", "/api/v1/projects", "/healthz"] {
        let response = anonymous.get_page(path).await;
        let headers = response.headers();
        let get = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
        assert!(
            get("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
    }
    let big = "x".repeat(100 * 1024);
    let response = anonymous
        .post_form("/fn/sign_in", &[("username", "admin"), ("password", &big)])
        .await;
    assert_eq!(response.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_allow_only_our_scripts_and_the_inline_ones_carrying_this_responses_nonce() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut nonces = Vec::new();
    for path in ["/", "/audit", "/admin/projects", "/admin/users", "/sign-in"] {
        let response = admin.get_page(path).await;
        let policy = response
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let page = response.text().await.expect("body");
        let script_src = policy
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("script-src "))
            .unwrap_or_else(|| panic!("{path}: no script-src in {policy:?}"));
        assert!(!script_src.contains("unsafe-inline") && !script_src.contains("'unsafe-eval'"));
        let nonce = script_src
            .split_whitespace()
            .find_map(|s| s.strip_prefix("'nonce-")?.strip_suffix('\''))
            .unwrap_or_else(|| panic!("{path}: no nonce in {script_src:?}"));
        // Every script element in the page carries it, or the browser would refuse to run it.
        let scripts = page.matches("<script").count();
        assert!(scripts > 0, "{path}: the page hydrates with scripts");
        assert_eq!(
            page.matches(&format!("<script nonce=\"{nonce}\"")).count()
                + page
                    .matches(&format!("<script type=\"module\" nonce=\"{nonce}\""))
                    .count(),
            scripts,
            "{path}: {page}"
        );
        nonces.push(nonce.to_owned());
    }
    nonces.sort();
    nonces.dedup();
    assert_eq!(nonces.len(), 5, "a fresh nonce for every response");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_session_cookie_is_secure_when_served_over_https() {
    for secure in [false, true] {
        let app = crate::helpers::spawn_app_with(|s| s.secure_cookies = secure).await;
        let response = app
            .anonymous()
            .post_form(
                "/fn/sign_in",
                &[("username", "admin"), ("password", &app.admin_password)],
            )
            .await;
        let cookie = session_cookie(&response);
        assert!(cookie.contains("HttpOnly"), "{cookie}");
        assert!(cookie.contains("SameSite=Strict"), "{cookie}");
        assert_eq!(cookie.contains("Secure"), secure, "{cookie}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_is_a_consistent_copy_that_opens_with_every_row() {
    let app = spawn_app().await;
    app.signed_in("vera", Role::Viewer).await;
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("backup.db");
    if crate::helpers::on_postgres() {
        // PostgreSQL is backed up with its own tools: the dashboard says so and writes nothing.
        let refused = app
            .fleet
            .backup(&Actor::cli(), &path)
            .await
            .expect_err("refused");
        assert!(refused.to_string().contains("pg_dump"), "{refused}");
        assert!(!path.exists());
        return;
    }
    app.fleet
        .backup(&Actor::cli(), &path)
        .await
        .expect("backup");
    let copy = sqlx::SqlitePool::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("open copy");
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&copy)
        .await
        .expect("users");
    let projects: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM projects")
        .fetch_one(&copy)
        .await
        .expect("projects");
    assert_eq!((users, projects), (2, 6), "admin + vera, the demo fleet");
    let again = app
        .fleet
        .backup(&Actor::cli(), &path)
        .await
        .expect_err("no overwrite");
    assert!(again.to_string().contains("already exists"));
    let viewer = Actor {
        user_id: Some(2),
        name: "vera".into(),
        role: Role::Viewer,
        request_id: None,
    };
    assert!(
        app.fleet
            .backup(&viewer, &dir.path().join("other.db"))
            .await
            .is_err(),
        "admins only"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_rate_limited_per_username_and_per_client() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.sign_in_per_user_per_minute = 3;
        s.sign_in_per_client_per_minute = 6;
    })
    .await;
    let client = app.anonymous();
    // The first wrong password comes from a clean address: it does not count against `admin`
    // (see the lockout test below); the next three spend the username's quota.
    for _ in 0..4 {
        client.sign_in("admin", "not-the-password").await;
    }
    // Even the right password waits now: guessing gains nothing by speed.
    let limited = client.sign_in("admin", &app.admin_password).await;
    let location = location_of(&limited);
    assert!(location.starts_with("/sign-in?retry_after="), "{location}");
    assert_eq!(
        client.post_form("/fn/fleet", &[]).await.status(),
        401,
        "not signed in"
    );
    // The same address, other usernames: 4 attempts counted so far (a limited one takes none),
    // so the per-client limit of 6 lets two more through and stops the third.
    client.sign_in("someone", "x-password-1").await;
    client.sign_in("someone-else", "x-password-2").await;
    let limited = client.sign_in("a-third", "x-password-3").await;
    let location = location_of(&limited);
    assert!(location.starts_with("/sign-in?retry_after="), "{location}");
    // Six attempts were checked and audited; the two refused ones are only counted so far.
    assert_eq!(app.audit_rows(AuditAction::SignInFailed).await.len(), 6);
    // When their window closes (a minute later; the test moves the clock instead of waiting),
    // each limit that refused gets one summary row.
    app.fleet
        .flush_refused_sign_ins(std::time::Instant::now() + fleet::sign_in_limit::WINDOW)
        .await
        .expect("flush");
    let failures = app.audit_rows(AuditAction::SignInFailed).await;
    assert_eq!(failures.len(), 8);
    let summaries: Vec<&str> = failures
        .iter()
        .filter_map(|r| r.detail.as_deref())
        .filter(|d| d.contains("refused"))
        .collect();
    assert_eq!(summaries.len(), 2, "{summaries:?}");
    assert!(
        summaries.iter().any(|d| d.contains("for this username")),
        "{summaries:?}"
    );
    assert!(
        summaries.iter().any(|d| d.contains("from ")),
        "{summaries:?}"
    );
}

/// Hole 6: an attacker who spends `admin`'s attempts does not lock the real admin out, and
/// behind a trusted proxy each client has its own bucket (the proxy's address is not shared).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_an_attacker_cannot_lock_the_admin_out() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.sign_in_per_user_per_minute = 3;
        s.sign_in_per_client_per_minute = 5;
        s.trusted_proxies = server::client_addr::TrustedProxies::parse("127.0.0.1/32").unwrap();
    })
    .await;
    let attacker = app.anonymous();
    // One guess from a clean address, then three that spend `admin`'s quota.
    for n in 0..4 {
        let r = attacker
            .sign_in_via_proxy("admin", &format!("guess-{n}"), "203.0.113.9")
            .await;
        assert_eq!(location_of(&r), "/sign-in?failed=1", "guess {n} is checked");
    }
    let refused = attacker
        .sign_in_via_proxy("admin", "guess-4", "203.0.113.9")
        .await;
    assert!(
        location_of(&refused).starts_with("/sign-in?retry_after="),
        "the attacker's address waits"
    );
    // The real admin, from another address behind the same proxy, gets in at once.
    let real = app.anonymous();
    let r = real
        .sign_in_via_proxy("admin", &app.admin_password, "198.51.100.4")
        .await;
    assert_eq!(location_of(&r), "/", "the admin signs in");
    assert_eq!(real.get("/api/v1/projects").await.status(), 200);
    // The audit rows name the client as the proxy reported it.
    let signed_in = app.audit_rows(AuditAction::SignIn).await;
    assert_eq!(signed_in[0].detail.as_deref(), Some("from 198.51.100.4"));
    // A client's own X-Forwarded-For entry, left of what the proxy appended, is not believed:
    // the attacker's bucket (5 a minute, 4 spent) takes one more, then refuses.
    for n in 0..2 {
        attacker
            .sign_in_via_proxy("x", &format!("guess-{n}"), "1.1.1.1, 203.0.113.9")
            .await;
    }
    let r = attacker
        .sign_in_via_proxy("y", "guess", "1.1.1.2, 203.0.113.9")
        .await;
    assert!(
        location_of(&r).starts_with("/sign-in?retry_after="),
        "still the attacker's bucket: {}",
        location_of(&r)
    );
}

/// Without trusted proxies, X-Forwarded-For is ignored: a client cannot leave its bucket by
/// naming another address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_trusted_proxies_a_forged_forwarded_for_changes_nothing() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.sign_in_per_client_per_minute = 2;
    })
    .await;
    let client = app.anonymous();
    for n in 0..2 {
        client
            .sign_in_via_proxy(&format!("u{n}"), "pw-guess-1", &format!("192.0.2.{n}"))
            .await;
    }
    let r = client
        .sign_in_via_proxy("u9", "pw-guess-1", "192.0.2.99")
        .await;
    assert!(location_of(&r).starts_with("/sign-in?retry_after="));
    let failed = app.audit_rows(AuditAction::SignInFailed).await;
    assert!(
        failed
            .iter()
            .all(|row| !row.detail.as_deref().unwrap_or("").contains("192.0.2.")),
        "the forged address is recorded nowhere: {failed:?}"
    );
}

/// A loop of anonymous sign-ins (8 KB request ids, 16 at a time) cannot fill the audit log:
/// refused attempts are counted, not written, and a request id from outside is kept only when
/// short and plain. Commands meanwhile go through normally.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_anonymous_sign_ins_leave_few_rows_and_commands_still_run() {
    use futures::StreamExt;
    let app = spawn_app().await;
    app.wait_for_first_poll().await;
    let operator = app.signed_in("otto", Role::Operator).await;
    let rows_before = app.audit_rows(AuditAction::SignInFailed).await.len();
    let attacker = reqwest::Client::new();
    let huge_id = "x".repeat(8 * 1024);
    let flood = futures::stream::iter(0..10_000)
        .map(|n| {
            let request = attacker
                .post(format!("{}/fn/sign_in", app.address))
                .header("origin", &app.address)
                .header("x-request-id", &huge_id)
                .form(&[
                    ("username", format!("guess-{n}")),
                    ("password", "password-guess".to_owned()),
                ])
                .send();
            async move { request.await.map(|r| r.status()) }
        })
        .buffer_unordered(16)
        .collect::<Vec<_>>();
    let id = app
        .project_id(pickyassist_sim::DEMO_FLEET[0].name)
        .to_string();
    let command = async {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        operator
            .post_form(
                "/fn/run_command",
                &[("project_id", &id), ("command", "restart")],
            )
            .await
    };
    let (statuses, command) = tokio::join!(flood, command);
    assert_eq!(command.status(), 200, "a command during the flood");
    assert!(
        statuses.iter().all(|s| s.is_ok()),
        "every attempt was answered"
    );
    app.fleet
        .flush_refused_sign_ins(std::time::Instant::now() + fleet::sign_in_limit::WINDOW)
        .await
        .expect("flush");
    let rows = app.audit_rows(AuditAction::SignInFailed).await;
    let added = rows.len() - rows_before;
    assert!(added < 100, "{added} rows for 10,000 attempts");
    assert!(
        rows.iter()
            .all(|r| r.request_id.as_deref().is_none_or(|id| id.len() <= 64)),
        "an 8 KB request id is replaced, not stored"
    );
}

/// Where a redirect points ("" when it is none).
fn location_of(response: &reqwest::Response) -> String {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// The `Set-Cookie` line of the session cookie in `response`.
fn session_cookie(response: &reqwest::Response) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("picky_fleet_session="))
        .unwrap_or_else(|| panic!("no session cookie: {:?}", response.headers()))
        .to_owned()
}

/// Sign-in follows `next` only to a plain path on this site: the bypasses browsers read as
/// another host (a tab, a newline, a backslash, a second slash, encoded or not) go to `/`, and
/// none of them breaks the page or the redirect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_redirects_only_to_local_paths_whatever_next_says() {
    let app = spawn_app().await;
    let cases = [
        ("/audit?actor=alice", "/audit?actor=alice"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/%2F/evil.example", "/"),
        ("/%09/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("https://evil.example/", "/"),
    ];
    for (next, want) in cases {
        // A fresh client each time; the per-username limit (10 a minute) holds the cases.
        let client = app.anonymous();
        let response = client
            .http
            .post(format!("{}/fn/sign_in", client.address))
            .header("origin", &client.address)
            .header("accept", "text/html")
            .form(&[
                ("username", "admin"),
                ("password", app.admin_password.as_str()),
                ("next", next),
            ])
            .send()
            .await
            .expect("request");
        assert!(
            response.status().is_redirection(),
            "{next:?}: {}",
            response.status()
        );
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        assert_eq!(location, want, "next={next:?}");
    }
    for next in ["%0A", "%09%2F%2Fevil.example", "%5C%5Cevil"] {
        let page = app
            .anonymous()
            .get_page(&format!("/sign-in?next={next}"))
            .await;
        assert_eq!(page.status(), 200, "/sign-in?next={next}");
    }
}

/// A session expires after `session_idle` without a request, counted from the last request,
/// not from signing in: someone at work all day stays signed in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_stays_alive_while_used_and_ends_after_the_idle_time() {
    let app = crate::helpers::spawn_app_with(|s| {
        s.session_idle = std::time::Duration::from_secs(3);
    })
    .await;
    let client = app.signed_in("ivy", Role::Viewer).await;
    // Five seconds of use, one request a second: longer than the idle time.
    for second in 0..5 {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let status = client.post_form("/fn/fleet", &[]).await.status();
        assert_eq!(status, 200, "still signed in after {} s of use", second + 1);
    }
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    assert_eq!(
        client.post_form("/fn/fleet", &[]).await.status(),
        401,
        "signed out after 4 s idle"
    );
}
