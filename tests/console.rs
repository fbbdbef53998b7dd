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

pub(crate) use crate::pages::client;

/// Signs in on the sign-in form with `key`; the session cookie (`name=value`).
async fn session_cookie(app: &TestApp, key: &str) -> String {
    let signed = crate::pages::sign_in_with(app, &[("key", key), ("next", "/console")]).await;
    assert_eq!(signed.status(), StatusCode::SEE_OTHER);
    crate::pages::set_cookie(signed.headers(), "wc_session").expect("a session cookie")
}
