//! The picky-fleet server: builds the application from settings and serves it. A library so
//! integration tests can start the real thing on port 0.

pub mod ack_link;
pub mod api;
pub mod assets;
pub mod auth;
pub mod background;
pub mod cli;
pub mod client_addr;
pub mod config;
mod demo;
pub mod health;
pub mod metrics;
pub mod outage;
pub mod pages;
pub mod routes;
pub mod server_fns;
pub mod session_store;
pub mod startup;
pub mod state;
pub mod telemetry;
