//! Random histories through the HTTP API, per kind and balance scope, on SQLite and on
//! PostgreSQL: orders (some redeeming cashback, some placed long ago), refunds, reward
//! redemptions and manual adjustments. After every request the stored balance equals the
//! full recompute from the ledger and what the cards show; at the end, replaying any prefix
//! of the accepted requests answers each with its first answer and changes nothing.

use crate::common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{Engine, TestApp, id, spawn_app};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::StatusCode;
use serde_json::{Value, json};
use walletcards::domain::ids::ProgramId;
use walletcards::domain::ledger::{self, Ctx};
use walletcards::store::Store;

/// Cases per engine: each builds a program, a company and its cards over HTTP.
const CASES: u32 = 64;

#[derive(Debug, Clone)]
enum Op {
    Order {
        member: usize,
        amount: i64,
        redeem: i64,
        days_ago: i64,
    },
    Refund {
        order: Index,
        percent: i64,
    },
    RedeemReward {
        member: usize,
    },
    Adjust {
        member: usize,
        amount: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize, 1..200_000i64, prop_oneof![3 => Just(0i64), 1 => 1..5_000i64], prop_oneof![3 => Just(0i64), 1 => 1..500i64])
            .prop_map(|(member, amount, redeem, days_ago)| Op::Order { member, amount, redeem, days_ago }),
        2 => (any::<Index>(), 1..=100i64).prop_map(|(order, percent)| Op::Refund { order, percent }),
        1 => (0..2usize).prop_map(|member| Op::RedeemReward { member }),
        1 => (0..2usize, prop_oneof![-3_000..0i64, 1..3_000i64])
            .prop_map(|(member, amount)| Op::Adjust { member, amount }),
    ]
}

#[derive(Debug, Clone)]
struct History {
    kind: &'static str,
    scope: &'static str,
    ops: Vec<Op>,
    /// How many of the accepted requests are replayed (a share, as the count is known late).
    replay: Index,
}

fn history() -> impl Strategy<Value = History> {
    (
        prop::sample::select(&common::KINDS[..]),
        prop::sample::select(&["account", "member"][..]),
        prop::collection::vec(op(), 1..20),
        any::<Index>(),
    )
        .prop_map(|(kind, scope, ops, replay)| History {
            kind,
            scope,
            ops,
            replay,
        })
}

/// One request the service accepted, with its answer.
struct Accepted {
    path: String,
    body: Value,
    answer: Value,
}

struct Company {
    program_id: String,
    account_id: String,
    members: Vec<String>,
    cards: Vec<String>,
}

async fn company(app: &TestApp, kind: &str, scope: &str, case: usize) -> Company {
    let mut body = common::program_body(kind);
    body["balance_scope"] = json!(scope);
    body["name"] = json!(format!("Case {case}"));
    let program = app.post_ok("/programs", &body, StatusCode::CREATED).await;
    let account = app.create_account(&format!("Client {case}")).await;
    let (mut members, mut cards) = (Vec::new(), Vec::new());
    for name in ["Anna Petrova", "Li Wei"] {
        let member = app.create_member(id(&account), name).await;
        let body = json!({"program_id": id(&program), "member_id": id(&member)});
        let card = app.post_ok("/cards", &body, StatusCode::CREATED).await;
        members.push(id(&member).to_owned());
        cards.push(id(&card).to_owned());
    }
    Company {
        program_id: id(&program).to_owned(),
        account_id: id(&account).to_owned(),
        members,
        cards,
    }
}

/// The request an operation makes; `orders` are the accepted orders so far.
fn request(c: &Company, op: &Op, n: usize, orders: &[(String, i64)]) -> Option<(String, Value)> {
    // Unique across the cases that share one app.
    let external_id = format!("{}-{n}", c.account_id);
    let now = Utc::now();
    Some(match op {
        Op::Order {
            member,
            amount,
            redeem,
            days_ago,
        } => {
            let placed_at = now - TimeDelta::days(*days_ago);
            let mut body = json!({
                "external_id": external_id, "account_id": c.account_id,
                "member_id": c.members[*member], "program_id": c.program_id,
                "amount_minor": amount, "currency": "EUR", "placed_at": placed_at.to_rfc3339(),
            });
            if *redeem > 0 {
                body["cashback_redeemed_minor"] = json!(redeem);
            }
            ("/orders".to_owned(), body)
        }
        Op::Refund { order, percent } => {
            if orders.is_empty() {
                return None;
            }
            let (order_id, amount) = &orders[order.index(orders.len())];
            let body = json!({"external_id": external_id, "amount_minor": (amount * percent / 100).max(1)});
            (format!("/orders/{order_id}/refunds"), body)
        }
        Op::RedeemReward { member } => (
            format!("/cards/{}/redemptions", c.cards[*member]),
            json!({"external_id": external_id, "kind": "reward"}),
        ),
        Op::Adjust { member, amount } => (
            format!("/cards/{}/adjustments", c.cards[*member]),
            json!({"external_id": external_id, "amount": amount, "author": "QA", "reason": "proptest"}),
        ),
    })
}

/// What a user can see of the company's cards: each card (balance, version, status) and
/// its history.
async fn snapshot(app: &TestApp, c: &Company) -> Vec<Value> {
    let mut seen = Vec::new();
    for card in &c.cards {
        seen.push(app.get_ok(&format!("/cards/{card}")).await);
        seen.push(app.get_ok(&format!("/cards/{card}/history")).await);
    }
    seen
}

fn check(ok: bool, what: impl FnOnce() -> String) -> Result<(), TestCaseError> {
    if ok {
        Ok(())
    } else {
        Err(TestCaseError::fail(what()))
    }
}

/// The stored state of every holder equals the full recompute from its ledger entries, and
/// every card shows it.
async fn check_recompute(
    app: &TestApp,
    store: &Store,
    c: &Company,
    scope: &str,
) -> Result<(), TestCaseError> {
    let program = store
        .get_program(&ProgramId::from_db(c.program_id.clone()))
        .await
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let ctx = Ctx {
        rules: &program.rules,
        tz: program.time_zone,
    };
    for (i, card) in c.cards.iter().enumerate() {
        let holder = if scope == "member" {
            &c.members[i]
        } else {
            &c.account_id
        };
        let fail = |e: walletcards::store::StoreError| TestCaseError::fail(e.to_string());
        let Some(state) = store
            .holder_state(&c.program_id, holder)
            .await
            .map_err(fail)?
        else {
            continue;
        };
        let rows = store
            .history(&c.program_id, holder, 0, 100_000)
            .await
            .map_err(fail)?;
        let entries = rows
            .iter()
            .map(|r| r.entry())
            .collect::<Result<Vec<_>, _>>()
            .map_err(fail)?;
        let at: DateTime<Utc> = state.as_of.unwrap_or_else(Utc::now);
        let stored = ledger::view(ctx, &state, at);
        let recomputed = ledger::recompute(ctx, &entries, at);
        check(stored == recomputed, || {
            format!("holder {holder}: stored {stored:?} ≠ recomputed {recomputed:?}")
        })?;
        let shown = app.get_ok(&format!("/cards/{card}")).await;
        let expected = serde_json::to_value(&recomputed).unwrap_or_default();
        check(shown["balance"] == expected, || {
            format!("card {card} shows {} ≠ {expected}", shown["balance"])
        })?;
    }
    Ok(())
}

async fn run_case(
    app: &TestApp,
    store: &Store,
    h: &History,
    case: usize,
) -> Result<(), TestCaseError> {
    let c = company(app, h.kind, h.scope, case).await;
    let mut accepted = Vec::new();
    let mut orders: Vec<(String, i64)> = Vec::new();
    for (n, op) in h.ops.iter().enumerate() {
        let Some((path, body)) = request(&c, op, n, &orders) else {
            continue;
        };
        let response = app.post(&path, &body).await;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        check(
            status == StatusCode::CREATED || status.is_client_error(),
            || format!("{path} {body} answered {status}: {answer}"),
        )?;
        if status == StatusCode::CREATED {
            if path == "/orders" {
                orders.push((
                    body["external_id"].as_str().unwrap_or_default().to_owned(),
                    body["amount_minor"].as_i64().unwrap_or(0),
                ));
            }
            accepted.push(Accepted { path, body, answer });
        } else {
            check(answer["error"]["field"].is_string(), || {
                format!("{path} {body}: a {status} names no field: {answer}")
            })?;
        }
        check_recompute(app, store, &c, h.scope).await?;
    }
    if accepted.is_empty() {
        return Ok(());
    }
    let before = snapshot(app, &c).await;
    let prefix = 1 + h.replay.index(accepted.len());
    for a in &accepted[..prefix] {
        let response = app.post(&a.path, &a.body).await;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        check(status == StatusCode::OK && answer == a.answer, || {
            format!(
                "replay of {} {} answered {status} {answer}, first {}",
                a.path, a.body, a.answer
            )
        })?;
    }
    let after = snapshot(app, &c).await;
    check(before == after, || {
        format!("replaying {prefix} requests changed the cards: {before:?} → {after:?}")
    })
}

fn replaying_any_prefix_changes_nothing(engine: Engine) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let app = runtime.block_on(spawn_app(engine));
    let store = runtime
        .block_on(Store::connect(&app.database_url, 2))
        .expect("store");
    let mut runner = TestRunner::new(Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&history(), |h| {
        let n = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        runtime.block_on(run_case(&app, &store, &h, n))
    });
    runtime.block_on(store.close());
    // The app stops inside its runtime.
    runtime.block_on(async move { drop(app) });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// A holder with more live cashback lots than its state keeps: most become rows, and come
/// back when a redemption, a refund or an expiry reaches them.
async fn many_lots_spill_to_rows_and_come_back(engine: Engine) {
    let app = spawn_app(engine).await;
    let store = Store::connect(&app.database_url, 2).await.expect("store");
    let c = company(&app, "cashback", "account", 0).await;
    let order = |n: usize, days_ago: i64, amount: i64, redeem: i64| {
        json!({"external_id": format!("L-{n}"), "account_id": c.account_id,
               "program_id": c.program_id, "amount_minor": amount, "currency": "EUR",
               "placed_at": (Utc::now() - TimeDelta::days(days_ago)).to_rfc3339(),
               "cashback_redeemed_minor": redeem})
    };
    // 40 lots of 3.00, placed 400, 390, … 10 days ago: the 36 of the last 365 days live.
    for n in 0..40 {
        let days_ago = 400 - i64::try_from(n).unwrap_or(0) * 10;
        app.post_ok(
            "/orders",
            &order(n, days_ago, 10_000, 0),
            StatusCode::CREATED,
        )
        .await;
    }
    let rows: Vec<(i64,)> = app.fetch("SELECT COUNT(*) FROM cashback_lots").await;
    assert!(rows[0].0 >= 19, "most lots are rows: {rows:?}");
    check_recompute(&app, &store, &c, "account")
        .await
        .expect("balance = recompute with most lots cold");
    let card = app.get_ok(&format!("/cards/{}", c.cards[0])).await;
    assert_eq!(card["balance"]["cashback_minor"], 36 * 300, "{card}");

    // A refund may reverse any lot; then redeeming everything consumes the cold lots too.
    app.post_ok(
        "/orders/L-39/refunds",
        &json!({"external_id": "R-1", "amount_minor": 10_000}),
        StatusCode::CREATED,
    )
    .await;
    check_recompute(&app, &store, &c, "account")
        .await
        .expect("after the refund");
    app.post_ok(
        "/orders",
        &order(100, 0, 1_000_000, 35 * 300),
        StatusCode::CREATED,
    )
    .await;
    check_recompute(&app, &store, &c, "account")
        .await
        .expect("after the redemption");
    let card = app.get_ok(&format!("/cards/{}", c.cards[0])).await;
    assert_eq!(
        card["balance"]["cashback_minor"],
        (1_000_000 - 35 * 300) * 3 / 100,
        "only the new order's credit is left: {card}"
    );
    store.close().await;
}

#[tokio::test]
async fn sqlite_many_lots_spill_to_rows_and_come_back() {
    many_lots_spill_to_rows_and_come_back(Engine::Sqlite).await;
}

#[tokio::test]
async fn postgres_many_lots_spill_to_rows_and_come_back() {
    many_lots_spill_to_rows_and_come_back(Engine::Postgres).await;
}

#[test]
fn sqlite_replaying_any_prefix_changes_nothing() {
    replaying_any_prefix_changes_nothing(Engine::Sqlite);
}

#[test]
fn postgres_replaying_any_prefix_changes_nothing() {
    replaying_any_prefix_changes_nothing(Engine::Postgres);
}
