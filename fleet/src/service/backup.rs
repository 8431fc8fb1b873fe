//! Backing up the live database (admins only).

use super::{Fleet, FleetError};
use crate::auth::Actor;

impl Fleet {
    /// A consistent copy of the live database (`VACUUM INTO`), safe while the server runs.
    /// Refuses to overwrite an existing file. SQLite only: PostgreSQL has its own tools
    /// (`pg_dump`), and the database server, not the dashboard, holds the files.
    pub async fn backup(&self, actor: &Actor, path: &std::path::Path) -> Result<(), FleetError> {
        actor.require(crate::model::Role::Admin, "back up the database")?;
        if path.exists() {
            return Err(FleetError::Invalid(format!(
                "{} already exists; choose a new file",
                path.display()
            )));
        }
        let target = path
            .to_str()
            .ok_or_else(|| FleetError::Invalid("the backup path must be valid UTF-8".into()))?;
        let Some(pool) = self.inner.db.reader.as_sqlite() else {
            return Err(FleetError::Invalid(
                "the dashboard backs up SQLite databases only; back up PostgreSQL with pg_dump"
                    .into(),
            ));
        };
        sqlx::query("VACUUM INTO $1")
            .bind(target)
            .execute(pool)
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("writing the backup"))
            })?;
        tracing::info!(path = %path.display(), "database backed up");
        Ok(())
    }
}
