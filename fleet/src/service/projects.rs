//! Managing projects and their tokens (admins only). Every change is audited.

use pickyassist::ApiToken;

use super::{Fleet, FleetError};
use crate::{
    auth::Actor,
    db::{self, audit::NewEntry},
    model::{token_hint, AuditAction, ProjectAdminView, ProjectName, Role},
};

impl Fleet {
    pub fn list_projects(&self, actor: &Actor) -> Result<Vec<ProjectAdminView>, FleetError> {
        actor.require(Role::Viewer, "list projects")?;
        Ok(self
            .projects_read()
            .iter()
            .map(|p| ProjectAdminView {
                id: p.id,
                name: p.name.clone(),
                token_hint: token_hint(&p.token_last4),
                upstream_project_id: p.upstream_project_id.clone(),
                created_at: p.created_at.clone(),
            })
            .collect())
    }

    /// Adds a project; its token is encrypted before it touches the database.
    #[tracing::instrument(skip(self, actor, token), fields(actor = %actor.name, name = %name))]
    pub async fn add_project(
        &self,
        actor: &Actor,
        name: ProjectName,
        token: ApiToken,
    ) -> Result<i64, FleetError> {
        actor.require(Role::Admin, "add projects")?;
        let sealed = self.inner.cipher.seal(&token)?;
        let id = db::insert_project(
            &self.inner.db.writer,
            name.as_str(),
            &sealed,
            &token.last4(),
        )
        .await
        .map_err(|e| name_conflict(e, &name))?;
        self.reload_projects().await?;
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ProjectAdded),
                project_id: Some(id),
                project_name: Some(name.as_str()),
                ..Default::default()
            },
        )
        .await?;
        Ok(id)
    }

    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn rename_project(
        &self,
        actor: &Actor,
        id: i64,
        name: ProjectName,
    ) -> Result<(), FleetError> {
        actor.require(Role::Admin, "rename projects")?;
        let old = self.project(id).ok_or(FleetError::ProjectNotFound(id))?;
        if old.name == name.as_str() {
            return Ok(());
        }
        let renamed = db::rename_project(&self.inner.db.writer, id, name.as_str())
            .await
            .map_err(|e| name_conflict(e, &name))?;
        if !renamed {
            return Err(FleetError::ProjectNotFound(id));
        }
        self.reload_projects().await?;
        let detail = format!("renamed from {:?}", old.name);
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ProjectRenamed),
                project_id: Some(id),
                project_name: Some(name.as_str()),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await
    }

    /// Replaces a project's token. The new one is only ever written, never shown.
    #[tracing::instrument(skip(self, actor, token), fields(actor = %actor.name))]
    pub async fn rotate_token(
        &self,
        actor: &Actor,
        id: i64,
        token: ApiToken,
    ) -> Result<(), FleetError> {
        actor.require(Role::Admin, "rotate tokens")?;
        let project = self.project(id).ok_or(FleetError::ProjectNotFound(id))?;
        let sealed = self.inner.cipher.seal(&token)?;
        let replaced = db::replace_token(&self.inner.db.writer, id, &sealed, &token.last4())
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("replacing a token"))
            })?;
        if !replaced {
            return Err(FleetError::ProjectNotFound(id));
        }
        self.reload_projects().await?;
        self.backoff_state().forget(id);
        let detail = format!(
            "token ••••{} replaced by ••••{}",
            project.token_last4,
            token.last4()
        );
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ProjectTokenRotated),
                project_id: Some(id),
                project_name: Some(&project.name),
                detail: Some(&detail),
                ..Default::default()
            },
        )
        .await
    }

    /// Removes a project. Its audit rows stay (they keep the name it had).
    #[tracing::instrument(skip(self, actor), fields(actor = %actor.name))]
    pub async fn remove_project(&self, actor: &Actor, id: i64) -> Result<(), FleetError> {
        actor.require(Role::Admin, "remove projects")?;
        let project = self.project(id).ok_or(FleetError::ProjectNotFound(id))?;
        let removed = db::delete_project(&self.inner.db.writer, id)
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("removing a project"))
            })?;
        if !removed {
            return Err(FleetError::ProjectNotFound(id));
        }
        self.reload_projects().await?;
        self.inner.board.remove(id);
        self.budget().forget(id);
        self.backoff_state().forget(id);
        self.audit(
            actor,
            NewEntry {
                action: Some(AuditAction::ProjectRemoved),
                project_id: Some(id),
                project_name: Some(&project.name),
                ..Default::default()
            },
        )
        .await
    }

    /// The project id for a name (case-insensitive), for the CLI.
    pub fn project_id_by_name(&self, name: &str) -> Option<i64> {
        self.projects_read()
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
            .map(|p| p.id)
    }
}

fn name_conflict(error: sqlx::Error, name: &ProjectName) -> FleetError {
    if db::is_unique_violation(&error) {
        FleetError::Conflict(format!(
            "a project named {:?} already exists",
            name.as_str()
        ))
    } else {
        FleetError::Internal(anyhow::Error::new(error).context("writing a project"))
    }
}
