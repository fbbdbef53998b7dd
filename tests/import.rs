//! `walletcards import-orders`, run as the built binary against a test app's database: good
//! rows are booked and bad ones reported by row, line and field; a re-run, or an import of
//! orders the API already booked, counts nothing twice; a bad header books nothing; quoted
//! fields may hold commas and newlines — on SQLite and on PostgreSQL.

use crate::common;

use std::process::Stdio;

use chrono::{TimeDelta, Utc};
use common::{Engine, Run, TestApp, id, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

/// Runs `walletcards import-orders` on `csv` (from a file, or from stdin with `-`) with the
/// app's database and nothing else of the caller's configuration.
async fn import(app: &TestApp, csv: &str, args: &[&str]) -> Run {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("orders.csv");
    std::fs::write(&file, csv).expect("write csv");
    let from_stdin = args.contains(&"-");
    let mut command = app.command();
    command.arg("import-orders").args(args);
    if !from_stdin {
        command.arg(&file);
    }
    let mut child = command
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().expect("stdin");
    if from_stdin {
        stdin.write_all(csv.as_bytes()).await.expect("write stdin");
    }
    drop(stdin);
    child
        .wait_with_output()
        .await
        .expect("the binary runs")
        .into()
}

fn json_of(run: &Run) -> Value {
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

/// Yesterday, as RFC 3339 with an offset.
fn yesterday() -> String {
    (Utc::now() - TimeDelta::days(1)).to_rfc3339()
}

/// A cashback card (3 % from 100.00 EUR, account scope); returns it and its account id.
async fn cashback_card(app: &TestApp) -> (Value, String) {
    let card = app.issue_card("cashback").await;
    let account = card["account_id"].as_str().expect("account_id").to_owned();
    (card, account)
}

async fn cashback(app: &TestApp, card: &Value) -> i64 {
    let shown = app.get_ok(&format!("/cards/{}", id(card))).await;
    shown["balance"]["cashback_minor"]
        .as_i64()
        .expect("cashback balance")
}

fn mixed_file(account: &str, at: &str) -> String {
    format!(
        "external_id,account_id,amount_minor,currency,placed_at\n\
         I-1,{account},100000,EUR,{at}\n\
         I-2,{account},12.50,EUR,{at}\n\
         I-3,{account},50000,USD,{at}\n\
         I-4,{account},50000,EUR\n\
         I-5,acc_unknown,50000,EUR,{at}\n\
         I-6,{account},200000,EUR,{at}\n"
    )
}

async fn a_file_with_bad_rows_books_the_good_ones_and_names_the_bad(engine: Engine) {
    let app = spawn_app(engine).await;
    let (card, account) = cashback_card(&app).await;
    let run = import(&app, &mixed_file(&account, &yesterday()), &[]).await;
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    for expected in [
        "row 2 (line 3): amount_minor: must be a whole number of minor units, not `12.50` [invalid_field]",
        "row 3 (line 4): currency: ",
        "[currency_mismatch]",
        "row 4 (line 5): placed_at: the row has 4 fields but the header has 5 [malformed_row]",
        "row 5 (line 6): account_id: account not found [not_found]",
        "booked 2, duplicate 0, rejected 4",
    ] {
        assert!(
            run.stdout.contains(expected),
            "{expected:?} in {}",
            run.stdout
        );
    }
    assert_eq!(
        cashback(&app, &card).await,
        9_000,
        "3 % of 1000.00 + 2000.00"
    );
}

async fn re_running_a_file_books_nothing_twice(engine: Engine) {
    let app = spawn_app(engine).await;
    let (card, account) = cashback_card(&app).await;
    let file = mixed_file(&account, &yesterday());
    let first = json_of(&import(&app, &file, &["--json"]).await);
    assert_eq!(
        (&first["booked"], &first["rejected"]),
        (&json!(2), &json!(4))
    );
    let again = import(&app, &file, &["--json"]).await;
    assert_eq!(again.code, Some(2));
    let again = json_of(&again);
    assert_eq!(again["booked"], 0);
    assert_eq!(again["duplicate"], 2);
    assert_eq!(
        again["errors"], first["errors"],
        "the same rows are refused"
    );
    assert_eq!(cashback(&app, &card).await, 9_000);
}

async fn an_order_the_api_booked_is_a_duplicate_and_a_changed_one_a_conflict(engine: Engine) {
    let app = spawn_app(engine).await;
    let (card, account) = cashback_card(&app).await;
    let placed_at = Utc::now() - TimeDelta::days(2);
    for external_id in ["W-1", "W-2"] {
        let order = json!({"external_id": external_id, "account_id": account,
            "amount_minor": 100_000, "currency": "EUR", "placed_at": placed_at.to_rfc3339()});
        app.post_ok("/orders", &order, StatusCode::CREATED).await;
    }
    // The same instant in another offset is the same order.
    let local = placed_at.with_timezone(&chrono::FixedOffset::east_opt(3600).expect("offset"));
    let file = format!(
        "account_id,external_id,amount_minor,currency,placed_at,source\n\
         {account},W-1,100000,EUR,{},\n\
         {account},W-2,100001,EUR,{},erp\n",
        local.to_rfc3339(),
        placed_at.to_rfc3339()
    );
    let run = import(&app, &file, &["-"]).await;
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    assert!(
        run.stdout.contains("row 2 (line 3): external_id: ")
            && run.stdout.contains("[idempotency_conflict]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("booked 0, duplicate 1, rejected 1"));
    assert_eq!(cashback(&app, &card).await, 6_000);
}

async fn a_bad_header_is_refused_before_any_row_is_booked(engine: Engine) {
    let app = spawn_app(engine).await;
    let (card, account) = cashback_card(&app).await;
    let at = yesterday();
    let typo = format!(
        "external_id,account_id,amount_minor,currency,placed_at,amount\n\
         H-1,{account},100000,EUR,{at},1\n"
    );
    let run = import(&app, &typo, &[]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr
            .contains("error: unknown column `amount` (column 6); the columns are: external_id,"),
        "{}",
        run.stderr
    );
    let no_account = format!("external_id,amount_minor,currency,placed_at\nH-2,100000,EUR,{at}\n");
    let run = import(&app, &no_account, &[]).await;
    assert_eq!(run.code, Some(1));
    assert!(
        run.stderr.contains("`account_id` or `account_external_id`"),
        "{}",
        run.stderr
    );
    let empty = import(&app, "", &[]).await;
    assert_eq!(empty.code, Some(1));
    assert!(
        empty.stderr.contains("the file has no header row"),
        "{}",
        empty.stderr
    );
    assert_eq!(cashback(&app, &card).await, 0, "nothing was booked");
}

async fn quoted_fields_keep_commas_and_newlines_and_lines_stay_right(engine: Engine) {
    let app = spawn_app(engine).await;
    let (card, account) = cashback_card(&app).await;
    let at = yesterday();
    let file = format!(
        "external_id,account_id,amount_minor,currency,placed_at\n\
         \"Q-1, part \"\"a\"\"\nsecond line\",{account},100000,EUR,{at}\n\
         Q-2,{account},ten,EUR,{at}\n\
         Q-3,\"{account}\",\"200000\",EUR,\"{at}\"\n"
    );
    let run = import(&app, &file, &["--json"]).await;
    assert_eq!(run.code, Some(2), "stderr: {}", run.stderr);
    let summary = json_of(&run);
    assert_eq!(
        (&summary["booked"], &summary["rejected"]),
        (&json!(2), &json!(1))
    );
    let error = &summary["errors"][0];
    assert_eq!((&error["row"], &error["line"]), (&json!(2), &json!(4)));
    assert_eq!(error["field"], "amount_minor");
    assert_eq!(cashback(&app, &card).await, 9_000);
    let same = json!({"external_id": "Q-1, part \"a\"\nsecond line", "account_id": account,
        "amount_minor": 100_000, "currency": "EUR", "placed_at": at});
    app.post_ok("/orders", &same, StatusCode::OK).await;
}

on_both_engines!(
    a_file_with_bad_rows_books_the_good_ones_and_names_the_bad,
    re_running_a_file_books_nothing_twice,
    an_order_the_api_booked_is_a_duplicate_and_a_changed_one_a_conflict,
    a_bad_header_is_refused_before_any_row_is_booked,
    quoted_fields_keep_commas_and_newlines_and_lines_stay_right,
);
