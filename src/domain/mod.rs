//! The pure core: ids and newtypes, money, loyalty rules per kind, balances and the card face.
//!
//! Nothing here does I/O or knows a database, a web framework or a wallet format, so Apple and
//! Google render the same facts and the rules can be tested in isolation.

pub mod balance;
pub mod codes;
pub mod face;
pub mod i18n;
pub mod ids;
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
