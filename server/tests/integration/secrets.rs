//! The secret scan: after a session that touches every page, API call, command and fault, no
//! project token (nor any 8-character run of one) is in anything the dashboard let out: HTTP
//! responses (headers and bodies), the served JS and wasm, its log output (at debug level),
//! and the bytes of its SQLite files.

use std::time::Duration;

use pickyassist_sim::DEMO_FLEET;
use serde_json::{json, Value};

use crate::process::ServerProcess;

const ADMIN_PASSWORD: &str = "secret-scan-admin-password";
/// Tokens the session gives the dashboard besides the demo ones (random, like real ones: a
/// run such as "01234567" is in any binary).
const ROTATED_TOKEN: &str = "6bfddd32bb26b5d62e7f70dcb498531f6b";
const ADDED_TOKEN: &str = "cc919af5bae25381836761d395e2dd0df1";

/// Everything the dashboard let out, each with where it came from.
#[derive(Default)]
struct Leaks {
    seen: Vec<(String, Vec<u8>)>,
}

impl Leaks {
    async fn keep(&mut self, context: impl Into<String>, response: reqwest::Response) -> Vec<u8> {
        let context = context.into();
        let mut bytes = format!("{:?}\n", response.headers()).into_bytes();
        let body = response
            .bytes()
            .await
            .map(|b| b.to_vec())
            .unwrap_or_default();
        bytes.extend_from_slice(&body);
        self.seen.push((context, bytes));
        body
    }

    fn assert_no_token(&self) {
        let tokens = DEMO_FLEET
            .iter()
            .map(|d| d.token)
            .chain([ROTATED_TOKEN, ADDED_TOKEN]);
        let mut found = Vec::new();
        for token in tokens {
            for run in token.as_bytes().windows(8) {
                for (context, bytes) in &self.seen {
                    if bytes.windows(8).any(|w| w == run) {
                        found.push(format!(
                            "{:?} (of a token) in {context}",
                            String::from_utf8_lossy(run)
                        ));
                    }
                }
            }
        }
        assert!(
            found.is_empty(),
            "token material leaked:\n{}",
            found.join("\n")
        );
        assert!(
            self.seen.len() > 40,
            "the session covered little: {}",
            self.seen.len()
        );
    }
}

struct Browser {
    http: reqwest::Client,
    address: String,
}

impl Browser {
    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.address))
    }

    /// A state change as the browser sends it: same origin.
    fn send(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.address))
            .header("origin", &self.address)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_leaks_into_responses_assets_logs_or_the_database_file() {
    let dir = tempfile::tempdir().expect("dir");
    let mut server = ServerProcess::start(&[
        (
            "PICKY_FLEET_DATABASE_URL",
            format!("sqlite:{}", dir.path().join("fleet.db").display()),
        ),
        ("PICKY_FLEET_SIM_ADDR", "127.0.0.1:0".into()),
        ("PICKY_FLEET_DEMO_ADMIN_PASSWORD", ADMIN_PASSWORD.into()),
        ("PICKY_FLEET_UPSTREAM_TIMEOUT_SECS", "1".into()),
        ("PICKY_FLEET_STATUS_CHECKS_PER_MINUTE", "1000".into()),
        ("PICKY_FLEET_VERIFY_DELAY_MS", "50".into()),
        // Everything any crate logs, ours and the HTTP and database ones.
        ("RUST_LOG", "debug".into()),
    ]);
    let sim_control = sim_control_url(&server).await;
    let http = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(Duration::from_secs(20))
        .build()
        .expect("client");
    let browser = Browser {
        http: http.clone(),
        address: server.address.clone(),
    };
    let mut leaks = Leaks::default();
    // The simulator allows 3 status checks a minute; this session makes many.
    http.put(format!("{sim_control}config"))
        .json(&json!({"status_limit_per_minute": null}))
        .send()
        .await
        .expect("sim config");

    // Sign in as a browser does, then every page.
    let page = leaks
        .keep(
            "GET /sign-in",
            browser.get("/sign-in").send().await.expect("page"),
        )
        .await;
    let response = browser
        .send(reqwest::Method::POST, "/fn/sign_in")
        .form(&[("username", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("sign in");
    leaks.keep("POST /fn/sign_in", response).await;
    for path in ["/", "/audit", "/admin/projects", "/admin/users", "/nowhere"] {
        let response = browser
            .get(path)
            .header("accept", "text/html")
            .send()
            .await
            .expect("page");
        leaks.keep(format!("GET {path}"), response).await;
    }

    // The shipped JS, wasm and CSS, as the page links them.
    for asset in assets_linked_from(&String::from_utf8_lossy(&page)) {
        let response = browser.get(&asset).send().await.expect("asset");
        assert_eq!(
            response.status(),
            200,
            "{asset}: is the site built? (cargo leptos build --split --project picky-fleet)"
        );
        leaks.keep(format!("GET {asset}"), response).await;
    }
    // The admin islands' split-out code, which the browser fetches when such a page is first shown.
    for chunk in split_chunks(&browser).await {
        let response = browser.get(&chunk).send().await.expect("chunk");
        assert_eq!(response.status(), 200, "{chunk}");
        leaks.keep(format!("GET {chunk}"), response).await;
    }

    // Admin changes: a new key, a new project, a rotated token, and a refused duplicate token.
    let response = browser
        .send(reqwest::Method::POST, "/api/v1/api-keys")
        .json(&json!({"username": "admin", "label": "secret scan"}))
        .send()
        .await
        .expect("key");
    let key: Value = serde_json::from_slice(&leaks.keep("POST /api/v1/api-keys", response).await)
        .expect("key json");
    let key = key["key"].as_str().expect("the key").to_owned();
    let api = |method: reqwest::Method, path: &str| {
        http.request(method, format!("{}{path}", server.address))
            .bearer_auth(&key)
    };
    let projects: Value = serde_json::from_slice(
        &leaks
            .keep(
                "GET /api/v1/projects",
                api(reqwest::Method::GET, "/api/v1/projects")
                    .send()
                    .await
                    .expect("projects"),
            )
            .await,
    )
    .expect("projects json");
    let ids: Vec<(i64, String)> = projects
        .as_array()
        .or_else(|| projects["projects"].as_array())
        .or_else(|| projects["cards"].as_array())
        .expect("a list of projects")
        .iter()
        .map(|p| {
            (
                p["id"].as_i64().expect("id"),
                p["name"].as_str().expect("name").to_owned(),
            )
        })
        .collect();
    assert_eq!(ids.len(), DEMO_FLEET.len());
    let (first, first_name) = ids[0].clone();
    for (method, path, body) in [
        (
            reqwest::Method::POST,
            "/api/v1/projects".to_owned(),
            json!({"name": "Scan Added", "token": ADDED_TOKEN}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/projects".to_owned(),
            json!({"name": "Scan Copy", "token": DEMO_FLEET[1].token}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/projects".to_owned(),
            json!({"name": "Scan Bad", "token": format!("{} {}", DEMO_FLEET[2].token, "!")}),
        ),
        (
            reqwest::Method::PATCH,
            format!("/api/v1/projects/{}", ids[5].0),
            json!({"token": ROTATED_TOKEN}),
        ),
        (
            reqwest::Method::POST,
            "/api/v1/users".to_owned(),
            json!({"username": "scan-viewer", "role": "viewer", "password": "long-enough-password"}),
        ),
    ] {
        let response = api(method.clone(), &path)
            .json(&body)
            .send()
            .await
            .expect("admin call");
        leaks.keep(format!("{method} {path}"), response).await;
    }

    // Every command (the destructive ones confirmed), under every fault, and the refreshes.
    let commands = [
        "restart",
        "restart-server",
        "delete-message-queue",
        "disconnect",
        "clearlogs",
    ];
    let faults = [
        json!({"kind": "latency", "ms": 50}),
        json!({"kind": "timeout"}),
        json!({"kind": "connection_drop"}),
        json!({"kind": "http500"}),
        json!({"kind": "non_json"}),
        json!({"kind": "numbers_as_strings"}),
        json!({"kind": "missing_fields"}),
        json!({"kind": "slow_drip", "bytes_per_sec": 20}),
        json!({"kind": "bad_token"}),
    ];
    for (n, fault) in std::iter::once(None)
        .chain(faults.into_iter().map(Some))
        .enumerate()
    {
        match &fault {
            Some(fault) => http.put(format!("{sim_control}faults/global")).json(fault),
            None => http.delete(format!("{sim_control}faults")),
        }
        .send()
        .await
        .expect("fault");
        let command = commands[n % commands.len()];
        let path = format!("/api/v1/projects/{first}/commands");
        let response = api(reqwest::Method::POST, &path)
            .json(&json!({"command": command, "confirm_name": first_name}))
            .send()
            .await
            .expect("command");
        leaks
            .keep(format!("{command} under {fault:?}"), response)
            .await;
        let path = format!("/api/v1/projects/{first}/refresh");
        let response = api(reqwest::Method::POST, &path)
            .send()
            .await
            .expect("refresh");
        leaks
            .keep(format!("refresh under {fault:?}"), response)
            .await;
    }
    http.delete(format!("{sim_control}faults"))
        .send()
        .await
        .expect("faults off");

    // Every read the API offers, pages included again now that the audit log is full.
    for path in [
        "/api/v1/projects".to_owned(),
        format!("/api/v1/projects/{first}"),
        "/api/v1/audit?limit=500".to_owned(),
        "/api/v1/audit.csv".to_owned(),
        "/api/v1/users".to_owned(),
        "/api/v1/api-keys".to_owned(),
        "/api/v1/openapi.json".to_owned(),
        "/healthz".to_owned(),
        "/metrics".to_owned(),
    ] {
        let response = api(reqwest::Method::GET, &path).send().await.expect("read");
        leaks.keep(format!("GET {path}"), response).await;
    }
    for path in ["/", "/audit", "/admin/projects"] {
        let response = browser.get(path).send().await.expect("page");
        leaks.keep(format!("GET {path} (after)"), response).await;
    }
    let mut events = api(reqwest::Method::GET, "/api/v1/events")
        .send()
        .await
        .expect("events");
    let mut stream_bytes = Vec::new();
    while let Ok(Ok(Some(chunk))) =
        tokio::time::timeout(Duration::from_millis(300), events.chunk()).await
    {
        stream_bytes.extend_from_slice(&chunk);
    }
    leaks.seen.push(("GET /api/v1/events".into(), stream_bytes));

    // Stop the server, then read its log and its database files byte for byte.
    server.terminate();
    assert!(server.wait_for_exit(Duration::from_secs(40)).success());
    let log = server.output();
    assert!(log.contains("DEBUG"), "the log was at debug level");
    leaks
        .seen
        .push(("the server's log output".into(), log.into_bytes()));
    for entry in std::fs::read_dir(dir.path()).expect("dir") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_owned();
        if name.starts_with("fleet.db") {
            leaks
                .seen
                .push((name, std::fs::read(&path).expect("database file")));
        }
    }
    leaks.assert_no_token();
}

/// The simulator's control URL, from the server's start-up banner.
async fn sim_control_url(server: &ServerProcess) -> String {
    for _ in 0..100 {
        let output = server.output();
        if let Some(base) = output
            .lines()
            .find_map(|l| l.split("built-in PickyAssist simulator at ").nth(1))
        {
            let origin = base.trim().trim_end_matches("/app/api/v2");
            return format!("{origin}/_sim/");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no simulator in the banner:\n{}", server.output());
}

/// The chunks named in the split build's manifest (`cargo leptos build --split`), as paths.
async fn split_chunks(browser: &Browser) -> Vec<String> {
    let response = browser
        .get(&split_manifest_path())
        .send()
        .await
        .expect("manifest");
    assert_eq!(
        response.status(),
        200,
        "the site is built with --split (./x builds it so)"
    );
    let manifest: std::collections::BTreeMap<String, Vec<String>> =
        response.json().await.expect("the manifest is JSON");
    let mut chunks: Vec<String> = manifest
        .into_values()
        .flatten()
        .map(|chunk| format!("/pkg/{chunk}.wasm"))
        .collect();
    chunks.sort();
    chunks.dedup();
    assert!(!chunks.is_empty(), "split pages have chunks");
    chunks
}

/// `/pkg/__wasm_split_manifest.json`, or its hashed name from the hash file cargo-leptos leaves
/// beside the binary (`manifest: <hash>`).
fn split_manifest_path() -> String {
    let hashes = std::path::Path::new(env!("CARGO_BIN_EXE_picky-fleet"))
        .parent()
        .and_then(|dir| std::fs::read_to_string(dir.join("hash.txt")).ok())
        .unwrap_or_default();
    match hashes
        .lines()
        .find_map(|line| line.strip_prefix("manifest:"))
    {
        Some(hash) => format!("/pkg/__wasm_split_manifest.{}.json", hash.trim()),
        None => "/pkg/__wasm_split_manifest.json".to_owned(),
    }
}

/// The `/pkg/...` files a page links (scripts, wasm, styles).
fn assets_linked_from(page: &str) -> Vec<String> {
    let mut assets: Vec<String> = page
        .match_indices("/pkg/")
        .filter_map(|(start, _)| {
            let rest = &page[start..];
            let end = rest.find(['"', '\'', ')', ' '])?;
            Some(rest[..end].to_owned())
        })
        .collect();
    assets.sort();
    assets.dedup();
    assert!(
        assets.iter().any(|a| a.ends_with(".wasm")) && assets.iter().any(|a| a.ends_with(".js")),
        "the page links its wasm and JS: {assets:?}"
    );
    assets
}
