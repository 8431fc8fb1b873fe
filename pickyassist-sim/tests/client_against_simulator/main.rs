//! The simulator on a real port, driven through `pickyassist::Client` (and raw HTTP where
//! the client would hide the wire). One binary, so it builds once.

mod commands;
mod control_api;
mod faults;
mod rate_limit;
mod stats;
mod support;
mod wire;
