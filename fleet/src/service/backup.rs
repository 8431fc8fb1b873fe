//! Backing up the live database (admins only).

use super::{Fleet, FleetError};
use crate::auth::Actor;

impl Fleet {
    /// A consistent copy of the live database (`VACUUM INTO`), safe while the server runs.
    /// Refuses to overwrite an existing file.
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
        sqlx::query("VACUUM INTO ?")
            .bind(target)
            .execute(&self.inner.db.reader)
            .await
            .map_err(|e| {
                FleetError::Internal(anyhow::Error::new(e).context("writing the backup"))
            })?;
        tracing::info!(path = %path.display(), "database backed up");
        Ok(())
    }
}
