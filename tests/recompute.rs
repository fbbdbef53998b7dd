//! Time alone changes balances: a rolling window lets old spend go, and the scheduled
//! recompute finds exactly the holders whose change is due, versions their cards, and then
//! has nothing left to do.

use crate::common;

use chrono::{TimeDelta, Utc};
use common::{Engine, id, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use walletcards::jobs::recompute::run_once;
use walletcards::store::Store;

async fn a_rolling_window_moves_without_an_order(engine: Engine) {
    let app = spawn_app(engine).await;
    let mut program = common::program_body("cumulative_discount");
    program["rules"]["window"] = json!({"rolling_days": 1});
    let (_, account, card) = app.issue_card_of(&program).await;
    let placed_at = (Utc::now() - TimeDelta::hours(23)).to_rfc3339();
    let order = json!({"external_id": "W-1", "account_id": id(&account), "amount_minor": 1_000_000,
                       "currency": "EUR", "placed_at": placed_at});
    app.post_ok("/orders", &order, StatusCode::CREATED).await;
    let before = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(before["balance"]["tier"], "Silver");

    let store = Store::connect(&app.database_url, 2).await.expect("store");
    let nothing_due = run_once(&store, Utc::now()).await.expect("recompute");
    assert_eq!(nothing_due.holders, 0, "nothing is due yet");
    let later = run_once(&store, Utc::now() + TimeDelta::hours(2))
        .await
        .expect("recompute");
    assert_eq!((later.holders, later.cards), (1, 1));
    let after = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(after["balance"]["tier"], "Base");
    assert_eq!(after["balance"]["spend_minor"], 0);
    assert_eq!(
        after["version"].as_i64(),
        before["version"].as_i64().map(|v| v + 1)
    );
    let again = run_once(&store, Utc::now() + TimeDelta::hours(3))
        .await
        .expect("recompute");
    assert_eq!(again.holders, 0, "the moved window is not visited twice");
    store.close().await;
}

on_both_engines!(a_rolling_window_moves_without_an_order);
