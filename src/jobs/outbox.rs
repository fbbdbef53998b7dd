//! The Apple dispatcher: drains the outbox's `apple_push` rows into APNs.
//!
//! - **Claiming** (see `store::outbox`): due rows with a lease; on PostgreSQL several
//!   instances' dispatchers skip each other's rows, and a dead dispatcher's rows are claimed
//!   again when the lease runs out.
//! - **Coalescing**: one push per push token for all its claimed rows. A push says only "ask
//!   me what changed"; the device then lists every pass of the type that changed since its
//!   tag, so several changes (of one card or of several) need one push.
//! - **Waking**: at once after a commit that queued rows (in process, and through
//!   `LISTEN walletcards_outbox` from other instances on PostgreSQL), and by a timer for
//!   retries and as a fallback poll.
//! - **Outcomes**, as the APNs response table says: delivered → done; 410 → the token's
//!   registrations are deleted; 400 `BadDeviceToken` → kept, the row is a dead letter and an
//!   error is logged (one misconfiguration returns it for every token, so nothing is pruned);
//!   other refusals → dead letter and an error; 429, 5xx and transport errors → retried with
//!   exponential back-off and jitter, a dead letter after the last attempt. Dead letters are
//!   listed and retried through the admin API.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::apple::apns::{ApnsClient, InvalidPush, PushOutcome};
use crate::metrics::Metrics;
use crate::store::{Delivery, DeliveryEnd, Signals, Store, StoreError, now};

/// The outbox kind this dispatcher drains.
pub const KIND: &str = "apple_push";

/// What one push came to, as the APNs response table decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushResult {
    Delivered,
    /// 410: the token no longer holds passes of this type (since APNs's timestamp, if given).
    Unregistered {
        since: Option<DateTime<Utc>>,
    },
    /// 400 `BadDeviceToken`.
    BadDeviceToken,
    /// Worth trying again later (429, 5xx, transport): `reason` as APNs gave it.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Refused for a reason a retry will not change (configuration): dead letter.
    Rejected {
        reason: String,
    },
}

/// Sends one push for a pass type to a device token.
pub trait Pusher: Send + Sync + 'static {
    fn push(&self, push_token: &str) -> impl Future<Output = PushResult> + Send;
}

/// APNs as the dispatcher's [`Pusher`]: the client and the pass type id it pushes for.
pub struct Apns {
    pub client: ApnsClient,
    pub topic: String,
}

impl Pusher for Apns {
    async fn push(&self, push_token: &str) -> PushResult {
        let report = self.client.push(push_token, &self.topic).await;
        match report.outcome {
            PushOutcome::Delivered { .. } => PushResult::Delivered,
            PushOutcome::Unregistered { since, .. } => PushResult::Unregistered { since },
            // A stored token that cannot be put in a request never becomes deliverable.
            PushOutcome::NotSent(InvalidPush::DeviceToken) => {
                PushResult::Unregistered { since: None }
            }
            PushOutcome::NotSent(InvalidPush::Topic) => PushResult::Rejected {
                reason: "invalid topic (WALLETCARDS_APPLE__PASS_TYPE_ID)".into(),
            },
            PushOutcome::BadDeviceToken => PushResult::BadDeviceToken,
            PushOutcome::Retry {
                status,
                reason,
                retry_after,
                error,
            } => PushResult::Retry {
                // Codes only (an APNs reason, a transport failure's kind, a status): this is
                // a metrics label and the row's `last_error`, never a token or a URL.
                reason: match (reason, error, status) {
                    (Some(reason), _, _) => reason.as_str().to_owned(),
                    (None, Some(kind), _) => kind.to_owned(),
                    (None, None, Some(status)) => format!("HTTP {status}"),
                    (None, None, None) => "no_answer".to_owned(),
                },
                retry_after,
            },
            PushOutcome::Rejected { status, reason } => PushResult::Rejected {
                reason: format!("{status} {}", reason.as_ref().map_or("", |r| r.as_str())),
            },
        }
    }
}

/// How the dispatcher paces itself.
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long a claim holds its rows before another dispatcher may take them.
    pub lease: TimeDelta,
    /// Rows claimed at once (more when picked tokens have several).
    pub batch: u32,
    /// Pushes in flight at once (they share one HTTP/2 connection).
    pub concurrency: usize,
    /// Attempts before a row becomes a dead letter.
    pub max_attempts: i32,
    /// The first retry's delay; each further one doubles, up to `retry_cap`.
    pub retry_base: Duration,
    pub retry_cap: Duration,
    /// The longest sleep without a wake-up: a fallback for missed signals.
    pub poll: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            lease: TimeDelta::seconds(60),
            batch: 500,
            concurrency: 256,
            max_attempts: 8,
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(600),
            poll: Duration::from_secs(10),
        }
    }
}

impl From<&crate::config::OutboxSettings> for Policy {
    fn from(s: &crate::config::OutboxSettings) -> Self {
        Policy {
            lease: TimeDelta::milliseconds(i64::try_from(s.lease_ms).unwrap_or(60_000)),
            batch: s.batch,
            concurrency: s.concurrency,
            max_attempts: s.max_attempts,
            retry_base: Duration::from_millis(s.retry_base_ms),
            retry_cap: Duration::from_millis(s.retry_cap_ms),
            poll: Duration::from_millis(s.poll_ms),
        }
    }
}

impl Policy {
    /// The delay before attempt `attempts + 1`: exponential, with jitter in its upper half.
    pub fn backoff(&self, attempts: i32) -> Duration {
        let exponent = u32::try_from(attempts.saturating_sub(1))
            .unwrap_or(0)
            .min(20);
        let full = self
            .retry_base
            .saturating_mul(2u32.saturating_pow(exponent))
            .min(self.retry_cap);
        let half = full / 2;
        half + rand::rng().random_range(Duration::ZERO..=half)
    }
}

/// Drains due rows until none is left; returns how many rows were handled.
pub async fn drain<P: Pusher>(
    store: &Store,
    pusher: &Arc<P>,
    policy: &Policy,
    metrics: &Arc<Metrics>,
) -> Result<usize, StoreError> {
    let mut handled = 0;
    loop {
        let rows = store
            .claim_deliveries(KIND, now(), policy.lease, policy.batch)
            .await?;
        if rows.is_empty() {
            return Ok(handled);
        }
        handled += rows.len();
        deliver(store, pusher, policy, metrics, rows).await?;
    }
}

/// One push per token of `rows`, at most `policy.concurrency` at once; then each token's
/// rows get their end.
async fn deliver<P: Pusher>(
    store: &Store,
    pusher: &Arc<P>,
    policy: &Policy,
    metrics: &Arc<Metrics>,
    rows: Vec<Delivery>,
) -> Result<(), StoreError> {
    let mut by_token: BTreeMap<String, Vec<Delivery>> = BTreeMap::new();
    for row in rows {
        by_token.entry(row.target.clone()).or_default().push(row);
    }
    let permits = Arc::new(Semaphore::new(policy.concurrency.max(1)));
    let mut pushes = JoinSet::new();
    for (token, rows) in by_token {
        let (pusher, permits, metrics) = (
            Arc::clone(pusher),
            Arc::clone(&permits),
            Arc::clone(metrics),
        );
        pushes.spawn(async move {
            let _permit = permits.acquire_owned().await;
            let started = Instant::now();
            let result = pusher.push(&token).await;
            metrics.apns_latency.observe(started.elapsed());
            (token, rows, result)
        });
    }
    let mut done = Vec::new();
    while let Some(joined) = pushes.join_next().await {
        let Ok((token, rows, result)) = joined else {
            continue; // a panicked push: its rows come back when the lease runs out
        };
        match end_of(store, policy, metrics, &token, &rows, result).await? {
            DeliveryEnd::Done => done.extend(rows.iter().map(|r| r.id)),
            end => {
                let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
                store.finish_deliveries(&ids, &end, now()).await?;
            }
        }
    }
    store
        .finish_deliveries(&done, &DeliveryEnd::Done, now())
        .await
}

/// What a push's result means for its rows (and the token's registrations).
async fn end_of(
    store: &Store,
    policy: &Policy,
    metrics: &Metrics,
    token: &str,
    rows: &[Delivery],
    result: PushResult,
) -> Result<DeliveryEnd, StoreError> {
    let attempts = rows.iter().map(|r| r.attempts).max().unwrap_or(1);
    Ok(match result {
        PushResult::Delivered => {
            metrics.delivery("apple", "delivered", "");
            DeliveryEnd::Done
        }
        PushResult::Unregistered { since } => {
            metrics.delivery("apple", "unregistered", "Unregistered");
            let forgotten = store
                .delete_registrations_by_push_token(token, since)
                .await?;
            tracing::info!(
                registrations = forgotten,
                "APNs: the device no longer holds the pass; its registrations are deleted"
            );
            DeliveryEnd::Done
        }
        PushResult::BadDeviceToken => {
            metrics.delivery("apple", "dead", "BadDeviceToken");
            store
                .flag_push_token(token, "BadDeviceToken", now())
                .await?;
            tracing::error!(
                "APNs answered BadDeviceToken: check the APNs environment and credentials \
                 (a misconfiguration returns it for every token); the registration is kept"
            );
            DeliveryEnd::Dead {
                error: "400 BadDeviceToken".into(),
            }
        }
        PushResult::Rejected { reason } => {
            metrics.delivery("apple", "dead", &reason);
            tracing::error!(%reason, "APNs refused the push; kept as a dead letter");
            DeliveryEnd::Dead { error: reason }
        }
        PushResult::Retry {
            reason,
            retry_after,
        } if attempts < policy.max_attempts => {
            metrics.delivery("apple", "retry", &reason);
            let delay = policy
                .backoff(attempts)
                .max(retry_after.unwrap_or_default());
            tracing::warn!(%reason, attempts, ?delay, "APNs push failed; retrying");
            DeliveryEnd::Retry {
                due_at: later(delay),
                error: reason,
            }
        }
        PushResult::Retry { reason, .. } => {
            metrics.delivery("apple", "dead", &reason);
            tracing::error!(%reason, attempts, "APNs push failed on its last attempt; kept as a dead letter");
            DeliveryEnd::Dead { error: reason }
        }
    })
}

/// `delay` from now.
pub(crate) fn later(delay: Duration) -> DateTime<Utc> {
    now() + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(600))
}

/// Drains the outbox whenever woken, until `shutdown`.
pub async fn run<P: Pusher>(
    store: Store,
    pusher: Arc<P>,
    policy: Policy,
    metrics: Arc<Metrics>,
    shutdown: CancellationToken,
) {
    let (s, p, po, m) = (&store, &pusher, &policy, &metrics);
    serve(s, KIND, policy.poll, shutdown, move || drain(s, p, po, m)).await;
}

/// The loop of every dispatcher: runs `drain` for rows of `kind` at once, whenever a commit
/// (or another instance) signals new rows, when the next retry is due, and at least every
/// `poll`; until `shutdown`.
pub async fn serve<F, Fut>(
    store: &Store,
    kind: &'static str,
    poll: Duration,
    shutdown: CancellationToken,
    mut drain: F,
) where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<usize, StoreError>>,
{
    let wake = store.outbox_signals().of(kind);
    loop {
        if let Err(e) = drain().await {
            tracing::error!(error = %e, kind, "outbox dispatch failed; retrying");
        }
        let sleep = match store.next_delivery_at(kind).await {
            Ok(Some(at)) => (at - now()).to_std().unwrap_or(Duration::ZERO),
            _ => poll,
        }
        .min(poll)
        .max(Duration::from_millis(5));
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = wake.notified() => {}
            () = tokio::time::sleep(sleep) => {}
        }
    }
}

/// Relays `NOTIFY walletcards_outbox` from other instances to this process's dispatchers
/// (PostgreSQL only); reconnects after a lost connection.
pub async fn listen(database_url: String, wake: Arc<Signals>, shutdown: CancellationToken) {
    loop {
        // Ends only with the connection: its `Ok` cannot happen.
        let listened = async || -> Result<std::convert::Infallible, sqlx::Error> {
            let mut listener = sqlx::postgres::PgListener::connect(&database_url).await?;
            listener.listen(crate::store::OUTBOX_CHANNEL).await?;
            // Changes committed while (re)connecting: look once.
            wake.wake_all();
            loop {
                listener.recv().await?;
                wake.wake_all();
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            result = listened() => {
                let Err(e) = result;
                tracing::warn!(error = %e, "outbox LISTEN connection lost; reconnecting");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let policy = Policy {
            retry_base: Duration::from_secs(2),
            retry_cap: Duration::from_secs(60),
            ..Policy::default()
        };
        for _ in 0..100 {
            let first = policy.backoff(1);
            assert!(first >= Duration::from_secs(1) && first <= Duration::from_secs(2));
            let third = policy.backoff(3);
            assert!(third >= Duration::from_secs(4) && third <= Duration::from_secs(8));
            let late = policy.backoff(30);
            assert!(late >= Duration::from_secs(30) && late <= Duration::from_secs(60));
        }
    }
}
