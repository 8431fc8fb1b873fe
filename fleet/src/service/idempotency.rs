//! `Idempotency-Key`: a script that retries a command (its connection dropped, it timed out)
//! sends the same key, and gets the first attempt's result instead of a second command. Keys
//! belong to their caller and are kept for [`KEPT_FOR`]; a key reused for another request is
//! refused. A retry while the first is still running waits for it.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use pickyassist::Command;
use tokio::sync::OnceCell;

use super::{Fleet, FleetError};
use crate::{auth::Actor, model::CommandResult};

/// How long a key's result is kept.
pub const KEPT_FOR: Duration = Duration::from_secs(24 * 3600);

/// More keys than this at once: the oldest are forgotten first.
const MAX_KEYS: usize = 10_000;

/// The keys seen, per caller.
#[derive(Default)]
pub(super) struct IdempotencyKeys {
    keys: Mutex<HashMap<(String, String), Entry>>,
}

struct Entry {
    request: (i64, Command),
    seen: Instant,
    result: Arc<OnceCell<CommandResult>>,
}

impl IdempotencyKeys {
    /// The result cell for this caller's key and request, or an error if the key was used
    /// for another request.
    fn cell(
        &self,
        caller: &str,
        key: &str,
        request: (i64, Command),
        now: Instant,
    ) -> Result<Arc<OnceCell<CommandResult>>, FleetError> {
        let mut keys = self.keys.lock().unwrap_or_else(|p| p.into_inner());
        if keys.len() >= MAX_KEYS {
            keys.retain(|_, e| now.saturating_duration_since(e.seen) < KEPT_FOR);
            if keys.len() >= MAX_KEYS {
                if let Some(oldest) = keys
                    .iter()
                    .min_by_key(|(_, e)| e.seen)
                    .map(|(k, _)| k.clone())
                {
                    keys.remove(&oldest);
                }
            }
        }
        let entry = keys
            .entry((caller.to_owned(), key.to_owned()))
            .or_insert_with(|| Entry {
                request,
                seen: now,
                result: Arc::default(),
            });
        if now.saturating_duration_since(entry.seen) >= KEPT_FOR {
            *entry = Entry {
                request,
                seen: now,
                result: Arc::default(),
            };
        }
        if entry.request != request {
            return Err(FleetError::Invalid(format!(
                "the Idempotency-Key {key:?} was used for another request; use a new key for a new command"
            )));
        }
        Ok(entry.result.clone())
    }
}

/// A key: 1 to 128 visible ASCII characters.
fn check_key(key: &str) -> Result<(), FleetError> {
    if key.is_empty() || key.len() > 128 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FleetError::Invalid(
            "an Idempotency-Key is 1 to 128 visible ASCII characters".into(),
        ));
    }
    Ok(())
}

impl Fleet {
    /// [`Fleet::run_command`], once per caller and `key`: a retry with the same key gets the
    /// first result (the same audit row) and sends nothing upstream. A first attempt that was
    /// refused (bad input, a double submit) sent nothing, so its retry runs anew.
    pub async fn run_command_once(
        &self,
        actor: &Actor,
        key: &str,
        project_id: i64,
        command: Command,
        confirm_name: Option<&str>,
    ) -> Result<CommandResult, FleetError> {
        check_key(key)?;
        let cell =
            self.inner
                .idempotency
                .cell(&actor.name, key, (project_id, command), Instant::now())?;
        cell.get_or_try_init(|| self.run_command(actor, project_id, command, confirm_name))
            .await
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_one_request_per_caller_until_it_expires() {
        let keys = IdempotencyKeys::default();
        let now = Instant::now();
        let restart = (1, Command::Restart);
        let a = keys.cell("otto", "k1", restart, now).unwrap();
        let again = keys.cell("otto", "k1", restart, now).unwrap();
        assert!(Arc::ptr_eq(&a, &again), "a retry shares the first result");
        assert!(keys.cell("otto", "k1", (2, Command::Restart), now).is_err());
        let other_caller = keys.cell("olga", "k1", (2, Command::Restart), now).unwrap();
        assert!(!Arc::ptr_eq(&a, &other_caller), "keys are the caller's own");
        let later = keys
            .cell("otto", "k1", (2, Command::Restart), now + KEPT_FOR)
            .unwrap();
        assert!(!Arc::ptr_eq(&a, &later), "an expired key starts afresh");
    }

    #[test]
    fn keys_are_short_and_visible() {
        assert!(check_key("retry-2026-12-01T10:00:00Z#1").is_ok());
        for bad in ["", "has space", "new\nline", &"k".repeat(129)] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }
}
