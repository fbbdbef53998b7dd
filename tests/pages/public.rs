//! The public pages over HTTP: the member page (its token, languages, device buttons, QR
//! code, pass download and the pass's link back to it) and enrollment from an invite (the
//! form's checks and CSRF, "check your inbox" without a card, closed and unknown invites, the
//! printable invite). The mailed links themselves: `mailed_links`.

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

use super::common::{Engine, id, spawn_app};
use super::{client, post_form, set_cookie, sign_in};

async fn the_member_page_shows_the_card_and_its_history_to_its_holder(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let order = json!({"external_id": "M-1", "member_id": card["member_id"], "account_id": card["account_id"],
                       "amount_minor": 100_000, "currency": "EUR", "placed_at": chrono::Utc::now().to_rfc3339()});
    app.post_ok("/orders", &order, StatusCode::CREATED).await;
    let rows: Vec<(String,)> = app
        .fetch(&format!(
            "SELECT auth_token FROM cards WHERE id = '{}'",
            id(&card)
        ))
        .await;
    let token = &rows[0].0;
    let serial = card["serial"].as_str().expect("serial");
    let page = |query: String, lang: &'static str| {
        let url = format!("{}/m/{serial}?{query}", app.base);
        async move {
            let r = client()
                .get(url)
                .header("accept-language", lang)
                .send()
                .await
                .expect("page");
            (r.status(), r.text().await.expect("html"))
        }
    };
    let headers = client()
        .get(format!("{}/m/{serial}?t={token}", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(
        headers.headers()["referrer-policy"],
        "no-referrer",
        "the token stays here"
    );
    let csp = headers.headers()["content-security-policy"]
        .to_str()
        .expect("csp");
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"));
    let (status, html) = page(format!("t={token}"), "en").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Anna Petrova") && html.contains("Acme GmbH"),
        "{html}"
    );
    assert!(
        html.contains("€30.00") || html.contains("30.00"),
        "the cashback earned: {html}"
    );
    assert!(html.contains("<table id=\"history\""), "{html}");
    let (_, russian) = page(format!("t={token}"), "ru-RU,ru;q=0.9").await;
    assert!(
        russian.contains("История") && russian.contains("lang=\"ru\""),
        "{russian}"
    );
    let (_, chinese) = page(format!("t={token}&lang=zh-Hans"), "ru").await;
    assert!(chinese.contains("记录"), "{chinese}");
    let card_path = format!("/cards/{}", id(&card));
    app.post_ok(&format!("{card_path}/suspend"), &json!({}), StatusCode::OK)
        .await;
    let (_, suspended) = page(format!("t={token}"), "ru").await;
    assert!(
        suspended.contains("Приостановлена") && !suspended.contains("Suspended"),
        "the status, header and card field, is in Russian words: {suspended}"
    );
    app.post_ok(
        &format!("{card_path}/reactivate"),
        &json!({}),
        StatusCode::OK,
    )
    .await;

    let (status, html) = page("t=wrong".to_owned(), "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(html.contains("This card link is not valid."), "{html}");
    let (status, _) = page(String::new(), "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The buttons a device gets: an iPhone Apple's, an Android phone Google's (none here:
    // Google is off), a desktop both and a QR code of the page.
    let as_device = |agent: &'static str| {
        let url = format!("{}/m/{serial}?t={token}", app.base);
        async move {
            let r = client().get(url).header("user-agent", agent).send().await;
            r.expect("page").text().await.expect("html")
        }
    };
    let iphone = as_device("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X)").await;
    assert!(iphone.contains("id=\"add-apple\"") && !iphone.contains("id=\"continue\""));
    let android = as_device("Mozilla/5.0 (Linux; Android 15; Pixel 9)").await;
    assert!(!android.contains("id=\"add-apple\""), "{android}");
    let desktop = as_device("Mozilla/5.0 (X11; Linux x86_64)").await;
    assert!(desktop.contains("id=\"add-apple\"") && desktop.contains("id=\"continue\""));
    let qr = client()
        .get(format!("{}/m/{serial}/qr.svg?t={token}", app.base))
        .send()
        .await
        .expect("qr");
    assert_eq!(qr.headers()["content-type"], "image/svg+xml");
    assert!(qr.text().await.expect("svg").contains("<svg"));

    let pass = client()
        .get(format!("{}/m/{serial}/pass.pkpass?t={token}", app.base))
        .send()
        .await
        .expect("pass");
    assert_eq!(pass.status(), StatusCode::OK);
    assert_eq!(
        pass.headers()["content-type"],
        "application/vnd.apple.pkpass"
    );
    let bytes = pass.bytes().await.expect("bytes");
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).expect("a zip");
    let mut json = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("pass.json").expect("pass.json"), &mut json)
        .expect("read");
    let pass_json: Value = serde_json::from_str(&json).expect("JSON");
    let link = pass_json["storeCard"]["backFields"]
        .as_array()
        .and_then(|fields| fields.iter().find(|f| f["key"] == "member_page"))
        .expect("the back of the pass links the member page");
    assert_eq!(link["value"], format!("{}/m/{serial}?t={token}", app.base));
}

async fn an_invite_link_enrolls_a_decision_maker_and_says_when_it_is_closed(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, invite) = app.create_invite("stamp", "Bauhaus AG").await;
    let url = invite["url"].as_str().expect("url").to_owned();
    let page = client()
        .get(format!("{url}?lang=ru"))
        .send()
        .await
        .expect("page");
    let html = page.text().await.expect("html");
    assert!(
        html.contains("Bauhaus AG") && html.contains("Получите карту"),
        "{html}"
    );

    let person = [
        ("name", "Olga Ivanova"),
        ("role", "accountant"),
        ("email", "olga@bauhaus.example"),
        ("phone", ""),
        ("consent", "on"),
        ("lang", "en"),
    ];
    let bad = post_form(
        &url,
        &[
            ("name", "Olga"),
            ("role", "accountant"),
            ("email", "not-an-email"),
            ("consent", "on"),
        ],
    )
    .await;
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let bad = bad.text().await.expect("html");
    assert!(
        bad.contains("id=\"error\"") && bad.contains("Work e-mail"),
        "{bad}"
    );
    let forged = client()
        .post(&url)
        .form(&[("csrf", "guess"), ("name", "X")])
        .send()
        .await
        .expect("post");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Submitting shows no card: it says "check your inbox" and queues a mail; nobody is
    // created before the link in it is opened (see `mailed_links`).
    let joined = post_form(&url, &person).await;
    assert_eq!(joined.status(), StatusCode::SEE_OTHER);
    let sent = joined.headers()[LOCATION]
        .to_str()
        .expect("location")
        .to_owned();
    assert!(sent.ends_with("/sent?lang=en"), "{sent}");
    let shown = client()
        .get(format!("{}{sent}", app.base))
        .send()
        .await
        .expect("sent page");
    assert_eq!(shown.status(), StatusCode::OK);
    let shown = shown.text().await.expect("html");
    assert!(shown.contains("Check your inbox"), "{shown}");
    assert!(
        !shown.contains("/m/") && !shown.contains("pkpass"),
        "{shown}"
    );

    // Twice with the same e-mail: the same answer, a second mail, still no one created.
    let again = post_form(&url, &person).await;
    assert_eq!(again.headers()[LOCATION].to_str().expect("location"), sent);
    let counts: Vec<(i64, i64, i64)> = app
        .fetch(
            "SELECT (SELECT COUNT(*) FROM cards), (SELECT COUNT(*) FROM members), \
             (SELECT COUNT(*) FROM outbox WHERE kind = 'mail' AND target = 'olga@bauhaus.example')",
        )
        .await;
    assert_eq!(counts, [(0, 0, 2)]);

    // The printable invite, for admins: the QR code and the link.
    let r = sign_in(&app, &app.admin_key).await;
    let admin = set_cookie(r.headers(), "wc_session").expect("an admin session");
    let print = format!("{}/invites/{}/print", app.base, id(&invite));
    let printed = client()
        .get(&print)
        .header("cookie", &admin)
        .send()
        .await
        .expect("print");
    assert_eq!(printed.status(), StatusCode::OK);
    let printed = printed.text().await.expect("html");
    assert!(
        printed.contains(&url) && printed.contains("id=\"qr\""),
        "{printed}"
    );
    let qr = format!("{}/api/v1/invites/{}/qr.svg", app.base, id(&invite));
    let qr = client()
        .get(&qr)
        .header("cookie", &admin)
        .send()
        .await
        .expect("qr");
    assert_eq!(
        qr.status(),
        StatusCode::OK,
        "the page's image loads with the session"
    );
    let anonymous = client().get(&print).send().await.expect("print");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);

    app.execute_sql("UPDATE invites SET expires_at = created_at")
        .await;
    let expired = client().get(&url).send().await.expect("page");
    assert_eq!(expired.status(), StatusCode::GONE);
    assert!(expired.text().await.expect("html").contains("has expired"));
    let unknown = client()
        .get(format!("{}/join/not-a-token", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

crate::on_both_engines!(
    the_member_page_shows_the_card_and_its_history_to_its_holder,
    an_invite_link_enrolls_a_decision_maker_and_says_when_it_is_closed,
);
