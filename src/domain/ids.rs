//! Opaque identifiers: a short type prefix and a UUID v7, so ids sort by creation time and a
//! stray id in a log says what it is.

use std::fmt;

use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            pub fn generate() -> Self {
                Self(format!("{}_{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// Accepts only well-formed ids of this type; anything else cannot exist.
            pub fn parse(s: &str) -> Option<Self> {
                let rest = s.strip_prefix($prefix)?.strip_prefix('_')?;
                let ok = rest.len() == 32
                    && rest.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                ok.then(|| Self(s.to_owned()))
            }

            /// Wraps a value read back from our own database.
            pub fn from_db(s: String) -> Self {
                Self(s)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A loyalty program.
    ProgramId,
    "prg"
);
id_type!(
    /// A client company.
    AccountId,
    "acc"
);
id_type!(
    /// A decision-maker of a client company.
    MemberId,
    "mem"
);
id_type!(
    /// One member's card in one program.
    CardId,
    "crd"
);
id_type!(
    /// An API key (the public half; the secret is only stored hashed).
    ApiKeyId,
    "key"
);
id_type!(
    /// A named staff user (signs in with e-mail and password).
    StaffUserId,
    "usr"
);
id_type!(
    /// A booked order.
    OrderId,
    "ord"
);
id_type!(
    /// A refund of an order.
    RefundId,
    "rfd"
);
id_type!(
    /// A desk redemption of a reward.
    RedemptionId,
    "rdm"
);
id_type!(
    /// A manual adjustment of a balance.
    AdjustmentId,
    "adj"
);
id_type!(
    /// An invite: a QR enrollment link of an account into programs.
    InviteId,
    "inv"
);
id_type!(
    /// A one-time link mailed to a person (the secret token is only stored hashed).
    EmailLinkId,
    "lnk"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_parse_back_and_foreign_strings_do_not() {
        let id = CardId::generate();
        assert_eq!(CardId::parse(id.as_str()), Some(id.clone()));
        assert!(ProgramId::parse(id.as_str()).is_none());
        assert!(CardId::parse("crd_xyz").is_none());
        assert!(CardId::parse("").is_none());
    }

    #[test]
    fn ids_created_later_sort_later() {
        let a = MemberId::generate();
        let b = MemberId::generate();
        assert!(a < b);
    }
}
