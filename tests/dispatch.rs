//! The delivery loop over the real outbox with the Apple channel, on SQLite and PostgreSQL,
//! with a scripted APNs (what the wire-level fake answers is tested in the APNs client's own
//! tests): one push per device for all its changes, 410 prunes, retries back off and go on
//! until the service answers, a slow device holds up no other, refusals are dead letters that
//! come back through the admin API, a dead dispatcher's rows are taken at once and a stuck
//! one's after the lease, two dispatchers never deliver a row twice, and housekeeping deletes
//! old delivered rows only.

use crate::common;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::TimeDelta;
use common::{Engine, TestApp, id, spawn_app};
use reqwest::StatusCode;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use walletcards::jobs::apple::{Apple, KIND, PushResult, Pusher};
use walletcards::jobs::dispatch::{Dispatcher, Policy};
use walletcards::jobs::housekeeping::run_once;
use walletcards::metrics::Metrics;
use walletcards::store::{Claimer, Store, StoreError, now};

/// An APNs that answers from a script per token (then 200) and records every push; a held
/// token's pushes wait until the test lets them through.
#[derive(Default)]
struct ScriptedApns {
    script: Mutex<HashMap<String, VecDeque<PushResult>>>,
    pushes: Mutex<Vec<String>>,
    held: Mutex<HashMap<String, Arc<Semaphore>>>,
    answered: Mutex<Vec<String>>,
}

impl ScriptedApns {
    fn answer(&self, token: &str, results: impl IntoIterator<Item = PushResult>) {
        let mut script = self.script.lock().expect("lock");
        script.entry(token.into()).or_default().extend(results);
    }

    fn pushes(&self) -> Vec<String> {
        let mut p = self.pushes.lock().expect("lock").clone();
        p.sort();
        p
    }

    /// Pushes to `token` from now on wait for [`ScriptedApns::release`].
    fn hold(&self, token: &str) {
        let gate = Arc::new(Semaphore::new(0));
        self.held.lock().expect("lock").insert(token.into(), gate);
    }

    fn release(&self, token: &str) {
        if let Some(gate) = self.held.lock().expect("lock").remove(token) {
            gate.add_permits(Semaphore::MAX_PERMITS);
        }
    }

    /// How many pushes to `token` were sent, and how many were answered.
    fn count(&self, token: &str) -> (usize, usize) {
        let n = |v: &Mutex<Vec<String>>| {
            v.lock()
                .expect("lock")
                .iter()
                .filter(|t| *t == token)
                .count()
        };
        (n(&self.pushes), n(&self.answered))
    }
}

impl Pusher for ScriptedApns {
    async fn push(&self, push_token: &str) -> PushResult {
        self.pushes.lock().expect("lock").push(push_token.into());
        let gate = self.held.lock().expect("lock").get(push_token).cloned();
        if let Some(gate) = gate {
            let _ = gate.acquire().await;
        }
        self.answered.lock().expect("lock").push(push_token.into());
        let mut script = self.script.lock().expect("lock");
        script
            .get_mut(push_token)
            .and_then(VecDeque::pop_front)
            .unwrap_or(PushResult::Delivered)
    }
}

/// The Apple channel's dispatcher with `apns` as its APNs.
fn dispatcher(
    store: &Store,
    apns: &Arc<ScriptedApns>,
    policy: &Policy,
    metrics: &Arc<Metrics>,
) -> Dispatcher<Apple<Arc<ScriptedApns>>> {
    let apple = Apple {
        store: store.clone(),
        pusher: Arc::clone(apns),
        metrics: Arc::clone(metrics),
    };
    Dispatcher::new(store.clone(), apple, policy.clone(), Arc::clone(metrics))
}

/// Delivers what is due now, as one step of the loop.
async fn drain(
    store: &Store,
    apns: &Arc<ScriptedApns>,
    policy: &Policy,
    metrics: &Arc<Metrics>,
) -> Result<usize, StoreError> {
    dispatcher(store, apns, policy, metrics).drain().await
}

fn retry() -> PushResult {
    PushResult::Retry {
        reason: "InternalServerError".into(),
        retry_after: None,
    }
}

fn fast() -> Policy {
    Policy {
        retry_base: Duration::from_millis(20),
        retry_cap: Duration::from_millis(80),
        ..Policy::default()
    }
}

/// A shared cashback balance with cards A and B; device 1 holds both, device 2 holds A.
struct Setup {
    app: TestApp,
    store: Store,
    account: String,
    cards: Vec<String>,
    orders: usize,
}

async fn setup(engine: Engine) -> Setup {
    let app = spawn_app(engine).await;
    let program = app.create_program("cashback").await;
    let account = app.create_account("Acme GmbH").await;
    let mut cards = Vec::new();
    for name in ["Anna Petrova", "Li Wei"] {
        let member = app.create_member(id(&account), name).await;
        let body = json!({"program_id": id(&program), "member_id": id(&member)});
        let card = app.post_ok("/cards", &body, StatusCode::CREATED).await;
        cards.push(id(&card).to_owned());
    }
    let (a, b) = (&cards[0], &cards[1]);
    let at = "2026-11-20T10:00:00Z";
    app.execute_sql(&format!(
        "INSERT INTO devices (id, push_token, scheme, created_at, updated_at) VALUES \
         ('dev-1', 'token-1', 'ApplePass', '{at}', '{at}'), ('dev-2', 'token-2', 'ApplePass', '{at}', '{at}'); \
         INSERT INTO registrations (device_id, card_id, created_at) VALUES \
         ('dev-1', '{a}', '{at}'), ('dev-1', '{b}', '{at}'), ('dev-2', '{a}', '{at}');"
    ))
    .await;
    let store = Store::connect(&app.database_url, 4).await.expect("store");
    Setup {
        account: id(&account).to_owned(),
        app,
        store,
        cards,
        orders: 0,
    }
}

impl Setup {
    async fn order(&mut self) {
        self.orders += 1;
        let body = json!({
            "external_id": format!("D-{}", self.orders), "account_id": self.account,
            "amount_minor": 50_000, "currency": "EUR", "placed_at": "2026-11-20T10:00:00Z",
        });
        self.app
            .post_ok("/orders", &body, StatusCode::CREATED)
            .await;
    }

    /// (target, state, attempts) of every outbox row.
    async fn rows(&self) -> Vec<(String, String, i32)> {
        self.app
            .fetch("SELECT target, state, attempts FROM outbox ORDER BY id")
            .await
    }

    /// Drains until nothing is pending or `limit` passes, sleeping between passes.
    async fn drain_until_settled(&self, apns: &Arc<ScriptedApns>, policy: &Policy) {
        let metrics = Arc::new(Metrics::default());
        for _ in 0..100 {
            drain(&self.store, apns, policy, &metrics)
                .await
                .expect("drain");
            if self
                .rows()
                .await
                .iter()
                .all(|(_, state, _)| state != "pending")
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("rows still pending: {:?}", self.rows().await);
    }
}

async fn one_push_per_device_for_all_its_changes(engine: Engine) {
    let mut s = setup(engine).await;
    for _ in 0..3 {
        s.order().await;
    }
    assert_eq!(
        s.rows().await.len(),
        9,
        "3 orders × (A on 2 devices + B on 1)"
    );
    let apns = Arc::new(ScriptedApns::default());
    let metrics = Arc::new(Metrics::default());
    let handled = drain(&s.store, &apns, &fast(), &metrics)
        .await
        .expect("drain");
    assert_eq!(handled, 9);
    assert_eq!(apns.pushes(), ["token-1", "token-2"]);
    assert!(
        s.rows()
            .await
            .iter()
            .all(|(_, state, n)| state == "done" && *n == 1)
    );
    assert_eq!(metrics.deliveries("apple", "delivered"), 2);
    let again = drain(&s.store, &apns, &fast(), &metrics)
        .await
        .expect("drain");
    assert_eq!(again, 0, "nothing is delivered twice");
}

async fn an_unregistered_token_loses_its_registrations(engine: Engine) {
    let mut s = setup(engine).await;
    s.order().await;
    let apns = Arc::new(ScriptedApns::default());
    apns.answer("token-2", [PushResult::Unregistered { since: None }]);
    s.drain_until_settled(&apns, &fast()).await;
    let left: Vec<(String,)> = s
        .app
        .fetch("SELECT device_id FROM registrations ORDER BY device_id")
        .await;
    assert_eq!(left, [("dev-1".to_owned(),), ("dev-1".to_owned(),)]);
    s.order().await;
    let pending: Vec<(String,)> = s
        .app
        .fetch("SELECT target FROM outbox WHERE state = 'pending'")
        .await;
    assert!(
        pending.iter().all(|(t,)| t == "token-1"),
        "nothing more is queued for the pruned device: {pending:?}"
    );
}

async fn failures_back_off_then_deliver_once(engine: Engine) {
    let mut s = setup(engine).await;
    s.order().await;
    let apns = Arc::new(ScriptedApns::default());
    apns.answer("token-2", [retry(), retry(), retry()]);
    s.drain_until_settled(&apns, &fast()).await;
    let to_2 = apns.pushes().iter().filter(|t| *t == "token-2").count();
    assert_eq!(to_2, 4, "three failures, then the delivery");
    let rows = s.rows().await;
    assert!(rows.iter().all(|(_, state, _)| state == "done"));
    let attempts: Vec<i32> = rows
        .iter()
        .filter(|(t, _, _)| t == "token-2")
        .map(|r| r.2)
        .collect();
    assert_eq!(attempts, [4]);
}

async fn dead_letters_are_listed_and_retried_by_admins(engine: Engine) {
    let mut s = setup(engine).await;
    s.order().await;
    let apns = Arc::new(ScriptedApns::default());
    let refused = PushResult::Rejected {
        reason: "403 InvalidProviderToken".into(),
    };
    apns.answer("token-2", [refused]);
    apns.answer("token-1", [PushResult::BadDeviceToken]);
    let policy = fast();
    s.drain_until_settled(&apns, &policy).await;
    let dead = s.app.get_ok("/outbox/dead").await;
    let items = dead["items"].as_array().expect("items");
    assert_eq!(items.len(), 3, "{dead}");
    let errors: Vec<&str> = items
        .iter()
        .map(|d| d["last_error"].as_str().unwrap_or(""))
        .collect();
    assert!(errors.contains(&"400 BadDeviceToken") && errors.contains(&"403 InvalidProviderToken"));
    let kept: Vec<(String,)> = s
        .app
        .fetch("SELECT device_id FROM registrations WHERE device_id = 'dev-1'")
        .await;
    assert_eq!(kept.len(), 2, "BadDeviceToken prunes nothing");

    for item in items {
        let id = item["id"].as_i64().expect("id");
        s.app
            .post_ok(&format!("/outbox/{id}/retry"), &json!({}), StatusCode::OK)
            .await;
    }
    let missing = s.app.post("/outbox/999999/retry", &json!({})).await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    s.drain_until_settled(&apns, &policy).await;
    assert!(s.rows().await.iter().all(|(_, state, _)| state == "done"));
    assert_eq!(
        s.app.get_ok("/outbox/dead").await["items"],
        json!([]),
        "no dead letters left"
    );
}

/// Claims every due row as `claimer`, through `store`, for a minute.
async fn claim_as(store: &Store, claimer: Claimer) -> usize {
    let claimed = store
        .claim_deliveries(KIND, claimer, now(), TimeDelta::seconds(60), 100)
        .await
        .expect("claim");
    claimed.len()
}

async fn a_live_dispatchers_rows_wait_for_it_until_its_lease_runs_out(engine: Engine) {
    let mut s = setup(engine).await;
    s.order().await;
    let apns = Arc::new(ScriptedApns::default());
    let metrics = Arc::new(Metrics::default());
    // This process holds the rows (a delivery under way, or stuck).
    assert_eq!(claim_as(&s.store, Claimer::this_process()).await, 3);
    let during = drain(&s.store, &apns, &fast(), &metrics)
        .await
        .expect("drain");
    assert_eq!(during, 0, "leased rows are not taken");
    s.app
        .execute_sql("UPDATE outbox SET locked_until = '2026-01-01T00:00:00Z'")
        .await;
    let after = drain(&s.store, &apns, &fast(), &metrics)
        .await
        .expect("drain");
    assert_eq!(after, 3, "the lease ran out");
    assert_eq!(apns.pushes(), ["token-1", "token-2"]);
}

async fn a_dead_dispatchers_rows_are_taken_at_once(engine: Engine) {
    let mut s = setup(engine).await;
    s.order().await;
    let apns = Arc::new(ScriptedApns::default());
    let metrics = Arc::new(Metrics::default());
    // Another process claims the rows for a minute and dies before it delivers them.
    let other = Store::connect(&s.app.database_url, 2).await.expect("store");
    assert_eq!(claim_as(&other, Claimer::random()).await, 3);
    if engine == Engine::Postgres {
        // While it lives (its connection holds its lock), its rows are its own.
        let during = drain(&s.store, &apns, &fast(), &metrics)
            .await
            .expect("drain");
        assert_eq!(during, 0, "a live process's rows are not taken");
    }
    // On SQLite another claimer is an earlier run of this process: dead already.
    other.close().await;
    let after = drain(&s.store, &apns, &fast(), &metrics)
        .await
        .expect("drain");
    assert_eq!(after, 3, "taken without waiting for the lease");
    assert_eq!(apns.pushes(), ["token-1", "token-2"]);
}

async fn a_slow_device_holds_up_no_other(engine: Engine) {
    let mut s = setup(engine).await;
    let apns = Arc::new(ScriptedApns::default());
    apns.hold("token-1");
    let metrics = Arc::new(Metrics::default());
    // The loop as `serve` runs it; the app's commits wake only the app's own dispatchers, so
    // this one looks every 20 ms.
    let policy = Policy {
        poll: Duration::from_millis(20),
        ..fast()
    };
    let looping = Arc::new(dispatcher(&s.store, &apns, &policy, &metrics));
    let stop = CancellationToken::new();
    let running = tokio::spawn(Arc::clone(&looping).run(stop.clone()));
    s.order().await;
    common::eventually(
        "both devices were pushed",
        Duration::from_secs(15),
        async || apns.count("token-1").0 == 1 && apns.count("token-2").1 == 1,
    )
    .await;
    // Device 1 has not answered; a second change reaches device 2 all the same.
    s.order().await;
    common::eventually(
        "device 2 got the second change",
        Duration::from_secs(15),
        async || apns.count("token-2").1 == 2,
    )
    .await;
    assert_eq!(
        apns.count("token-1"),
        (1, 0),
        "device 1 is still answering the first push"
    );

    apns.release("token-1");
    common::eventually(
        "every change is delivered",
        Duration::from_secs(15),
        async || s.rows().await.iter().all(|(_, state, _)| state == "done"),
    )
    .await;
    assert_eq!(
        apns.count("token-1"),
        (2, 2),
        "its waiting changes went next, in one push"
    );
    stop.cancel();
    running.await.expect("the loop stops");
}

async fn an_outage_is_retried_until_it_ends_and_merged_changes_keep_their_own_attempts(
    engine: Engine,
) {
    let mut s = setup(engine).await;
    let apns = Arc::new(ScriptedApns::default());
    // Longer than any attempt limit would allow: 12 failures, then 20 more.
    apns.answer("token-2", std::iter::repeat_n(retry(), 12));
    s.order().await;
    let metrics = Arc::new(Metrics::default());
    let policy = fast();
    while apns.count("token-2").1 < 12 {
        drain(&s.store, &apns, &policy, &metrics)
            .await
            .expect("drain");
        tokio::time::sleep(Duration::from_millis(10)).await; // the next retry's back-off
    }
    // A second change while the service is still down, merged with the first.
    s.order().await;
    apns.answer("token-2", std::iter::repeat_n(retry(), 20));
    s.drain_until_settled(&apns, &policy).await;

    assert_eq!(
        apns.count("token-2").1,
        12 + 20 + 1,
        "retried until it answered"
    );
    let dead: Vec<(i64,)> = s
        .app
        .fetch("SELECT id FROM outbox WHERE state = 'dead'")
        .await;
    assert!(
        dead.is_empty(),
        "a transient failure is never a dead letter"
    );
    assert_eq!(metrics.deliveries("apple", "dead"), 0);
    let attempts: Vec<i32> = s
        .rows()
        .await
        .into_iter()
        .filter(|(t, _, _)| t == "token-2")
        .map(|(_, _, n)| n)
        .collect();
    assert_eq!(
        attempts.len(),
        2,
        "both changes were delivered: {attempts:?}"
    );
    assert!(
        attempts[1] < attempts[0],
        "the later change counts only its own attempts: {attempts:?}"
    );
}

async fn two_dispatchers_never_deliver_a_row_twice(engine: Engine) {
    let mut s = setup(engine).await;
    let mut sql = String::new();
    let at = "2026-11-20T10:00:00Z";
    for d in 0..60 {
        sql.push_str(&format!(
            "INSERT INTO devices (id, push_token, scheme, created_at, updated_at) VALUES ('many-{d}', 'many-token-{d}', 'ApplePass', '{at}', '{at}'); \
             INSERT INTO registrations (device_id, card_id, created_at) VALUES ('many-{d}', '{}', '{at}');",
            s.cards[1]
        ));
    }
    s.app.execute_sql(&sql).await;
    for _ in 0..10 {
        s.order().await;
    }
    let rows = s.rows().await.len();
    assert_eq!(rows, 10 * (3 + 60));
    let other = Store::connect(&s.app.database_url, 4).await.expect("store");
    let apns = Arc::new(ScriptedApns::default());
    let (m1, m2) = (Arc::new(Metrics::default()), Arc::new(Metrics::default()));
    let small = Policy { batch: 7, ..fast() };
    let (a, b) = tokio::join!(
        drain(&s.store, &apns, &small, &m1),
        drain(&other, &apns, &small, &m2)
    );
    assert_eq!(a.expect("drain") + b.expect("drain"), rows);
    let states = s.rows().await;
    assert!(
        states
            .iter()
            .all(|(_, state, n)| state == "done" && *n == 1),
        "every row claimed once"
    );
    let pushes = apns.pushes();
    let mut tokens = pushes.clone();
    tokens.dedup();
    assert_eq!(tokens.len(), 62, "every device got its push");
    assert!(pushes.len() <= rows);
    other.close().await;
}

async fn old_deliveries_are_trimmed_but_dead_letters_and_pending_rows_stay(engine: Engine) {
    let mut s = setup(engine).await;
    s.order().await;
    let apns = Arc::new(ScriptedApns::default());
    apns.answer("token-2", [PushResult::BadDeviceToken]);
    s.drain_until_settled(&apns, &fast()).await;
    s.order().await;
    let states = |rows: Vec<(String, String, i32)>| {
        let mut states: Vec<String> = rows.into_iter().map(|(_, state, _)| state).collect();
        states.sort();
        states
    };
    let before = states(s.rows().await);
    assert_eq!(
        before,
        ["dead", "done", "done", "pending", "pending", "pending"],
        "a delivered order, a dead letter and a queued order"
    );
    let metrics = s.app.metrics().await;
    for line in [
        "walletcards_outbox_pending 3",
        "walletcards_outbox_due 3",
        "walletcards_outbox_dead 1",
    ] {
        assert!(metrics.contains(line), "{line} in {metrics}");
    }

    let keep = 400;
    let trimmed = |days_later: i64| {
        let store = s.store.clone();
        async move {
            run_once(&store, now() + TimeDelta::days(days_later), keep)
                .await
                .expect("housekeeping")
        }
    };
    assert_eq!(trimmed(keep as i64 - 1).await.deliveries, 0);
    assert_eq!(states(s.rows().await), before, "nothing is old enough yet");
    assert_eq!(
        run_once(&s.store, now() + TimeDelta::days(10_000), 0)
            .await
            .expect("housekeeping")
            .deliveries,
        0,
        "0 keeps deliveries for ever"
    );
    assert_eq!(trimmed(keep as i64 + 1).await.deliveries, 2);
    assert_eq!(
        states(s.rows().await),
        ["dead", "pending", "pending", "pending"],
        "dead letters wait for an admin, queued rows for delivery"
    );

    let object = "3388000000022222222.card";
    let store = &s.store;
    store
        .record_google_notification(object, now() - TimeDelta::hours(30))
        .await
        .expect("old notification");
    store
        .record_google_notification("3388000000022222222.other", now() - TimeDelta::hours(2))
        .await
        .expect("recent notification");
    assert_eq!(trimmed(0).await.notifications, 1);
    let since = now() - TimeDelta::days(3);
    assert_eq!(
        store
            .google_notifications_since(object, since)
            .await
            .expect("count"),
        0
    );
}

on_both_engines!(
    old_deliveries_are_trimmed_but_dead_letters_and_pending_rows_stay,
    one_push_per_device_for_all_its_changes,
    an_unregistered_token_loses_its_registrations,
    failures_back_off_then_deliver_once,
    dead_letters_are_listed_and_retried_by_admins,
    a_live_dispatchers_rows_wait_for_it_until_its_lease_runs_out,
    a_dead_dispatchers_rows_are_taken_at_once,
    a_slow_device_holds_up_no_other,
    an_outage_is_retried_until_it_ends_and_merged_changes_keep_their_own_attempts,
    two_dispatchers_never_deliver_a_row_twice,
);
