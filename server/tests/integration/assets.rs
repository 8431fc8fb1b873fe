//! What travels: the wasm precompressed (brotli, gzip) and revalidated rather than sent again,
//! pages compressed on the way out, the event stream never compressed.

use std::time::Duration;

use fleet::model::Role;
use reqwest::{header, StatusCode};

use crate::{helpers::spawn_app, process::ServerProcess};

/// The real binary, run from the workspace root where the built site is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_go_compressed_once_built_and_are_revalidated_not_sent_again() {
    let dir = tempfile::tempdir().expect("dir");
    let server = ServerProcess::start(&[
        (
            "PICKY_FLEET_DATABASE_URL",
            format!("sqlite:{}", dir.path().join("fleet.db").display()),
        ),
        ("PICKY_FLEET_SIM_ADDR", "127.0.0.1:0".into()),
    ]);
    let http = reqwest::Client::new();
    let url = format!("{}/pkg/picky-fleet.js", server.address);
    let plain = http.get(&url).send().await.expect("js");
    assert_eq!(plain.status(), StatusCode::OK);
    assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-cache");
    let last_modified = plain.headers()[header::LAST_MODIFIED].clone();
    let raw = plain.bytes().await.expect("body").len();

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

    // A second visit asks again and downloads nothing.
    let again = http
        .get(&url)
        .header(header::IF_MODIFIED_SINCE, last_modified)
        .send()
        .await
        .expect("js");
    assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
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
