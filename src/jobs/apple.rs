//! The Apple channel: the outbox's `apple_push` rows as APNs pushes.
//!
//! - **One push per push token** for all its due rows: a push says only "ask me what
//!   changed"; the device then lists every pass of the type that changed since its tag, so
//!   several changes (of one card or of several) need one push.
//! - **Outcomes**, as the APNs response table says: delivered → done; 410 → the token's
//!   registrations are deleted; 400 `BadDeviceToken` → kept and flagged, the row is a dead
//!   letter and an error is logged (one misconfiguration returns it for every token, so nothing
//!   is pruned); other refusals → dead letter; 429, 5xx and transport errors → retried (see
//!   `jobs::dispatch`). Dead letters are listed and retried through the admin API.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use super::dispatch::{Channel, Outcome};
use crate::apple::apns::{ApnsClient, InvalidPush, PushOutcome};
use crate::metrics::Metrics;
use crate::store::{Delivery, Store, StoreError, now};

/// The outbox kind this channel delivers.
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

impl<P: Pusher> Pusher for Arc<P> {
    fn push(&self, push_token: &str) -> impl Future<Output = PushResult> + Send {
        P::push(self, push_token)
    }
}

/// APNs as the channel's [`Pusher`]: the client and the pass type id it pushes for.
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

/// The channel: a pusher, and the store it prunes and flags registrations in.
pub struct Apple<P> {
    pub store: Store,
    pub pusher: P,
    pub metrics: Arc<Metrics>,
}

impl<P: Pusher> Channel for Apple<P> {
    const KIND: &'static str = KIND;
    const NAME: &'static str = "apple";

    async fn deliver(&self, token: &str, _rows: &[Delivery]) -> Result<Outcome, StoreError> {
        let started = Instant::now();
        let result = self.pusher.push(token).await;
        self.metrics.apns_latency.observe(started.elapsed());
        Ok(match result {
            PushResult::Delivered => Outcome::delivered(""),
            PushResult::Unregistered { since } => {
                let forgotten = self
                    .store
                    .delete_registrations_by_push_token(token, since)
                    .await?;
                tracing::info!(
                    registrations = forgotten,
                    "APNs: the device no longer holds the pass; its registrations are deleted"
                );
                Outcome::Done {
                    outcome: "unregistered",
                    code: "Unregistered".into(),
                }
            }
            PushResult::BadDeviceToken => {
                self.store
                    .flag_push_token(token, "BadDeviceToken", now())
                    .await?;
                tracing::error!(
                    "APNs answered BadDeviceToken: check the APNs environment and credentials \
                     (a misconfiguration returns it for every token); the registration is kept"
                );
                Outcome::Dead {
                    code: "BadDeviceToken".into(),
                    error: "400 BadDeviceToken".into(),
                }
            }
            PushResult::Rejected { reason } => Outcome::Dead {
                code: reason.clone(),
                error: reason,
            },
            PushResult::Retry {
                reason,
                retry_after,
            } => Outcome::retry(reason, retry_after),
        })
    }
}
