//! Who is calling: an API key (`Authorization: Bearer pf_…`) or the session cookie. The
//! middleware resolves it once per request and leaves a [`RequestActor`] in the extensions;
//! handlers and server functions only read that.
//!
//! It also refuses cross-site state changes (CSRF): a request that changes state and does not
//! come with a bearer key must come from our own origin.

use axum::{
    extract::{Request, State},
    http::{header, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use fleet::{
    auth::{Actor, RequestActor, SESSION_USER_KEY},
    Fleet,
};
use tower_sessions::Session;

use crate::api::ApiError;

pub async fn resolve_actor(
    State(fleet): State<Fleet>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);

    let actor = match bearer_key(request.headers()) {
        Some(key) => match fleet.actor_for_api_key(key).await {
            Ok(Some(actor)) => Some(actor),
            // A wrong key is an error, not an anonymous request: scripts should hear about it.
            Ok(None) => {
                return ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "invalid_api_key",
                    "the API key is unknown, revoked or belongs to a disabled user",
                )
                .into_response()
            }
            Err(e) => return ApiError::from(e).into_response(),
        },
        None => {
            if changes_state(request.method()) && from_a_browser(&request) && !same_origin(&request)
            {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    "cross_origin",
                    "this request did not come from the dashboard's own pages (Origin check failed)",
                )
                .into_response();
            }
            match session_actor(&fleet, &session).await {
                Ok(actor) => actor,
                // Who this is cannot be known: say so rather than treat them as signed out.
                Err(SessionUnreadable) if fleet.database_answers().await.is_err() => {
                    return crate::outage::unavailable(request.uri().path());
                }
                Err(SessionUnreadable) => None,
            }
        }
    };
    let actor = actor.map(|a| a.with_request_id(request_id));
    request.extensions_mut().insert(RequestActor(actor));
    next.run(request).await
}

/// The session's store did not answer.
struct SessionUnreadable;

async fn session_actor(
    fleet: &Fleet,
    session: &Session,
) -> Result<Option<Actor>, SessionUnreadable> {
    Ok(match session.get::<i64>(SESSION_USER_KEY).await {
        Ok(Some(user_id)) => match fleet.current_user(user_id).await {
            Ok(Some(user)) => Some(Actor::user(&user)),
            Ok(None) => {
                // Removed or disabled since signing in: the session is worth nothing now.
                let _ = session.flush().await;
                None
            }
            Err(e) => {
                tracing::error!(error = %e, "could not load the session's user");
                None
            }
        },
        Ok(None) => None,
        Err(e) => {
            tracing::warn!(error = %e, "unreadable session");
            return Err(SessionUnreadable);
        }
    })
}

/// The API key of `Authorization: Bearer …`, if the request has one.
pub fn bearer_key(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
}

/// Requests a cross-site page could make a browser send on a user's behalf: any that carries
/// cookies, and any to a server function (sign-in included: no "login CSRF" either). A script
/// without cookies calling the REST API is simply anonymous (401).
fn from_a_browser(request: &Request) -> bool {
    let path = request.uri().path();
    request.headers().contains_key(header::COOKIE) || path.starts_with(crate::server_fns::PREFIX)
}

fn changes_state(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Browsers send `Origin` on every POST (and `Referer` unless told not to); a cross-site form
/// or fetch cannot forge either. With neither, we refuse: our own pages always send one.
fn same_origin(request: &Request) -> bool {
    // HTTP/2 (behind a proxy, say) carries the host as `:authority`, which is the request
    // URI's authority here, and may send no `Host` at all.
    let Some(host) = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .or_else(|| request.uri().authority().map(|a| a.as_str()))
    else {
        return false;
    };
    let source = request
        .headers()
        .get(header::ORIGIN)
        .or_else(|| request.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    match source.and_then(|s| url::Url::parse(s).ok()) {
        Some(url) => {
            let authority = match url.port() {
                Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
                None => url.host_str().unwrap_or_default().to_owned(),
            };
            authority.eq_ignore_ascii_case(host)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(method: Method, host: &str, origin: Option<&str>, referer: Option<&str>) -> Request {
        let mut builder = axum::http::Request::builder()
            .method(method)
            .uri("/fn/run_command")
            .header("host", host);
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        if let Some(referer) = referer {
            builder = builder.header("referer", referer);
        }
        builder.body(axum::body::Body::empty()).unwrap_or_default()
    }

    #[test]
    fn same_origin_requests_pass_and_cross_site_ones_do_not() {
        let host = "127.0.0.1:3000";
        assert!(same_origin(&request(
            Method::POST,
            host,
            Some("http://127.0.0.1:3000"),
            None
        )));
        assert!(same_origin(&request(
            Method::POST,
            host,
            None,
            Some("http://127.0.0.1:3000/audit")
        )));
        assert!(!same_origin(&request(
            Method::POST,
            host,
            Some("https://evil.example"),
            None
        )));
        assert!(!same_origin(&request(
            Method::POST,
            host,
            Some("http://127.0.0.1:3001"),
            None
        )));
        assert!(!same_origin(&request(
            Method::POST,
            host,
            Some("null"),
            None
        )));
        assert!(!same_origin(&request(Method::POST, host, None, None)));
        assert!(same_origin(&request(
            Method::POST,
            "fleet.example.com",
            Some("https://fleet.example.com"),
            None
        )));
    }

    #[test]
    fn without_a_host_header_the_authority_is_the_host() {
        let http2 = |origin: &str| {
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("https://fleet.example.com/fn/run_command")
                .header("origin", origin)
                .body(axum::body::Body::empty())
                .unwrap_or_default()
        };
        assert!(same_origin(&http2("https://fleet.example.com")));
        assert!(!same_origin(&http2("https://evil.example")));
    }

    #[test]
    fn only_reads_are_exempt() {
        assert!(!changes_state(&Method::GET));
        assert!(changes_state(&Method::POST));
        assert!(changes_state(&Method::DELETE));
        assert!(changes_state(&Method::PATCH));
    }
}
