//! Idempotency-Keys and their answers (see `service::idempotency`). A key is claimed by one
//! insert that only an expired row gives way to, so of two instances taking the same key at
//! once exactly one gets it.

use super::Pool;
use crate::with_pool;

/// What a claim found.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is this request's: run the command.
    Ours,
    /// The key was taken, for this request or another.
    Taken(Taken),
}

#[derive(Debug, PartialEq, Eq, sqlx::FromRow)]
pub struct Taken {
    pub project_id: i64,
    pub command: String,
    pub claimed_at: String,
    /// The instance that claimed it.
    pub instance: String,
    /// The first request's answer (JSON), once it has one.
    pub result: Option<String>,
}

/// Who claims a key, and when.
pub struct Claimant<'a> {
    pub caller: &'a str,
    pub instance: &'a str,
    /// A stored time (`model::stored_time`), as is `expired_before`.
    pub now: &'a str,
}

/// Claims `key` for a command, unless it is held by a claim made at or after `expired_before`.
pub async fn claim(
    pool: &Pool,
    by: &Claimant<'_>,
    key: &str,
    (project_id, command): (i64, &str),
    expired_before: &str,
) -> sqlx::Result<Claim> {
    let caller = by.caller;
    const CLAIM: &str = "INSERT INTO idempotency_keys
             (caller, idempotency_key, project_id, command, claimed_at, instance, result)
         VALUES ($1, $2, $3, $4, $5, $6, NULL)
         ON CONFLICT (caller, idempotency_key) DO UPDATE
            SET project_id = excluded.project_id, command = excluded.command,
                claimed_at = excluded.claimed_at, instance = excluded.instance, result = NULL
          WHERE idempotency_keys.claimed_at < $7
         RETURNING claimed_at";
    const READ: &str =
        "SELECT project_id, command, claimed_at, instance, result FROM idempotency_keys
         WHERE caller = $1 AND idempotency_key = $2";
    // A claim given up between the two statements (its request was refused) is claimed anew.
    for _ in 0..3 {
        let claimed: Option<String> = with_pool!(pool, p => {
            sqlx::query_scalar(CLAIM)
                .bind(caller)
                .bind(key)
                .bind(project_id)
                .bind(command)
                .bind(by.now)
                .bind(by.instance)
                .bind(expired_before)
                .fetch_optional(p)
                .await
        })?;
        if claimed.is_some() {
            return Ok(Claim::Ours);
        }
        let taken: Option<Taken> = with_pool!(pool, p => {
            sqlx::query_as(READ).bind(caller).bind(key).fetch_optional(p).await
        })?;
        if let Some(taken) = taken {
            return Ok(Claim::Taken(taken));
        }
    }
    Err(sqlx::Error::Protocol(
        "an Idempotency-Key kept being claimed and given up".into(),
    ))
}

/// Stores the answer of the command `key` stood for.
pub async fn answer(pool: &Pool, caller: &str, key: &str, result: &str) -> sqlx::Result<()> {
    with_pool!(pool, p => {
        sqlx::query(
            "UPDATE idempotency_keys SET result = $1 WHERE caller = $2 AND idempotency_key = $3",
        )
        .bind(result)
        .bind(caller)
        .bind(key)
        .execute(p)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// Gives a claim up: its request was refused before anything was sent, so a retry runs anew.
pub async fn release(pool: &Pool, caller: &str, key: &str) -> sqlx::Result<()> {
    with_pool!(pool, p => {
        sqlx::query(
            "DELETE FROM idempotency_keys
              WHERE caller = $1 AND idempotency_key = $2 AND result IS NULL",
        )
        .bind(caller)
        .bind(key)
        .execute(p)
        .await
        .map(|_| ())
    })?;
    Ok(())
}

/// Forgets keys claimed before `expired_before`.
pub async fn prune(pool: &Pool, expired_before: &str) -> sqlx::Result<u64> {
    let done = with_pool!(pool, p => {
        sqlx::query("DELETE FROM idempotency_keys WHERE claimed_at < $1")
            .bind(expired_before)
            .execute(p)
            .await
            .map(|r| r.rows_affected())
    })?;
    Ok(done)
}
