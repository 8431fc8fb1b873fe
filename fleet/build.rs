//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo does not watch that folder:
//! without this, a new migration file is left out until some Rust file changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
