//! The pure core: ids and newtypes, money, loyalty rules per kind, balances and the card face.
//!
//! Nothing here does I/O or knows a database, a web framework or a wallet format, so Apple and
//! Google render the same facts and the rules can be tested in isolation.

pub mod balance;
pub mod card;
pub mod codes;
pub mod contact;
pub mod design;
pub mod devices;
pub mod face;
pub mod i18n;
pub mod ids;
pub mod invites;
pub mod ledger;
pub mod model;
pub mod money;
pub mod rules;

/// A validation failure of input, naming the offending field by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Machine-readable code, e.g. `invalid_field`.
    pub code: &'static str,
    /// JSON path of the field, e.g. `rules.tiers[1].percent_bps`.
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::with_code("invalid_field", field, message)
    }

    pub fn with_code(
        code: &'static str,
        field: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            code,
            field: field.into(),
            message: message.into(),
        }
    }

    /// From a serde error at `path` (as `serde_path_to_error` prints it, `.` for the root).
    /// serde reports a missing field at its parent, so the name from the message is appended.
    pub fn from_serde(path: &str, message: String) -> Self {
        let parent = if path == "." { "" } else { path };
        match rules::missing_field(&message).map(str::to_owned) {
            Some(name) if parent.is_empty() => Self::with_code("missing_field", name, message),
            Some(name) => Self::with_code("missing_field", format!("{parent}.{name}"), message),
            None => Self::new(parent, message),
        }
    }

    /// Prefixes the field path, e.g. `percent_bps` becomes `rules.percent_bps`.
    pub fn under(mut self, parent: &str) -> Self {
        self.field = if self.field.is_empty() {
            parent.to_owned()
        } else if self.field.starts_with('[') {
            format!("{parent}{}", self.field)
        } else {
            format!("{parent}.{}", self.field)
        };
        self
    }
}
