//! One module per figure of the issue. Each starts what it needs (simulator, server(s) on fresh
//! databases) and returns its table rows; everything it started stops when it returns.

pub mod audit_chain;
pub mod audit_page;
pub mod audit_writes;
pub mod big_fleet;
pub mod command_latency;
pub mod engines;
pub mod fleet_ssr;
pub mod history;
pub mod memory;
pub mod scale_out;
pub mod upstream_calls;
pub mod wasm_size;
