//! picky-fleet's domain and service layer.
//!
//! * [`model`] — the view types that cross to the browser (also built for wasm).
//! * with the `ssr` feature: the database, token encryption, the status
//!   board and poller, and [`service::Fleet`], the one service every adapter (pages, server
//!   functions, REST API, CLI) calls. The rules live there and nowhere else.
//!
//! A crate of its own because both `app` (server functions) and `server` (REST API, CLI)
//! call it, and `app` cannot depend on `server`.

pub mod model;

#[cfg(feature = "ssr")]
pub mod alerts;
#[cfg(feature = "ssr")]
pub mod auth;
#[cfg(feature = "ssr")]
pub mod autoheal;
#[cfg(feature = "ssr")]
pub mod backoff;
#[cfg(feature = "ssr")]
pub mod board;
#[cfg(feature = "ssr")]
pub mod budget;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod crypto;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod history;
#[cfg(feature = "ssr")]
pub mod notice;
#[cfg(feature = "ssr")]
pub mod poller;
#[cfg(feature = "ssr")]
pub mod remediation;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod sign_in_limit;
#[cfg(feature = "ssr")]
pub mod supervise;

#[cfg(feature = "ssr")]
pub use service::{AnswerKind, ErrorAnswer, Fleet, FleetError, DATABASE_UNAVAILABLE};
