//! Invites on SQLite and PostgreSQL: created through the admin API with their QR codes,
//! validated naming the field, revoked; and enrollment through them (`enrollment`), driven
//! through the library the enrollment pages call (`walletcards::enroll`) against the running
//! app: the form queues a mail with a one-time link, and opening that link enrolls.

use crate::common;
#[path = "invites/enrollment.rs"]
mod enrollment;

use common::{Engine, TestApp, assert_status, id, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use walletcards::domain::model::{Card, Member};
use walletcards::enroll::{EnrollError, EnrollForm, invite_status};
use walletcards::render::qr::{qr_code, qr_png, qr_svg};

on_both_engines!(
    an_invite_answers_with_its_link_and_qr_codes_and_shows_its_token_once,
    invite_requests_are_validated_naming_the_field_and_store_nothing,
    a_revoked_invite_enrolls_no_one_and_revoking_twice_changes_nothing,
);

/// A company, two programs and an invite of the company into both: (account, programs, invite).
pub async fn invite_setup(app: &TestApp, extra: Value) -> (Value, [Value; 2], Value) {
    let account = app.create_account("Acme GmbH").await;
    let programs = [
        app.create_program("discount").await,
        app.create_program("stamp").await,
    ];
    let mut body =
        json!({"account_id": id(&account), "program_ids": [id(&programs[0]), id(&programs[1])]});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    let invite = app.post_ok("/invites", &body, StatusCode::CREATED).await;
    (account, programs, invite)
}

pub fn token(invite: &Value) -> String {
    invite["token"].as_str().expect("a token").to_owned()
}

pub fn form(name: &str, email: &str) -> EnrollForm {
    EnrollForm {
        name: name.into(),
        role: "Purchasing manager".into(),
        email: email.into(),
        phone: Some("+49 30 1234567".into()),
        consent: true,
    }
}

/// Asserts that the page's first look at `invite` and a new person's form both meet `closed`.
pub async fn assert_closed(app: &TestApp, invite: &Value, closed: fn(&EnrollError) -> bool) {
    let shown = invite_status(&app.state, &token(invite)).await;
    assert!(shown.as_ref().is_err_and(closed), "{shown:?}");
    let newcomer = form("Zoe Newcomer", "zoe.newcomer@example.test");
    let outcome = enroll(app, &token(invite), newcomer).await;
    assert!(outcome.as_ref().is_err_and(closed), "{outcome:?}");
}

/// What one enrollment came to: the member and their cards.
#[derive(Debug)]
pub struct Enrolled {
    pub member: Member,
    pub cards: Vec<Card>,
    /// Whether the enrollment took a use of the invite (a new member).
    pub new_member: bool,
}

pub async fn queued_link(app: &TestApp, email: &str) -> String {
    app.queued_link(email).await
}

/// The whole enrollment as the pages drive it: the form, the mail's link, opening it.
pub async fn enroll(app: &TestApp, token: &str, form: EnrollForm) -> Result<Enrolled, EnrollError> {
    let uses_before = invite_uses(app, token).await;
    let (member, cards) = app.enroll_by_mail(token, form).await?;
    Ok(Enrolled {
        member,
        cards,
        new_member: invite_uses(app, token).await > uses_before,
    })
}

async fn invite_uses(app: &TestApp, token: &str) -> i64 {
    let rows: Vec<(i64,)> = app
        .fetch(&format!(
            "SELECT uses FROM invites WHERE token = '{}'",
            token.replace('\'', "")
        ))
        .await;
    rows.first().map_or(0, |(n,)| *n)
}

pub async fn uses(app: &TestApp, invite: &Value) -> i64 {
    let read = app.get_ok(&format!("/invites/{}", id(invite))).await;
    read["uses"].as_i64().expect("uses")
}

async fn get_bytes(app: &TestApp, path: &str) -> (StatusCode, String, Vec<u8>) {
    let r = app.get(path).await;
    let status = r.status();
    let media = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap_or("").to_owned());
    (
        status,
        media.unwrap_or_default(),
        r.bytes().await.expect("body").to_vec(),
    )
}

fn png_size(png_bytes: &[u8]) -> (u32, u32) {
    let info = png::Decoder::new(std::io::Cursor::new(png_bytes))
        .read_info()
        .expect("a PNG");
    (info.info().width, info.info().height)
}

async fn an_invite_answers_with_its_link_and_qr_codes_and_shows_its_token_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let (account, programs, invite) = invite_setup(&app, json!({})).await;
    let token = token(&invite);
    let url = format!("{}/join/{token}", app.state.public_url);
    assert_eq!(token.len(), 27, "{invite}");
    assert_eq!(invite["url"], url.as_str());
    let api = format!("{}/api/v1/invites/{}", app.state.public_url, id(&invite));
    assert_eq!(invite["qr_png_url"], format!("{api}/qr.png"));
    assert_eq!(invite["qr_svg_url"], format!("{api}/qr.svg"));
    assert_eq!(
        invite["program_ids"],
        json!([id(&programs[0]), id(&programs[1])])
    );
    assert_eq!(
        (invite["max_uses"].as_i64(), invite["uses"].as_i64()),
        (Some(50), Some(0))
    );
    assert_eq!(invite["status"], "active");
    let created =
        chrono::DateTime::parse_from_rfc3339(invite["created_at"].as_str().expect("created_at"))
            .expect("RFC 3339");
    let expires =
        chrono::DateTime::parse_from_rfc3339(invite["expires_at"].as_str().expect("expires_at"))
            .expect("RFC 3339");
    assert_eq!(expires - created, chrono::TimeDelta::days(30));

    // Read back and listed: the same invite, without its secret.
    let read = app.get_ok(&format!("/invites/{}", id(&invite))).await;
    let mut without_token = invite.clone();
    let fields = without_token.as_object_mut().expect("object");
    fields.remove("token");
    fields.remove("url");
    assert_eq!(read, without_token);
    let list = app
        .get_ok(&format!("/accounts/{}/invites", id(&account)))
        .await;
    assert_eq!(list["items"], json!([without_token]));

    // The QR codes encode the link: the very images the library draws for it.
    let (status, media, png_bytes) =
        get_bytes(&app, &format!("/invites/{}/qr.png", id(&invite))).await;
    assert_eq!((status, media.as_str()), (StatusCode::OK, "image/png"));
    let side = (qr_code(&url).expect("fits").width() as u32 + 8) * 8;
    assert_eq!(png_size(&png_bytes), (side, side));
    assert_eq!(png_bytes, qr_png(&url, 8).expect("fits"));
    let (_, _, small) = get_bytes(&app, &format!("/invites/{}/qr.png?px=2", id(&invite))).await;
    assert_eq!(png_size(&small), (side / 4, side / 4));
    let (status, media, svg) = get_bytes(&app, &format!("/invites/{}/qr.svg", id(&invite))).await;
    assert_eq!((status, media.as_str()), (StatusCode::OK, "image/svg+xml"));
    let svg = String::from_utf8(svg).expect("UTF-8");
    assert!(svg.contains("<svg") && svg.ends_with("</svg>"), "{svg}");
    assert_eq!(svg, qr_svg(&url).expect("fits"));

    let error = assert_status(
        app.get(&format!("/invites/{}/qr.png?px=0", id(&invite)))
            .await,
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(error["error"]["field"], "px");
    let missing = format!("/invites/inv_{}/qr.svg", "0".repeat(32));
    assert_status(app.get(&missing).await, StatusCode::NOT_FOUND).await;
}

async fn invite_requests_are_validated_naming_the_field_and_store_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let account = app.create_account("Acme GmbH").await;
    let active = app.create_program("discount").await;
    let ended = app.create_program("cashback").await;
    let r = app
        .patch(
            &format!("/programs/{}", id(&ended)),
            &json!({"status": "ended"}),
        )
        .await;
    assert_status(r, StatusCode::OK).await;
    let unknown_program = format!("prg_{}", "0".repeat(32));
    let body = |patch: Value| {
        let mut b = json!({"account_id": id(&account), "program_ids": [id(&active)]});
        for (k, v) in patch.as_object().expect("object") {
            b[k] = v.clone();
        }
        b
    };
    let past = (chrono::Utc::now() - chrono::TimeDelta::hours(1)).to_rfc3339();
    let too_far = (chrono::Utc::now() + chrono::TimeDelta::days(400)).to_rfc3339();
    let cases = [
        (
            json!({"program_ids": [id(&active), unknown_program]}),
            StatusCode::NOT_FOUND,
            "program_ids[1]",
        ),
        (
            json!({"program_ids": ["not-an-id"]}),
            StatusCode::NOT_FOUND,
            "program_ids[0]",
        ),
        (
            json!({"program_ids": [id(&active), id(&ended)]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "program_ids[1]",
        ),
        (
            json!({"program_ids": [id(&active), id(&active)]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "program_ids[1]",
        ),
        (
            json!({"program_ids": []}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "program_ids",
        ),
        (
            json!({"program_ids": vec![id(&active); 11]}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "program_ids",
        ),
        (
            json!({"expires_at": past}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at",
        ),
        (
            json!({"expires_at": too_far}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at",
        ),
        (
            json!({"expires_at": "tomorrow"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expires_at",
        ),
        (
            json!({"max_uses": 0}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "max_uses",
        ),
        (
            json!({"max_uses": 10_001}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "max_uses",
        ),
        (
            json!({"account_id": format!("acc_{}", "0".repeat(32))}),
            StatusCode::NOT_FOUND,
            "account_id",
        ),
        (json!({"uses": 3}), StatusCode::UNPROCESSABLE_ENTITY, ""),
    ];
    for (patch, status, field) in cases {
        let error = app.post_ok("/invites", &body(patch.clone()), status).await;
        if !field.is_empty() {
            assert_eq!(error["error"]["field"], field, "{patch}: {error}");
        }
    }
    let ended_error = app
        .post_ok(
            "/invites",
            &body(json!({"program_ids": [id(&ended)]})),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(ended_error["error"]["code"], "program_ended");
    let list = app
        .get_ok(&format!("/accounts/{}/invites", id(&account)))
        .await;
    assert_eq!(
        list["items"],
        json!([]),
        "a refused invite left something behind"
    );
    // The limits themselves are accepted.
    let edge = body(
        json!({"max_uses": 10_000, "expires_at": (chrono::Utc::now() + chrono::TimeDelta::days(360)).to_rfc3339()}),
    );
    app.post_ok("/invites", &edge, StatusCode::CREATED).await;
}

async fn a_revoked_invite_enrolls_no_one_and_revoking_twice_changes_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, _, invite) = invite_setup(&app, json!({})).await;
    let path = format!("/invites/{}/revoke", id(&invite));
    let revoked = app.post_ok(&path, &json!({}), StatusCode::OK).await;
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string(), "{revoked}");
    let again = app.post_ok(&path, &json!({}), StatusCode::OK).await;
    assert_eq!(again, revoked);
    assert_closed(&app, &invite, |e| matches!(e, EnrollError::Revoked)).await;
    assert_eq!(uses(&app, &invite).await, 0);
    let missing = format!("/invites/inv_{}/revoke", "0".repeat(32));
    app.post_ok(&missing, &json!({}), StatusCode::NOT_FOUND)
        .await;
}
