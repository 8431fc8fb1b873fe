//! Integration tests: the real server on port 0, a fresh SQLite file, the built-in simulator.
//! One test binary (faster to link); one module per area.

mod admin_api_keys;
mod admin_projects;
mod admin_users;
mod alert_forms;
mod alerts;
mod api;
mod api_docs_and_operations;
mod assets;
mod audit;
mod audit_chain;
mod auth;
mod autoheal;
mod batches;
mod cli;
mod cluster;
mod commands;
mod database_outage;
mod events;
mod fleet_page;
mod guides;
mod helpers;
mod history;
mod prefs;
mod process;
mod receivers;
mod reliability;
mod remediation;
mod secrets;
