use super::*;
use crate::{db, model::AuditFilter};

fn pending(project_id: i64) -> OwnedEntry {
    OwnedEntry {
        actor: "ops".into(),
        action: Some(crate::model::AuditAction::Command),
        project_id: Some(project_id),
        command: Some("restart".into()),
        outcome: Some(AuditOutcome::Pending),
        ..Default::default()
    }
}

fn key() -> ChainKey {
    ChainKey::from_bytes([3; 32])
}

async fn open() -> (tempfile::TempDir, db::Database, AuditWriter) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let database = db::connect(&url).await.unwrap();
    let writer = AuditWriter::start(database.writer.clone(), key());
    (dir, database, writer)
}

#[tokio::test]
async fn a_lone_row_and_a_group_are_both_written_completed_and_sealed_once() {
    let (_dir, database, writer) = open().await;

    // One at a time: each batch holds a single operation.
    let lone = writer.append(pending(1)).await.unwrap();
    assert!(writer
        .complete(lone, AuditOutcome::Success, None, 7)
        .await
        .unwrap());
    // Completing twice changes nothing the second time.
    assert!(!writer
        .complete(lone, AuditOutcome::Rejected, Some("late".into()), 9)
        .await
        .unwrap());

    // Many at once: they meet in the queue and go in groups.
    let ids = futures::future::join_all((0..40).map(|n| writer.append(pending(100 + n))))
        .await
        .into_iter()
        .collect::<anyhow::Result<Vec<i64>>>()
        .unwrap();
    let completed = futures::future::join_all(
        ids.iter()
            .map(|&id| writer.complete(id, AuditOutcome::Unreachable, Some("down".into()), 3)),
    )
    .await;
    assert!(completed.into_iter().all(|c| c.unwrap()));

    let rows = audit::query(&database.reader, &AuditFilter::default(), 100)
        .await
        .unwrap();
    assert_eq!(rows.len(), 41);
    let first = rows.iter().find(|r| r.id == lone).unwrap();
    assert_eq!(first.outcome, AuditOutcome::Success);
    assert_eq!(first.upstream_latency_ms, Some(7));
    assert!(rows
        .iter()
        .filter(|r| r.id != lone)
        .all(|r| r.outcome == AuditOutcome::Unreachable && r.detail.as_deref() == Some("down")));
    // 41 completions: 41 seals, and the chain checks out.
    assert_eq!(writer.sealed_up_to(), 41);
    let report = audit_chain::verify(&database.reader, &key(), Some(41))
        .await
        .unwrap();
    assert!(report.verified, "{report:?}");
    assert_eq!(report.rows_verified, 41);
}

#[tokio::test]
async fn rows_from_before_the_chain_are_sealed_once_and_that_is_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    let database = db::connect(&url).await.unwrap();
    // As an older version left them: completed rows without seals, one still pending.
    sqlx::raw_sql(
        "INSERT INTO audit_log (at, actor, action, outcome, completed_at) VALUES
           ('2026-11-01T00:00:00.000Z', 'a', 'sign_in', 'success', '2026-11-01T00:00:00.000Z'),
           ('2026-11-02T00:00:00.000Z', 'b', 'sign_in', 'success', '2026-11-02T00:00:00.000Z'),
           ('2026-11-03T00:00:00.000Z', 'c', 'command', 'pending', NULL);
         INSERT INTO audit_chain_legacy (up_to_id) SELECT MAX(id) FROM audit_log;",
    )
    .execute(database.writer.as_sqlite().unwrap())
    .await
    .unwrap();
    let writer = AuditWriter::start(database.writer.clone(), key());
    assert_eq!(writer.interrupt_pending().await.unwrap(), 1);
    let report = audit_chain::verify(&database.reader, &key(), None)
        .await
        .unwrap();
    assert!(report.verified, "{report:?}");
    // Two old rows, the record of sealing them, and the interrupted command.
    assert_eq!(report.rows_verified, 4);
    let recorded = audit::query(
        &database.reader,
        &AuditFilter {
            action: Some(AuditAction::AuditSealed),
            ..Default::default()
        },
        10,
    )
    .await
    .unwrap();
    assert_eq!(recorded.len(), 1);
    assert!(recorded[0].detail.as_deref().unwrap().starts_with("2 rows"));
    // Once: the marker is gone, so a row added by hand later is not sealed by a restart.
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM audit_chain_legacy")
        .fetch_one(database.reader.as_sqlite().unwrap())
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_writer_that_panics_is_restarted_and_nothing_queued_is_lost() {
    let (_dir, database, writer) = open().await;
    writer.append(OwnedEntry::default()).await.unwrap();
    writer.crash().await;
    // Restarted after a pause (1 s); meanwhile the health check says so.
    let mut reported = false;
    for _ in 0..50 {
        if !writer.is_running() {
            reported = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(reported, "reported as down while restarting");
    let appended = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        writer.append(OwnedEntry::default()),
    )
    .await
    .expect("the restarted writer answers")
    .unwrap();
    assert!(writer.is_running());
    assert!(appended > 1);
    let report = audit_chain::verify(&database.reader, &key(), Some(writer.sealed_up_to()))
        .await
        .unwrap();
    assert!(
        report.verified,
        "the restart read the head again: {report:?}"
    );
    assert_eq!(report.rows_verified, 2);
}
