use crate::common;

use super::{client, session_cookie};
use common::{Engine, TestApp, id, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use walletcards::http::auth::create_api_key;
use walletcards::store::Role;

on_both_engines!(
    every_page_speaks_english_russian_and_chinese,
    the_pages_are_for_admins_only,
    empty_lists_say_what_to_do_next,
    an_invites_page_names_who_enrolled_through_it,
);

/// The page at `path` with the admin's session in `lang`: status and HTML.
async fn page(app: &TestApp, cookie: &str, path: &str, lang: &str) -> (StatusCode, String) {
    let r = client()
        .get(format!("{}{path}", app.base))
        .header("cookie", cookie)
        .header("accept-language", lang)
        .send()
        .await
        .expect("page");
    (r.status(), r.text().await.expect("html"))
}

async fn every_page_speaks_english_russian_and_chinese(engine: Engine) {
    let app = spawn_app(engine).await;
    let (program, account, card) = app.issue_card_of(&common::program_body("cashback")).await;
    let invite = app
        .post_ok(
            "/invites",
            &json!({"account_id": id(&account), "program_ids": [id(&program)]}),
            StatusCode::CREATED,
        )
        .await;
    let order = json!({"external_id": "ERP-1", "account_id": id(&account),
        "member_id": card["member_id"], "amount_minor": 123_450, "currency": "EUR",
        "placed_at": chrono::Utc::now().to_rfc3339()});
    app.post_ok("/orders", &order, StatusCode::CREATED).await;
    let adjustment = json!({"external_id": "ADJ-1", "amount": -500, "author": "Maria",
        "reason": "Goodwill corrected"});
    app.post_ok(
        &format!("/cards/{}/adjustments", id(&card)),
        &adjustment,
        StatusCode::CREATED,
    )
    .await;
    let cookie = session_cookie(&app, &app.admin_key).await;
    let member = card["member_id"].as_str().expect("member");
    let pages = [
        "/console/programs".to_owned(),
        "/console/programs/new".to_owned(),
        format!("/console/programs/{}", id(&program)),
        "/console/companies".to_owned(),
        "/console/companies?q=acme".to_owned(),
        "/console/companies/new".to_owned(),
        format!("/console/companies/{}", id(&account)),
        format!("/console/companies/{}/members/{member}", id(&account)),
        "/console/invites".to_owned(),
        format!("/console/invites/new?account={}", id(&account)),
        format!("/console/invites/{}", id(&invite)),
    ];
    // One word of each page group per language, and the program's money as money.
    let words = [
        (
            "en",
            ["Programs", "Companies", "Invites"],
            "1,234.50\u{a0}EUR",
        ),
        (
            "ru",
            ["Программы", "Компании", "Приглашения"],
            "1\u{a0}234,50\u{a0}EUR",
        ),
        ("zh-Hans", ["会员计划", "公司", "邀请"], "1,234.50\u{a0}EUR"),
    ];
    for (lang, [programs, companies, invites], amount) in words {
        for path in &pages {
            let (status, html) = page(&app, &cookie, path, lang).await;
            assert_eq!(status, StatusCode::OK, "{path} in {lang}: {html}");
            assert!(html.contains(&format!("<html lang=\"{lang}\"")), "{path}");
            let word = if path.contains("/programs") {
                programs
            } else if path.contains("/companies") {
                companies
            } else {
                invites
            };
            assert!(html.contains(word), "{path} in {lang} says {word}");
        }
        let company = format!("/console/companies/{}", id(&account));
        let (_, html) = page(&app, &cookie, &company, lang).await;
        assert!(html.contains(amount), "{lang}: the order as money: {html}");
        assert!(html.contains("Anna Petrova"), "{html}");
    }
    // The list counts each company's people and their cards.
    let (_, html) = page(&app, &cookie, "/console/companies", "en").await;
    let row = &html[html.find("Acme GmbH").expect("the company")..];
    let row = &row[..row.find("</tr>").expect("its row")];
    assert!(
        row.ends_with("<td class=\"num\">1</td><td class=\"num\">1</td>"),
        "{row}"
    );
    // The API's field messages people meet most come translated with the Russian form.
    let (_, html) = page(&app, &cookie, "/console/programs/new", "ru").await;
    assert!(
        html.contains("data-en=\"must not be empty\">Заполните это поле.<"),
        "{html}"
    );
    // The person's page lists the card's adjustment with its reason and author, as money.
    let (_, html) = page(&app, &cookie, &pages[7], "en").await;
    assert!(
        html.contains("Goodwill corrected") && html.contains("Maria"),
        "{html}"
    );
    assert!(html.contains("-5.00\u{a0}EUR"), "{html}");
    // Percentages as percentages, money as money, in the program's form.
    let (_, html) = page(&app, &cookie, &pages[2], "en").await;
    assert!(html.contains("value=\"3\""), "3 %, not 300 basis points");
    assert!(
        html.contains("value=\"100.00\""),
        "the minimum order in EUR"
    );
    assert!(html.contains("value=\"50\""), "50 % of an order");
}

async fn the_pages_are_for_admins_only(engine: Engine) {
    let app = spawn_app(engine).await;
    let anonymous = client()
        .get(format!("{}/console/programs", app.base))
        .send()
        .await
        .expect("page");
    assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
    let desk = create_api_key(&app.state.store, "desk", Role::Desk)
        .await
        .expect("key");
    let cookie = session_cookie(&app, &desk).await;
    for path in [
        "/console/programs",
        "/console/companies",
        "/console/invites",
    ] {
        let (status, _) = page(&app, &cookie, path, "en").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
    }
    let admin = session_cookie(&app, &app.admin_key).await;
    let (status, _) = page(&app, &admin, "/console/companies/acc_unknown", "en").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

async fn empty_lists_say_what_to_do_next(engine: Engine) {
    let app = spawn_app(engine).await;
    let cookie = session_cookie(&app, &app.admin_key).await;
    for (path, says) in [
        ("/console/programs", "Create the first one"),
        ("/console/companies", "Add your first client company"),
        ("/console/companies?q=nothing", "No company matches"),
        ("/console/invites", "Create one for a company"),
        ("/console/invites/new", "Create the company first"),
    ] {
        let (status, html) = page(&app, &cookie, path, "en").await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(html.contains(says), "{path}: {html}");
    }
}

async fn an_invites_page_names_who_enrolled_through_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, invite) = app.create_invite("stamp", "Bauhaus AG").await;
    let cookie = session_cookie(&app, &app.admin_key).await;
    let path = format!("/console/invites/{}", id(&invite));
    let (_, html) = page(&app, &cookie, &path, "en").await;
    assert!(html.contains("Nobody yet"), "{html}");
    assert!(
        html.contains(invite["url"].as_str().expect("url")),
        "the link to copy"
    );
    let form = walletcards::enroll::EnrollForm {
        name: "Olga Ivanova".into(),
        role: "buyer".into(),
        email: "olga@bauhaus.example".into(),
        phone: None,
        consent: true,
    };
    let (member, _) = app
        .enroll_by_mail(invite["token"].as_str().expect("token"), form)
        .await
        .expect("enrolled");
    let (_, html) = page(&app, &cookie, &path, "ru").await;
    assert!(html.contains("Olga Ivanova"), "{html}");
    let person = format!(
        "/console/companies/{}/members/{}",
        invite["account_id"].as_str().expect("account"),
        member.id
    );
    assert!(html.contains(&person), "a link to the person");
    assert!(html.contains("Отправить личную ссылку"), "{html}");
    let (status, html) = page(&app, &cookie, &person, "zh-Hans").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("发卡") && html.contains("Olga Ivanova"),
        "{html}"
    );
}
