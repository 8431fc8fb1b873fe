//! The audit log: the CSV export (`/api/v1/audit.csv`) and the `/audit` page.

use std::collections::HashSet;

use fleet::{
    auth::Actor,
    model::{AuditAction, AuditFilter, ProjectName, Role},
};
use pickyassist::ApiToken;

use crate::helpers::{spawn_app, spawn_app_with, TestApp, UserClient};

const HEADER: &str = "id,at,actor,action,project_id,project_name,command,outcome,detail,upstream_latency_ms,request_id,completed_at,batch_id";
const ACTOR: usize = 2;
const ACTION: usize = 3;
const PROJECT_NAME: usize = 5;
const OUTCOME: usize = 7;

async fn csv(client: &UserClient, query: &str) -> reqwest::Response {
    client.get(&format!("/api/v1/audit.csv{query}")).await
}

/// The records of a CSV body (RFC 4180: quoted fields, doubled quotes, CRLF).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(
        field.is_empty() && record.is_empty(),
        "the CSV ends with a line break"
    );
    records
}

/// The data rows of an export (header checked and dropped).
async fn csv_rows(client: &UserClient, query: &str) -> Vec<Vec<String>> {
    let response = csv(client, query).await;
    assert_eq!(response.status(), 200, "export {query:?}");
    let text = response.text().await.expect("body");
    assert!(
        text.starts_with(&format!("{HEADER}\r\n")),
        "header line: {:?}",
        text.lines().next()
    );
    let mut records = parse_csv(&text);
    records.remove(0);
    for record in &records {
        assert_eq!(record.len(), 13, "every row has every column: {record:?}");
    }
    records
}

/// Appends `n` failed sign-ins straight into the table: far quicker than `n` argon2 checks.
async fn bulk_failed_sign_ins(app: &TestApp, n: u32) {
    let now = fleet::db::now_text();
    let (sqlite, postgres) = (
        "WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $1)
         INSERT INTO audit_log (at, actor, action, outcome, detail, completed_at)
         SELECT $2, 'bulk', 'sign_in_failed', 'denied', 'bulk row ' || i, $2 FROM seq",
        "INSERT INTO audit_log (at, actor, action, outcome, detail, completed_at)
         SELECT $2, 'bulk', 'sign_in_failed', 'denied', 'bulk row ' || i, $2
         FROM generate_series(1, $1) AS i",
    );
    let sql = match app.fleet.pool().engine() {
        fleet::db::Engine::Sqlite => sqlite,
        fleet::db::Engine::Postgres => postgres,
    };
    fleet::with_pool!(app.fleet.pool(), p => {
        sqlx::query(sql).bind(i64::from(n)).bind(&now).execute(p).await.map(drop)
    })
    .expect("bulk insert");
}

fn ids_in_html(html: &str) -> Vec<i64> {
    html.split("data-audit-id=\"")
        .skip(1)
        .map(|rest| {
            rest.split('"')
                .next()
                .and_then(|id| id.parse().ok())
                .expect("a numeric row id")
        })
        .collect()
}

/// The `before` of the page's "Older →" link, if it has one.
fn older_link(html: &str) -> Option<i64> {
    let link = html.split("href=\"/audit?").skip(1).find_map(|rest| {
        let href = rest.split('"').next()?;
        href.replace("&amp;", "&")
            .split('&')
            .find_map(|pair| pair.strip_prefix("before=").map(str::to_owned))
    })?;
    Some(link.parse().expect("a numeric cursor"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_visitor_cannot_download_the_audit_log() {
    let app = spawn_app().await;
    let response = csv(&app.anonymous(), "").await;
    assert_eq!(response.status(), 401);
    let body = response.text().await.expect("body");
    assert!(body.to_lowercase().contains("sign in"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_downloads_the_log_as_csv_including_sign_ins() {
    let app = spawn_app().await;
    let viewer = app.signed_in("vera", Role::Viewer).await;
    let response = csv(&viewer, "").await;
    assert_eq!(response.status(), 200);
    let headers = response.headers();
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"picky-fleet-audit.csv\""
    );
    let rows = csv_rows(&viewer, "").await;
    assert!(
        rows.iter().any(|r| r[ACTOR] == "vera"
            && r[ACTION] == AuditAction::SignIn.as_str()
            && r[OUTCOME] == "success"),
        "vera's sign-in is exported: {rows:?}"
    );
    let ids: Vec<i64> = rows.iter().map(|r| r[0].parse().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_action_filter_keeps_only_that_action() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.anonymous().sign_in("ghost", "wrong-password").await;
    let all = csv_rows(&admin, "").await;
    assert!(
        all.iter().any(|r| r[ACTION] == "sign_in_failed"),
        "the failed sign-in is in the full export"
    );
    let sign_ins = csv_rows(&admin, "?action=sign_in").await;
    assert!(!sign_ins.is_empty(), "the admin's sign-in is kept");
    for row in &sign_ins {
        assert_eq!(row[ACTION], "sign_in", "{row:?}");
    }
    let ghost = csv_rows(&admin, "?actor=ghost&outcome=denied").await;
    assert_eq!(ghost.len(), 1, "{ghost:?}");
    assert_eq!(ghost[0][ACTION], "sign_in_failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_filters_are_refused_with_422_and_a_reason() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let cases = [
        ("?action=bogus", "bogus"),
        ("?outcome=meh", "meh"),
        ("?project_id=abc", "project_id"),
        ("?since=yesterday", "since"),
        ("?since=2026-11-26&until=2026-11-25", "since"),
        ("?limit=0", "limit"),
        ("?action=sign_in&action=sign_out", "at most once"),
    ];
    for (query, mentions) in cases {
        let response = csv(&admin, query).await;
        assert_eq!(response.status(), 422, "{query}");
        let body = response.text().await.expect("body");
        assert!(body.contains(mentions), "{query}: {body}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn formula_like_values_are_neutralised_and_commas_quoted() {
    let app = spawn_app().await;
    // A failed sign-in is audited under the attempted name, whatever it is.
    app.anonymous().sign_in("=cmd", "wrong-password").await;
    app.fleet
        .add_project(
            &Actor::cli(),
            ProjectName::parse("Acme, \"Ltd\"").expect("name"),
            ApiToken::parse("tok_commas_and_quotes_0001").expect("token"),
        )
        .await
        .expect("add project");
    let admin = app.admin().await;

    let text = csv(&admin, "").await.text().await.expect("body");
    assert!(text.contains(",'=cmd,sign_in_failed,"), "{text}");
    assert!(
        !text.contains(",=cmd,"),
        "the raw formula never starts a cell"
    );

    let rows = csv_rows(&admin, "?action=sign_in_failed").await;
    assert!(rows.iter().any(|r| r[ACTOR] == "'=cmd"), "{rows:?}");
    let added = csv_rows(&admin, "?action=project_added").await;
    assert!(
        added.iter().any(|r| r[PROJECT_NAME] == "Acme, \"Ltd\""),
        "the quoted name reads back whole: {added:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_export_walks_every_page_and_honours_limit() {
    let app = spawn_app().await;
    bulk_failed_sign_ins(&app, 1_100).await;
    let admin = app.admin().await;

    let rows = csv_rows(&admin, "?actor=bulk").await;
    assert_eq!(rows.len(), 1_100, "more than two service pages");
    let ids: HashSet<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(ids.len(), 1_100, "no row twice");

    let limited = csv_rows(&admin, "?actor=bulk&limit=501").await;
    assert_eq!(limited.len(), 501);
    assert_eq!(
        limited[..],
        rows[..501],
        "a limit is a prefix of the full export"
    );

    let cursor = &rows[99][0];
    let older = csv_rows(&admin, &format!("?actor=bulk&before={cursor}")).await;
    assert_eq!(older[..], rows[100..], "`before` starts below the cursor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_page_shows_recent_entries() {
    let app = spawn_app().await;
    app.anonymous().sign_in("ghost", "wrong-password").await;
    let admin = app.admin().await;
    let response = admin.get("/audit").await;
    assert_eq!(response.status(), 200);
    let html = response.text().await.expect("body");
    for expected in [
        "Audit log",
        "<th scope=\"col\">",
        "<td>Signed in",
        "<td>Failed sign-in",
        ">ghost<",
        "badge badge--connected",
        "badge badge--unpaired",
        "UTC",
        "href=\"/api/v1/audit.csv\"",
    ] {
        assert!(html.contains(expected), "{expected:?} missing from /audit");
    }

    let filtered = admin.get("/audit?action=sign_in_failed").await;
    assert_eq!(filtered.status(), 200);
    let html = filtered.text().await.expect("body");
    assert!(html.contains(">ghost<"));
    assert!(
        !html.contains("<td>Signed in</td>"),
        "only failed sign-ins listed"
    );
    assert!(html.contains("href=\"/api/v1/audit.csv?action=sign_in_failed\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn older_pages_continue_where_the_newer_page_ended() {
    let app = spawn_app_with(|s| {
        // 61 failed sign-ins in a row: above the sign-in rate limits on purpose.
        s.sign_in_per_user_per_minute = 1000;
        s.sign_in_per_client_per_minute = 1000;
    })
    .await;
    let ghost = app.anonymous();
    for _ in 0..61 {
        ghost.sign_in("ghost", "wrong-password").await;
    }
    let admin = app.admin().await;

    // The service: two pages, no row twice, together the whole log.
    let cli = Actor::cli();
    let everything = app
        .fleet
        .audit_page(
            &cli,
            &AuditFilter {
                limit: fleet::model::PageSize::new(500).expect("page size"),
                ..AuditFilter::default()
            },
        )
        .await
        .expect("whole log");
    assert!(everything.entries.len() > 60);
    let first = app
        .fleet
        .audit_page(&cli, &AuditFilter::default())
        .await
        .expect("first page");
    let cursor = first.next_before.expect("there is an older page");
    let second = app
        .fleet
        .audit_page(
            &cli,
            &AuditFilter {
                before: Some(cursor),
                ..AuditFilter::default()
            },
        )
        .await
        .expect("second page");
    let first_ids: Vec<i64> = first.entries.iter().map(|e| e.id).collect();
    let second_ids: Vec<i64> = second.entries.iter().map(|e| e.id).collect();
    let joined: Vec<i64> = first_ids.iter().chain(&second_ids).copied().collect();
    let all_ids: Vec<i64> = everything.entries.iter().map(|e| e.id).collect();
    assert_eq!(first_ids.len(), 50, "the default page size");
    assert_eq!(
        joined, all_ids,
        "two pages are the whole log, in order, once"
    );
    assert_eq!(second.next_before, None);

    // The page: its "Older →" link carries the same cursor and shows the same rows.
    let html = admin.get("/audit").await.text().await.expect("body");
    assert_eq!(ids_in_html(&html), first_ids);
    assert_eq!(older_link(&html), Some(cursor));
    let older = admin
        .get(&format!("/audit?before={cursor}"))
        .await
        .text()
        .await
        .expect("body");
    assert_eq!(ids_in_html(&older), second_ids);
    assert_eq!(older_link(&older), None, "the last page links no further");
    assert!(older.contains("← Newest"), "a way back to the newest");
}
