use crate::common;

use common::{Engine, id, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use walletcards::enroll::EnrollForm;

on_both_engines!(
    companies_are_found_by_name_or_erp_number_with_wildcards_taken_literally,
    a_companys_orders_come_newest_first_with_totals_per_currency_net_of_refunds,
    every_invite_is_listed_and_its_page_shows_who_enrolled_through_it,
);

async fn companies_are_found_by_name_or_erp_number_with_wildcards_taken_literally(engine: Engine) {
    let app = spawn_app(engine).await;
    for (name, erp) in [
        ("Acme GmbH", "K-1001"),
        ("Bauhaus AG", "K-2002"),
        ("ACME Logistics", "K-3003"),
        ("100% Pure Ltd", "K-4004"),
    ] {
        let body = json!({"name": name, "external_id": erp});
        app.post_ok("/accounts", &body, StatusCode::CREATED).await;
    }
    let names = |v: serde_json::Value| -> Vec<String> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|a| a["name"].as_str().expect("name").to_owned())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    let found = app.get_ok("/accounts?q=acme").await;
    assert_eq!(
        names(found),
        ["ACME Logistics", "Acme GmbH"],
        "in either case"
    );
    let found = app.get_ok("/accounts?q=k-2002").await;
    assert_eq!(names(found), ["Bauhaus AG"]);
    let found = app.get_ok("/accounts?q=100%25").await;
    assert_eq!(names(found), ["100% Pure Ltd"], "% is a character here");
    let found = app.get_ok("/accounts?q=_").await;
    assert!(names(found).is_empty(), "_ is a character here");
    let everyone = app.get_ok("/accounts?q=%20").await;
    assert_eq!(
        names(everyone).len(),
        4,
        "a blank search lists every company"
    );
}

async fn a_companys_orders_come_newest_first_with_totals_per_currency_net_of_refunds(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    let account = card["account_id"].as_str().expect("account");
    let empty = app.get_ok(&format!("/accounts/{account}/orders")).await;
    assert_eq!(empty, json!({"items": [], "totals": []}));
    let now = chrono::Utc::now();
    for (n, amount, hours) in [(1, 100_000, 3), (2, 50_000, 2), (3, 20_000, 1)] {
        let placed = now - chrono::TimeDelta::hours(hours);
        let order = json!({"external_id": format!("ERP-{n}"), "account_id": account,
            "member_id": card["member_id"], "amount_minor": amount, "currency": "EUR",
            "placed_at": placed.to_rfc3339()});
        app.post_ok("/orders", &order, StatusCode::CREATED).await;
    }
    let refund = json!({"external_id": "R-1", "amount_minor": 10_000});
    app.post_ok("/orders/ERP-1/refunds", &refund, StatusCode::CREATED)
        .await;
    let shown = app
        .get_ok(&format!("/accounts/{account}/orders?limit=2"))
        .await;
    let items = shown["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["external_id"], "ERP-3");
    assert_eq!(items[0]["member_name"], "Anna Petrova");
    assert_eq!(items[1]["external_id"], "ERP-2");
    assert_eq!(
        shown["totals"],
        json!([{"currency": "EUR", "orders": 3, "net_minor": 160_000}])
    );
    let all = app.get_ok(&format!("/accounts/{account}/orders")).await;
    assert_eq!(all["items"][2]["refunded_minor"], 10_000);
    let unknown = app.get("/accounts/acc_nothing/orders").await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
}

async fn every_invite_is_listed_and_its_page_shows_who_enrolled_through_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, first) = app.create_invite("stamp", "Acme GmbH").await;
    let (_, second) = app.create_invite("discount", "Bauhaus AG").await;
    let listed = app.get_ok("/invites").await;
    let ids: Vec<&str> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&id(&first)) && ids.contains(&id(&second)));
    assert!(
        listed["items"][0].get("token").is_none(),
        "no token in lists"
    );

    let path = format!("/invites/{}/enrollments", id(&first));
    assert_eq!(app.get_ok(&path).await, json!({"items": []}));
    let token = first["token"].as_str().expect("token");
    let form = EnrollForm {
        name: "Olga Ivanova".into(),
        role: "buyer".into(),
        email: "olga@acme.example".into(),
        phone: None,
        consent: true,
    };
    let (member, _) = app.enroll_by_mail(token, form).await.expect("enrolled");
    let enrolled = app.get_ok(&path).await;
    let items = enrolled["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["name"], "Olga Ivanova");
    assert_eq!(items[0]["member_id"], member.id.to_string());
    assert_eq!(items[0]["account_id"], first["account_id"]);
    let other = format!("/invites/{}/enrollments", id(&second));
    assert_eq!(app.get_ok(&other).await, json!({"items": []}));
}
