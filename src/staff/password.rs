//! Staff passwords: argon2id (the `argon2` crate's defaults, OWASP's recommended 19 MiB,
//! 2 passes) in PHC strings, hashed and checked off the async threads. An address nobody has
//! is checked against a fixed hash, so a wrong address takes as long as a wrong password.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use crate::domain::FieldError;

/// The shortest password we take (NIST SP 800-63B asks for 8; staff move money).
pub const MIN_CHARS: usize = 10;
/// The longest: enough for any passphrase, short of a denial of service.
pub const MAX_CHARS: usize = 200;

/// A hash for addresses nobody has, compared against to take the same time.
static DUMMY: LazyLock<String> =
    LazyLock::new(|| hash_now("not a password of anyone").unwrap_or_default());

/// Whether `password` may be chosen.
pub fn check(field: &str, password: &str) -> Result<(), FieldError> {
    let n = password.chars().count();
    if n < MIN_CHARS {
        return Err(FieldError::with_code(
            "weak_password",
            field,
            format!("must have at least {MIN_CHARS} characters"),
        ));
    }
    if n > MAX_CHARS {
        return Err(FieldError::new(
            field,
            format!("must have at most {MAX_CHARS} characters"),
        ));
    }
    if password.chars().all(|c| password.starts_with(c)) {
        return Err(FieldError::with_code(
            "weak_password",
            field,
            "must not repeat one character",
        ));
    }
    Ok(())
}

fn hash_now(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .ok()
        .map(|h| h.to_string())
}

/// The PHC string of `password` (`None` only if the system's randomness failed).
pub async fn hash(password: String) -> Option<String> {
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .ok()
        .flatten()
}

/// Whether `password` is the one `stored` was made from; `None` (no such user, or one with no
/// password yet) checks against a dummy hash and is false.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| DUMMY.clone());
        let Ok(parsed) = PasswordHash::new(&phc) else {
            return false;
        };
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        known && matches
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_password_verifies_against_its_own_hash_only() {
        let stored = hash("correct horse battery".into()).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("correct horse battery".into(), Some(stored.clone())).await);
        assert!(!verify("correct horse batterY".into(), Some(stored)).await);
        assert!(!verify("not a password of anyone".into(), None).await);
    }

    #[test]
    fn short_and_one_character_passwords_are_refused() {
        assert!(check("password", "short").is_err());
        assert!(check("password", "aaaaaaaaaaaa").is_err());
        assert!(check("password", &"x".repeat(201)).is_err());
        assert!(check("password", "long enough pass").is_ok());
    }
}
