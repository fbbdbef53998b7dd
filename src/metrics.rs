//! What `GET /metrics` reports, in the Prometheus text format: delivery counters and the APNs
//! latency histogram kept here, the pass pipeline's counters ([`PassMetrics`]), and gauges
//! read from the database at scrape time (queue depth and age, registrations).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::passes::PassMetrics;

/// Upper bounds of the APNs latency buckets, in seconds.
const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A latency histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(LATENCY_BUCKETS) {
            if secs <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bucket, bound) in self.buckets.iter().zip(LATENCY_BUCKETS) {
            let n = bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {n}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

/// The process's counters; one per application, shared by its handlers and workers.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (channel, outcome, reason) → deliveries.
    deliveries: Mutex<BTreeMap<(&'static str, &'static str, String), u64>>,
    pub apns_latency: Histogram,
    /// Channel → since when its deliveries fail in a way a retry may fix (none: healthy).
    failing: Mutex<BTreeMap<&'static str, Option<Instant>>>,
}

/// Gauges read from the database for one scrape.
#[derive(Debug, Clone, Default)]
pub struct Gauges {
    pub outbox: crate::store::OutboxStats,
    /// Registrations by wallet scheme (`ApplePass`, `AndroidPass`, …).
    pub registrations: Vec<(String, i64)>,
    /// Devices whose push token APNs called bad (kept, flagged).
    pub flagged_devices: i64,
    /// Google Wallet callbacks by event (`save`, `del`).
    pub google_events: Vec<(String, i64)>,
    /// Unix time at which each signing certificate expires (`pass_type_id`, `wwdr`).
    pub certificate_expiries: Vec<(String, i64)>,
}

impl Metrics {
    /// Counts one delivery attempt's outcome (`reason` is a code: APNs's or Google's reason,
    /// a transport failure's kind, `HTTP 503`; or empty). Anything else — free text, which
    /// might name a URL or a token, and would make a label per value — is counted as `other`.
    pub fn delivery(&self, channel: &'static str, outcome: &'static str, reason: &str) {
        let is_code = reason.len() <= 64
            && reason
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b" _.-".contains(&b));
        let reason = if is_code { reason } else { "other" };
        let mut map = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        *map.entry((channel, outcome, reason.to_owned()))
            .or_default() += 1;
    }

    /// Deliveries counted so far with this channel and outcome.
    pub fn deliveries(&self, channel: &str, outcome: &str) -> u64 {
        let map = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        map.iter()
            .filter(|((c, o, _), _)| *c == channel && *o == outcome)
            .map(|(_, n)| n)
            .sum()
    }

    /// Marks a channel as failing since `since`, or healthy again (`None`).
    pub fn set_failing_since(&self, channel: &'static str, since: Option<Instant>) {
        let mut map = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(channel, since);
    }

    /// How long each channel that has delivered has been failing (0: healthy).
    fn failing_seconds(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP walletcards_delivery_failing_seconds How long a channel's deliveries have been failing and retrying (0 when they go through); alert when it stays above a few minutes.\n\
             # TYPE walletcards_delivery_failing_seconds gauge"
        );
        let map = self.failing.lock().unwrap_or_else(|e| e.into_inner());
        for (channel, since) in map.iter() {
            let seconds = since.map_or(0.0, |at| at.elapsed().as_secs_f64());
            let _ = writeln!(
                out,
                "walletcards_delivery_failing_seconds{{channel=\"{channel}\"}} {seconds:.3}"
            );
        }
    }

    pub fn render(&self, gauges: &Gauges, passes: &PassMetrics) -> String {
        let mut out = String::with_capacity(4096);
        let o = &gauges.outbox;
        gauge(
            &mut out,
            "walletcards_outbox_pending",
            "Deliveries waiting, due or not.",
            o.pending as f64,
        );
        gauge(
            &mut out,
            "walletcards_outbox_due",
            "Deliveries due now.",
            o.due as f64,
        );
        gauge(
            &mut out,
            "walletcards_outbox_dead",
            "Dead letters (retryable by admins).",
            o.dead as f64,
        );
        gauge(
            &mut out,
            "walletcards_outbox_oldest_due_age_seconds",
            "How long the oldest due delivery has waited.",
            o.oldest_due_age_seconds,
        );
        gauge(
            &mut out,
            "walletcards_devices_flagged",
            "Devices whose push token APNs answered BadDeviceToken (check APNs environment and credentials).",
            gauges.flagged_devices as f64,
        );
        labelled_gauge(
            &mut out,
            ("walletcards_google_wallet_events", "event"),
            "Google Wallet save and delete callbacks received.",
            &gauges.google_events,
        );
        labelled_gauge(
            &mut out,
            (
                "walletcards_certificate_expiry_timestamp_seconds",
                "certificate",
            ),
            "When each signing certificate expires (Unix time); alert well before it.",
            &gauges.certificate_expiries,
        );
        labelled_gauge(
            &mut out,
            ("walletcards_registrations", "scheme"),
            "Pass registrations of devices, by wallet scheme.",
            &gauges.registrations,
        );
        let _ = writeln!(
            out,
            "# HELP walletcards_deliveries_total Delivery attempts by channel, outcome and reason.\n\
             # TYPE walletcards_deliveries_total counter"
        );
        let map = self.deliveries.lock().unwrap_or_else(|e| e.into_inner());
        for ((channel, outcome, reason), n) in map.iter() {
            let reason = label_value(reason);
            let _ = writeln!(
                out,
                "walletcards_deliveries_total{{channel=\"{channel}\",outcome=\"{outcome}\",reason=\"{reason}\"}} {n}"
            );
        }
        drop(map);
        self.failing_seconds(&mut out);
        self.apns_latency.render(
            &mut out,
            "walletcards_apns_request_duration_seconds",
            "Time from sending a push to APNs's answer.",
        );
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        counter(
            &mut out,
            "walletcards_passes_signed_total",
            "Passes signed (not served from the cache).",
            load(&passes.signed),
        );
        let _ = writeln!(
            out,
            "# HELP walletcards_pass_cache_total Pass fetches by whether a signed copy of the version was cached.\n\
             # TYPE walletcards_pass_cache_total counter\n\
             walletcards_pass_cache_total{{result=\"hit\"}} {}\n\
             walletcards_pass_cache_total{{result=\"miss\"}} {}",
            load(&passes.cache_hits),
            load(&passes.cache_misses),
        );
        let _ = writeln!(
            out,
            "# HELP walletcards_passes_served_total Passes served to devices and admins, by status.\n\
             # TYPE walletcards_passes_served_total counter\n\
             walletcards_passes_served_total{{status=\"200\"}} {}\n\
             walletcards_passes_served_total{{status=\"304\"}} {}",
            load(&passes.served_full),
            load(&passes.served_not_modified),
        );
        out
    }
}

fn gauge(out: &mut String, name: &str, help: &str, value: f64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
}

/// A gauge with one label, a line per value.
fn labelled_gauge(
    out: &mut String,
    (name, label): (&str, &str),
    help: &str,
    rows: &[(String, i64)],
) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
    for (value, n) in rows {
        let _ = writeln!(out, "{name}{{{label}=\"{}\"}} {n}", label_value(value));
    }
}

/// A label value with the characters the text format escapes replaced.
fn label_value(v: &str) -> String {
    v.replace(['\\', '"', '\n'], "_")
}

fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    let _ = writeln!(
        out,
        "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_counts_each_observation_in_every_bucket_it_fits() {
        let m = Metrics::default();
        m.apns_latency.observe(Duration::from_millis(3));
        m.apns_latency.observe(Duration::from_millis(300));
        let text = m.render(&Gauges::default(), &PassMetrics::default());
        assert!(text.contains("walletcards_apns_request_duration_seconds_bucket{le=\"0.0025\"} 0"));
        assert!(text.contains("walletcards_apns_request_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("walletcards_apns_request_duration_seconds_bucket{le=\"0.5\"} 2"));
        assert!(text.contains("walletcards_apns_request_duration_seconds_count 2"));
    }

    #[test]
    fn deliveries_are_counted_by_outcome_and_reason() {
        let m = Metrics::default();
        m.delivery("apple", "retry", "InternalServerError");
        m.delivery("apple", "retry", "InternalServerError");
        m.delivery("apple", "delivered", "");
        m.delivery(
            "apple",
            "retry",
            "error sending request for url (https://api.push.apple.com/3/device/00ff)",
        );
        assert_eq!(m.deliveries("apple", "retry"), 3);
        let text = m.render(&Gauges::default(), &PassMetrics::default());
        assert!(text.contains(
            "walletcards_deliveries_total{channel=\"apple\",outcome=\"retry\",reason=\"InternalServerError\"} 2"
        ));
        assert!(text.contains("reason=\"other\"} 1") && !text.contains("00ff"));
    }
}
