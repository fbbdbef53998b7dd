//! The mail channel: the outbox's `mail` rows through the [`Mailer`] (SMTP, or `.eml` files
//! without a host). Each row carries its composed message and is a delivery of its own; a
//! delivered row's message is cleared (it may hold a one-time link). Connection failures and
//! transient (4xx) SMTP answers retry (see `jobs::dispatch`) for a day, after which the links
//! a mail carries have long expired; permanent (5xx) answers are dead letters at once. A few
//! mails go at once: they are few (one per enrollment or request), and the relay's pool
//! holds a connection each.

use std::time::Duration;

use super::dispatch::{Channel, Outcome};
use crate::mail::{MailMessage, Mailer, Sent};
use crate::store::{Delivery, StoreError};

/// The outbox kind this channel delivers.
pub const KIND: &str = crate::store::MAIL_KIND;

/// The channel: where mails go.
pub struct Mail {
    pub mailer: Mailer,
}

impl Channel for Mail {
    const KIND: &'static str = KIND;
    const NAME: &'static str = "mail";
    const PER_TARGET: bool = false;
    const MAX_IN_FLIGHT: Option<usize> = Some(4);
    const RETRY_WINDOW: Option<Duration> = Some(Duration::from_secs(24 * 3600));

    async fn deliver(&self, _to: &str, rows: &[Delivery]) -> Result<Outcome, StoreError> {
        let row = &rows[0];
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
        Ok(match sent {
            Sent::Delivered => Outcome::delivered(""),
            Sent::Rejected { reason } => Outcome::dead(reason),
            Sent::Retry { reason } => Outcome::retry(reason, None),
        })
    }
}
