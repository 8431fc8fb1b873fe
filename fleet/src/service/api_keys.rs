//! API keys for scripts (admins create and revoke them). A key acts with its user's role;
//! disabling the user disables the key.

use chrono::{SecondsFormat, Utc};
use rand::{distributions::Alphanumeric, Rng};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::{api_keys, audit::NewEntry, users},
    model::{ApiKeyView, AuditAction, CreatedApiKey, CurrentUser, Role},
};

/// `pf_` + 8 hex characters: shown in lists, used to find the row.
const PREFIX_LEN: usize = 11;

impl Fleet {
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn create_api_key(
        &self,
        actor: &Actor,
        user_id: i64,
        label: &str,
    ) -> Result<CreatedApiKey, FleetError> {
        actor.require(Role::Admin, "create API keys")?;
        let label = label.trim();
        if label.is_empty() || label.chars().count() > 80 || label.chars().any(char::is_control) {
            return Err(FleetError::Invalid(
                "the key label must be 1–80 printable characters".into(),
            ));
        }
        let user = users::by_id(&self.inner.db.reader, user_id)
            .await
            .map_err(internal)?
            .filter(|u| !u.disabled)
            .ok_or_else(|| {
                FleetError::Invalid(format!("there is no enabled user with id {user_id}"))
            })?;
        let mut rng = rand::rngs::OsRng;
        let prefix = format!("pf_{}", hex::encode(rng.gen::<[u8; 4]>()));
        let secret: String = (&mut rng)
            .sample_iter(&Alphanumeric)
            .take(32)
            .map(char::from)
            .collect();
        let key = format!("{prefix}_{secret}");
        let id = api_keys::insert(&self.inner.db.writer, user.id, label, &prefix, &hash(&key))
            .await
            .map_err(internal)?;
        let detail = format!("{label:?} for {} ({prefix})", user.username);
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ApiKeyCreated),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await?;
        Ok(CreatedApiKey {
            id,
            key,
            prefix,
            username: user.username,
            label: label.to_owned(),
        })
    }

    pub async fn list_api_keys(&self, actor: &Actor) -> Result<Vec<ApiKeyView>, FleetError> {
        actor.require(Role::Admin, "list API keys")?;
        let rows = api_keys::list(&self.inner.db.reader)
            .await
            .map_err(internal)?;
        Ok(rows
            .into_iter()
            .map(|r| ApiKeyView {
                id: r.id,
                username: r.username,
                label: r.label,
                prefix: r.prefix,
                created_at: r.created_at,
                last_used_at: r.last_used_at,
                revoked_at: r.revoked_at,
            })
            .collect())
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn revoke_api_key(&self, actor: &Actor, id: i64) -> Result<(), FleetError> {
        actor.require(Role::Admin, "revoke API keys")?;
        let row = api_keys::by_id(&self.inner.db.reader, id)
            .await
            .map_err(internal)?
            .ok_or_else(|| FleetError::Invalid(format!("there is no API key with id {id}")))?;
        if !api_keys::revoke(&self.inner.db.writer, id)
            .await
            .map_err(internal)?
        {
            return Ok(()); // already revoked: nothing changes, nothing to audit
        }
        let detail = format!("{:?} of {} ({})", row.label, row.username, row.prefix);
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ApiKeyRevoked),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await
    }

    /// The actor behind a bearer key, or `None` for an unknown, revoked or malformed key or a
    /// disabled user. Compares hashes in constant time.
    pub async fn actor_for_api_key(&self, key: &str) -> Result<Option<Actor>, FleetError> {
        let key = key.trim();
        if !key.starts_with("pf_") || key.len() < PREFIX_LEN + 2 || !key.is_ascii() {
            return Ok(None);
        }
        let Some(row) = api_keys::by_prefix(&self.inner.db.reader, &key[..PREFIX_LEN])
            .await
            .map_err(internal)?
        else {
            return Ok(None);
        };
        if row.revoked_at.is_some() || !bool::from(row.key_hash.ct_eq(&hash(key))) {
            return Ok(None);
        }
        if row.user_disabled {
            return Ok(None);
        }
        // Last use to the minute is plenty, and spares a write on every request.
        let minute_ago = (Utc::now() - chrono::Duration::minutes(1))
            .to_rfc3339_opts(SecondsFormat::Millis, true);
        if row
            .last_used_at
            .as_deref()
            .is_none_or(|t| t < minute_ago.as_str())
        {
            if let Err(e) = api_keys::touch(&self.inner.db.writer, row.id).await {
                tracing::warn!(error = %e, "could not record an API key's last use");
            }
        }
        Ok(Some(Actor::user(&CurrentUser {
            id: row.user_id,
            role: users::stored_role(&row.user_role),
            username: row.username,
        })))
    }
}

fn hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

fn internal(error: impl Into<anyhow::Error>) -> FleetError {
    FleetError::Internal(error.into())
}
