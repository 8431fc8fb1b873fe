//! Background tasks that must not die silently: each runs under [`supervise`], which restarts
//! it with a growing pause when it ends or panics, logs that, counts it in `/metrics`
//! (`picky_fleet_task_restarts_total{task}`) and reports it to `/healthz` as "restarting"
//! until it runs again. The server's tasks (poller, session cleanup) and the audit writer
//! (`db::audit_writer`) run under it.

use std::{future::Future, time::Duration};

/// The first pause before a restart; it doubles up to [`MAX_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_secs(1);
const MAX_PAUSE: Duration = Duration::from_secs(60);
/// A run this long counts as healthy again: the next failure starts from the first pause.
const HEALTHY_AFTER: Duration = Duration::from_secs(60);

/// Runs `task()` for as long as the server runs. The task is not meant to end: when it does
/// (an error, a panic), it is started again. `report(running)` tells `/healthz`.
pub async fn supervise<F, Fut>(name: &'static str, report: impl Fn(bool) + Send, task: F)
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send + 'static,
{
    let mut pause = FIRST_PAUSE;
    loop {
        report(true);
        let started = tokio::time::Instant::now();
        // Aborting the supervisor aborts the task too (a plain `JoinHandle` would detach it):
        // at shutdown the poller lock's connection must close, not linger to the process's end.
        let ended = tokio_util::task::AbortOnDropHandle::new(tokio::spawn(task())).await;
        let why = match ended {
            Ok(Ok(())) => "it returned".to_owned(),
            Ok(Err(error)) => format!("{error:#}"),
            Err(panic) => format!("it panicked: {panic}"),
        };
        if started.elapsed() >= HEALTHY_AFTER {
            pause = FIRST_PAUSE;
        }
        report(false);
        metrics::counter!("picky_fleet_task_restarts_total", "task" => name).increment(1);
        tracing::error!(task = name, reason = %why, ?pause, "a background task stopped; restarting it");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(MAX_PAUSE);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc,
    };

    use super::*;

    #[tokio::test]
    async fn a_task_that_fails_is_restarted_with_growing_pauses_and_reported() {
        let runs = Arc::new(AtomicUsize::new(0));
        let running = Arc::new(AtomicBool::new(false));
        let (counted, reported) = (runs.clone(), running.clone());
        let report = move |up| reported.store(up, Ordering::SeqCst);
        let supervisor = tokio::spawn(supervise("flaky", report, move || {
            let run = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match run {
                    0 => anyhow::bail!("first run fails"),
                    1 => panic!("second run panics"),
                    _ => std::future::pending().await,
                }
            }
        }));
        // First failure: restarted after 1 s; the panic: after 2 s more; then it runs.
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert!(!running.load(Ordering::SeqCst), "reported as restarting");
        tokio::time::sleep(Duration::from_secs(5)).await;
        assert_eq!(runs.load(Ordering::SeqCst), 3, "restarted twice");
        assert!(running.load(Ordering::SeqCst), "running again");
        supervisor.abort();
    }
}
