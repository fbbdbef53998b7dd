//! The HTML pages over HTTP, on both engines: staff sign-in (CSRF on the form, roles), the
//! desk page behind it, the admin API used with a session cookie (CSRF token required on
//! unsafe requests, role checked, unknown card codes), and the member page with its own
//! token, language and pass download.

use crate::common;

/// The public pages: enrollment and the member page.
#[path = "pages/public.rs"]
mod public;

/// Mailed one-time links: enrollment that proves the e-mail, personal links, mail delivery.
#[path = "pages/mailed_links.rs"]
mod mailed_links;

/// API keys: created, listed and revoked, over the API and on the command line.
#[path = "pages/api_keys.rs"]
mod api_keys;

/// Sign-in's redirect and the sessions of the bootstrap key.
#[path = "pages/sessions.rs"]
mod sessions;

/// Named staff users, their mailed links and sessions, and the audit trail.
#[path = "pages/staff_users.rs"]
mod staff_users;

use common::{Engine, TestApp, id, spawn_app};
use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use walletcards::http::auth::create_api_key;
use walletcards::store::Role;

/// A browser-like client that does not follow redirects, so tests see them.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// `name=value` of a `Set-Cookie` header with this name.
pub(crate) fn set_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
}

/// Posts the form of the page at `url` (its CSRF token and cookie added); the answer as is.
async fn post_form(url: &str, fields: &[(&str, &str)]) -> reqwest::Response {
    let c = client();
    let page = c.get(url).send().await.expect("form page");
    assert_eq!(page.status(), StatusCode::OK, "{url}");
    let cookie = page
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.contains("_csrf="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .expect("a CSRF cookie");
    let csrf = field(&page.text().await.expect("html"), "csrf");
    let mut form = vec![("csrf", csrf.as_str())];
    form.extend_from_slice(fields);
    c.post(url)
        .header("cookie", cookie)
        .form(&form)
        .send()
        .await
        .expect("post")
}

/// The value of a hidden input or meta tag named `name` in a page.
fn field(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at..];
    let start = rest
        .find(&"value=\"".to_owned())
        .or_else(|| rest.find("content=\""))
        .expect("a value");
    let rest = &rest[start..];
    let open = rest.find('"').expect("quote") + 1;
    let close = rest[open..].find('"').expect("quote") + open;
    rest[open..close].to_owned()
}

struct Signed {
    cookie: String,
    csrf: String,
}

/// Posts the sign-in form (its CSRF cookie and token added) with `fields`.
pub(crate) async fn sign_in_with(app: &TestApp, fields: &[(&str, &str)]) -> reqwest::Response {
    let c = client();
    let form = c
        .get(format!("{}/signin", app.base))
        .send()
        .await
        .expect("sign-in page");
    let csrf_cookie = set_cookie(form.headers(), "wc_signin_csrf").expect("a CSRF cookie");
    let csrf = field(&form.text().await.expect("html"), "csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    c.post(format!("{}/signin", app.base))
        .header("cookie", csrf_cookie)
        .form(&all)
        .send()
        .await
        .expect("sign in")
}

/// Signs in with `key` through the form, as a browser would.
async fn sign_in(app: &TestApp, key: &str) -> reqwest::Response {
    let c = client();
    let form = c
        .get(format!("{}/signin?next=/desk", app.base))
        .send()
        .await
        .expect("sign-in page");
    assert_eq!(form.status(), StatusCode::OK);
    let csrf_cookie = set_cookie(form.headers(), "wc_signin_csrf").expect("a CSRF cookie");
    let html = form.text().await.expect("html");
    let csrf = field(&html, "csrf");
    c.post(format!("{}/signin", app.base))
        .header("cookie", csrf_cookie)
        .form(&[("key", key), ("csrf", csrf.as_str()), ("next", "/desk")])
        .send()
        .await
        .expect("sign in")
}

async fn desk_session(app: &TestApp) -> Signed {
    let key = create_api_key(&app.state.store, "desk 1", Role::Desk)
        .await
        .expect("desk key");
    let r = sign_in(app, &key).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/desk");
    let cookie = set_cookie(r.headers(), "wc_session").expect("a session cookie");
    let raw = r
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect::<Vec<_>>()
        .join("\n");
    assert!(
        raw.contains("HttpOnly") && raw.contains("SameSite=Strict"),
        "{raw}"
    );
    let page = client()
        .get(format!("{}/desk", app.base))
        .header("cookie", &cookie)
        .send()
        .await
        .expect("desk");
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.expect("html");
    assert!(html.contains("id=\"scan\""), "the scan input is there");
    Signed {
        csrf: field(&html, "csrf-token"),
        cookie,
    }
}

async fn api(
    app: &TestApp,
    s: &Signed,
    method: &str,
    path: &str,
    body: Option<Value>,
    csrf: bool,
) -> (StatusCode, Value) {
    let url = format!("{}/api/v1{path}", app.base);
    let mut request = client()
        .request(method.parse().expect("method"), url)
        .header("cookie", &s.cookie);
    if csrf {
        request = request.header("x-csrf-token", &s.csrf);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let r = request.send().await.expect("request");
    let status = r.status();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn staff_sign_in_guards_the_desk_and_its_api_calls(engine: Engine) {
    let app = spawn_app(engine).await;
    let anonymous = client()
        .get(format!("{}/desk", app.base))
        .send()
        .await
        .expect("desk");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    assert_eq!(anonymous.headers()[LOCATION], "/signin?next=/desk");

    // The form's CSRF check: a post without the cookie's token is refused.
    let desk_key = create_api_key(&app.state.store, "desk", Role::Desk)
        .await
        .expect("key");
    let forged = client()
        .post(format!("{}/signin", app.base))
        .form(&[
            ("key", desk_key.as_str()),
            ("csrf", "guess"),
            ("next", "/desk"),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(set_cookie(forged.headers(), "wc_session").is_none());

    // Wrong role, wrong key.
    let erp_key = create_api_key(&app.state.store, "erp", Role::ErpWebhook)
        .await
        .expect("key");
    let r = sign_in(&app, &erp_key).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("Only desk and admin keys")
    );
    let r = sign_in(&app, "wck_nope.nope").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let s = desk_session(&app).await;
    let card = app.issue_card("cashback").await;
    let (status, body) = api(
        &app,
        &s,
        "GET",
        "/cards/by-code/ZZZZ-ZZZZ-ZZZZ",
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, found) = api(
        &app,
        &s,
        "GET",
        &format!("/cards/by-code/{}", card["code"].as_str().expect("code")),
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(found["holder_name"], "Anna Petrova");
    assert_eq!(found["company_name"], "Acme GmbH");
    assert_eq!(found["currency"], "EUR");

    let order = json!({"external_id": "D-1", "account_id": card["account_id"], "card_code": card["code"], "amount_minor": 100_000,
                       "currency": "EUR", "placed_at": chrono::Utc::now().to_rfc3339()});
    let (status, body) = api(&app, &s, "POST", "/orders", Some(order.clone()), false).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF token: {body}");
    assert_eq!(body["error"]["code"], "csrf_failed");
    let (status, body) = api(&app, &s, "POST", "/orders", Some(order), true).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["order"]["source"], "desk");

    // A desk session may not do what only admins may, nor open the dashboard.
    let dashboard = client()
        .get(format!("{}/dashboard", app.base))
        .header("cookie", &s.cookie)
        .send()
        .await
        .expect("dashboard");
    assert_eq!(dashboard.status(), StatusCode::FORBIDDEN);
    let (status, _) = api(
        &app,
        &s,
        "POST",
        "/programs",
        Some(common::program_body("discount")),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    // Signed out, the cookie is worth nothing.
    let out = client()
        .post(format!("{}/signout", app.base))
        .header("cookie", &s.cookie)
        .form(&[("csrf", s.csrf.as_str())])
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let (status, _) = api(
        &app,
        &s,
        "GET",
        &format!("/cards/{}", id(&card)),
        None,
        false,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

async fn public_pages_are_limited_per_address(engine: Engine) {
    let app =
        common::spawn_app_with_settings(engine, &[("public_requests_per_minute", json!(3))]).await;
    let url = format!("{}/join/not-a-token", app.base);
    for _ in 0..3 {
        let r = client().get(&url).send().await.expect("page");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    }
    let r = client().get(&url).send().await.expect("page");
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        r.headers()["retry-after"],
        "20",
        "a token comes back in 20 s at 3 a minute: rounded up, not down to 19"
    );
    // Behind a trusted load balancer each client has its own bucket.
    let app = common::spawn_app_with_settings(
        engine,
        &[
            ("public_requests_per_minute", json!(2)),
            ("trusted_proxies", json!("127.0.0.1")),
        ],
    )
    .await;
    let url = format!("{}/join/not-a-token", app.base);
    let from = |client_ip: &'static str| {
        let url = url.clone();
        async move {
            let r = client()
                .get(url)
                .header("x-forwarded-for", client_ip)
                .send()
                .await;
            r.expect("page").status()
        }
    };
    assert_eq!(from("203.0.113.1").await, StatusCode::NOT_FOUND);
    assert_eq!(from("203.0.113.1").await, StatusCode::NOT_FOUND);
    assert_eq!(from("203.0.113.1").await, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        from("203.0.113.2").await,
        StatusCode::NOT_FOUND,
        "another client"
    );
    let staff = client()
        .get(format!("{}/signin", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(
        staff.status(),
        StatusCode::OK,
        "staff pages are not limited"
    );
}

async fn staff_pages_and_the_desks_card_speak_the_staffs_language(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let signed = desk_session(&app).await;
    let page = |path: &'static str, lang: &'static str| {
        let request = client()
            .get(format!("{}{path}", app.base))
            .header("cookie", &signed.cookie)
            .header("accept-language", lang);
        async move {
            request
                .send()
                .await
                .expect("page")
                .text()
                .await
                .expect("html")
        }
    };
    let russian = page("/desk", "ru-RU,ru;q=0.9,en;q=0.5").await;
    assert!(
        russian.contains("lang=\"ru\"") && russian.contains("Стойка заказов"),
        "{russian}"
    );
    assert!(
        russian.contains("data-unknown-card=\"Неизвестная карта: {code}\""),
        "the script's words come in the page's language: {russian}"
    );
    assert!(!russian.contains("Book order"), "{russian}");
    let chinese = page("/signin", "zh-CN,zh;q=0.9").await;
    assert!(chinese.contains("员工登录"), "{chinese}");
    let english = page("/desk", "de-DE,de;q=0.9").await;
    assert!(
        english.contains("Order desk"),
        "English otherwise: {english}"
    );

    // The card as the desk asks for it: the face in the design's words of that language.
    let code = card["code"].as_str().expect("code");
    let app = &app;
    let face_of = |lang: &'static str| {
        let path = format!("/cards/by-code/{code}?lang={lang}");
        async move { app.get(&path).await }
    };
    let r = face_of("ru").await;
    assert_eq!(r.status(), StatusCode::OK);
    let ru: Value = r.json().await.expect("json");
    assert_eq!(ru["face"]["primary"][0]["label"], "Кешбэк", "{ru}");
    assert_eq!(ru["status"], "active", "only the face is translated");
    let zh: Value = face_of("zh-Hans").await.json().await.expect("json");
    assert_eq!(zh["face"]["primary"][0]["label"], "返现");
    let en = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(en["face"]["primary"][0]["label"], "Cashback");
    let bad = face_of("fr").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    let error: Value = bad.json().await.expect("json");
    assert_eq!(error["error"]["field"], "lang");
}

on_both_engines!(
    staff_pages_and_the_desks_card_speak_the_staffs_language,
    public_pages_are_limited_per_address,
    staff_sign_in_guards_the_desk_and_its_api_calls,
);
