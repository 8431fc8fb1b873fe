//! Logging, set up once. `RUST_LOG` filters (default `info`); `PICKY_FLEET_LOG_FORMAT=json`
//! switches to JSON lines for log collectors.

use tracing_subscriber::{fmt, EnvFilter};

/// Info for us; quieter for sqlx, and for tower-sessions, which warns on every malformed
/// session cookie (anyone could fill the log with those).
const DEFAULT_FILTER: &str = "info,sqlx=warn,tower_sessions_core=error,tower_sessions=error";

pub fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json =
        std::env::var("PICKY_FLEET_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = fmt().with_env_filter(filter).with_target(false);
    // `try_init`: tests may call this more than once.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// One span per request (method, path, request id) with its start, its answer and, for
/// streamed pages, the end of the body, at `debug`: `RUST_LOG=info,tower_http=debug` shows
/// every request, and a request that never finishes shows as a start without an end.
pub fn request_trace_layer() -> tower_http::trace::TraceLayer<
    tower_http::classify::SharedClassifier<tower_http::classify::ServerErrorsAsFailures>,
    impl Fn(&axum::http::Request<axum::body::Body>) -> tracing::Span + Clone,
> {
    tower_http::trace::TraceLayer::new_for_http().make_span_with(
        |request: &axum::http::Request<axum::body::Body>| {
            let request_id = request
                .headers()
                .get("x-request-id")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id,
            )
        },
    )
}

/// Middleware before the request ids are set: an `x-request-id` from outside is kept only when
/// short and plain (at most 64 of `A-Z a-z 0-9 . _ -`), else dropped so the server makes its
/// own. It goes into logs and audit rows: an 8 KB or newline-laden one must not.
pub async fn keep_only_plain_request_ids(
    mut request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let plain = request
        .headers()
        .get("x-request-id")
        .map(|v| plain_request_id(v.as_bytes()));
    if plain == Some(false) {
        request.headers_mut().remove("x-request-id");
    }
    next.run(request).await
}

fn plain_request_id(id: &[u8]) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::plain_request_id;

    #[test]
    fn only_short_plain_request_ids_are_kept() {
        assert!(plain_request_id(b"3f2c9a1e-7b1d-4c2a-9f00-1a2b3c4d5e6f"));
        assert!(plain_request_id(b"job_42.retry-1"));
        for bad in [
            &b""[..],
            b"a b",
            b"line\nbreak",
            b"<script>",
            &[b'x'; 65][..],
        ] {
            assert!(!plain_request_id(bad), "{bad:?}");
        }
    }
}
