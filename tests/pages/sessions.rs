//! Where sign-in leads and how long a session lasts: `next` is only ever a path on this site
//! (anything else goes to the role's home page, and never fails after the session is
//! written), and a session opened with the bootstrap key ends when that key is changed.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::json;
use walletcards::http::auth::create_api_key;
use walletcards::store::Role;

use super::common::{Engine, TestApp, spawn_app, spawn_app_with_settings, spawn_on_database_of};
use super::{client, set_cookie, sign_in_with};

/// Posts the sign-in form with `key` and `next`, as a browser would.
async fn sign_in_to(app: &TestApp, key: &str, next: &str) -> reqwest::Response {
    sign_in_with(app, &[("key", key), ("next", next)]).await
}

async fn sign_in_leads_only_to_paths_on_this_site(engine: Engine) {
    let app = spawn_app(engine).await;
    let desk = create_api_key(&app.state.store, "desk", Role::Desk)
        .await
        .expect("key");
    // A control character anywhere in the form is refused before anything is written.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "/desk\r\nSet-Cookie: wc_session=x",
    ] {
        let r = sign_in_to(&app, &desk, next).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{next:?}");
        assert!(r.headers().get(LOCATION).is_none(), "{next:?}");
        assert!(set_cookie(r.headers(), "wc_session").is_none(), "{next:?}");
    }
    let sessions: Vec<(i64,)> = app.fetch("SELECT COUNT(*) FROM web_sessions").await;
    assert_eq!(sessions, [(0,)], "a refused sign-in wrote a session");
    for next in [
        "//evil.example",
        "/\\evil.example",
        "/desk\\..\\evil",
        "https://evil.example/",
        "",
    ] {
        let r = sign_in_to(&app, &desk, next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers()[LOCATION], "/desk", "{next:?} falls back home");
        assert!(set_cookie(r.headers(), "wc_session").is_some());
    }
    let r = sign_in_to(&app, &desk, "/cards?lang=de").await;
    assert_eq!(r.headers()[LOCATION], "/cards?lang=de");
}

async fn opens(app: &TestApp, cookie: &str, path: &str) -> StatusCode {
    let r = client()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("request");
    r.status()
}

async fn a_bootstrap_key_session_ends_when_the_key_changes(engine: Engine) {
    let first = spawn_app_with_settings(
        engine,
        &[("admin_key", json!("bootstrap-key-number-one-0123456789"))],
    )
    .await;
    let r = sign_in_to(&first, "bootstrap-key-number-one-0123456789", "/dashboard").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(r.headers(), "wc_session").expect("a session");
    assert_eq!(opens(&first, &cookie, "/dashboard").await, StatusCode::OK);

    // Restarted with the same key, the session goes on.
    let same = spawn_on_database_of(
        &first,
        &[("admin_key", json!("bootstrap-key-number-one-0123456789"))],
    )
    .await;
    assert_eq!(opens(&same, &cookie, "/dashboard").await, StatusCode::OK);
    assert_eq!(
        opens(&same, &cookie, "/api/v1/programs").await,
        StatusCode::OK
    );

    // Restarted with another key, it opens nothing.
    let changed = spawn_on_database_of(
        &first,
        &[("admin_key", json!("bootstrap-key-number-two-0123456789"))],
    )
    .await;
    assert_eq!(
        opens(&changed, &cookie, "/dashboard").await,
        StatusCode::SEE_OTHER,
        "back to sign-in"
    );
    assert_eq!(
        opens(&changed, &cookie, "/api/v1/programs").await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        opens(&changed, &cookie, "/desk").await,
        StatusCode::SEE_OTHER
    );
}

crate::on_both_engines!(
    sign_in_leads_only_to_paths_on_this_site,
    a_bootstrap_key_session_ends_when_the_key_changes,
);
