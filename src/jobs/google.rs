//! The Google channel: the outbox's `google_object` rows as Wallet API objects.
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
//!   (Google's `Retry-After` honoured) until Google answers (see `jobs::dispatch`); other refusals
//!   (400, 403 `permissionDenied`, a refused service-account key) are dead letters at once,
//!   logged as errors: retrying will not fix configuration.
//! - **Pace**: every call waits in the client's token bucket (`google::pace::RequestPace`).

use std::sync::Arc;

mod sync;

use super::dispatch::{Channel, Outcome};
use crate::google::WalletApi;
use crate::store::{Delivery, Store, StoreError};

/// The outbox kind this channel delivers.
pub const KIND: &str = "google_object";

/// What the channel works with.
pub struct Google<W> {
    pub store: Store,
    pub api: W,
    pub issuer_id: String,
    /// Each class's `callbackOptions.url`, if callbacks are verified.
    pub callback_url: Option<String>,
    /// Where Google fetches images from (logos, stamp grids).
    pub public_url: Arc<str>,
    /// The supplier's name on classes whose program names none.
    pub organization_name: Arc<str>,
    /// Each program's design as saved now.
    pub designs: Arc<crate::program_designs::LiveDesigns>,
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
    fn failed<T>(outcome: crate::google::Outcome<T>) -> Step {
        use crate::google::Outcome;
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

impl<W: WalletApi + 'static> Channel for Google<W> {
    const KIND: &'static str = KIND;
    const NAME: &'static str = "google";

    async fn deliver(&self, object_id: &str, rows: &[Delivery]) -> Result<Outcome, StoreError> {
        Ok(match self.deliver_object(object_id, rows).await? {
            Step::Applied { notified: true } => Outcome::delivered("notified"),
            Step::Applied { notified: false } => Outcome::delivered("silent"),
            Step::Retry {
                reason,
                retry_after,
            } => Outcome::retry(reason, retry_after),
            Step::Rejected { reason } => Outcome::dead(reason),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::google::{Outcome, Refusal};

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
    }
}
