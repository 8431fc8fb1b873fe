//! Managing projects and their tokens (admins only). Every change is audited. Also the
//! in-memory project list (tokens decrypted) the rest of the service reads, and its loading.

use std::collections::HashMap;

use anyhow::Context;
use pickyassist::ApiToken;

use super::{project_list::ProjectList, Fleet, FleetError};
use crate::{
    auth::Actor,
    db::{self, audit::NewEntry},
    model::{
        token_hint, AuditAction, ProjectAdminView, ProjectCard, ProjectName, Role, StatusView,
    },
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
        self.refuse_token_in_use(&token, None)?;
        let sealed = self.inner.cipher.seal(&token)?;
        let id = db::insert_project(
            &self.inner.db.writer,
            name.as_str(),
            &sealed,
            &token.last4(),
        )
        .await
        .map_err(|e| name_conflict(e, &name))?;
        self.refresh_project(id).await?;
        self.publish_change(super::cluster::Change::Projects).await;
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
        self.refresh_project(id).await?;
        self.publish_change(super::cluster::Change::Projects).await;
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
        self.refuse_token_in_use(&token, Some(id))?;
        let sealed = self.inner.cipher.seal(&token)?;
        let replaced = db::replace_token(&self.inner.db.writer, id, &sealed, &token.last4())
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("replacing a token"))
            })?;
        if !replaced {
            return Err(FleetError::ProjectNotFound(id));
        }
        self.refresh_project(id).await?;
        self.publish_change(super::cluster::Change::Projects).await;
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

    /// Removes a project. `confirm_name` must repeat its name exactly (surrounding spaces
    /// aside), whichever door the request came through: the page's typed name, the API's
    /// `confirm_name`, the CLI's prompt or `--yes`. Its audit rows stay (they keep the name it
    /// had). Returns the name it had.
    #[tracing::instrument(skip(self, actor, confirm_name), fields(actor = %actor.name))]
    pub async fn remove_project(
        &self,
        actor: &Actor,
        id: i64,
        confirm_name: &str,
    ) -> Result<String, FleetError> {
        actor.require(Role::Admin, "remove projects")?;
        let project = self.project(id).ok_or(FleetError::ProjectNotFound(id))?;
        if confirm_name.trim() != project.name {
            return Err(FleetError::Invalid(format!(
                "type the project name {:?} exactly to remove it",
                project.name
            )));
        }
        let removed = db::delete_project(&self.inner.db.writer, id)
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("removing a project"))
            })?;
        if !removed {
            return Err(FleetError::ProjectNotFound(id));
        }
        self.refresh_project(id).await?;
        self.publish_change(super::cluster::Change::Projects).await;
        self.inner.board.remove(id);
        self.inner.history.forget(id);
        self.forget_advice(id);
        self.forget_auto_heal(id);
        if let Err(e) = db::history::delete_project(&self.inner.db.writer, id).await {
            // The project is gone; its history only takes room until the next prune.
            tracing::warn!(project_id = id, error = %e, "could not delete a removed project's history");
        }
        self.budget().forget(id);
        if let Some(pool) = self.inner.db.writer.as_postgres() {
            if let Err(e) = db::status_checks::forget(pool, id).await {
                tracing::warn!(project_id = id, error = %e, "could not forget a removed project's checks");
            }
        }
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
        .await?;
        Ok(project.name)
    }

    /// One token, one project: upstream's budget of status checks is per token, so a second
    /// project with the same token would double that token's calls.
    fn refuse_token_in_use(&self, token: &ApiToken, except: Option<i64>) -> Result<(), FleetError> {
        let projects = self.projects_read();
        match projects
            .iter()
            .find(|p| Some(p.id) != except && p.token == *token)
        {
            Some(other) => Err(FleetError::Conflict(format!(
                "this API token is already used by the project {:?}",
                other.name
            ))),
            None => Ok(()),
        }
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

/// A project as the server holds it: the token decrypted, in memory only.
#[derive(Debug, Clone)]
pub(super) struct Project {
    pub(super) id: i64,
    pub(super) name: String,
    pub(super) token: ApiToken,
    pub(super) token_last4: String,
    pub(super) upstream_project_id: Option<String>,
    created_at: String,
    /// The stored token's nonce: unique per sealing, so while it is the same the token
    /// decrypted before still stands and a reload need not decrypt it again.
    sealed_nonce: Vec<u8>,
}

impl Project {
    /// The list's order: by name, case aside, then by id.
    pub(super) fn order_key(&self) -> (String, i64) {
        (self.name.to_lowercase(), self.id)
    }

    #[cfg(test)]
    pub(super) fn for_test(id: i64, name: &str) -> Self {
        Project {
            id,
            name: name.to_owned(),
            token: ApiToken::parse("0123456789abcdef0123").expect("a valid token"),
            token_last4: "0123".into(),
            upstream_project_id: None,
            created_at: String::new(),
            sealed_nonce: Vec::new(),
        }
    }

    fn from_row(row: db::ProjectRow, token: ApiToken) -> Self {
        Project {
            id: row.id,
            name: row.name,
            token,
            token_last4: row.token_last4,
            upstream_project_id: row.upstream_project_id,
            created_at: row.created_at,
            sealed_nonce: row.token_nonce,
        }
    }

    /// The project as a card, with its status from the board.
    pub(super) fn card(&self, statuses: &HashMap<i64, StatusView>) -> ProjectCard {
        ProjectCard {
            id: self.id,
            name: self.name.clone(),
            token_hint: token_hint(&self.token_last4),
            status: statuses
                .get(&self.id)
                .cloned()
                .unwrap_or_else(StatusView::checking),
            quiet: None,
        }
    }
}

impl Fleet {
    /// Reads the whole project list again (at start, on taking over polling, after another
    /// instance changed it). Tokens already decrypted are kept, so with many projects a reload
    /// costs one read, not one decryption per project.
    pub(super) async fn reload_projects(&self) -> anyhow::Result<()> {
        let _one_at_a_time = self.inner.reload.lock().await;
        let rows = db::list_projects(&self.inner.db.reader)
            .await
            .context("loading projects")?;
        let known: HashMap<i64, (Vec<u8>, ApiToken)> = self
            .projects_read()
            .iter()
            .map(|p| (p.id, (p.sealed_nonce.clone(), p.token.clone())))
            .collect();
        let mut projects = Vec::with_capacity(rows.len());
        for row in rows {
            let token = match known.get(&row.id) {
                Some((nonce, token)) if *nonce == row.token_nonce => token.clone(),
                _ => self.open_token(&row)?,
            };
            projects.push(Project::from_row(row, token));
        }
        // In our own order, not the database's (its collations differ between engines), so
        // [`Self::refresh_project`] can place a project where a reload would.
        *self.projects_write() = ProjectList::new(projects);
        Ok(())
    }

    /// Reads one project again after this instance changed it (added, renamed, new token,
    /// removed), so adding the 10,000th project does not read the other 9,999.
    async fn refresh_project(&self, id: i64) -> anyhow::Result<()> {
        let _one_at_a_time = self.inner.reload.lock().await;
        let row = db::project_row(&self.inner.db.reader, id)
            .await
            .context("loading a project")?;
        let project = match row {
            Some(row) => {
                let token = self.open_token(&row)?;
                Some(Project::from_row(row, token))
            }
            None => None,
        };
        self.projects_write().put(id, project);
        Ok(())
    }

    /// Upstream's id for a project, once stored (the list lists it; checks compare with it).
    pub(super) fn remember_upstream_id(&self, id: i64, upstream_id: &str) {
        if let Some(project) = self.projects_write().get_mut(id) {
            project.upstream_project_id = Some(upstream_id.to_owned());
        }
    }

    fn open_token(&self, row: &db::ProjectRow) -> anyhow::Result<ApiToken> {
        self.inner
            .cipher
            .open(&row.sealed_token())
            .with_context(|| format!("project {:?}", row.name))
    }

    pub(super) fn project(&self, id: i64) -> Option<Project> {
        self.projects_read().get(id).cloned()
    }

    pub(super) fn projects_read(&self) -> std::sync::RwLockReadGuard<'_, ProjectList> {
        self.inner
            .projects
            .read()
            .unwrap_or_else(|p| p.into_inner())
    }

    fn projects_write(&self) -> std::sync::RwLockWriteGuard<'_, ProjectList> {
        self.inner
            .projects
            .write()
            .unwrap_or_else(|p| p.into_inner())
    }
}
