//! `picky-fleet migrate-to-postgres`: a SQLite install copied into an empty PostgreSQL
//! database, row for row and id for id (so the audit log's seals, which cover each row's id,
//! still verify with the same key), then counted on both sides.
//!
//! Generic over the tables: each column is read from SQLite as the type PostgreSQL declares
//! for it (`information_schema`), so a table added later is copied without touching this.
//! Sessions are not copied: people sign in again.

use anyhow::{bail, Context};
use sqlx::{PgPool, Row, SqlitePool};

/// Every table, parents before children (foreign keys hold as rows arrive).
const TABLES: [&str; 20] = [
    "users",
    "projects",
    "api_keys",
    "audit_log",
    "audit_chain_anchor",
    "audit_chain_legacy",
    "status_changes",
    "status_rollups",
    "alert_channels",
    "alert_rules",
    "alerts",
    "alert_deliveries",
    "alert_attempts",
    "alert_mutes",
    "maintenance_windows",
    "intended_disconnects",
    "batches",
    "batch_items",
    "auto_heal_policies",
    "status_checks",
];

/// Rows copied per table, in [`TABLES`] order.
#[derive(Debug, Default)]
pub struct CopyReport {
    pub tables: Vec<(&'static str, u64)>,
}

impl CopyReport {
    pub fn total(&self) -> u64 {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

/// Copies every table from `from` into `to`, which must hold no users, projects or audit rows
/// yet (a fresh database, migrated). One transaction on the PostgreSQL side: all or nothing.
pub async fn sqlite_to_postgres(from: &SqlitePool, to: &PgPool) -> anyhow::Result<CopyReport> {
    for table in ["users", "projects", "audit_log"] {
        let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}"))
            .fetch_one(to)
            .await
            .with_context(|| format!("counting {table} in PostgreSQL"))?;
        if rows > 0 {
            bail!("the PostgreSQL database is not empty ({table} has {rows} rows): copy into a new one");
        }
    }
    let mut tx = to.begin().await?;
    let mut report = CopyReport::default();
    for table in TABLES {
        // status_checks exists on PostgreSQL only.
        if table == "status_checks" {
            continue;
        }
        let columns: Vec<(String, String)> = sqlx::query_as(
            "SELECT column_name::TEXT, data_type::TEXT FROM information_schema.columns
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await
        .with_context(|| format!("reading {table}'s columns"))?;
        let names: Vec<&str> = columns.iter().map(|(n, _)| n.as_str()).collect();
        let list = names.join(", ");
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        // OVERRIDING SYSTEM VALUE: the ids are the SQLite ids (identity columns would refuse
        // them otherwise where declared ALWAYS; harmless where BY DEFAULT).
        let insert = format!(
            "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE VALUES ({})",
            placeholders.join(", ")
        );
        let rows = sqlx::query(&format!("SELECT {list} FROM {table}"))
            .fetch_all(from)
            .await
            .with_context(|| format!("reading {table} from SQLite"))?;
        for row in &rows {
            let mut query = sqlx::query(&insert);
            for (name, kind) in &columns {
                let name = name.as_str();
                query = match kind.as_str() {
                    "bigint" | "integer" => query.bind(row.try_get::<Option<i64>, _>(name)?),
                    "boolean" => query.bind(row.try_get::<Option<bool>, _>(name)?),
                    "bytea" => query.bind(row.try_get::<Option<Vec<u8>>, _>(name)?),
                    "text" => query.bind(row.try_get::<Option<String>, _>(name)?),
                    other => bail!("{table}.{name}: no copy for PostgreSQL type {other}"),
                };
            }
            query
                .execute(&mut *tx)
                .await
                .with_context(|| format!("writing a row of {table}"))?;
        }
        // Identity columns go on after the highest id copied.
        if names.contains(&"id") {
            sqlx::query(&format!(
                "SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}
                 HAVING MAX(id) IS NOT NULL"
            ))
            .fetch_all(&mut *tx)
            .await
            .with_context(|| format!("moving {table}'s ids on"))?;
        }
        report.tables.push((table, rows.len() as u64));
    }
    // Counted again on both sides before anything is kept.
    for (table, copied) in &report.tables {
        let count = format!("SELECT COUNT(*) FROM {table}");
        let there: i64 = sqlx::query_scalar(&count).fetch_one(&mut *tx).await?;
        let here: i64 = sqlx::query_scalar(&count).fetch_one(from).await?;
        if there != here || here as u64 != *copied {
            bail!("{table}: {here} rows in SQLite, {there} in PostgreSQL; nothing was kept");
        }
    }
    tx.commit().await.context("committing the copy")?;
    Ok(report)
}
