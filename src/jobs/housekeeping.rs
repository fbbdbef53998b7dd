//! Housekeeping of `serve`, once an hour: tables that would otherwise grow with every delivery
//! are trimmed. Delivered outbox rows go after `WALLETCARDS_OUTBOX__KEEP_DONE_DAYS` (dead
//! letters stay until an admin retries them), and Google notification records once they no
//! longer count against any object's daily budget, and mailed links and holder sessions a day
//! after they expired (so a late click still learns that its link expired). It also warns, in the log, of a signing
//! certificate that expires within 30 days.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio_util::sync::CancellationToken;

use crate::apple::signer::Signer;

use crate::store::{Store, StoreResult, now};

/// How often `serve` trims.
pub const INTERVAL: Duration = Duration::from_secs(3600);
/// Rows deleted per statement.
const BATCH: u32 = 5_000;

/// What one pass deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Trimmed {
    pub deliveries: u64,
    pub notifications: u64,
    pub links: u64,
}

/// Trims what is due at `at`; `keep_done_days` 0 keeps every delivery.
pub async fn run_once(
    store: &Store,
    at: DateTime<Utc>,
    keep_done_days: u32,
) -> StoreResult<Trimmed> {
    let mut done = Trimmed::default();
    if keep_done_days > 0 {
        let before = at - TimeDelta::days(i64::from(keep_done_days));
        loop {
            let n = store.prune_done_deliveries(before, BATCH).await?;
            done.deliveries += n;
            if n < u64::from(BATCH) {
                break;
            }
        }
    }
    done.notifications = store
        .prune_google_notifications(at - TimeDelta::days(1))
        .await?;
    done.links = store.prune_email_links(at - TimeDelta::days(1)).await?;
    Ok(done)
}

/// Runs [`run_once`] now and then every [`INTERVAL`] until `shutdown`.
pub async fn run(
    store: Store,
    signer: std::sync::Arc<Signer>,
    keep_done_days: u32,
    shutdown: CancellationToken,
) {
    loop {
        match run_once(&store, now(), keep_done_days).await {
            Ok(t) if t.deliveries > 0 || t.notifications > 0 || t.links > 0 => tracing::info!(
                deliveries = t.deliveries,
                notifications = t.notifications,
                links = t.links,
                "old delivery records deleted"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "housekeeping failed; retrying in an hour"),
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
        // Start-up warned already; this keeps a long-running instance reminding.
        signer.warn_of_expiry(now());
    }
}
