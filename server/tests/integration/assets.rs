//! What travels: the wasm precompressed (brotli, gzip) under a hashed name that is cached for
//! good, pages compressed on the way out, the event stream never compressed.

use std::time::Duration;

use fleet::model::Role;
use reqwest::{header, StatusCode};

use crate::{helpers::spawn_app, process::ServerProcess};

/// The real binary, run from the workspace root where the built site is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_have_hashed_names_are_cached_for_good_and_go_compressed() {
    let dir = tempfile::tempdir().expect("dir");
    let server = ServerProcess::start(&[
        (
            "PICKY_FLEET_DATABASE_URL",
            format!("sqlite:{}", dir.path().join("fleet.db").display()),
        ),
        ("PICKY_FLEET_SIM_ADDR", "127.0.0.1:0".into()),
    ]);
    let http = reqwest::Client::new();
    let page = http
        .get(format!("{}/sign-in", server.address))
        .send()
        .await
        .expect("page");
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");
    let html = page.text().await.expect("html");

    // The page names the wasm, its JS and the stylesheet by their content's hash.
    let linked = |extension: &str| {
        html.split('"')
            .find(|part| part.starts_with("/pkg/picky-fleet.") && part.ends_with(extension))
            .unwrap_or_else(|| panic!("no {extension} linked in {html}"))
            .to_owned()
    };
    let (js, wasm, css) = (linked(".js"), linked(".wasm"), linked(".css"));
    for path in [&js, &wasm, &css] {
        let hash = path
            .trim_start_matches("/pkg/picky-fleet.")
            .split('.')
            .next()
            .unwrap_or_default();
        assert_eq!(hash.len(), 22, "{path} carries no content hash");
        let response = http
            .get(format!("{}{path}", server.address))
            .send()
            .await
            .expect("asset");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        // A second visit asks for nothing: the name changes when the content does.
        assert_eq!(
            response.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable",
            "{path}"
        );
    }
    // A name without a hash (an old page's link) is not cached for good.
    let plain = http
        .get(format!("{}/pkg/picky-fleet.js", server.address))
        .send()
        .await
        .expect("js");
    assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");

    let url = format!("{}{js}", server.address);
    let raw = http
        .get(&url)
        .send()
        .await
        .expect("js")
        .bytes()
        .await
        .expect("body")
        .len();
    // The server compresses the site at its start, in the background: wait for it.
    let mut brotli = None;
    for _ in 0..300 {
        let response = http
            .get(&url)
            .header(header::ACCEPT_ENCODING, "br, gzip")
            .send()
            .await
            .expect("js");
        if response.headers().get(header::CONTENT_ENCODING).is_some() {
            brotli = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let brotli = brotli.expect("a compressed answer");
    assert_eq!(brotli.headers()[header::CONTENT_ENCODING], "br");
    let sent = brotli.bytes().await.expect("body").len();
    assert!(sent * 3 < raw, "brotli {sent} of {raw} bytes");
    let gzip = http
        .get(&url)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("js");
    assert_eq!(gzip.headers()[header::CONTENT_ENCODING], "gzip");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_are_compressed_on_the_way_out_and_the_event_stream_is_not() {
    let app = spawn_app().await;
    let http = reqwest::Client::new();
    // A page: compressed on the way out, never cached as it is.
    let user = app.signed_in("vera", Role::Viewer).await;
    let page = user
        .http
        .get(format!("{}/audit", app.address))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("page");
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(page.headers()[header::CACHE_CONTROL], "no-cache");

    // A streamed body (the audit CSV) compresses to its end, and decompresses to every row.
    let key = app.api_key_for("cora", Role::Viewer).await;
    let csv = http
        .get(format!("{}/api/v1/audit.csv", app.address))
        .bearer_auth(&key)
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .expect("csv");
    assert_eq!(csv.headers()[header::CONTENT_ENCODING], "gzip");
    let compressed = csv.bytes().await.expect("the whole body");
    let mut text = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(compressed.as_ref()),
        &mut text,
    )
    .expect("gzip");
    assert!(text.starts_with("id,at,actor,"), "{text}");
    assert!(text.contains("sign_in"), "the viewer's sign-in row: {text}");

    // The event stream: never compressed, so its events leave at once.
    let key = app.api_key_for("otto", Role::Viewer).await;
    let events = http
        .get(format!("{}/api/v1/events", app.address))
        .bearer_auth(key)
        .header(header::ACCEPT_ENCODING, "br, gzip")
        .send()
        .await
        .expect("events");
    assert_eq!(events.status(), StatusCode::OK);
    assert!(events.headers().get(header::CONTENT_ENCODING).is_none());
}
