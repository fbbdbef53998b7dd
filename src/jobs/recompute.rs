//! The scheduled recompute: windows move and cashback and rewards expire with time alone.
//! Each holder's balance row carries the instant of its next such change, indexed, so a pass
//! visits only the holders whose change is due — its cost grows with what changes, not with
//! the number of cards. A holder whose change is due gets it as an event of its own: ledger
//! entries, a new card version and outbox rows when what the cards show changed.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio_util::sync::CancellationToken;

use crate::store::{BookError, Store, now};

/// Holders handled per transaction batch.
const BATCH: u32 = 200;
/// How often `serve` looks for due changes.
pub const INTERVAL: Duration = Duration::from_secs(30);

/// What one run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recomputed {
    pub holders: usize,
    pub cards: usize,
}

/// Applies every change due by `at`, batch by batch, until none is left.
pub async fn run_once(store: &Store, at: DateTime<Utc>) -> Result<Recomputed, BookError> {
    let mut total = Recomputed::default();
    loop {
        let (holders, cards) = store.apply_due_time_effects(at, BATCH).await?;
        total.holders += holders;
        total.cards += cards;
        if holders < BATCH as usize {
            return Ok(total);
        }
    }
}

/// Runs [`run_once`] now and then every [`INTERVAL`] until `shutdown`.
pub async fn run(store: Store, shutdown: CancellationToken) {
    loop {
        match run_once(&store, now()).await {
            Ok(done) if done.holders > 0 => {
                tracing::info!(
                    holders = done.holders,
                    cards = done.cards,
                    "time-based changes applied"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "recompute failed; retrying at the next interval")
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(INTERVAL) => {}
        }
    }
}
