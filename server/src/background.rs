//! The upkeep beside the poller: what the history recorded goes to the database, uptime is
//! recomputed, old history and expired Idempotency-Keys pruned; the audit log is archived and its chain checked. Each
//! runs under `fleet::supervise` (started in `startup`). With several instances on one
//! PostgreSQL, pruning and the audit log's archive and check are the poller's alone: once per
//! fleet, not once per instance.

use fleet::Fleet;

/// Writes the recorded history every [`HISTORY_FLUSH_EVERY`], recomputes uptime every 30
/// flushes and prunes (history, Idempotency-Keys, fleet-wide sign-in limits) every 60. Returns only on an error (the supervisor restarts it).
pub async fn history_upkeep(fleet: Fleet) -> anyhow::Result<()> {
    let mut round: u64 = 0;
    loop {
        if round.is_multiple_of(30) {
            fleet.refresh_uptime().await?;
        }
        if round.is_multiple_of(60) && fleet.is_poller() {
            let pruned = fleet.prune_history(fleet.now()).await?;
            if pruned > 0 {
                tracing::info!(pruned, "pruned old status history");
            }
            let forgotten = fleet.prune_idempotency_keys().await?;
            if forgotten > 0 {
                tracing::info!(forgotten, "forgot expired Idempotency-Keys");
            }
            fleet.prune_sign_in_limits().await?;
        }
        tokio::time::sleep(HISTORY_FLUSH_EVERY).await;
        fleet.flush_history().await?;
        round += 1;
    }
}

/// How often the status history collected in memory is written.
const HISTORY_FLUSH_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// How often the audit log is archived (with a retention set) and its chain checked.
pub const AUDIT_UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(3600);

/// A cluster task as the supervisor starts it.
type ClusterTask =
    std::pin::Pin<Box<dyn std::future::Future<Output = anyhow::Result<()>> + Send + 'static>>;

/// Several instances on PostgreSQL (fleet's `service::cluster`): one holds the poller lock,
/// every one follows the others' status and changes and sends its own statuses in batches,
/// and the poller settles the commands and bulk commands of instances that died. Nothing to
/// start on SQLite.
pub fn spawn_cluster_tasks(fleet: &Fleet) -> Option<[tokio::task::JoinHandle<()>; 4]> {
    (fleet.pool().engine() == fleet::db::Engine::Postgres).then(|| {
        let supervised = |name: &'static str, task: fn(Fleet) -> ClusterTask| {
            let fleet = fleet.clone();
            tokio::spawn(fleet::supervise::supervise(
                name,
                {
                    let fleet = fleet.clone();
                    move |running| fleet.report_task(name, running)
                },
                move || task(fleet.clone()),
            ))
        };
        [
            supervised("poller_lock", |fleet| {
                Box::pin(async move { fleet.hold_poller_lock().await })
            }),
            supervised("cluster_follow", |fleet| {
                Box::pin(async move { fleet.follow_other_instances().await })
            }),
            supervised("status_notes", |fleet| {
                Box::pin(async move { fleet.send_status_notes().await })
            }),
            supervised("orphans", |fleet| {
                Box::pin(async move { fleet.watch_orphans().await })
            }),
        ]
    })
}
