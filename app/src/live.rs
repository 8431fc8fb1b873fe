//! Live status updates: the browser side of `GET /api/v1/events` (Server-Sent Events).

use fleet::model::StatusEvent;

/// What the stream says.
// Only the browser build constructs these.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub enum LiveMessage {
    Status(Box<StatusEvent>),
    /// We fell behind and missed events: reload the whole fleet.
    Resync,
    /// The stream opened (`true`) or dropped (`false`; the browser retries by itself).
    Connection(bool),
}

/// Subscribes to status events for as long as the calling component lives. Does nothing on
/// the server; in the browser the `EventSource` reconnects by itself after a network blip.
pub fn subscribe(on_message: impl Fn(LiveMessage) + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    {
        use leptos::prelude::*;
        use wasm_bindgen::{closure::Closure, JsCast};

        let source = StoredValue::new_local(None::<web_sys::EventSource>);
        Effect::new(move |_| {
            let Ok(events) = web_sys::EventSource::new("/api/v1/events") else {
                return;
            };
            let on_status = {
                let on_message = on_message.clone();
                Closure::<dyn Fn(web_sys::MessageEvent)>::new(
                    move |event: web_sys::MessageEvent| {
                        if let Some(data) = event.data().as_string() {
                            if let Ok(parsed) = serde_json::from_str::<StatusEvent>(&data) {
                                on_message(LiveMessage::Status(Box::new(parsed)));
                            }
                        }
                    },
                )
            };
            let on_resync = {
                let on_message = on_message.clone();
                Closure::<dyn Fn(web_sys::MessageEvent)>::new(move |_| {
                    on_message(LiveMessage::Resync)
                })
            };
            let on_open = {
                let on_message = on_message.clone();
                Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
                    on_message(LiveMessage::Connection(true))
                })
            };
            let on_error = {
                let on_message = on_message.clone();
                Closure::<dyn Fn(web_sys::Event)>::new(move |_| {
                    on_message(LiveMessage::Connection(false))
                })
            };
            let _ =
                events.add_event_listener_with_callback("open", on_open.as_ref().unchecked_ref());
            let _ =
                events.add_event_listener_with_callback("error", on_error.as_ref().unchecked_ref());
            on_open.forget();
            on_error.forget();
            let _ = events
                .add_event_listener_with_callback("status", on_status.as_ref().unchecked_ref());
            let _ = events
                .add_event_listener_with_callback("resync", on_resync.as_ref().unchecked_ref());
            // The listeners live as long as the page; the source is closed on cleanup.
            on_status.forget();
            on_resync.forget();
            source.set_value(Some(events));
        });
        on_cleanup(move || {
            if let Some(events) = source.try_get_value().flatten() {
                events.close();
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = on_message;
}
