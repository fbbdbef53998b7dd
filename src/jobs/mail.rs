//! The mail dispatcher: drains the outbox's `mail` rows through the [`Mailer`] (SMTP, or
//! `.eml` files without a host). Each row carries its composed message; a delivered row's
//! message is cleared (it may hold a one-time link). Connection failures and transient
//! (4xx) SMTP answers retry with the outbox's exponential back-off and jitter, a dead letter
//! after the last attempt; permanent (5xx) answers are dead letters at once. Mails go one at
//! a time: they are few (one per enrollment or request), and a slow relay then holds one
//! connection, not many.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::outbox::{Policy, later, serve};
use crate::mail::{MailMessage, Mailer, Sent};
use crate::metrics::Metrics;
use crate::store::{Delivery, DeliveryEnd, Store, StoreError, now};

/// The outbox kind this dispatcher drains.
pub const KIND: &str = crate::store::MAIL_KIND;

/// What the dispatcher works with.
pub struct Dispatcher {
    pub store: Store,
    pub mailer: Mailer,
    pub policy: Policy,
    pub metrics: Arc<Metrics>,
}

impl Dispatcher {
    /// Drains due rows until none is left; returns how many rows were handled.
    pub async fn drain(&self) -> Result<usize, StoreError> {
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
            for row in rows {
                let end = self.deliver(&row).await;
                self.store.finish_deliveries(&[row.id], &end, now()).await?;
            }
        }
    }

    /// Sends one row's mail and says how its delivery ends.
    async fn deliver(&self, row: &Delivery) -> DeliveryEnd {
        let mail: Option<MailMessage> = row
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok());
        let sent = match mail {
            Some(mail) => self.mailer.send(row.id, &mail).await,
            None => Sent::Rejected {
                reason: "the queued mail cannot be read".into(),
            },
        };
        match sent {
            Sent::Delivered => {
                self.metrics.delivery("mail", "delivered", "");
                DeliveryEnd::Done
            }
            Sent::Rejected { reason } => {
                self.metrics.delivery("mail", "dead", &reason);
                tracing::error!(outbox.id = row.id, %reason, "a mail was refused; kept as a dead letter");
                DeliveryEnd::Dead { error: reason }
            }
            Sent::Retry { reason } if row.attempts < self.policy.max_attempts => {
                self.metrics.delivery("mail", "retry", &reason);
                let delay = self.policy.backoff(row.attempts);
                tracing::warn!(outbox.id = row.id, %reason, attempts = row.attempts, ?delay, "sending a mail failed; retrying");
                DeliveryEnd::Retry {
                    due_at: later(delay),
                    error: reason,
                }
            }
            Sent::Retry { reason } => {
                self.metrics.delivery("mail", "dead", &reason);
                tracing::error!(outbox.id = row.id, %reason, "sending a mail failed on its last attempt; kept as a dead letter");
                DeliveryEnd::Dead { error: reason }
            }
        }
    }

    /// Drains the mail queue whenever woken, until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        if let Some(dir) = self.mailer.folder() {
            tracing::info!(mail.dir = %dir.display(), "no SMTP host configured (WALLETCARDS_MAIL__HOST): mails are written to files");
        }
        let this = &self;
        serve(&self.store, KIND, self.policy.poll, shutdown, move || {
            this.drain()
        })
        .await;
    }
}
