//! The independent .pkpass validator: checklist 2.11 of `shared/spec/apple-pkpass.md` as code.
//!
//! [`verify_pkpass`] takes the raw bytes of any pass (ours or anyone's) and returns a [`Report`]
//! of findings, each tagged with the checklist row id (Z1 … H1) and a severity. It never panics
//! and never trusts the input: entry counts and sizes are capped before anything is inflated.
//!
//! Layout: one file per checklist group — `archive` (Z), `manifest` (M), `signature` (S1–S3),
//! `trust` (S4–S8), `pass_json` (P1–P7, H1), `pass_values` (P8–P11), `fields` (F1–F4, F7, F8),
//! `field_styles` (F5, F6),
//! `images` (I), `strings` (L).

mod archive;
mod field_styles;
mod fields;
mod images;
mod manifest;
mod pass_json;
mod pass_values;
mod signature;
mod strings;
mod trust;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests_container;
#[cfg(test)]
mod tests_content;
#[cfg(test)]
mod tests_signature;

use std::fmt::Write as _;

use serde::Serialize;

/// How bad a finding is. Serialized and printed as `E`, `W`, `H`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Severity {
    /// Wallet refuses the pass, or the signature/trust chain fails.
    #[serde(rename = "E")]
    Error,
    /// Wallet accepts the pass but ignores or degrades something.
    #[serde(rename = "W")]
    Warning,
    /// A heuristic that no Apple rule backs (e.g. short serial numbers).
    #[serde(rename = "H")]
    Heuristic,
}

impl Severity {
    /// The one-letter code used in text output and JSON.
    pub fn letter(self) -> &'static str {
        match self {
            Severity::Error => "E",
            Severity::Warning => "W",
            Severity::Heuristic => "H",
        }
    }
}

/// One problem found, tagged with the checklist row that found it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub severity: Severity,
    pub message: String,
}

/// What the caller trusts and when "now" is (injected so tests and replays are deterministic).
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Extra WWDR-like roots accepted besides Apple's WWDR G4 (e.g. our development root).
    pub trusted_wwdr: Vec<openssl::x509::X509>,
    pub now: chrono::DateTime<chrono::Utc>,
}

/// All findings, plus the checklist rows that actually ran (rows whose input was missing or
/// unreadable are skipped, so an absent row in `checks_run` means "not checked", not "passed").
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub checks_run: Vec<&'static str>,
}

impl Report {
    /// True iff at least one finding has [`Severity::Error`]; the CLI's exit status.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// One `E Z1: message` line per finding, then a summary line.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for f in &self.findings {
            let _ = writeln!(out, "{} {}: {}", f.severity.letter(), f.id, f.message);
        }
        let count = |s| self.findings.iter().filter(|f| f.severity == s).count();
        let _ = writeln!(
            out,
            "{} error(s), {} warning(s), {} heuristic(s); {} check(s) run: {}",
            count(Severity::Error),
            count(Severity::Warning),
            count(Severity::Heuristic),
            self.checks_run.len(),
            self.checks_run.join(" ")
        );
        out
    }

    /// Records that a checklist row ran, even if it finds nothing.
    pub(crate) fn ran(&mut self, id: &'static str) {
        if !self.checks_run.contains(&id) {
            self.checks_run.push(id);
        }
    }

    pub(crate) fn push(&mut self, id: &'static str, severity: Severity, message: String) {
        self.ran(id);
        self.findings.push(Finding {
            id,
            severity,
            message,
        });
    }

    pub(crate) fn error(&mut self, id: &'static str, message: impl Into<String>) {
        self.push(id, Severity::Error, message.into());
    }

    pub(crate) fn warn(&mut self, id: &'static str, message: impl Into<String>) {
        self.push(id, Severity::Warning, message.into());
    }

    pub(crate) fn heuristic(&mut self, id: &'static str, message: impl Into<String>) {
        self.push(id, Severity::Heuristic, message.into());
    }
}

/// Validates a .pkpass against checklist 2.11. Never panics on any input.
pub fn verify_pkpass(bytes: &[u8], opts: &VerifyOptions) -> Report {
    // The checks are written not to panic; catching here is the backstop so that a bug turns
    // into an error finding instead of taking the CLI or the service worker down.
    let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_all(bytes, opts)));
    caught.unwrap_or_else(|_| {
        let mut report = Report::default();
        report.error("Z1", "internal error: the validator panicked on this input");
        report
    })
}

fn run_all(bytes: &[u8], opts: &VerifyOptions) -> Report {
    let mut report = Report::default();
    let Some(archive) = archive::read(bytes, &mut report) else {
        return report;
    };
    archive::check_layout(&archive, &mut report);
    manifest::check(&archive, &mut report);

    let pass = pass_json::parse(&archive, &mut report);
    if let Some(pass) = &pass {
        pass_json::check(pass, &mut report);
        pass_values::check(pass, opts.now, &mut report);
        fields::check(pass, &mut report);
    }
    let style = pass.as_ref().and_then(pass_json::style_of);
    images::check(&archive, style, &mut report);
    strings::check(&archive, &mut report);

    if let (Some(sig), Some(manifest)) = (archive.get("signature"), archive.get("manifest.json")) {
        if let Some(signed) = signature::check(sig, manifest, &mut report) {
            let ids = trust::PassIds::from_pass(pass.as_ref(), &archive);
            trust::check(&signed, &ids, opts, &mut report);
        }
    }
    report
}
