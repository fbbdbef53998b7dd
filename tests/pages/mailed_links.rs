//! Enrollment that proves the e-mail, over HTTP with a real SMTP exchange (the loopback sink of
//! `common::smtp_sink`), on both engines: the invite form mails a one-time link and shows no
//! card; the link opens every card of the person once; known and unknown addresses get the
//! same answers; a stranger typing someone's address learns nothing and changes nothing; the
//! link expires; "send me my link" and an admin's personal link; the mail limits; SMTP
//! failures retried or kept as dead letters; mail written to files without a host.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use super::common::smtp_sink::{SinkTls, SmtpSink};
use super::common::{Engine, TestApp, id, spawn_app_with_mail, spawn_app_with_settings};
use super::{client, field, post_form, set_cookie};

/// A company with two programs and an invite into both; returns (account, invite URL).
async fn company_invite(app: &TestApp) -> (Value, String) {
    let account = app.create_account("Bauhaus AG").await;
    let mut cashback = super::common::program_body("cashback");
    cashback["name"] = json!("Partner cashback");
    cashback["branding"] = json!({"background_color": "#12345a", "foreground_color": "#ffffff"});
    let cashback = app
        .post_ok("/programs", &cashback, StatusCode::CREATED)
        .await;
    let stamp = app.create_program("stamp").await;
    let body = json!({"account_id": id(&account), "program_ids": [id(&cashback), id(&stamp)]});
    let invite = app.post_ok("/invites", &body, StatusCode::CREATED).await;
    (account, invite["url"].as_str().expect("url").to_owned())
}

fn person<'a>(name: &'a str, email: &'a str) -> [(&'a str, &'a str); 6] {
    [
        ("name", name),
        ("role", "accountant"),
        ("email", email),
        ("phone", ""),
        ("consent", "on"),
        ("lang", "en"),
    ]
}

/// Status, `Location` and the page it leads to: what the person sees after submitting.
async fn seen_after(response: reqwest::Response, app: &TestApp) -> (StatusCode, String, String) {
    let status = response.status();
    let location = response.headers()[LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    let page = client()
        .get(format!("{}{location}", app.base))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    (status, location, page)
}

/// Opens a mailed link as a person would: the page, its button; returns the holder cookie.
async fn open(link: &str) -> Result<String, (StatusCode, String)> {
    let page = client().get(link).send().await.expect("link page");
    if page.status() != StatusCode::OK {
        let status = page.status();
        return Err((status, page.text().await.expect("html")));
    }
    let opened = post_form(link, &[]).await;
    if opened.status() != StatusCode::SEE_OTHER {
        let status = opened.status();
        return Err((status, opened.text().await.expect("html")));
    }
    assert!(
        opened.headers()[LOCATION]
            .to_str()
            .expect("location")
            .starts_with("/me"),
    );
    Ok(set_cookie(opened.headers(), "wc_holder").expect("a holder session"))
}

async fn my_cards(app: &TestApp, cookie: &str) -> String {
    let r = client()
        .get(format!("{}/me", app.base))
        .header("cookie", cookie)
        .header(
            "user-agent",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
        )
        .send()
        .await
        .expect("my cards");
    assert_eq!(r.status(), StatusCode::OK);
    r.text().await.expect("html")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    let rows: Vec<(i64,)> = app.fetch(sql).await;
    rows[0].0
}

async fn an_invite_form_mails_a_link_that_opens_every_card_once(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let (account, url) = company_invite(&app).await;
    let submitted = post_form(&url, &person("Olga Ivanova", "Olga@Bauhaus.example")).await;
    let (status, _, page) = seen_after(submitted, &app).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(page.contains("Check your inbox"), "{page}");
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM members").await,
        0,
        "created before the link"
    );

    let mail = sink.wait_for("olga@bauhaus.example", 1).await.remove(0);
    assert_eq!(mail.mail_from, "loyalty@acme.example");
    assert_eq!(mail.content_type, "multipart/alternative");
    assert_eq!(mail.subject, "Your loyalty card: Partner cashback");
    assert!(
        mail.text.contains("Bauhaus AG") && mail.text.contains("30 minutes"),
        "{}",
        mail.text
    );
    assert!(
        mail.html.contains("#12345a") && mail.html.contains("Open my cards"),
        "{}",
        mail.html
    );
    let link = mail.link();
    assert!(link.starts_with(&format!("{}/access/", app.base)), "{link}");

    // Opened from the page's button; the same form posted again (its token and cookie kept,
    // as a second tab or a replayed request would) opens nothing.
    let page = client().get(&link).send().await.expect("link page");
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = set_cookie(page.headers(), "wc_access_csrf").expect("a CSRF cookie");
    let csrf = field(&page.text().await.expect("html"), "csrf");
    let press = || {
        client()
            .post(&link)
            .header("cookie", &cookie)
            .form(&[("csrf", csrf.as_str())])
            .send()
    };
    let opened = press().await.expect("post");
    assert_eq!(opened.status(), StatusCode::SEE_OTHER);
    let holder = set_cookie(opened.headers(), "wc_holder").expect("a holder session");
    let replayed = press().await.expect("post again");
    assert_eq!(replayed.status(), StatusCode::GONE);
    assert!(set_cookie(replayed.headers(), "wc_holder").is_none());
    let cards = my_cards(&app, &holder).await;
    assert!(
        cards.contains("Olga Ivanova") && cards.contains("Bauhaus AG"),
        "{cards}"
    );
    assert!(cards.contains("Partner cashback"), "{cards}");
    for n in ["-1", "-2"] {
        assert!(
            cards.contains(&format!("id=\"add-apple{n}\"")),
            "card {n}: {cards}"
        );
    }
    // Each card's pass downloads from the page.
    let pass = cards
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.contains("pass.pkpass"))
        .expect("a pass link")
        .replace("&amp;", "&");
    let pass = client()
        .get(format!("{}{pass}", app.base))
        .send()
        .await
        .expect("pass");
    assert_eq!(pass.status(), StatusCode::OK);
    assert_eq!(
        pass.headers()["content-type"],
        "application/vnd.apple.pkpass"
    );
    let members = app
        .get_ok(&format!("/accounts/{}/members", id(&account)))
        .await;
    assert_eq!(members["items"][0]["name"], "Olga Ivanova");
    assert_eq!(members["items"][0]["email"], "olga@bauhaus.example");

    // Once only: the page and the button both refuse it now.
    let (status, page) = open(&link).await.expect_err("a used link");
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("expired or was used"), "{page}");
    // Without the holder's cookie, no cards.
    let anonymous = client()
        .get(format!("{}/me", app.base))
        .send()
        .await
        .expect("me");
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(!anonymous.text().await.expect("html").contains("Olga"));
}

async fn known_and_unknown_addresses_get_the_same_answer_and_a_stranger_sees_no_card(
    engine: Engine,
) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let (account, url) = company_invite(&app).await;
    let known = app.create_member(id(&account), "Boris Ivanov").await;
    let program = app.create_program("discount").await;
    let card = json!({"program_id": id(&program), "member_id": id(&known)});
    let card = app.post_ok("/cards", &card, StatusCode::CREATED).await;

    // A stranger types Boris's address with another name; someone else a new address.
    let stranger = post_form(&url, &person("Mallory", "boris.ivanov@example.test")).await;
    let newcomer = post_form(&url, &person("Mallory", "carla@example.test")).await;
    let (s1, l1, p1) = seen_after(stranger, &app).await;
    let (s2, l2, p2) = seen_after(newcomer, &app).await;
    assert_eq!((s1, &l1), (s2, &l2));
    assert_eq!(
        p1, p2,
        "the answers differ between a known and an unknown address"
    );
    for secret in [card["code"].as_str(), card["serial"].as_str()] {
        assert!(!p1.contains(secret.expect("value")));
    }
    // The mail goes to the real address, and to nobody else.
    let mail = sink
        .wait_for("boris.ivanov@example.test", 1)
        .await
        .remove(0);
    assert_eq!(mail.rcpt_to, ["boris.ivanov@example.test"]);
    sink.wait_for("carla@example.test", 1).await;
    assert_eq!(sink.received().len(), 2);
    // Boris opens it: his own cards, under his own name; what the stranger typed is not kept.
    let holder = open(&mail.link()).await.expect("opens");
    let cards = my_cards(&app, &holder).await;
    assert!(
        cards.contains("Boris Ivanov") && !cards.contains("Mallory"),
        "{cards}"
    );
    let read = app.get_ok(&format!("/members/{}", id(&known))).await;
    assert_eq!(read["name"], "Boris Ivanov");
    let members = app
        .get_ok(&format!("/accounts/{}/members", id(&account)))
        .await;
    assert_eq!(
        members["items"].as_array().map(Vec::len),
        Some(1),
        "{members}"
    );
    // Nobody took Carla's address: her link was not opened.
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) FROM members WHERE email_norm = 'carla@example.test'"
        )
        .await,
        0
    );
}

async fn a_link_expires_after_thirty_minutes(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let (_, url) = company_invite(&app).await;
    post_form(&url, &person("Olga", "olga@example.test")).await;
    let link = sink.wait_for("olga@example.test", 1).await.remove(0).link();
    let minutes: Vec<(i64,)> = app
        .fetch(match engine {
            Engine::Sqlite => "SELECT CAST(ROUND((julianday(expires_at) - julianday(created_at)) * 1440) AS INTEGER) FROM email_links",
            Engine::Postgres => "SELECT CAST(EXTRACT(EPOCH FROM expires_at - created_at) / 60 AS BIGINT) FROM email_links",
        })
        .await;
    assert_eq!(minutes, [(30,)]);
    app.execute_sql("UPDATE email_links SET expires_at = created_at")
        .await;
    let (status, page) = open(&link).await.expect_err("expired");
    assert_eq!(status, StatusCode::GONE);
    assert!(page.contains("expired"), "{page}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM members").await, 0);
}

async fn send_me_my_link_and_an_admins_personal_link_open_the_members_cards(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let (account, url) = company_invite(&app).await;
    let known = app.create_member(id(&account), "Boris Ivanov").await;
    let program = app.create_program("discount").await;
    let card = json!({"program_id": id(&program), "member_id": id(&known)});
    app.post_ok("/cards", &card, StatusCode::CREATED).await;

    let join_page = client()
        .get(&url)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("html");
    assert!(join_page.contains("send me my link"), "{join_page}");
    let resend = format!("{url}/resend");
    let asked = post_form(
        &resend,
        &[("email", "boris.ivanov@example.test"), ("lang", "ru")],
    )
    .await;
    let unknown = post_form(&resend, &[("email", "nobody@example.test"), ("lang", "ru")]).await;
    let (s1, l1, p1) = seen_after(asked, &app).await;
    let (s2, l2, p2) = seen_after(unknown, &app).await;
    assert_eq!((s1, &l1, &p1), (s2, &l2, &p2));
    assert!(p1.contains("Проверьте почту"), "{p1}");
    let mail = sink
        .wait_for("boris.ivanov@example.test", 1)
        .await
        .remove(0);
    assert!(
        mail.subject.starts_with("Ссылка на ваши карты"),
        "{}",
        mail.subject
    );
    let cards = my_cards(&app, &open(&mail.link()).await.expect("opens")).await;
    assert!(
        cards.contains("Boris Ivanov") && cards.contains("id=\"add-apple-1\""),
        "{cards}"
    );
    // An address with no card learns so only from its own mailbox.
    let other = sink.wait_for("nobody@example.test", 1).await.remove(0);
    let (status, page) = open(&other.link()).await.expect_err("no member");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        page.contains("карта не зарегистрирована"),
        "in the language asked in: {page}"
    );

    // The admin's personal link, in the member's language.
    let sent = app
        .post(
            &format!("/members/{}/send-card?lang=zh-Hans", id(&known)),
            &json!({}),
        )
        .await;
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    let mail = sink
        .wait_for("boris.ivanov@example.test", 2)
        .await
        .remove(1);
    assert!(
        mail.text.contains("打开我的会员卡") && mail.text.contains("72"),
        "{}",
        mail.text
    );
    let cards = my_cards(&app, &open(&mail.link()).await.expect("opens")).await;
    assert!(cards.contains("Boris Ivanov"), "{cards}");
    // A member without an address cannot be sent one.
    let body = json!({"name": "No Mail", "role": "director"});
    let silent = app
        .post_ok(
            &format!("/accounts/{}/members", id(&account)),
            &body,
            StatusCode::CREATED,
        )
        .await;
    let refused = app
        .post(&format!("/members/{}/send-card", id(&silent)), &json!({}))
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let refused: Value = refused.json().await.expect("json");
    assert_eq!(refused["error"]["field"], "email");
    let missing = app
        .post(
            "/members/mem_00000000000000000000000000000000/send-card",
            &json!({}),
        )
        .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
}

async fn mails_to_one_address_are_limited_per_hour_and_the_page_says_the_same(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[("mail.per_address_per_hour", json!(2))]).await;
    let (account, url) = company_invite(&app).await;
    let mut pages = Vec::new();
    for _ in 0..3 {
        let r = post_form(&url, &person("Olga", "olga@example.test")).await;
        pages.push(seen_after(r, &app).await);
    }
    assert!(
        pages.windows(2).all(|w| w[0] == w[1]),
        "the limited answer differs"
    );
    sink.wait_for("olga@example.test", 2).await;
    assert_eq!(
        count(&app, "SELECT COUNT(*) FROM outbox WHERE kind = 'mail'").await,
        2
    );
    // An admin learns of the limit.
    let member = app.create_member(id(&account), "Olga").await;
    app.execute_sql(&format!(
        "UPDATE members SET email = 'olga@example.test', email_norm = 'olga@example.test' WHERE id = '{}'",
        id(&member)
    ))
    .await;
    let limited = app
        .post(&format!("/members/{}/send-card", id(&member)), &json!({}))
        .await;
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
    let limited: Value = limited.json().await.expect("json");
    assert_eq!(limited["error"]["code"], "too_many_mails");
}

async fn a_refused_mail_is_retried_or_kept_as_a_dead_letter(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let (_, url) = company_invite(&app).await;
    sink.refuse_next(&["451 4.3.0 try again later"]);
    post_form(&url, &person("Olga", "olga@example.test")).await;
    let delivered = sink.wait_for("olga@example.test", 1).await;
    assert_eq!(delivered.len(), 1);
    super::common::eventually(
        "the mail is marked delivered",
        std::time::Duration::from_secs(10),
        async || {
            let done: Vec<(i64,)> = app
                .fetch("SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND state = 'done'")
                .await;
            done[0].0 == 1
        },
    )
    .await;
    let rows: Vec<(String, i32, Option<String>)> = app
        .fetch("SELECT state, attempts, payload FROM outbox WHERE kind = 'mail'")
        .await;
    assert_eq!(rows[0].0, "done");
    assert_eq!(rows[0].1, 2, "one refusal, then delivered");
    assert_eq!(rows[0].2, None, "a delivered mail's link is not kept");

    sink.refuse_next(&["550 5.1.1 no such user"]);
    post_form(&url, &person("Dan", "dan@example.test")).await;
    super::common::eventually(
        "the mail is a dead letter",
        std::time::Duration::from_secs(10),
        async || {
            let dead: Vec<(i64,)> = app
                .fetch("SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND state = 'dead'")
                .await;
            dead[0].0 == 1
        },
    )
    .await;
    let dead = app.get_ok("/outbox/dead").await;
    let letter = &dead["items"][0];
    assert_eq!(letter["kind"], "mail");
    assert_eq!(letter["last_error"], "SMTP 550", "{letter}");
    assert!(sink.to("dan@example.test").is_empty());
}

async fn without_an_smtp_host_mails_are_written_to_files(engine: Engine) {
    let app = spawn_app_with_settings(engine, &[("outbox.dispatch", json!(true))]).await;
    let (_, url) = company_invite(&app).await;
    post_form(&url, &person("Olga", "olga@example.test")).await;
    let folder = app.data_dir().join("mail");
    super::common::eventually(
        "a mail file is written",
        std::time::Duration::from_secs(10),
        async || {
            std::fs::read_dir(&folder).is_ok_and(|d| {
                d.filter_map(Result::ok)
                    .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
            })
        },
    )
    .await;
    let file = std::fs::read_dir(&folder)
        .expect("mail folder")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "eml"))
        .expect("an .eml file");
    let bytes = std::fs::read(&file).expect("read");
    let parsed = mail_parser::MessageParser::default()
        .parse(&bytes)
        .expect("a mail");
    let text = parsed.body_text(0).expect("text");
    assert!(text.contains("/access/"), "{text}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(
        mode & 0o077,
        0,
        "the mail file is readable by others: {mode:o}"
    );
}

async fn erasing_a_member_ends_their_holder_session_and_forgets_their_links(engine: Engine) {
    let (app, sink) = spawn_app_with_mail(engine, &[]).await;
    let (account, url) = company_invite(&app).await;
    post_form(&url, &person("Olga Ivanova", "olga@example.test")).await;
    let first = sink.wait_for("olga@example.test", 1).await.remove(0);
    let holder = open(&first.link()).await.expect("opens");
    my_cards(&app, &holder).await;
    post_form(&url, &person("Olga Ivanova", "olga@example.test")).await;
    let second = sink.wait_for("olga@example.test", 2).await.remove(1);
    let members = app
        .get_ok(&format!("/accounts/{}/members", id(&account)))
        .await;
    let member = members["items"][0]["id"]
        .as_str()
        .expect("member")
        .to_owned();

    let erased = app
        .client
        .delete(app.url(&format!("/members/{member}")))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .expect("erase");
    assert_eq!(erased.status(), StatusCode::OK);
    let me = client()
        .get(format!("{}/me", app.base))
        .header("cookie", &holder)
        .send()
        .await
        .expect("me");
    assert_eq!(
        me.status(),
        StatusCode::UNAUTHORIZED,
        "the session outlived the erasure"
    );
    let (status, _) = open(&second.link())
        .await
        .expect_err("a link of an erased person");
    assert_eq!(status, StatusCode::GONE);
    let kept = count(
        &app,
        "SELECT (SELECT COUNT(*) FROM email_links WHERE email_norm = 'olga@example.test') \
         + (SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND target = 'olga@example.test')",
    )
    .await;
    assert_eq!(kept, 0, "the address stayed in the links or mails");
}

/// The app mailing through `sink` with `tls` and credentials, trusting the sink's CA.
async fn app_mailing_securely(
    engine: Engine,
    sink: &SmtpSink,
    tls: &str,
) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("dir");
    let ca = dir.path().join("sink-ca.pem");
    std::fs::write(&ca, sink.ca_pem()).expect("CA file");
    let settings = [
        ("outbox.dispatch", json!(true)),
        ("mail.host", json!("127.0.0.1")),
        ("mail.port", json!(sink.port)),
        ("mail.tls", json!(tls)),
        ("mail.ca", json!(ca)),
        ("mail.user", json!("loyalty")),
        ("mail.password", json!("s3cret-pass")),
        ("mail.from", json!("Acme Loyalty <loyalty@acme.example>")),
    ];
    (spawn_app_with_settings(engine, &settings).await, dir)
}

async fn mail_goes_over_starttls_or_tls_with_credentials_and_never_in_clear(engine: Engine) {
    for (mode, tls) in [(SinkTls::Starttls, "starttls"), (SinkTls::Wrapper, "tls")] {
        let sink = SmtpSink::start_with(mode).await;
        sink.require_auth("loyalty", "s3cret-pass");
        let (app, _dir) = app_mailing_securely(engine, &sink, tls).await;
        let (_, url) = company_invite(&app).await;
        post_form(&url, &person("Olga", "olga@example.test")).await;
        let mail = sink.wait_for("olga@example.test", 1).await.remove(0);
        assert!(mail.link().contains("/access/"), "{tls}");
    }
    // A relay that does not offer STARTTLS gets neither the password nor the mail.
    let plain = SmtpSink::start_with(SinkTls::None).await;
    plain.require_auth("loyalty", "s3cret-pass");
    let (app, _dir) = app_mailing_securely(engine, &plain, "starttls").await;
    let (_, url) = company_invite(&app).await;
    post_form(&url, &person("Olga", "olga@example.test")).await;
    super::common::eventually(
        "the first attempt ended",
        std::time::Duration::from_secs(10),
        async || {
            let rows: Vec<(String, Option<String>)> = app
                .fetch("SELECT state, last_error FROM outbox WHERE kind = 'mail'")
                .await;
            rows.first()
                .is_some_and(|(state, e)| state == "done" || e.is_some())
        },
    )
    .await;
    assert!(plain.received().is_empty(), "a mail went out in clear");
}

crate::on_both_engines!(
    mail_goes_over_starttls_or_tls_with_credentials_and_never_in_clear,
    erasing_a_member_ends_their_holder_session_and_forgets_their_links,
    an_invite_form_mails_a_link_that_opens_every_card_once,
    known_and_unknown_addresses_get_the_same_answer_and_a_stranger_sees_no_card,
    a_link_expires_after_thirty_minutes,
    send_me_my_link_and_an_admins_personal_link_open_the_members_cards,
    mails_to_one_address_are_limited_per_hour_and_the_page_says_the_same,
    a_refused_mail_is_retried_or_kept_as_a_dead_letter,
    without_an_smtp_host_mails_are_written_to_files,
);
