//! Alerts: telling people that a device is down without them watching the screen.
//!
//! * [`engine`] — from poll rounds to decisions (open, repeat, recover, storm); pure.
//! * [`schedule`] — maintenance windows and whether one covers a moment.
//! * [`message`] — what a message says, and how each kind of channel renders it.
//! * [`send`] — one attempt to deliver one message to one channel.
//! * [`ack`] — the signed links that acknowledge an alert from its message.
//!
//! The service (`service::alerts`) ties them together: it feeds the engine each round, writes
//! the alerts and an outbox row per message and channel in one transaction, and a dispatcher
//! task sends the outbox with retries, so sending never holds up polling and a restart loses
//! nothing.

pub mod ack;
pub mod engine;
pub mod message;
pub mod schedule;
pub mod send;
