//! `Idempotency-Key`: a script that retries a command (its connection dropped, it timed out)
//! sends the same key, and gets the first attempt's result instead of a second command. Keys
//! belong to their caller and are kept for [`KEPT_FOR`]; a key reused for another request is
//! refused.
//!
//! Keys and their answers live in the database (`db::idempotency`), so a retry that lands on
//! another instance, or comes after a restart, is answered too. In-process, a retry while the
//! first is still running waits for it (a cell per key); through another instance it gets a
//! 409 saying so, and its next retry the answer. A first request that never got its answer
//! recorded (its instance died mid-call, or it failed after it may have been sent) may or may
//! not have run: retries are refused and pointed at the audit log rather than sent again.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use pickyassist::Command;
use tokio::sync::OnceCell;

use chrono::{TimeDelta, Utc};

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db,
    model::{stored_time, CommandResult},
};

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
            return Err(reused_key(key));
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
        // Its own task, as a command is: a caller that hangs up still leaves the answer stored
        // for its retry. Retries in this process wait on the cell meanwhile.
        let fleet = self.clone();
        let (actor, key) = (actor.clone(), key.to_owned());
        let confirm_name = confirm_name.map(str::to_owned);
        self.inner
            .commands
            .spawn(async move {
                cell.get_or_try_init(|| async {
                    match fleet
                        .claim_key(&actor.name, &key, (project_id, command))
                        .await?
                    {
                        Some(first) => Ok(first),
                        None => {
                            let request = (project_id, command, confirm_name.as_deref());
                            fleet.run_claimed(&actor, &key, request).await
                        }
                    }
                })
                .await
                .cloned()
            })
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("the command task failed"))
            })?
    }

    /// Claims the key in the database: `None` when it is this request's to run, or the first
    /// request's answer.
    async fn claim_key(
        &self,
        caller: &str,
        key: &str,
        (project_id, command): (i64, Command),
    ) -> Result<Option<CommandResult>, FleetError> {
        let now = Utc::now();
        let expired_before = now - TimeDelta::from_std(KEPT_FOR).unwrap_or(TimeDelta::days(1));
        let pool = &self.inner.db.writer;
        let claimant = db::idempotency::Claimant {
            caller,
            instance: &self.inner.instance_id,
            now: &stored_time(now),
        };
        let request = (project_id, command.wire_name());
        let claim =
            db::idempotency::claim(pool, &claimant, key, request, &stored_time(expired_before))
                .await
                .map_err(|e| internal(e, "claiming an Idempotency-Key"))?;
        let taken = match claim {
            db::idempotency::Claim::Ours => return Ok(None),
            db::idempotency::Claim::Taken(taken) => taken,
        };
        if (taken.project_id, taken.command.as_str()) != request {
            return Err(reused_key(key));
        }
        if let Some(result) = taken.result {
            return serde_json::from_str(&result)
                .map(Some)
                .map_err(|e| internal(e, "reading a stored answer"));
        }
        // Unanswered. In this process retries wait on the cell, so a claim of ours without an
        // answer ended without one. Another instance's may still be running: if that instance
        // is alive and the claim no older than a command can take (waiting for the device's
        // turn, then the call).
        let running_elsewhere = if taken.instance == self.inner.instance_id {
            false
        } else {
            let longest = self.longest_command() * 2 + self.inner.client.request_timeout();
            let longest = TimeDelta::from_std(longest).unwrap_or(TimeDelta::minutes(5));
            // Stored times sort as text.
            taken.claimed_at >= stored_time(now - longest)
                && super::cluster::instance_alive(self, &taken.instance)
                    .await
                    .map_err(|e| FleetError::Internal(e.context("looking for an instance")))?
        };
        Err(FleetError::Conflict(if running_elsewhere {
            format!(
                "the first request with the Idempotency-Key {key:?} is still running on another \
                 dashboard instance; retry in a moment for its answer"
            )
        } else {
            format!(
                "the first request with the Idempotency-Key {key:?} was cut off and may or may \
                 not have run; check the audit log before sending the command again, with a new \
                 key"
            )
        }))
    }

    /// Runs the command whose key this request claimed and stores its answer. A command
    /// refused before it was sent gives its key back, so a retry runs anew; after any other
    /// failure it may have been sent, and the key stays claimed without an answer.
    async fn run_claimed(
        &self,
        actor: &Actor,
        key: &str,
        (project_id, command, confirm_name): (i64, Command, Option<&str>),
    ) -> Result<CommandResult, FleetError> {
        let pool = &self.inner.db.writer;
        let outcome = self
            .run_command(actor, project_id, command, confirm_name)
            .await;
        match &outcome {
            Ok(result) => match serde_json::to_string(result) {
                Ok(stored) => {
                    if let Err(e) = db::idempotency::answer(pool, &actor.name, key, &stored).await {
                        // This process still answers retries from its cell; other instances
                        // will say the first request was cut off, which sends nothing twice.
                        tracing::warn!(error = %e, "could not store an Idempotency-Key's answer");
                    }
                }
                Err(e) => tracing::warn!(error = %e, "could not encode a command's answer"),
            },
            Err(refused) if !matches!(refused, FleetError::Internal(_)) => {
                if let Err(e) = db::idempotency::release(pool, &actor.name, key).await {
                    tracing::warn!(error = %e, "could not give an Idempotency-Key back");
                }
            }
            Err(_) => {}
        }
        outcome
    }

    /// Forgets keys older than [`KEPT_FOR`] (the history upkeep calls this with its pruning).
    pub async fn prune_idempotency_keys(&self) -> anyhow::Result<u64> {
        let expired_before =
            Utc::now() - TimeDelta::from_std(KEPT_FOR).unwrap_or(TimeDelta::days(1));
        Ok(db::idempotency::prune(&self.inner.db.writer, &stored_time(expired_before)).await?)
    }
}

fn internal(e: impl std::error::Error + Send + Sync + 'static, doing: &str) -> FleetError {
    FleetError::Internal(anyhow::Error::new(e).context(doing.to_owned()))
}

fn reused_key(key: &str) -> FleetError {
    FleetError::Invalid(format!(
        "the Idempotency-Key {key:?} was used for another request; use a new key for a new command"
    ))
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
