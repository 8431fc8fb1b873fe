//! Who is calling: the session cookie (pages, server functions) or, later, an API key. The
//! middleware resolves it once per request and leaves a [`RequestActor`] in the extensions;
//! handlers and server functions only read that.

use axum::{
    extract::{Request, State},
    middleware::Next,
    response::Response,
};
use fleet::{
    auth::{Actor, RequestActor, SESSION_USER_KEY},
    Fleet,
};
use tower_sessions::Session;

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
    let actor = match session.get::<i64>(SESSION_USER_KEY).await {
        Ok(Some(user_id)) => match fleet.current_user(user_id).await {
            Ok(Some(user)) => Some(Actor::user(&user).with_request_id(request_id)),
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
            None
        }
    };
    request.extensions_mut().insert(RequestActor(actor));
    next.run(request).await
}
