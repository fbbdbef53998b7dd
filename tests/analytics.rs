//! The dashboard's figures and CSV export over bookings a supplier would recognise: two
//! programs, orders on several days (one late in the evening UTC, which is the next day in
//! Berlin), a refund, a redeemed stamp reward, cards in Apple and Google wallets and push
//! deliveries in every state — on SQLite and on PostgreSQL.

use crate::common;

use chrono::{Days, NaiveDate, Utc};
use common::device::sql_time;
use common::{Engine, TestApp, id, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What the fixture booked.
struct Shop {
    app: TestApp,
    tiers: Value,
    stamps: Value,
    /// The first day with orders (UTC and Berlin agree at 10:00).
    first_day: NaiveDate,
    /// The last day of the range, today.
    today: NaiveDate,
}

fn at(day: NaiveDate, time: &str) -> String {
    format!("{day}T{time}Z")
}

async fn book(
    app: &TestApp,
    program: &Value,
    member: &Value,
    external_id: &str,
    amount: i64,
    placed_at: &str,
) {
    let body = json!({
        "external_id": external_id, "program_id": id(program),
        "account_id": member["account_id"], "member_id": id(member),
        "amount_minor": amount, "currency": "EUR", "placed_at": placed_at,
    });
    app.post_ok("/orders", &body, StatusCode::CREATED).await;
}

async fn card(app: &TestApp, program: &Value, member: &Value) -> Value {
    let body = json!({"program_id": id(program), "member_id": id(member)});
    app.post_ok("/cards", &body, StatusCode::CREATED).await
}

/// A cumulative-discount and a stamp program, three companies, their orders and wallets.
async fn shop(engine: Engine) -> Shop {
    let app = spawn_app(engine).await;
    let tiers = app.create_program("cumulative_discount").await;
    let stamps = app.create_program("stamp").await;
    let mut members = Vec::new();
    for (company, person) in [
        ("Acme GmbH", "Anna Petrova"),
        ("Beta AG", "Li Wei"),
        ("Gamma KG", "Ola Berg"),
    ] {
        let account = app.create_account(company).await;
        members.push(app.create_member(id(&account), person).await);
    }
    let (anna, li, ola) = (&members[0], &members[1], &members[2]);
    let anna_tiers = card(&app, &tiers, anna).await;
    let li_tiers = card(&app, &tiers, li).await;
    let ola_tiers = card(&app, &tiers, ola).await;
    let anna_stamps = card(&app, &stamps, anna).await;

    // Today where the programs are: between 23:00 and 24:00 UTC it is already tomorrow in
    // Berlin, and the cards issued now count in the range that ends there.
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::Berlin)
        .date_naive();
    let first_day = today - Days::new(10);
    let day = |n: u64| first_day + Days::new(n);
    book(&app, &tiers, anna, "A-1", 400_000, &at(day(0), "10:00:00")).await;
    book(&app, &tiers, anna, "A-2", 700_000, &at(day(0), "23:30:00")).await;
    book(&app, &tiers, li, "A-3", 200_000, &at(day(3), "09:00:00")).await;
    let refund = json!({"external_id": "R-1", "amount_minor": 100_000});
    app.post_ok("/orders/A-2/refunds", &refund, StatusCode::CREATED)
        .await;
    for n in 1..=5 {
        book(
            &app,
            &stamps,
            anna,
            &format!("S-{n}"),
            60_000,
            &at(day(1), &format!("08:0{n}:00")),
        )
        .await;
    }
    let redeem = json!({"external_id": "RD-1", "kind": "reward"});
    let path = format!("/cards/{}/redemptions", id(&anna_stamps));
    app.post_ok(&path, &redeem, StatusCode::CREATED).await;
    app.post_ok(
        &format!("/cards/{}/revoke", id(&ola_tiers)),
        &json!({}),
        StatusCode::OK,
    )
    .await;
    wallets(&app, &anna_tiers, &li_tiers).await;
    Shop {
        app,
        tiers,
        stamps,
        first_day,
        today,
    }
}

/// Anna's card on two iPhones and in Google Wallet; Li's saved to Google and deleted again;
/// deliveries of Anna's card in every state, and one older than the range.
async fn wallets(app: &TestApp, anna: &Value, li: &Value) {
    let now = sql_time(Utc::now());
    let old = sql_time(Utc::now() - chrono::TimeDelta::days(90));
    let later = sql_time(Utc::now() + chrono::TimeDelta::seconds(1));
    let (anna, li) = (id(anna), id(li));
    app.execute_sql(&format!(
        "INSERT INTO devices (id, push_token, scheme, created_at, updated_at) VALUES \
           ('dev-1', 'tok-1', 'ApplePass', '{now}', '{now}'), ('dev-2', 'tok-2', 'ApplePass', '{now}', '{now}');
         INSERT INTO registrations (device_id, card_id, created_at, updated_at) VALUES \
           ('dev-1', '{anna}', '{now}', '{now}'), ('dev-2', '{anna}', '{now}', '{now}');
         UPDATE cards SET google_object_id = 'issuer.anna' WHERE id = '{anna}';
         UPDATE cards SET google_object_id = 'issuer.li' WHERE id = '{li}';
         INSERT INTO google_callbacks (nonce, event_type, class_id, object_id, received_at) VALUES \
           ('n-1', 'save', 'issuer.c', 'issuer.anna', '{now}'), ('n-2', 'save', 'issuer.c', 'issuer.li', '{now}'), \
           ('n-3', 'del', 'issuer.c', 'issuer.li', '{later}');
         INSERT INTO outbox (kind, card_id, card_version, target, state, attempts, due_at, last_error, created_at) VALUES \
           ('apple_push', '{anna}', 2, 'tok-1', 'done', 1, '{now}', NULL, '{now}'), \
           ('apple_push', '{anna}', 2, 'tok-2', 'done', 1, '{now}', NULL, '{now}'), \
           ('apple_push', '{anna}', 3, 'tok-2', 'dead', 8, '{now}', 'BadDeviceToken', '{now}'), \
           ('google_object', '{anna}', 3, 'issuer.anna', 'pending', 1, '{now}', 'HTTP 503', '{now}'), \
           ('apple_push', '{anna}', 1, 'tok-1', 'dead', 8, '{old}', 'old', '{old}');"
    ))
    .await;
}

impl Shop {
    async fn analytics(&self, extra: &str) -> Value {
        let path = format!(
            "/analytics?from={}&to={}{extra}",
            self.first_day, self.today
        );
        self.app.get_ok(&path).await
    }

    fn program<'a>(&self, figures: &'a Value, program: &Value) -> &'a Value {
        let programs = figures["programs"].as_array().expect("programs");
        programs
            .iter()
            .find(|p| p["id"] == program["id"])
            .expect("the program is listed")
    }
}

/// `(start, orders, gross, refunded, revenue)` of each period.
fn series(program: &Value) -> Vec<(String, i64, i64, i64, i64)> {
    let n = |p: &Value, k: &str| p[k].as_i64().expect("a number");
    let points = program["series"].as_array().expect("series");
    points
        .iter()
        .map(|p| {
            let start = p["start"].as_str().expect("a date").to_owned();
            (
                start,
                n(p, "orders"),
                n(p, "gross_minor"),
                n(p, "refunded_minor"),
                n(p, "revenue_minor"),
            )
        })
        .collect()
}

async fn the_figures_match_what_was_booked(engine: Engine) {
    let shop = shop(engine).await;
    let figures = shop.analytics("").await;
    assert_eq!(
        figures["time_zone"], "Europe/Berlin",
        "the programs' shared zone"
    );
    assert_eq!(figures["bucket"], "day");
    let tiers = shop.program(&figures, &shop.tiers);
    assert_eq!(tiers["currency"], "EUR");
    assert_eq!(
        tiers["cards"],
        json!({"issued": 3, "active": 2, "suspended": 0, "revoked": 1, "issued_in_range": 3})
    );
    assert_eq!(
        tiers["installs"],
        json!({"apple": 1, "google": 1}),
        "Li deleted the Google card again"
    );
    assert_eq!(tiers["google_events"], json!({"saves": 2, "deletes": 1}));
    assert_eq!(tiers["active_holders"], 2);
    assert_eq!(
        tiers["orders"],
        json!({"orders": 3, "gross_minor": 1_300_000, "refunded_minor": 100_000, "revenue_minor": 1_200_000})
    );
    let days = series(tiers);
    assert_eq!(
        days.len(),
        11,
        "every day from the first to today: {days:?}"
    );
    let day = |n: u64| (shop.first_day + Days::new(n)).to_string();
    assert_eq!(days[0], (day(0), 1, 400_000, 0, 400_000));
    assert_eq!(
        days[1],
        (day(1), 1, 700_000, 100_000, 600_000),
        "23:30 UTC is the next day in Berlin, net of its refund"
    );
    assert_eq!(
        days[2],
        (day(2), 0, 0, 0, 0),
        "a day without orders is there with zeros"
    );
    assert_eq!(days[3], (day(3), 1, 200_000, 0, 200_000));
    assert_eq!(
        tiers["tiers"],
        json!([{"name": "Base", "holders": 1}, {"name": "Silver", "holders": 1}, {"name": "Gold", "holders": 0}]),
        "Acme's 1,000,000 net is Silver, Beta's 200,000 Base; Gamma's revoked card counts nowhere"
    );
    assert_eq!(
        tiers["push"],
        json!([{"kind": "apple_push", "done": 2, "pending": 0, "retrying": 0, "dead": 1},
               {"kind": "google_object", "done": 0, "pending": 1, "retrying": 1, "dead": 0}]),
        "the dead letter from before the range is not counted"
    );
    let stamps = shop.program(&figures, &shop.stamps);
    assert!(
        stamps.get("tiers").is_none(),
        "only cumulative programs have tiers"
    );
    assert_eq!(
        stamps["rewards"],
        json!({"stamp_rewards": 1, "cashback_minor": 0})
    );
    assert_eq!(
        stamps["orders"]["revenue_minor"], 300_000,
        "the stamp program counts its own orders only"
    );
    assert_eq!(series(stamps)[1].1, 5);
}

async fn weeks_and_a_program_filter_narrow_the_figures(engine: Engine) {
    let shop = shop(engine).await;
    let only = format!("&program_id={}&bucket=week", id(&shop.stamps));
    let figures = shop.analytics(&only).await;
    let programs = figures["programs"].as_array().expect("programs");
    assert_eq!(programs.len(), 1);
    assert_eq!(programs[0]["id"], shop.stamps["id"]);
    let weeks = series(&programs[0]);
    assert!(
        (2..=3).contains(&weeks.len()),
        "11 days span two or three weeks: {weeks:?}"
    );
    let monday = |d: &str| {
        d.parse::<NaiveDate>()
            .map(|d| chrono::Datelike::weekday(&d))
    };
    assert!(
        weeks
            .iter()
            .all(|w| monday(&w.0) == Ok(chrono::Weekday::Mon))
    );
    let total: i64 = weeks.iter().map(|w| w.4).sum();
    assert_eq!(total, 300_000);
}

async fn the_csv_export_lists_every_order_with_its_refund(engine: Engine) {
    let shop = shop(engine).await;
    let path = format!(
        "/analytics/orders.csv?from={}&to={}",
        shop.first_day, shop.today
    );
    let r = shop.app.get(&path).await;
    assert_eq!(r.status(), StatusCode::OK);
    let header = |name: &str| r.headers()[name].to_str().expect("ASCII").to_owned();
    assert_eq!(header("content-type"), "text/csv; charset=utf-8");
    let expected = format!(
        "attachment; filename=\"orders-{}-{}.csv\"",
        shop.first_day, shop.today
    );
    assert_eq!(header("content-disposition"), expected);
    let text = r.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "placed_at,external_id,program,account,member,amount_minor,currency,refunded_minor,source"
    );
    assert_eq!(lines.len(), 1 + 8, "{text}");
    let refunded = format!(
        "{},A-2,Partner cumulative_discount,Acme GmbH,Anna Petrova,700000,EUR,100000,erp",
        at(shop.first_day, "23:30:00")
    );
    assert!(lines.contains(&refunded.as_str()), "{text}");
    let only = format!("{path}&program_id={}", id(&shop.tiers));
    let text = shop.app.get(&only).await.text().await.expect("body");
    let ids: Vec<&str> = text
        .lines()
        .skip(1)
        .filter_map(|l| l.split(',').nth(1))
        .collect();
    assert_eq!(
        ids,
        ["A-1", "A-2", "A-3"],
        "oldest first, the program's orders only"
    );
}

async fn bad_parameters_are_refused_naming_the_field(engine: Engine) {
    let app = spawn_app(engine).await;
    for (query, field) in [
        ("bucket=month", "bucket"),
        ("from=2026-03-05&to=2026-03-01", "to"),
        ("from=yesterday", "from"),
        ("time_zone=Mars/Olympus", "time_zone"),
        ("from=2020-01-01&to=2026-01-01", "from"),
    ] {
        let r = app.get(&format!("/analytics?{query}")).await;
        let body = common::assert_status(r, StatusCode::UNPROCESSABLE_ENTITY).await;
        assert_eq!(body["error"]["field"], field, "{query}");
    }
    let r = app.get("/analytics?program_id=prg_nope").await;
    let body = common::assert_status(r, StatusCode::NOT_FOUND).await;
    assert_eq!(body["error"]["field"], "program_id");
    let r = app.get("/analytics/orders.csv?colour=red").await;
    common::assert_status(r, StatusCode::BAD_REQUEST).await;
}

on_both_engines!(
    the_figures_match_what_was_booked,
    weeks_and_a_program_filter_narrow_the_figures,
    the_csv_export_lists_every_order_with_its_refund,
    bad_parameters_are_refused_naming_the_field,
);
