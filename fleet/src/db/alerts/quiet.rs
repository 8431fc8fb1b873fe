//! Mutes, maintenance windows and intended disconnects: when a project alerts nobody.

use super::*;

// ---- mutes, maintenance windows, intended disconnects ---------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MuteRow {
    pub project_id: i64,
    pub until: String,
    pub muted_by: String,
    pub reason: String,
}

pub async fn mutes(pool: &Pool) -> sqlx::Result<Vec<MuteRow>> {
    const SQL: &str = "SELECT project_id, until, muted_by, reason FROM alert_mutes";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn put_mute(pool: &Pool, m: &MuteRow) -> sqlx::Result<()> {
    const SQL: &str =
        "INSERT INTO alert_mutes (project_id, until, muted_by, reason) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id) DO UPDATE SET until = excluded.until,
             muted_by = excluded.muted_by, reason = excluded.reason";
    with_pool!(pool, p => {
        sqlx::query(SQL)
            .bind(m.project_id)
            .bind(&m.until)
            .bind(&m.muted_by)
            .bind(&m.reason)
            .execute(p)
            .await
            .map(drop)
    })?;
    Ok(())
}

pub async fn delete_mute(pool: &Pool, project_id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "DELETE FROM alert_mutes WHERE project_id = $1";
    let done = with_pool!(pool, p => {
        sqlx::query(SQL).bind(project_id).execute(p).await?.rows_affected()
    });
    Ok(done == 1)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WindowRow {
    pub id: i64,
    pub project_id: Option<i64>,
    pub kind: String,
    pub starts_at: Option<String>,
    pub ends_at: Option<String>,
    pub weekday: Option<i64>,
    pub start_minute: Option<i64>,
    pub duration_minutes: Option<i64>,
    pub note: String,
    pub created_by: String,
    pub created_at: String,
}

pub async fn windows(pool: &Pool) -> sqlx::Result<Vec<WindowRow>> {
    const SQL: &str = "SELECT id, project_id, kind, starts_at, ends_at, weekday, start_minute,
                duration_minutes, note, created_by, created_at
         FROM maintenance_windows ORDER BY id";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn insert_window(pool: &Pool, w: &WindowRow) -> sqlx::Result<i64> {
    const SQL: &str = "INSERT INTO maintenance_windows (project_id, kind, starts_at, ends_at,
             weekday, start_minute, duration_minutes, note, created_by, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id";
    with_pool!(pool, p => {
        sqlx::query_scalar(SQL)
            .bind(w.project_id)
            .bind(&w.kind)
            .bind(&w.starts_at)
            .bind(&w.ends_at)
            .bind(w.weekday)
            .bind(w.start_minute)
            .bind(w.duration_minutes)
            .bind(&w.note)
            .bind(&w.created_by)
            .bind(&w.created_at)
            .fetch_one(p)
            .await
    })
}

pub async fn delete_window(pool: &Pool, id: i64) -> sqlx::Result<bool> {
    const SQL: &str = "DELETE FROM maintenance_windows WHERE id = $1";
    let done = with_pool!(pool, p => sqlx::query(SQL).bind(id).execute(p).await?.rows_affected());
    Ok(done == 1)
}

pub async fn intended_disconnects(pool: &Pool) -> sqlx::Result<Vec<(i64, String)>> {
    const SQL: &str = "SELECT project_id, by_actor FROM intended_disconnects";
    with_pool!(pool, p => sqlx::query_as(SQL).fetch_all(p).await)
}

pub async fn set_intended_disconnect(pool: &Pool, project_id: i64, by: &str) -> sqlx::Result<()> {
    const SQL: &str = "INSERT INTO intended_disconnects (project_id, by_actor, at)
         VALUES ($1, $2, $3)
         ON CONFLICT (project_id) DO UPDATE SET by_actor = excluded.by_actor, at = excluded.at";
    let now = super::super::now_text();
    with_pool!(pool, p => {
        sqlx::query(SQL).bind(project_id).bind(by).bind(&now).execute(p).await.map(drop)
    })?;
    Ok(())
}

pub async fn clear_intended_disconnect(pool: &Pool, project_id: i64) -> sqlx::Result<()> {
    const SQL: &str = "DELETE FROM intended_disconnects WHERE project_id = $1";
    with_pool!(pool, p => sqlx::query(SQL).bind(project_id).execute(p).await.map(drop))?;
    Ok(())
}
