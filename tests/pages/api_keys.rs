//! API keys managed by admins (`/api/v1/api-keys`) and on the command line: a key is shown
//! once, works at once, and once revoked is refused at once together with the staff sessions
//! signed in with it; the last admin key cannot be revoked by mistake.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use super::common::{Engine, Run, TestApp, id, spawn_app};
use super::{client, set_cookie, sign_in};

async fn get_as(app: &TestApp, key: &str, path: &str) -> StatusCode {
    let r = app
        .client
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .expect("request");
    r.status()
}

/// Key `key_id` as the key list shows it.
async fn listed(app: &TestApp, key_id: &str) -> Value {
    let listed = app.get_ok("/api-keys").await;
    let items = listed["items"].as_array().expect("items");
    let key = items.iter().find(|k| k["id"] == key_id).cloned();
    key.unwrap_or_else(|| panic!("{key_id} is listed: {listed}"))
}

/// The `status` the key list shows for key `key_id`.
async fn status_listed(app: &TestApp, key_id: &str) -> String {
    let key = listed(app, key_id).await;
    key["status"].as_str().expect("status").to_owned()
}

async fn desk_page(app: &TestApp, cookie: &str) -> reqwest::Response {
    client()
        .get(format!("{}/desk", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("desk")
}

async fn a_revoked_key_and_its_sessions_are_refused_at_once(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let by_code = format!("/cards/by-code/{}", card["code"].as_str().expect("code"));

    let created = app
        .post_ok(
            "/api-keys",
            &json!({"name": " Desk 1 ", "role": "desk"}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(created["name"], "Desk 1", "the name is trimmed");
    assert_eq!(created["role"], "desk");
    assert_eq!(created["status"], "active");
    assert_eq!(created["revoked_at"], Value::Null);
    let token = created["token"].as_str().expect("the token, shown once");
    assert!(token.starts_with(&format!("{}.", id(&created))), "{token}");

    assert_eq!(
        listed(&app, id(&created)).await["last_used_at"],
        Value::Null,
        "not used yet"
    );
    assert_eq!(get_as(&app, token, &by_code).await, StatusCode::OK);
    let used = listed(&app, id(&created)).await["last_used_at"].clone();
    assert!(used.is_string(), "the list shows when it was used: {used}");
    assert_eq!(
        get_as(&app, token, "/api-keys").await,
        StatusCode::FORBIDDEN,
        "a desk key does not manage keys"
    );

    let signed = sign_in(&app, token).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(signed.headers(), "wc_session").expect("a session");
    assert_eq!(desk_page(&app, &cookie).await.status(), StatusCode::OK);

    let listed = app.get_ok("/api-keys").await;
    let items = listed["items"].as_array().expect("items");
    assert_eq!(items.len(), 2, "the bootstrap admin key and the desk key");
    assert_eq!(status_listed(&app, id(&created)).await, "active");
    assert!(
        items.iter().all(|k| k.get("token").is_none()),
        "a list never shows a token: {listed}"
    );

    let revoke = format!("/api-keys/{}/revoke", id(&created));
    let revoked = app.post_ok(&revoke, &json!({}), StatusCode::OK).await;
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string());
    assert!(revoked.get("token").is_none());

    assert_eq!(
        get_as(&app, token, &by_code).await,
        StatusCode::UNAUTHORIZED
    );
    let desk = desk_page(&app, &cookie).await;
    assert_eq!(
        desk.status(),
        StatusCode::SEE_OTHER,
        "the session has ended"
    );
    assert!(
        desk.headers()[LOCATION]
            .to_str()
            .expect("location")
            .starts_with("/signin")
    );
    let session_api = client()
        .get(app.url(&by_code))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("request");
    assert_eq!(session_api.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        sign_in(&app, token).await.status(),
        StatusCode::UNAUTHORIZED,
        "nor can it sign in again"
    );

    let again = app.post_ok(&revoke, &json!({}), StatusCode::OK).await;
    assert_eq!(
        again["revoked_at"], revoked["revoked_at"],
        "revoking again changes nothing"
    );
    assert_eq!(status_listed(&app, id(&created)).await, "revoked");

    for unknown in [
        "/api-keys/key_0190f3a2b9e27e4c8b00112233445566/revoke",
        "/api-keys/nonsense/revoke",
    ] {
        let r = app.post(unknown, &json!({})).await;
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{unknown}");
    }
}

async fn bad_keys_are_refused_and_the_last_admin_key_is_kept(engine: Engine) {
    let app = spawn_app(engine).await;
    for (body, field) in [
        (json!({"name": "  ", "role": "desk"}), "name"),
        (json!({"name": "x".repeat(201), "role": "desk"}), "name"),
        (json!({"name": "ERP", "role": "root"}), "role"),
        (json!({"name": "ERP"}), "role"),
    ] {
        let r = app.post("/api-keys", &body).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let error: Value = r.json().await.expect("json");
        assert_eq!(error["error"]["field"], field, "{error}");
    }
    let listed = app.get_ok("/api-keys").await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(1),
        "nothing was created: {listed}"
    );

    let first_admin = listed["items"][0].clone();
    assert_eq!(first_admin["role"], "admin");
    let revoke_first = format!("/api-keys/{}/revoke", id(&first_admin));
    let (status, error) = app.post_as(&app.admin_key, &revoke_first, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert_eq!(error["error"]["code"], "last_admin_key");
    assert_eq!(
        get_as(&app, &app.admin_key, "/api-keys").await,
        StatusCode::OK
    );

    let second = app
        .post_ok(
            "/api-keys",
            &json!({"name": "Second admin", "role": "admin"}),
            StatusCode::CREATED,
        )
        .await;
    let second_token = second["token"].as_str().expect("token");
    let (status, _) = app.post_as(&app.admin_key, &revoke_first, &json!({})).await;
    assert_eq!(status, StatusCode::OK, "an admin may revoke their own key");
    assert_eq!(
        get_as(&app, &app.admin_key, "/api-keys").await,
        StatusCode::UNAUTHORIZED
    );
    let revoke_second = format!("/api-keys/{}/revoke", id(&second));
    let (status, error) = app.post_as(second_token, &revoke_second, &json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT, "{error}");
    assert_eq!(
        get_as(&app, second_token, "/api-keys").await,
        StatusCode::OK
    );
}

async fn walletcards(app: &TestApp, args: &[&str]) -> Run {
    let out = app.command().args(args).output().await;
    out.expect("the binary runs").into()
}

async fn the_command_line_lists_and_revokes_keys(engine: Engine) {
    let app = spawn_app(engine).await;
    let created = app
        .post_ok(
            "/api-keys",
            &json!({"name": "Desk 2", "role": "desk"}),
            StatusCode::CREATED,
        )
        .await;
    let token = created["token"].as_str().expect("token");

    let listed = walletcards(&app, &["api-keys"]).await;
    assert_eq!(listed.code, Some(0), "{}", listed.stderr);
    let line = listed
        .stdout
        .lines()
        .find(|l| l.starts_with(id(&created)))
        .unwrap_or_else(|| panic!("the key is listed: {}", listed.stdout));
    assert!(line.contains("desk") && line.contains("active") && line.ends_with("Desk 2"));
    assert!(line.contains("never"), "never used: {line}");
    assert!(
        !listed
            .stdout
            .contains(token.split_once('.').expect("dot").1)
    );

    let revoked = walletcards(&app, &["revoke-api-key", id(&created)]).await;
    assert_eq!(revoked.code, Some(0), "{}", revoked.stderr);
    assert!(revoked.stdout.contains("revoked"), "{}", revoked.stdout);
    assert_eq!(
        get_as(&app, token, "/cards/by-code/ABCD-EFGH").await,
        StatusCode::UNAUTHORIZED,
        "the key was never used before, so no instance holds it in its cache"
    );
    assert_eq!(status_listed(&app, id(&created)).await, "revoked");

    let admin_id = app.admin_key.split_once('.').expect("key id").0.to_owned();
    let last = walletcards(&app, &["revoke-api-key", &admin_id]).await;
    assert_eq!(last.code, Some(1));
    assert!(last.stderr.contains("last admin key"), "{}", last.stderr);
    let bad = walletcards(&app, &["revoke-api-key", "key_nope"]).await;
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("not an API key id"), "{}", bad.stderr);
}

crate::on_both_engines!(
    a_revoked_key_and_its_sessions_are_refused_at_once,
    bad_keys_are_refused_and_the_last_admin_key_is_kept,
    the_command_line_lists_and_revokes_keys,
);
