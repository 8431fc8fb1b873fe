//! `picky-fleet migrate-to-postgres`: a SQLite install copied into an empty PostgreSQL
//! database, row for row and id for id (so the audit log's seals, which cover each row's id,
//! still verify with the same key), then counted on both sides.
//!
//! Generic over the tables: each column is read from SQLite as the type PostgreSQL declares
//! for it (`information_schema`), so a table added later is copied without touching this.
//! Sessions are not copied: people sign in again.

use anyhow::{bail, Context};
use futures::TryStreamExt as _;
use sqlx::{sqlite::SqliteRow, PgPool, Postgres, QueryBuilder, Row, SqlitePool};

/// Every table, parents before children (foreign keys hold as rows arrive).
const TABLES: [&str; 21] = [
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
    "idempotency_keys",
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
        let kinds = columns
            .iter()
            .map(|(name, kind)| {
                Kind::of(kind).with_context(|| format!("{table}.{name}: no copy for {kind}"))
            })
            .collect::<anyhow::Result<Vec<Kind>>>()?;
        let list = names.join(", ");
        // Streamed and written in batches: a big audit log or history is never all in memory,
        // and one statement carries many rows (within PostgreSQL's 65,535 parameters).
        let batch_rows = (60_000 / names.len().max(1)).min(1_000);
        let select = format!("SELECT {list} FROM {table}");
        let mut rows = sqlx::query(&select).fetch(from);
        let mut batch: Vec<Vec<Cell>> = Vec::with_capacity(batch_rows);
        let mut copied = 0u64;
        loop {
            let row = rows
                .try_next()
                .await
                .with_context(|| format!("reading {table} from SQLite"))?;
            if let Some(row) = &row {
                let cells = names
                    .iter()
                    .zip(&kinds)
                    .map(|(name, kind)| kind.read(row, name))
                    .collect::<sqlx::Result<Vec<Cell>>>()
                    .with_context(|| format!("reading a row of {table}"))?;
                batch.push(cells);
            }
            if batch.len() == batch_rows || (row.is_none() && !batch.is_empty()) {
                // OVERRIDING SYSTEM VALUE: the ids are the SQLite ids (identity columns would
                // refuse them otherwise where declared ALWAYS; harmless where BY DEFAULT).
                let mut insert: QueryBuilder<Postgres> = QueryBuilder::new(format!(
                    "INSERT INTO {table} ({list}) OVERRIDING SYSTEM VALUE "
                ));
                insert.push_values(batch.drain(..), |mut values, cells| {
                    for cell in cells {
                        match cell {
                            Cell::Int(v) => values.push_bind(v),
                            Cell::Bool(v) => values.push_bind(v),
                            Cell::Bytes(v) => values.push_bind(v),
                            Cell::Text(v) => values.push_bind(v),
                        };
                    }
                });
                let written = insert
                    .build()
                    .execute(&mut *tx)
                    .await
                    .with_context(|| format!("writing rows of {table}"))?;
                copied += written.rows_affected();
            }
            if row.is_none() {
                break;
            }
        }
        drop(rows);
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
        report.tables.push((table, copied));
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

/// A column's type as PostgreSQL declares it: how it is read from SQLite.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Bool,
    Bytes,
    Text,
}

/// One value on its way.
enum Cell {
    Int(Option<i64>),
    Bool(Option<bool>),
    Bytes(Option<Vec<u8>>),
    Text(Option<String>),
}

impl Kind {
    fn of(data_type: &str) -> Option<Kind> {
        match data_type {
            "bigint" | "integer" => Some(Kind::Int),
            "boolean" => Some(Kind::Bool),
            "bytea" => Some(Kind::Bytes),
            "text" => Some(Kind::Text),
            _ => None,
        }
    }

    fn read(self, row: &SqliteRow, name: &str) -> sqlx::Result<Cell> {
        Ok(match self {
            Kind::Int => Cell::Int(row.try_get(name)?),
            Kind::Bool => Cell::Bool(row.try_get(name)?),
            Kind::Bytes => Cell::Bytes(row.try_get(name)?),
            Kind::Text => Cell::Text(row.try_get(name)?),
        })
    }
}
