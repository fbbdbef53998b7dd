//! Checks of the free texts and contact details people give (names, roles, e-mail addresses,
//! phone numbers): one set of rules for the admin API and the enrollment form, each failure
//! naming its field.

use super::FieldError;

/// Longest e-mail address (RFC 5321's path limit).
pub const MAX_EMAIL: usize = 254;
pub const MAX_PHONE: usize = 32;

/// A required free text: trimmed, non-empty, at most `max` characters.
pub fn text(field: &str, value: &str, max: usize) -> Result<String, FieldError> {
    let value = value.trim();
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Like [`text`] for optional fields; an empty string is no value.
pub fn optional_text(
    field: &str,
    value: Option<&str>,
    max: usize,
) -> Result<Option<String>, FieldError> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => text(field, v, max).map(Some),
    }
}

/// An optional e-mail address, trimmed: RFC 5321/5322 syntax as the `email_address` crate
/// checks it, with a dotted domain (`local@domain.tld`), and neither a display name
/// (`Anna <a@b.de>`), a domain literal (`a@[10.0.0.1]`) nor a quoted local part
/// (`"a b"@c.de`): legal, but no inbox people type in needs them, and they carry spaces,
/// brackets and `@` into exports and pages.
pub fn email(field: &str, value: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(e) = optional_text(field, value, MAX_EMAIL)? else {
        return Ok(None);
    };
    let options = email_address::Options::default()
        .with_required_tld()
        .without_domain_literal()
        .without_display_text();
    let valid = email_address::EmailAddress::parse_with_options(&e, options)
        .is_ok_and(|parsed| !parsed.local_part().starts_with('"'));
    if valid {
        Ok(Some(e))
    } else {
        Err(FieldError::new(field, "is not an e-mail address"))
    }
}

/// An optional phone number: digits, spaces and `+ - ( ) .`, at least one digit.
pub fn phone(field: &str, value: Option<&str>) -> Result<Option<String>, FieldError> {
    let Some(p) = optional_text(field, value, MAX_PHONE)? else {
        return Ok(None);
    };
    let valid = p
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c))
        && p.chars().any(|c| c.is_ascii_digit());
    if valid {
        Ok(Some(p))
    } else {
        Err(FieldError::new(
            field,
            "may hold digits, spaces and + - ( ) . only",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(text("name", "  Anna ", 5), Ok("Anna".into()));
        assert_eq!(
            text("name", "   ", 5).map_err(|e| e.field),
            Err("name".into())
        );
        assert!(text("name", "Ännaää", 5).is_err());
        assert_eq!(optional_text("role", Some(" "), 5), Ok(None));
    }

    #[test]
    fn e_mail_addresses_and_phone_numbers_must_look_like_them() {
        assert_eq!(email("email", Some(" a@b.de ")), Ok(Some("a@b.de".into())));
        assert_eq!(
            email("email", Some("anna.petrova+desk@acme-supply.example")),
            Ok(Some("anna.petrova+desk@acme-supply.example".into()))
        );
        let bad = [
            "a@b",
            "@b.de",
            "a@.de",
            "a@b.",
            "a b@c.de",
            "ab.de",
            "a@@b.example",
            "<script>@x.example",
            "a<b>@x.example",
            "Anna <a@b.de>",
            "a@[10.0.0.1]",
            "\"a b\"@c.de",
            "a..b@c.de",
            "a@b..de",
        ];
        for bad in bad {
            assert_eq!(
                email("email", Some(bad)).map_err(|e| e.field),
                Err("email".into()),
                "{bad}"
            );
        }
        assert_eq!(
            phone("phone", Some("+49 (30) 123-4")),
            Ok(Some("+49 (30) 123-4".into()))
        );
        assert!(phone("phone", Some("call me")).is_err());
        assert!(phone("phone", Some("+-")).is_err());
    }
}
