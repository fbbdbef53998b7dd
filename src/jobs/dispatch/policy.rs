//! How a dispatcher paces itself: its lease, batch, concurrency and retry back-off.

use std::time::Duration;

use chrono::TimeDelta;
use rand::Rng;

/// How the dispatchers pace themselves (`WALLETCARDS_OUTBOX__*`).
#[derive(Debug, Clone)]
pub struct Policy {
    /// How long a claim holds its rows before another dispatcher may take them (a claimer
    /// that died loses them at once; this is for one that is alive but stuck).
    pub lease: TimeDelta,
    /// Rows claimed at once at most (more when picked targets have several).
    pub batch: u32,
    /// Deliveries in flight at once per channel.
    pub concurrency: usize,
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
