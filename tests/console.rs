//! The console's programs, companies and invites pages (issue 15): the API they use beyond
//! the older endpoints (company search, a company's orders and totals, every invite, who
//! enrolled), the pages over HTTP in each language, and the pages in a real browser on a
//! phone-sized and a desk-sized screen.

use crate::common;

/// The API additions the pages use, on both engines.
#[path = "console/api.rs"]
mod api;

/// The pages over HTTP: admin only, in en, ru and zh-Hans.
#[path = "console/pages.rs"]
mod pages;

/// The pages in headless Chromium.
#[path = "console/browser.rs"]
mod browser;

use common::TestApp;
use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;

/// A client that does not follow redirects.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The `value` of the input named `name` in `html`.
fn input_value(html: &str, name: &str) -> String {
    let at = html
        .find(&format!("name=\"{name}\""))
        .unwrap_or_else(|| panic!("no {name} in {html}"));
    let rest = &html[at..];
    let start = rest.find("value=\"").expect("a value") + "value=\"".len();
    let end = rest[start..].find('"').expect("a quote") + start;
    rest[start..end].to_owned()
}

/// Signs in on the sign-in form with `key`; the session cookie (`name=value`).
async fn session_cookie(app: &TestApp, key: &str) -> String {
    let c = client();
    let form = c
        .get(format!("{}/signin", app.base))
        .send()
        .await
        .expect("sign-in page");
    let csrf_cookie = form
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("wc_signin_csrf="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .expect("a CSRF cookie");
    let csrf = input_value(&form.text().await.expect("html"), "csrf");
    let signed = c
        .post(format!("{}/signin", app.base))
        .header("cookie", csrf_cookie)
        .form(&[("key", key), ("csrf", csrf.as_str()), ("next", "/console")])
        .send()
        .await
        .expect("sign in");
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    signed
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("wc_session="))
        .map(|v| v.split(';').next().unwrap_or_default().to_owned())
        .expect("a session cookie")
}
