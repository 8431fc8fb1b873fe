//! Signing in and out, and managing users (admins only). Every change is audited.

use super::{Fleet, FleetError};
use crate::{
    auth::{hash_password, verify_password, Actor, Password},
    db::{audit::NewEntry, sign_in_limits, users},
    model::{AuditAction, AuditOutcome, CurrentUser, Role, UserView, Username},
    sign_in_limit::{client_key, Refusal},
};

impl Fleet {
    /// Checks a username and password. Unknown users, wrong passwords and disabled users get
    /// the same error after the same work; the audit row says which it was.
    // The name as typed, Debug-escaped: a newline in it must not forge a log line.
    #[tracing::instrument(skip(self, password, client), fields(username = ?username.chars().take(64).collect::<String>()))]
    pub async fn sign_in(
        &self,
        username: &str,
        password: &str,
        client: Option<std::net::IpAddr>,
        request_id: Option<&str>,
    ) -> Result<CurrentUser, FleetError> {
        // Control characters escaped: the name goes into the audit log as typed.
        let attempted: String = username
            .trim()
            .chars()
            .take(64)
            .flat_map(|c| {
                let escaped: Vec<char> = if c.is_control() {
                    c.escape_default().collect()
                } else {
                    vec![c]
                };
                escaped
            })
            .collect();
        // Before any work: a limited attempt costs no password hashing and writes no row of
        // its own (it is counted; see `sign_in_limit`).
        if let Err(refusal) = self.take_sign_in_attempt(&attempted, client).await? {
            let retry_after_secs = refusal.wait.as_secs().max(1);
            let closed = self
                .inner
                .refused_sign_ins
                .count(refusal.limited, std::time::Instant::now());
            self.audit_refused_sign_ins(closed).await?;
            return Err(FleetError::RateLimited { retry_after_secs });
        }
        let row = match Username::parse(&attempted) {
            Ok(name) => users::by_name(&self.inner.db.reader, name.as_str())
                .await
                .map_err(internal)?,
            Err(_) => None,
        };
        let stored = row.as_ref().map(|r| r.password_hash.clone());
        let password = password.to_owned();
        let matches =
            tokio::task::spawn_blocking(move || verify_password(stored.as_deref(), &password))
                .await
                .map_err(|e| internal(anyhow::anyhow!("password check panicked: {e}")))?;
        let failure = match &row {
            None => Some("unknown user"),
            Some(_) if !matches => Some("wrong password"),
            Some(r) if r.disabled => Some("user is disabled"),
            Some(_) => None,
        };
        let client_detail = client.map(|c| format!("from {c}"));
        match (row, failure) {
            (Some(row), None) => {
                self.record_sign_in(client, false).await;
                let user = CurrentUser {
                    id: row.id,
                    username: row.username.clone(),
                    role: row.role(),
                };
                self.audit(
                    &Actor::user(&user).with_request_id(request_id.map(str::to_owned)),
                    NewEntry {
                        action: Some(AuditAction::SignIn),
                        detail: client_detail.as_deref(),
                        ..Default::default()
                    },
                )
                .await?;
                Ok(user)
            }
            (_, reason) => {
                self.record_sign_in(client, true).await;
                let detail = match (&client_detail, reason) {
                    (Some(c), Some(r)) => format!("{r} {c}"),
                    (None, Some(r)) => r.to_owned(),
                    _ => String::new(),
                };
                self.audit_failed_sign_in(attempted, request_id, &detail)
                    .await?;
                Err(FleetError::BadCredentials)
            }
        }
    }

    /// This instance's limits, then (on PostgreSQL) the same limits fleet-wide.
    async fn take_sign_in_attempt(
        &self,
        attempted: &str,
        client: Option<std::net::IpAddr>,
    ) -> Result<Result<(), Refusal>, FleetError> {
        let passed = match self.inner.sign_in_limiter.check(attempted, client) {
            Ok(passed) => passed,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let Some(pool) = self.inner.db.writer.as_postgres() else {
            return Ok(Ok(()));
        };
        let (per_user, per_client) = self.inner.sign_in_limiter.quotas();
        let attempt = sign_in_limits::Attempt {
            client: passed.client.as_deref(),
            username: &passed.username,
            failed_here: passed.suspect,
        };
        let quotas = sign_in_limits::Quotas {
            per_user,
            per_client,
        };
        sign_in_limits::take(pool, &attempt, quotas)
            .await
            .map_err(internal)
    }

    /// A finished attempt, for the limits here and (on PostgreSQL) on every instance. A failed
    /// write is logged: the sign-in's answer and audit row stand without it.
    async fn record_sign_in(&self, client: Option<std::net::IpAddr>, failed: bool) {
        let limiter = &self.inner.sign_in_limiter;
        if failed {
            limiter.record_failure(client);
        } else {
            limiter.record_success(client);
        }
        let (Some(pool), Some(ip)) = (self.inner.db.writer.as_postgres(), client) else {
            return;
        };
        if let Err(e) = sign_in_limits::record(pool, &client_key(ip), failed).await {
            tracing::warn!(error = %e, "could not record a sign-in for the fleet-wide limits");
        }
    }

    /// Forgets fleet-wide sign-in limits that are full again (PostgreSQL; nothing on SQLite).
    pub async fn prune_sign_in_limits(&self) -> Result<u64, FleetError> {
        match self.inner.db.writer.as_postgres() {
            Some(pool) => sign_in_limits::prune(pool).await.map_err(internal),
            None => Ok(0),
        }
    }

    /// Writes the summary rows of refused sign-ins whose window has closed by `now`. The
    /// server calls it now and then, so the last window of a flood that stopped is written
    /// too; tests pass a later `now` instead of waiting a minute.
    pub async fn flush_refused_sign_ins(&self, now: std::time::Instant) -> Result<(), FleetError> {
        let closed = self.inner.refused_sign_ins.closed(now);
        self.audit_refused_sign_ins(closed).await
    }

    /// One `sign_in_failed` row per closed window: how many attempts the limit refused.
    async fn audit_refused_sign_ins(
        &self,
        closed: Vec<crate::sign_in_limit::RefusedSummary>,
    ) -> Result<(), FleetError> {
        use crate::sign_in_limit::Limited;
        for summary in closed {
            let (name, detail) = match &summary.limited {
                Limited::Username(name) => (
                    name.clone(),
                    format!(
                        "{} attempts refused within a minute: too many for this username",
                        summary.refused
                    ),
                ),
                Limited::Client(client) => (
                    "(anonymous)".to_owned(),
                    format!(
                        "{} attempts refused within a minute: too many from {client}",
                        summary.refused
                    ),
                ),
            };
            self.audit_failed_sign_in(name, None, &detail).await?;
        }
        Ok(())
    }

    /// A `sign_in_failed` row under the name that was tried (there is no user to name).
    async fn audit_failed_sign_in(
        &self,
        attempted: String,
        request_id: Option<&str>,
        detail: &str,
    ) -> Result<(), FleetError> {
        let actor = Actor {
            user_id: None,
            name: attempted,
            role: Role::Viewer,
            request_id: request_id.map(str::to_owned),
        };
        self.audit(
            &actor,
            NewEntry {
                action: Some(AuditAction::SignInFailed),
                outcome: Some(AuditOutcome::Denied),
                detail: Some(detail),
                ..Default::default()
            },
        )
        .await
    }

    pub async fn sign_out(&self, actor: &Actor) -> Result<(), FleetError> {
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::SignOut),
                ..Default::default()
            },
        )
        .await
    }

    /// The user behind a session, if they still exist and are enabled (so disabling a user or
    /// changing their role takes effect on their next request).
    pub async fn current_user(&self, user_id: i64) -> Result<Option<CurrentUser>, FleetError> {
        let row = users::by_id(&self.inner.db.reader, user_id)
            .await
            .map_err(internal)?;
        Ok(row.filter(|r| !r.disabled).map(|r| CurrentUser {
            id: r.id,
            username: r.username.clone(),
            role: r.role(),
        }))
    }

    pub async fn list_users(&self, actor: &Actor) -> Result<Vec<UserView>, FleetError> {
        actor.require(Role::Admin, "list users")?;
        let rows = users::list(&self.inner.db.reader).await.map_err(internal)?;
        Ok(rows.iter().map(|r| r.view()).collect())
    }

    #[tracing::instrument(skip(self, actor, password), fields(actor = %actor.name, username = %username.as_str()))]
    pub async fn add_user(
        &self,
        actor: &Actor,
        username: Username,
        role: Role,
        password: Password,
    ) -> Result<i64, FleetError> {
        actor.require(Role::Admin, "add users")?;
        let owned = password.expose().to_owned();
        let hash = tokio::task::spawn_blocking(move || hash_password(&owned))
            .await
            .map_err(|e| internal(anyhow::anyhow!("password hashing panicked: {e}")))??;
        let id = users::insert(&self.inner.db.writer, username.as_str(), &hash, role)
            .await
            .map_err(|e| {
                if crate::db::is_unique_violation(&e) {
                    FleetError::Conflict(format!(
                        "a user named {:?} already exists",
                        username.as_str()
                    ))
                } else {
                    internal(e)
                }
            })?;
        let detail = format!("{} as {}", username.as_str(), role.as_str());
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::UserAdded),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await?;
        Ok(id)
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn set_user_role(
        &self,
        actor: &Actor,
        user_id: i64,
        role: Role,
    ) -> Result<(), FleetError> {
        actor.require(Role::Admin, "change roles")?;
        let user = self.user_row(user_id).await?;
        if user.role() == role {
            return Ok(());
        }
        if !users::set_role_keeping_an_admin(&self.inner.db.writer, user_id, role)
            .await
            .map_err(internal)?
        {
            return Err(last_admin());
        }
        let detail = format!(
            "{}: {} → {}",
            user.username,
            user.role().as_str(),
            role.as_str()
        );
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::UserRoleChanged),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        user_id: i64,
        disabled: bool,
    ) -> Result<(), FleetError> {
        actor.require(Role::Admin, "disable users")?;
        let user = self.user_row(user_id).await?;
        if user.disabled == disabled {
            return Ok(());
        }
        if !users::set_disabled_keeping_an_admin(&self.inner.db.writer, user_id, disabled)
            .await
            .map_err(internal)?
        {
            return Err(last_admin());
        }
        let action = if disabled {
            AuditAction::UserDisabled
        } else {
            AuditAction::UserEnabled
        };
        self.audit(
            actor,
            NewEntry {
                action: Some(action),
                detail: Some(&user.username),
                ..Default::default()
            },
        )
        .await
    }

    /// The user id for a name, for the CLI.
    pub async fn user_id_by_name(&self, username: &str) -> Result<Option<i64>, FleetError> {
        Ok(users::by_name(&self.inner.db.reader, username.trim())
            .await
            .map_err(internal)?
            .map(|r| r.id))
    }

    /// On the first start with the demo simulator: an `admin` with a generated password,
    /// returned so the caller can print it once. `None` when any user exists.
    pub async fn create_demo_admin(
        &self,
        password: Option<&str>,
    ) -> Result<Option<String>, FleetError> {
        if users::count(&self.inner.db.reader)
            .await
            .map_err(internal)?
            > 0
        {
            return Ok(None);
        }
        let password = password.map_or_else(Password::generate, str::to_owned);
        let username = Username::parse("admin").map_err(FleetError::Invalid)?;
        self.add_user(
            &Actor::cli(),
            username,
            Role::Admin,
            Password::parse(&password)?,
        )
        .await?;
        Ok(Some(password))
    }

    async fn user_row(&self, user_id: i64) -> Result<users::UserRow, FleetError> {
        users::by_id(&self.inner.db.reader, user_id)
            .await
            .map_err(internal)?
            .ok_or_else(|| FleetError::Invalid(format!("there is no user with id {user_id}")))
    }
}

/// A change that would leave no enabled admin is refused: nobody could manage the dashboard.
/// (The user exists, it was just read, so a refused update is this rule's.)
fn last_admin() -> FleetError {
    FleetError::Conflict("this is the last enabled admin; make another user admin first".into())
}

fn internal(error: impl Into<anyhow::Error>) -> FleetError {
    FleetError::Internal(error.into())
}
