//! Whether a channel's service is failing now: an outage is said once when it begins, once a
//! minute while it lasts and once when it ends, and shown on `/metrics` as
//! `walletcards_delivery_failing_seconds{channel}`; single retries are only debug lines, so a
//! long outage with many waiting changes does not flood the log.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::metrics::Metrics;

/// How often a lasting outage is said again.
const REMIND: Duration = Duration::from_secs(60);

/// One channel's state of health.
pub(super) struct Health {
    channel: &'static str,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// When the current run of transient failures began.
    failing_since: Option<Instant>,
    /// Failures since the outage was last said.
    failures: u64,
    said_at: Option<Instant>,
}

impl Health {
    pub(super) fn new(channel: &'static str, metrics: Arc<Metrics>) -> Health {
        Health {
            channel,
            metrics,
            state: Mutex::default(),
        }
    }

    /// A delivery failed in a way a retry may fix.
    pub(super) fn failed(&self, reason: &str) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        s.failures += 1;
        let Some(since) = s.failing_since else {
            s.failing_since = Some(now);
            s.said_at = Some(now);
            s.failures = 0;
            self.metrics.set_failing_since(self.channel, Some(now));
            tracing::warn!(
                channel = self.channel,
                %reason,
                "deliveries are failing; retrying with back-off until the service answers"
            );
            return;
        };
        if s.said_at.is_none_or(|at| now - at >= REMIND) {
            tracing::warn!(
                channel = self.channel,
                %reason,
                failing_for = ?(now - since),
                failures = s.failures,
                "deliveries are still failing; retrying"
            );
            s.said_at = Some(now);
            s.failures = 0;
        }
    }

    /// A delivery went through: an outage, if one was on, is over.
    pub(super) fn succeeded(&self) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(since) = s.failing_since.take() {
            self.metrics.set_failing_since(self.channel, None);
            tracing::info!(
                channel = self.channel,
                failed_for = ?since.elapsed(),
                "deliveries go through again"
            );
            *s = State::default();
        }
    }
}
