//! The Google dispatcher: drains the outbox's `google_object` rows into the Wallet API.
//!
//! - **One call per object** for all its claimed rows: the object gets the card's current
//!   face, so several versions waiting (an order, then a refund) need one PATCH.
//! - **The class first**: before an object is written, its program's class is upserted
//!   (insert, 409 → update, always `UNDER_REVIEW`) when it is missing or what it shows
//!   changed since Google last accepted it (a content hash in `google_classes`).
//! - **Insert, then PATCH**: an object Google has not accepted yet is inserted (409 → PATCH);
//!   later versions PATCH it; a 404 on an object we thought existed re-inserts it.
//! - **Notifications**: the most important reason among the rows decides, against the
//!   object's notifying updates of the last 24 h as the database counts them
//!   (`google::pace`), whether the PATCH carries `NOTIFY_ON_UPDATE`. If Google still answers
//!   403 `quotaExceeded`, the same PATCH goes again silently and the day's budget is marked
//!   spent.
//! - **Failures**: 5xx, 429 and transport errors retry with exponential back-off and jitter
//!   (Google's `Retry-After` honoured), a dead letter after the last attempt; other refusals
//!   (400, 403 `permissionDenied`, a refused service-account key) are dead letters at once,
//!   logged as errors: retrying will not fix configuration.
//! - **Pace**: every call waits in the client's token bucket (`google::pace::RequestPace`).

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

mod sync;

use super::outbox::{Policy, later, serve};
use crate::designs::Designs;
use crate::google::{Outcome, WalletApi};
use crate::metrics::Metrics;
use crate::store::{Delivery, DeliveryEnd, Store, StoreError, now};

/// The outbox kind this dispatcher drains.
pub const KIND: &str = "google_object";

/// What the dispatcher works with.
pub struct Dispatcher<W> {
    pub store: Store,
    pub api: W,
    pub issuer_id: String,
    /// Each class's `callbackOptions.url`, if callbacks are verified.
    pub callback_url: Option<String>,
    /// Where Google fetches images from (logos, stamp grids).
    pub public_url: Arc<str>,
    /// The supplier's name on classes whose program names none.
    pub organization_name: Arc<str>,
    pub designs: Arc<Designs>,
    pub policy: Policy,
    pub metrics: Arc<Metrics>,
    /// Each program's class content hash as Google has it, as this process last learnt it
    /// (from `google_classes` or its own upsert): the common delivery needs no read for it.
    pub known_classes: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

/// How one object's delivery ended, before it is written to its rows.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// Google has the card's current face; whether the holder was notified.
    Applied { notified: bool },
    /// Worth trying again later.
    Retry {
        reason: String,
        retry_after: Option<std::time::Duration>,
    },
    /// Refused for a reason a retry will not change: a dead letter.
    Rejected { reason: String },
}

impl Step {
    /// A call that did not succeed, as the step it ends the delivery with.
    fn failed<T>(outcome: Outcome<T>) -> Step {
        match outcome {
            Outcome::Retry {
                status,
                error,
                retry_after,
            } => Step::Retry {
                reason: error.unwrap_or_else(|| format!("HTTP {}", status.unwrap_or(0))),
                retry_after,
            },
            // A silent call answered with `quotaExceeded` is Google throttling the issuer.
            Outcome::QuotaExceeded(e) => Step::Retry {
                reason: e.to_string(),
                retry_after: None,
            },
            Outcome::NotFound(e) | Outcome::AlreadyExists(e) | Outcome::Rejected(e) => {
                Step::Rejected {
                    reason: e.to_string(),
                }
            }
            Outcome::Ok(_) => Step::Applied { notified: false },
        }
    }
}

impl<W: WalletApi + 'static> Dispatcher<W> {
    /// Drains due rows until none is left; returns how many rows were handled.
    pub async fn drain(self: &Arc<Self>) -> Result<usize, StoreError> {
        let mut handled = 0;
        loop {
            let rows = self
                .store
                .claim_deliveries(KIND, now(), self.policy.lease, self.policy.batch)
                .await?;
            if rows.is_empty() {
                return Ok(handled);
            }
            handled += rows.len();
            self.deliver(rows).await?;
        }
    }

    /// Drains the outbox whenever woken, until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let this = &self;
        serve(&self.store, KIND, self.policy.poll, shutdown, move || {
            this.drain()
        })
        .await;
    }

    /// One delivery per object of `rows`, at most `policy.concurrency` at once; then each
    /// object's rows get their end.
    async fn deliver(self: &Arc<Self>, rows: Vec<Delivery>) -> Result<(), StoreError> {
        let mut by_object: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
        for row in rows {
            by_object.entry(row.target.clone()).or_default().push(row);
        }
        let permits = Arc::new(Semaphore::new(self.policy.concurrency.max(1)));
        let mut calls = JoinSet::new();
        for (object_id, rows) in by_object {
            let (this, permits) = (Arc::clone(self), Arc::clone(&permits));
            calls.spawn(async move {
                let _permit = permits.acquire_owned().await;
                let step = this.deliver_object(&object_id, &rows).await;
                (object_id, rows, step)
            });
        }
        while let Some(joined) = calls.join_next().await {
            let Ok((object_id, rows, step)) = joined else {
                continue; // a panicked call: its rows come back when the lease runs out
            };
            let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(1);
            let end = match step {
                Ok(step) => self.end_of(&object_id, attempts, step),
                Err(e) => {
                    tracing::warn!(error = %e, object = %object_id, "Google delivery: store error; retrying");
                    DeliveryEnd::Retry {
                        due_at: later(self.policy.backoff(attempts)),
                        error: e.to_string(),
                    }
                }
            };
            let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
            self.store.finish_deliveries(&ids, &end, now()).await?;
        }
        Ok(())
    }

    fn end_of(&self, object_id: &str, attempts: i32, step: Step) -> DeliveryEnd {
        match step {
            Step::Applied { notified } => {
                let how = if notified { "notified" } else { "silent" };
                self.metrics.delivery("google", "delivered", how);
                DeliveryEnd::Done
            }
            Step::Rejected { reason } => {
                self.metrics.delivery("google", "dead", &label(&reason));
                tracing::error!(object = %object_id, %reason, "Google Wallet refused the update; kept as a dead letter");
                DeliveryEnd::Dead { error: reason }
            }
            Step::Retry {
                reason,
                retry_after,
            } if attempts < self.policy.max_attempts => {
                self.metrics.delivery("google", "retry", &label(&reason));
                let delay = self
                    .policy
                    .backoff(attempts)
                    .max(retry_after.unwrap_or_default());
                tracing::warn!(object = %object_id, %reason, attempts, ?delay, "Google Wallet update failed; retrying");
                DeliveryEnd::Retry {
                    due_at: later(delay),
                    error: reason,
                }
            }
            Step::Retry { reason, .. } => {
                self.metrics.delivery("google", "dead", &label(&reason));
                tracing::error!(object = %object_id, %reason, attempts, "Google Wallet update failed on its last attempt; kept as a dead letter");
                DeliveryEnd::Dead { error: reason }
            }
        }
    }
}

/// A bounded metrics label for a failure reason: its status and Google's reason word.
fn label(reason: &str) -> String {
    reason
        .split(':')
        .next()
        .unwrap_or_default()
        .chars()
        .take(40)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::Refusal;

    fn error(status: u16, reason: &str) -> Refusal {
        Refusal {
            status,
            code: Some(status),
            message: "no".into(),
            reason: Some(reason.into()),
        }
    }

    #[test]
    fn failures_retry_or_dead_letter_as_the_error_table_says() {
        let retry = Step::failed::<()>(Outcome::Retry {
            status: Some(503),
            error: None,
            retry_after: None,
        });
        assert!(matches!(retry, Step::Retry { reason, .. } if reason == "HTTP 503"));
        let denied = Step::failed::<()>(Outcome::Rejected(error(403, "permissionDenied")));
        assert!(
            matches!(&denied, Step::Rejected { reason } if reason.starts_with("403 permissionDenied")),
            "{denied:?}"
        );
        let throttled = Step::failed::<()>(Outcome::QuotaExceeded(error(403, "quotaExceeded")));
        assert!(matches!(throttled, Step::Retry { .. }));
        assert_eq!(label("403 permissionDenied: no"), "403 permissionDenied");
    }
}
