//! The PickyAssist device API (`device-status` and `device-action`), as documented in
//! `shared/pickyassist-device-api.md` and as it behaves in practice.
//!
//! This crate is the only place that knows the wire format. It is tolerant where the upstream
//! is sloppy (numbers sent as strings and strings sent as numbers) and strict where it matters
//! (a body without a `status`, or one that is not JSON, is an error, never a default).
//!
//! Without the `client` feature it is plain data types and also builds for wasm, so the
//! browser shares [`DeviceState`] and [`Command`] with the server.

mod command;
mod kind;
mod status;
mod token;

#[cfg(feature = "client")]
mod client;

pub use command::{Command, UnknownCommand};
pub use kind::ErrorKind;
pub use status::{ActionOutcome, DeviceState, DeviceStatus, ParseError, StatusReply};
pub use token::{ApiToken, InvalidToken};

#[cfg(feature = "client")]
pub use client::{Client, ClientConfig, ClientError};

/// `application` value for WhatsApp Web Automation. The docs call it a string but their own
/// sample sends the number, which is what we send.
pub const APPLICATION_WHATSAPP_WEB: u32 = 10;

/// The `status` code of a successful `device-action` (and of no error in general).
pub const SUCCESS_CODE: i64 = 100;

/// The documented base URL of the real service.
pub const DEFAULT_BASE_URL: &str = "https://pickyassist.com/app/api/v2";
