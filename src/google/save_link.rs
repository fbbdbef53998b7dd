//! The skinny "Add to Google Wallet" link: `https://pay.google.com/gp/v/save/<JWT>` whose
//! payload names an object already inserted over REST by id and class id only (spec §2).

use serde::Serialize;

use super::auth::ServiceAccount;
use super::jwt::JwtError;
use super::model::ResourceId;

/// Where save links point.
pub const SAVE_URL_PREFIX: &str = "https://pay.google.com/gp/v/save/";

/// Browsers truncate longer links; Google's guideline for the JWT in a web link.
pub const MAX_JWT_CHARS: usize = 1_800;

/// Why no save link could be made.
#[derive(Debug, thiserror::Error)]
pub enum SaveLinkError {
    #[error(transparent)]
    Jwt(#[from] JwtError),
    #[error(
        "the save-link JWT has {chars} characters, more than the {MAX_JWT_CHARS} a link may carry"
    )]
    TooLong { chars: usize },
    #[error("invalid id: {0}")]
    Id(String),
}

#[derive(Serialize)]
struct Claims<'a> {
    iss: &'a str,
    aud: &'static str,
    typ: &'static str,
    iat: i64,
    origins: &'a [String],
    payload: Payload<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'a> {
    loyalty_objects: [ObjectRef<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ObjectRef<'a> {
    id: &'a ResourceId,
    class_id: &'a ResourceId,
}

/// The save link for an inserted object, signed (RS256) by the service account, issued at
/// `iat` (Unix seconds). `origins` are the sites allowed to show the save button.
pub fn save_link(
    account: &ServiceAccount,
    origins: &[String],
    object_id: &ResourceId,
    class_id: &ResourceId,
    iat: i64,
) -> Result<String, SaveLinkError> {
    let claims = Claims {
        iss: account.client_email(),
        aud: "google",
        typ: "savetowallet",
        iat,
        origins,
        payload: Payload {
            loyalty_objects: [ObjectRef {
                id: object_id,
                class_id,
            }],
        },
    };
    let jwt = account.sign(&claims)?;
    if jwt.len() >= MAX_JWT_CHARS {
        return Err(SaveLinkError::TooLong { chars: jwt.len() });
    }
    Ok(format!("{SAVE_URL_PREFIX}{jwt}"))
}

#[cfg(test)]
mod tests {
    use openssl::pkey::PKey;
    use openssl::rsa::Rsa;

    use super::*;

    fn account() -> ServiceAccount {
        let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        let pem = String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap();
        let json = serde_json::json!({"client_email": "sa@p.iam.gserviceaccount.com",
            "private_key": pem, "private_key_id": "abc"});
        ServiceAccount::from_json(json.to_string().as_bytes()).unwrap()
    }

    #[test]
    fn a_link_too_long_for_a_browser_is_refused() {
        let account = account();
        let object = ResourceId::new("1", "o").unwrap();
        let class = ResourceId::new("1", "c").unwrap();
        let link = save_link(&account, &[], &object, &class, 0).unwrap();
        assert!(link.starts_with(SAVE_URL_PREFIX));
        let origins = vec!["https://a-very-long-origin.example.com".to_owned(); 40];
        let e = save_link(&account, &origins, &object, &class, 0).unwrap_err();
        assert!(matches!(e, SaveLinkError::TooLong { .. }), "{e}");
    }
}
