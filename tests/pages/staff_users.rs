//! Named staff over HTTP, on both engines: the bootstrap key opens a fresh install once to
//! create the first admin; an admin invites a desk user by mail, who chooses a password through
//! the link, books at the desk and is named in the audit trail; deactivation ends their session
//! at once; a forgotten password is reset by a mailed link that ends the other sessions; the last
//! admin stays; the trail is filtered by person, company, card and date.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use walletcards::audit::Actor;
use walletcards::staff::{self, NewStaffUser};

use super::common::{Engine, TestApp, id, spawn_app, spawn_app_with_mail};
use super::{client, field, set_cookie, sign_in_with};

/// A page with a session cookie: status, `Location` and body.
async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String, String) {
    let r = client()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .send()
        .await
        .expect("page");
    let location = r
        .headers()
        .get(LOCATION)
        .map(|l| l.to_str().expect("location").to_owned())
        .unwrap_or_default();
    (r.status(), location, r.text().await.expect("body"))
}

/// Posts a console form of `path` (the session's CSRF token, read from the page, added).
async fn post_page(
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    let (status, location, html) = page(app, cookie, path).await;
    assert_eq!(status, StatusCode::OK, "{path} went to {location}");
    let csrf = field(&html, "csrf");
    let mut all = vec![("csrf", csrf.as_str())];
    all.extend_from_slice(fields);
    client()
        .post(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .form(&all)
        .send()
        .await
        .expect("post")
}

fn session_of(r: &reqwest::Response) -> String {
    set_cookie(r.headers(), "wc_session").expect("a session cookie")
}

/// Chooses `password` through a mailed link: the answer of the form's POST.
async fn choose_password(link: &str, password: &str) -> reqwest::Response {
    let c = client();
    let form = c.get(link).send().await.expect("link page");
    assert_eq!(form.status(), StatusCode::OK, "{link}");
    let cookie = set_cookie(form.headers(), "wc_staff_link_csrf").expect("a CSRF cookie");
    let csrf = field(&form.text().await.expect("html"), "csrf");
    c.post(link)
        .header("cookie", cookie)
        .form(&[("csrf", csrf.as_str()), ("password", password)])
        .send()
        .await
        .expect("choose password")
}

async fn audit(app: &TestApp, query: &str) -> Vec<Value> {
    let body = app.get_ok(&format!("/audit{query}")).await;
    body["items"].as_array().expect("items").clone()
}

async fn a_fresh_install_opens_once_with_the_bootstrap_key_to_create_the_first_admin(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let (status, location, _) = page(&app, "", "/").await;
    assert_eq!(
        (status, location.as_str()),
        (StatusCode::SEE_OTHER, "/signin")
    );

    let r = sign_in_with(&app, &[("key", &app.admin_key)]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console/first-admin");
    let bootstrap = session_of(&r);
    let elsewhere = session_of(&sign_in_with(&app, &[("key", &app.admin_key)]).await);
    let (_, location, _) = page(&app, &bootstrap, "/console").await;
    assert_eq!(
        location, "/console/first-admin",
        "the console asks for an admin first"
    );

    // A weak password is refused next to its field, and nobody is created.
    let weak = [
        ("name", "Mira Admin"),
        ("email", "mira@supplier.example"),
        ("password", "short"),
    ];
    let r = post_page(&app, &bootstrap, "/console/first-admin", &weak).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("At least 10 characters")
    );
    assert_eq!(app.get_ok("/staff-users").await["items"], json!([]));

    let good = [
        ("name", "Mira Admin"),
        ("email", " Mira@Supplier.example "),
        ("password", "a long enough passphrase"),
    ];
    let r = post_page(&app, &bootstrap, "/console/first-admin", &good).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console");
    let admin = session_of(&r);
    let (status, _, html) = page(&app, &admin, "/console").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("Mira Admin"),
        "the console names who is signed in"
    );
    let (_, location, _) = page(&app, &bootstrap, "/console").await;
    assert!(
        location.starts_with("/signin"),
        "the bootstrap session ended"
    );
    let (_, location, _) = page(&app, &elsewhere, "/console/audit").await;
    assert!(
        location.starts_with("/signin"),
        "every admin-key session ended"
    );

    // From now on the key no longer opens the pages; the e-mail and password do.
    let r = sign_in_with(&app, &[("key", &app.admin_key)]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(
        r.text()
            .await
            .expect("html")
            .contains("sign in with your e-mail")
    );
    let wrong = [
        ("email", "mira@supplier.example"),
        ("password", "a long enough passphrasE"),
    ];
    let r = sign_in_with(&app, &wrong).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(set_cookie(r.headers(), "wc_session").is_none());
    let right = [
        ("email", "MIRA@supplier.example"),
        ("password", "a long enough passphrase"),
    ];
    let r = sign_in_with(&app, &right).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/console");

    let trail = audit(&app, "").await;
    assert_eq!(trail[0]["action"], "staff.invited");
    assert!(
        trail[0]["actor"]
            .as_str()
            .is_some_and(|a| a.starts_with("key:"))
    );
    assert_eq!(
        trail[0]["details"]["after"]["email"],
        "mira@supplier.example"
    );
    // The first admin cannot be made twice.
    let (_, location, _) = page(&app, &admin, "/console/first-admin").await;
    assert_eq!(location, "/console/users");
    let (_, _, html) = page(&app, &admin, "/console").await;
    let csrf = field(&html, "csrf-token");
    let again = [
        ("csrf", csrf.as_str()),
        ("name", "Eve"),
        ("email", "eve@x.example"),
        ("password", "another passphrase"),
    ];
    let r = client()
        .post(format!("{}/console/first-admin", app.base))
        .header("cookie", &admin)
        .form(&again)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.get_ok("/staff-users").await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

async fn an_invited_desk_user_books_under_their_own_name_until_deactivated(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let card = app.issue_card("cashback").await;
    let r = app
        .post(
            "/staff-users",
            &json!({"name": "Dana Desk", "email": "dana@supplier.example", "role": "desk",
                    "desk": "Hall 2"}),
        )
        .await;
    let status = r.status();
    let invited: Value = r.json().await.expect("json");
    assert_eq!(status, StatusCode::CREATED, "{invited}");
    assert_eq!(invited["status"], "invited");
    let taken = app
        .post(
            "/staff-users",
            &json!({"name": "D", "email": "DANA@supplier.example", "role": "desk"}),
        )
        .await;
    assert_eq!(taken.status(), StatusCode::CONFLICT);
    assert_eq!(
        taken.json::<Value>().await.expect("json")["error"]["field"],
        "email"
    );

    let mail = sink.wait_for("dana@supplier.example", 1).await.remove(0);
    assert!(
        mail.text.contains("Dana Desk") && mail.text.contains("72 hours"),
        "{}",
        mail.text
    );
    let link = mail.link_to("/staff/link/");
    let r = choose_password(&link, "short").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = choose_password(&link, "counter two passphrase").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[LOCATION], "/desk");
    let desk = session_of(&r);
    assert_eq!(
        client().get(&link).send().await.expect("again").status(),
        StatusCode::GONE
    );

    // At the desk, the order is hers.
    let (status, _, html) = page(&app, &desk, "/desk").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = field(&html, "csrf-token");
    let order = client()
        .post(app.url("/orders"))
        .header("cookie", &desk)
        .header("x-csrf-token", &csrf)
        .json(
            &json!({"external_id": "D-1", "account_id": card["account_id"],
                      "card_code": card["code"], "amount_minor": 12_000, "currency": "EUR"}),
        )
        .send()
        .await
        .expect("order");
    let status = order.status();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        order.text().await.expect("body")
    );
    let actor = format!("user:{}", id(&invited));
    let trail = audit(&app, &format!("?actor={actor}")).await;
    assert_eq!(trail.len(), 2, "{trail:?}");
    assert_eq!(trail[0]["action"], "order.booked");
    assert_eq!(trail[0]["actor_name"], "Dana Desk");
    assert_eq!(trail[0]["target"], "order:desk/D-1");
    assert_eq!(trail[0]["card_id"], card["id"]);
    assert_eq!(trail[0]["details"]["desk"], "Hall 2");
    assert_eq!(trail[0]["details"]["amount_minor"], 12_000);
    assert_eq!(trail[1]["action"], "staff.password_set");

    // Deactivated: her open session stops at once, and her password no longer signs in.
    let r = app
        .patch(
            &format!("/staff-users/{}", id(&invited)),
            &json!({"active": false}),
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, location, _) = page(&app, &desk, "/desk").await;
    assert!(location.starts_with("/signin"), "{location}");
    let api = client()
        .get(app.url(&format!("/cards/{}", id(&card))))
        .header("cookie", &desk)
        .send()
        .await
        .expect("card");
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let login = [
        ("email", "dana@supplier.example"),
        ("password", "counter two passphrase"),
    ];
    assert_eq!(
        sign_in_with(&app, &login).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let trail = audit(&app, &format!("?actor={}", urlencode("key:x"))).await;
    assert!(trail.is_empty());
    let newest = &audit(&app, "").await[0];
    assert_eq!(newest["action"], "staff.deactivated");
    assert_eq!(newest["details"]["before"]["active"], true);
    assert_eq!(newest["details"]["after"]["active"], false);
}

fn urlencode(s: &str) -> String {
    s.replace(':', "%3A")
}

async fn a_forgotten_password_is_reset_by_mail_and_other_sessions_end(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let new = NewStaffUser {
        name: "Ola Admin".into(),
        email: "ola@supplier.example".into(),
        role: "admin".into(),
        desk: None,
    };
    staff::create_first_admin(
        &app.state,
        &Actor::bootstrap(),
        &new,
        "the first passphrase",
    )
    .await
    .expect("first admin");
    let login = [
        ("email", "ola@supplier.example"),
        ("password", "the first passphrase"),
    ];
    let r = sign_in_with(&app, &login).await;
    let laptop = session_of(&r);

    // Known and unknown addresses get the same answer; only the known one gets a mail.
    let forgot = format!("{}/signin/forgot", app.base);
    let mut answers = Vec::new();
    for email in ["nobody@supplier.example", "OLA@supplier.example"] {
        let c = client();
        let form = c.get(&forgot).send().await.expect("form");
        let cookie = set_cookie(form.headers(), "wc_staff_link_csrf").expect("cookie");
        let csrf = field(&form.text().await.expect("html"), "csrf");
        let r = c
            .post(&forgot)
            .header("cookie", cookie)
            .form(&[("csrf", csrf.as_str()), ("email", email)])
            .send()
            .await
            .expect("forgot");
        answers.push((r.status(), r.text().await.expect("html")));
    }
    assert_eq!(answers[0], answers[1]);
    let mail = sink.wait_for("ola@supplier.example", 1).await.remove(0);
    let queued: Vec<(i64,)> = app
        .fetch("SELECT COUNT(*) FROM outbox WHERE target = 'nobody@supplier.example'")
        .await;
    assert_eq!(queued, [(0,)]);
    assert!(mail.text.contains("1 hours"), "{}", mail.text);

    let r = choose_password(&mail.link_to("/staff/link/"), "the second passphrase").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, location, _) = page(&app, &laptop, "/console").await;
    assert!(location.starts_with("/signin"), "the other session ended");
    assert_eq!(
        sign_in_with(&app, &login).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let new_login = [
        ("email", "ola@supplier.example"),
        ("password", "the second passphrase"),
    ];
    assert_eq!(
        sign_in_with(&app, &new_login).await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn the_last_active_admin_stays_an_active_admin(engine: Engine) {
    let app = spawn_app(engine).await;
    let new = NewStaffUser {
        name: "Solo".into(),
        email: "solo@supplier.example".into(),
        role: "admin".into(),
        desk: None,
    };
    let solo = staff::create_first_admin(&app.state, &Actor::bootstrap(), &new, "solo passphrase")
        .await
        .expect("first admin");
    let path = format!("/staff-users/{}", solo.id);
    for change in [json!({"active": false}), json!({"role": "desk"})] {
        let r = app.patch(&path, &change).await;
        assert_eq!(r.status(), StatusCode::CONFLICT, "{change}");
        assert_eq!(
            r.json::<Value>().await.expect("json")["error"]["code"],
            "last_admin"
        );
    }
    let r = app.patch(&path, &json!({"role": "owner"})).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        r.json::<Value>().await.expect("json")["error"]["field"],
        "role"
    );
    // With a second admin, the first may go.
    app.post_ok(
        "/staff-users",
        &json!({"name": "Second", "email": "second@supplier.example", "role": "admin"}),
        StatusCode::CREATED,
    )
    .await;
    let r = app.patch(&path, &json!({"active": false})).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.json::<Value>().await.expect("json")["status"],
        "deactivated"
    );
}

async fn the_audit_trail_is_filtered_by_person_company_card_and_date(engine: Engine) {
    let app = spawn_app(engine).await;
    let program = app.create_program("stamp").await;
    let issue = async |company: &str| {
        let account = app.create_account(company).await;
        let member = app.create_member(id(&account), "Anna Petrova").await;
        let body = json!({"program_id": id(&program), "member_id": id(&member)});
        let card = app.post_ok("/cards", &body, StatusCode::CREATED).await;
        (card, member, account)
    };
    let (card, member, account) = issue("Acme GmbH").await;
    let (other, _, other_account) = issue("Bauhaus AG").await;
    let suspended = app
        .post(&format!("/cards/{}/suspend", id(&other)), &json!({}))
        .await;
    assert_eq!(suspended.status(), StatusCode::OK);
    let order = json!({"external_id": "ERP-1", "account_id": id(&account), "member_id": id(&member),
                       "amount_minor": 5_000, "currency": "EUR",
                       "placed_at": "2026-01-10T10:00:00Z"});
    app.post_ok("/orders", &order, StatusCode::CREATED).await;

    let of_card = audit(&app, &format!("?card_id={}", id(&card))).await;
    let actions: Vec<&str> = of_card
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["card.issued"], "the order named no card");
    let of_account = audit(&app, &format!("?account_id={}", id(&account))).await;
    let actions: Vec<&str> = of_account
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["order.booked", "card.issued"]);
    let of_other = audit(&app, &format!("?account_id={}", id(&other_account))).await;
    let actions: Vec<&str> = of_other
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["card.suspended", "card.issued"]);
    let admin = &of_other[0]["actor"];
    assert!(
        of_other.iter().all(|e| &e["actor"] == admin),
        "{of_other:?}"
    );
    assert_eq!(
        audit(&app, "?actor=user%3Ausr_nobody").await,
        Vec::<Value>::new()
    );
    assert_eq!(
        audit(&app, "?from=2999-01-01T00:00:00Z").await,
        Vec::<Value>::new()
    );
    let all = audit(&app, "?from=2000-01-01T00:00:00%2B02:00").await;
    assert!(all.len() >= 5, "{all:?}");
    let page = app.get_ok("/audit?limit=2").await;
    let next = page["next_after"].as_str().expect("a next page");
    let rest = app.get_ok(&format!("/audit?limit=50&after={next}")).await;
    assert_eq!(rest["items"][0], all[2]);
    let bad = app.get("/audit?from=yesterday").await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        bad.json::<Value>().await.expect("json")["error"]["field"],
        "from"
    );
}

/// An admin's session (the first admin of a fresh install, signed in).
async fn admin_session(app: &TestApp) -> String {
    let new = NewStaffUser {
        name: "Kai Admin".into(),
        email: "kai@supplier.example".into(),
        role: "admin".into(),
        desk: None,
    };
    staff::create_first_admin(&app.state, &Actor::bootstrap(), &new, "kai's passphrase")
        .await
        .expect("first admin");
    let login = [
        ("email", "kai@supplier.example"),
        ("password", "kai's passphrase"),
    ];
    session_of(&sign_in_with(app, &login).await)
}

async fn the_keys_page_shows_a_new_key_once_and_revokes_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let admin = admin_session(&app).await;
    let r = post_page(
        &app,
        &admin,
        "/console/keys",
        &[("name", "ERP"), ("role", "erp-webhook")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::CREATED);
    let html = r.text().await.expect("html");
    let at = html
        .find("id=\"token\" value=\"")
        .expect("the token is shown")
        + 18;
    let token = &html[at..at + html[at..].find('"').expect("end")];
    let (status, _) = app.post_as(token, "/orders", &json!({})).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the new key works at once"
    );
    let (_, _, listed) = page(&app, &admin, "/console/keys").await;
    assert!(
        listed.contains("ERP") && !listed.contains(token),
        "shown once only"
    );

    let key_id = token.split('.').next().expect("id");
    let path = format!("/console/keys/{key_id}/revoke");
    let (_, _, html) = page(&app, &admin, "/console/keys").await;
    let csrf = field(&html, "csrf");
    let r = client()
        .post(format!("{}{path}", app.base))
        .header("cookie", &admin)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .expect("revoke");
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (status, _) = app.post_as(token, "/orders", &json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let trail = audit(&app, "").await;
    let actions: Vec<&str> = trail
        .iter()
        .take(2)
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["key.revoked", "key.created"]);
    assert_eq!(trail[0]["actor_name"], "Kai Admin");
}

crate::on_both_engines!(
    the_keys_page_shows_a_new_key_once_and_revokes_it,
    a_fresh_install_opens_once_with_the_bootstrap_key_to_create_the_first_admin,
    an_invited_desk_user_books_under_their_own_name_until_deactivated,
    a_forgotten_password_is_reset_by_mail_and_other_sessions_end,
    the_last_active_admin_stays_an_active_admin,
    the_audit_trail_is_filtered_by_person_company_card_and_date,
);
