//! The one delivery loop of every outbox channel (Apple pushes, Google objects, mail): claim
//! due rows, deliver them, write how each ended. A channel says only how to deliver the rows
//! of one target ([`Channel::deliver`]); the loop owns everything else:
//!
//! - **A pipeline, not batches.** Deliveries run as tasks, at most `concurrency` at once; each
//!   writes its rows' end when it finishes, and a free slot is filled by the next claim. A
//!   slow answer holds its own slot and nothing else.
//! - **One delivery per target at a time.** Rows claimed for a target whose delivery is still
//!   running wait for it and go next (two writes of one Google object could land in the wrong
//!   order).
//! - **Each row's own attempts.** A transient failure retries every row of the target after the
//!   back-off of its newest row; nothing becomes a dead letter for being merged with older
//!   rows.
//! - **Transient failures retry until the service answers** (back-off capped at `retry_cap`;
//!   [`health`] says the outage in the log and on `/metrics`); only refusals a retry cannot
//!   change are dead letters, and rows of a channel with a [`Channel::RETRY_WINDOW`] (mail,
//!   whose links expire) once they are older than it.
//! - **Waking**: at once after a commit that queued rows (in process, and through `LISTEN`
//!   from other instances on PostgreSQL, see [`listen`]), when the next retry is due, and at
//!   least every `poll`.
//!
//! [`Dispatcher::drain`] is the loop's single step, public so tests deliver without sleeping.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tokio::task::{Id, JoinError, JoinSet};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

mod health;
mod listen;
mod policy;

pub use listen::listen;
pub use policy::Policy;

use crate::metrics::Metrics;
use crate::store::{Claimer, Delivery, DeliveryEnd, Store, StoreError, now};
use health::Health;

/// One way deliveries leave: a module of its own per channel (`jobs::apple`, `jobs::google`,
/// `jobs::mail`) and a kind in the outbox.
pub trait Channel: Send + Sync + 'static {
    /// The outbox kind it delivers.
    const KIND: &'static str;
    /// Its name in metrics and logs.
    const NAME: &'static str;
    /// Whether the due rows of one target go in one delivery (a push, an object's current
    /// face); otherwise each row is a delivery of its own (a mail).
    const PER_TARGET: bool = true;
    /// At most this many deliveries at once, below the policy's concurrency.
    const MAX_IN_FLIGHT: Option<usize> = None;
    /// How long after a row was queued transient failures stop being retried (none: until
    /// the service answers).
    const RETRY_WINDOW: Option<Duration> = None;

    /// Delivers `rows`, all of `target`; a store error retries them.
    fn deliver(
        &self,
        target: &str,
        rows: &[Delivery],
    ) -> impl Future<Output = Result<Outcome, StoreError>> + Send;
}

/// How one delivery ended, as its channel says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered, or nothing is left to deliver. `outcome` and `code` label the metrics
    /// (`delivered`/`silent`, `unregistered`/`Unregistered`).
    Done { outcome: &'static str, code: String },
    /// Worth trying again later (429, 5xx, a transport failure).
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    /// Refused for a reason a retry will not change: a dead letter.
    Dead { code: String, error: String },
}

impl Outcome {
    /// Delivered, with `code` as its metrics reason.
    pub fn delivered(code: &str) -> Outcome {
        Outcome::Done {
            outcome: "delivered",
            code: code.to_owned(),
        }
    }

    /// A retry, honouring the service's `Retry-After` when it gave one.
    pub fn retry(error: impl Into<String>, retry_after: Option<Duration>) -> Outcome {
        Outcome::Retry {
            error: error.into(),
            retry_after,
        }
    }

    /// A dead letter, its metrics reason taken from the error.
    pub fn dead(error: impl Into<String>) -> Outcome {
        let error = error.into();
        Outcome::Dead {
            code: code_of(&error),
            error,
        }
    }
}

/// A bounded metrics label for a failure: its status and reason word, before any detail.
fn code_of(error: &str) -> String {
    error
        .split(':')
        .next()
        .unwrap_or_default()
        .chars()
        .take(40)
        .collect()
}

/// What a finished delivery task hands back: its key, its rows and how it went.
type Landed = (String, Vec<Delivery>, Result<Outcome, StoreError>);

/// The deliveries under way.
#[derive(Default)]
struct Flight {
    tasks: JoinSet<Landed>,
    /// Each task's key and rows, to release them if the task panics.
    started: HashMap<Id, (String, Vec<i64>)>,
    busy: HashSet<String>,
    /// Rows claimed for a key whose delivery is running: they go next.
    waiting: HashMap<String, Vec<Delivery>>,
}

/// Whether a claim filled every free slot (more may be due) or found the queue empty.
#[derive(Debug, PartialEq, Eq)]
enum Fill {
    Full,
    Empty,
}

/// A channel's dispatcher: the loop, the channel, and what they share.
pub struct Dispatcher<C> {
    store: Store,
    channel: Arc<C>,
    policy: Policy,
    metrics: Arc<Metrics>,
    health: Health,
    claimer: Claimer,
    slots: usize,
}

impl<C: Channel> Dispatcher<C> {
    pub fn new(store: Store, channel: C, policy: Policy, metrics: Arc<Metrics>) -> Self {
        let slots = C::MAX_IN_FLIGHT
            .map_or(policy.concurrency, |n| n.min(policy.concurrency))
            .max(1);
        Dispatcher {
            store,
            channel: Arc::new(channel),
            health: Health::new(C::NAME, Arc::clone(&metrics)),
            claimer: Claimer::this_process(),
            policy,
            metrics,
            slots,
        }
    }

    /// Delivers every due row, retries falling due meanwhile included, and returns when none
    /// is due and none is under way; returns how many rows were claimed.
    pub async fn drain(&self) -> Result<usize, StoreError> {
        let mut flight = Flight::default();
        let mut claimed = 0;
        loop {
            claimed += self.fill(&mut flight).await?.1;
            let Some(joined) = flight.tasks.join_next_with_id().await else {
                return Ok(claimed);
            };
            self.land(&mut flight, joined, true).await?;
        }
    }

    /// Delivers whenever there is something to deliver, until `shutdown`; then lets the
    /// deliveries under way end (each is bounded by its client's timeout).
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let wake = self.store.outbox_signals().of(C::KIND);
        let mut flight = Flight::default();
        let (mut look, mut backlog) = (true, false);
        let mut next_look = Instant::now();
        loop {
            if look {
                match self.fill(&mut flight).await {
                    Ok((Fill::Full, _)) => backlog = true,
                    Ok((Fill::Empty, _)) => {
                        backlog = false;
                        next_look = self.next_due().await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, channel = C::NAME, "claiming deliveries failed; trying again");
                        next_look = Instant::now() + Duration::from_secs(1).min(self.policy.poll);
                    }
                }
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                Some(joined) = flight.tasks.join_next_with_id() => {
                    match self.land(&mut flight, joined, true).await {
                        Ok(Some(retry_at)) => next_look = next_look.min(retry_at),
                        Ok(None) => {}
                        Err(e) => tracing::error!(error = %e, channel = C::NAME, "recording a delivery failed; its rows come back after the lease"),
                    }
                    look = backlog;
                }
                () = wake.notified() => look = true,
                () = tokio::time::sleep_until(next_look) => look = true,
            }
        }
        while let Some(joined) = flight.tasks.join_next_with_id().await {
            let _ = self.land(&mut flight, joined, false).await;
        }
    }

    /// Claims rows for the free slots and starts their deliveries, until the slots are full
    /// or nothing is due; returns which, and how many rows were claimed.
    async fn fill(&self, flight: &mut Flight) -> Result<(Fill, usize), StoreError> {
        let mut claimed = 0;
        loop {
            let free = self.slots.saturating_sub(flight.tasks.len());
            if free == 0 {
                return Ok((Fill::Full, claimed));
            }
            let limit = self
                .policy
                .batch
                .min(u32::try_from(free).unwrap_or(u32::MAX));
            let rows = self
                .store
                .claim_deliveries(C::KIND, self.claimer, now(), self.policy.lease, limit)
                .await?;
            if rows.is_empty() {
                return Ok((Fill::Empty, claimed));
            }
            claimed += rows.len();
            let mut by_key: HashMap<String, Vec<Delivery>> = HashMap::new();
            for row in rows {
                let key = match C::PER_TARGET {
                    true => row.target.clone(),
                    false => row.id.to_string(),
                };
                by_key.entry(key).or_default().push(row);
            }
            for (key, rows) in by_key {
                self.start(flight, key, rows);
            }
        }
    }

    /// Starts the delivery of `rows`, or queues them behind the running one of `key`.
    fn start(&self, flight: &mut Flight, key: String, rows: Vec<Delivery>) {
        if flight.busy.contains(&key) {
            flight.waiting.entry(key).or_default().extend(rows);
            return;
        }
        flight.busy.insert(key.clone());
        let ids = rows.iter().map(|r| r.id).collect();
        let channel = Arc::clone(&self.channel);
        let task_key = key.clone();
        let handle = flight.tasks.spawn(async move {
            let outcome = channel.deliver(&rows[0].target, &rows).await;
            (task_key, rows, outcome)
        });
        flight.started.insert(handle.id(), (key, ids));
    }

    /// Writes how a finished delivery ended and starts what waited for its key (unless
    /// `go_on` is false: the dispatcher is stopping). Returns when its rows retry, if they do.
    async fn land(
        &self,
        flight: &mut Flight,
        joined: Result<(Id, Landed), JoinError>,
        go_on: bool,
    ) -> Result<Option<Instant>, StoreError> {
        let (key, ends) = match joined {
            Ok((id, (key, rows, outcome))) => {
                flight.started.remove(&id);
                (key, self.ends_of(&rows, outcome))
            }
            Err(e) => {
                // A panicked delivery: its rows retry like a transient failure.
                let (key, ids) = flight.started.remove(&e.id()).unwrap_or_default();
                tracing::error!(channel = C::NAME, error = %e, "a delivery task failed; retrying its rows");
                let end = DeliveryEnd::Retry {
                    due_at: later(self.policy.backoff(1)),
                    error: "the delivery task failed".into(),
                };
                (key, ids.into_iter().map(|id| (id, end.clone())).collect())
            }
        };
        flight.busy.remove(&key);
        let retry_at = ends.iter().find_map(|(_, end)| match end {
            DeliveryEnd::Retry { due_at, .. } => Some(due_at_instant(*due_at)),
            _ => None,
        });
        self.finish(ends).await?;
        if let (true, Some(rows)) = (go_on, flight.waiting.remove(&key)) {
            self.start(flight, key, rows);
        }
        Ok(retry_at)
    }

    /// Each row's end after `outcome`, with the metrics and log lines it earns.
    fn ends_of(
        &self,
        rows: &[Delivery],
        outcome: Result<Outcome, StoreError>,
    ) -> Vec<(i64, DeliveryEnd)> {
        let card = rows[0].card_id.as_deref().unwrap_or("");
        let all = |end: DeliveryEnd| rows.iter().map(|r| (r.id, end.clone())).collect();
        match outcome {
            Ok(Outcome::Done { outcome, code }) => {
                self.metrics.delivery(C::NAME, outcome, &code);
                self.health.succeeded();
                all(DeliveryEnd::Done)
            }
            Ok(Outcome::Dead { code, error }) => {
                self.metrics.delivery(C::NAME, "dead", &code);
                tracing::error!(channel = C::NAME, card.id = card, reason = %error, "delivery refused; kept as a dead letter");
                all(DeliveryEnd::Dead { error })
            }
            Ok(Outcome::Retry { error, retry_after }) => {
                self.metrics.delivery(C::NAME, "retry", &code_of(&error));
                self.health.failed(&error);
                self.retries(rows, error, retry_after)
            }
            Err(e) => {
                tracing::warn!(channel = C::NAME, card.id = card, error = %e, "delivery: store error; retrying");
                self.retries(rows, e.to_string(), None)
            }
        }
    }

    /// Every row retries after the back-off of the newest among them, unless it is older
    /// than the channel's retry window.
    fn retries(
        &self,
        rows: &[Delivery],
        error: String,
        retry_after: Option<Duration>,
    ) -> Vec<(i64, DeliveryEnd)> {
        let newest = rows.iter().map(|r| r.attempts).min().unwrap_or(1);
        let delay = self
            .policy
            .backoff(newest)
            .max(retry_after.unwrap_or_default());
        let due_at = later(delay);
        tracing::debug!(channel = C::NAME, %error, attempts = newest, ?delay, "delivery failed; retrying");
        let window = C::RETRY_WINDOW.and_then(|w| TimeDelta::from_std(w).ok());
        let now = now();
        rows.iter()
            .map(|row| match window {
                Some(w) if now - row.created_at > w => {
                    tracing::error!(channel = C::NAME, outbox.id = row.id, %error, "delivery failed past its retry window; kept as a dead letter");
                    let error = format!("{error} (gave up {} h after it was queued)", w.num_hours());
                    (row.id, DeliveryEnd::Dead { error })
                }
                _ => (
                    row.id,
                    DeliveryEnd::Retry {
                        due_at,
                        error: error.clone(),
                    },
                ),
            })
            .collect()
    }

    /// Writes the ends, one statement per distinct end.
    async fn finish(&self, mut ends: Vec<(i64, DeliveryEnd)>) -> Result<(), StoreError> {
        let at = now();
        while let Some((_, end)) = ends.first().cloned() {
            let (same, rest): (Vec<_>, Vec<_>) = ends.into_iter().partition(|(_, e)| *e == end);
            let ids: Vec<i64> = same.into_iter().map(|(id, _)| id).collect();
            self.store.finish_deliveries(&ids, &end, at).await?;
            ends = rest;
        }
        Ok(())
    }

    /// When to look again with nothing due now: the next retry or lease end, within `poll`.
    async fn next_due(&self) -> Instant {
        let wait = match self.store.next_delivery_at(C::KIND).await {
            Ok(Some(at)) => (at - now()).to_std().unwrap_or(Duration::ZERO),
            _ => self.policy.poll,
        };
        Instant::now() + wait.min(self.policy.poll).max(Duration::from_millis(5))
    }
}

/// `delay` from now.
pub(crate) fn later(delay: Duration) -> DateTime<Utc> {
    now() + TimeDelta::from_std(delay).unwrap_or(TimeDelta::seconds(600))
}

/// The monotonic instant of a wall-clock time (now, if it has passed).
fn due_at_instant(at: DateTime<Utc>) -> Instant {
    Instant::now() + (at - now()).to_std().unwrap_or(Duration::ZERO)
}
