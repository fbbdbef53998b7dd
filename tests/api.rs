//! The admin API through real HTTP, on SQLite and on PostgreSQL: programs of every kind,
//! companies, decision-makers and cards, and every kind of bad input leaving nothing behind.

use crate::common;

use common::{Engine, KINDS, TestApp, assert_status, id, program_body, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    design_images_are_served_at_content_hashed_urls,
    programs_of_every_kind_are_created_and_read_back,
    rules_that_break_the_loyalty_rules_are_rejected_naming_the_field,
    requests_without_a_valid_api_key_are_refused,
    malformed_oversized_and_non_json_bodies_get_their_status_and_store_nothing,
    a_card_is_issued_once_per_member_and_program,
    a_member_of_another_account_cannot_get_a_card_through_it,
    cards_are_found_by_their_barcode_code_as_staff_type_it,
    suspension_can_be_undone_but_revocation_is_final,
    program_changes_give_its_cards_a_new_version_and_immutable_fields_stay,
    companies_and_decision_makers_are_validated_and_unique_where_it_matters,
    health_readiness_metrics_and_the_openapi_document_are_served,
    a_list_cursor_with_a_control_character_is_a_bad_query,
);

async fn count(app: &TestApp, path: &str) -> usize {
    app.get_ok(path).await["items"]
        .as_array()
        .map_or(0, Vec::len)
}

async fn programs_of_every_kind_are_created_and_read_back(engine: Engine) {
    let app = spawn_app(engine).await;
    for kind in KINDS {
        let created = app.create_program(kind).await;
        assert_eq!(created["kind"], kind);
        assert_eq!(created["status"], "active");
        assert_eq!(created["design"], "default");
        let read = app.get_ok(&format!("/programs/{}", id(&created))).await;
        assert_eq!(read, created);
    }
    let page = app.get_ok("/programs?limit=3").await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(3));
    let after = page["next_after"].as_str().expect("a second page");
    assert_eq!(count(&app, &format!("/programs?after={after}")).await, 1);
}

async fn rules_that_break_the_loyalty_rules_are_rejected_naming_the_field(engine: Engine) {
    let app = spawn_app(engine).await;
    let with = |kind: &str, patch: Value| {
        let mut body = program_body(kind);
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (with("discount", json!({"kind": "points"})), "kind"),
        (
            with("discount", json!({"rules": {"percent_bps": 10_001}})),
            "rules.percent_bps",
        ),
        (
            with("discount", json!({"rules": {"percent_bps": "five"}})),
            "rules.percent_bps",
        ),
        (
            with(
                "cumulative_discount",
                json!({"rules": {"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
            {"name": "Gold", "min_spend_minor": 0, "percent_bps": 700}]}}),
            ),
            "rules.tiers[1].min_spend_minor",
        ),
        (
            with(
                "cumulative_discount",
                json!({"rules": {"tiers": [
            {"name": "Base", "min_spend_minor": 0, "percent_bps": 500},
            {"name": "Silver", "min_spend_minor": 100, "percent_bps": 300}]}}),
            ),
            "rules.tiers[1].percent_bps",
        ),
        (
            with(
                "stamp",
                json!({"rules": {"stamps_required": 51, "reward": "x"}}),
            ),
            "rules.stamps_required",
        ),
        (
            with("stamp", json!({"rules": {"stamps_required": 5}})),
            "rules.reward",
        ),
        (
            with(
                "cashback",
                json!({"rules": {"percent_bps": 300, "max_redeem_share_bps": 20_000}}),
            ),
            "rules.max_redeem_share_bps",
        ),
        (with("discount", json!({"currency": "EURO"})), "currency"),
        (
            with("discount", json!({"time_zone": "Mars/Olympus"})),
            "time_zone",
        ),
        (
            with("discount", json!({"balance_scope": "team"})),
            "balance_scope",
        ),
        (with("discount", json!({"design": "missing"})), "design"),
        (
            with(
                "discount",
                json!({"branding": {"background_color": "blue"}}),
            ),
            "branding.background_color",
        ),
        (with("discount", json!({"name": "  "})), "name"),
    ];
    for (body, field) in cases {
        let error = app
            .post_ok("/programs", &body, StatusCode::UNPROCESSABLE_ENTITY)
            .await;
        assert_eq!(error["error"]["field"], field, "{error}");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|m| !m.is_empty())
        );
    }
    let mut missing = program_body("discount");
    missing.as_object_mut().expect("object").remove("currency");
    let error = app
        .post_ok("/programs", &missing, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(
        (
            error["error"]["code"].as_str(),
            error["error"]["field"].as_str()
        ),
        (Some("missing_field"), Some("currency"))
    );
    assert_eq!(count(&app, "/programs").await, 0, "nothing was stored");
}

async fn requests_without_a_valid_api_key_are_refused(engine: Engine) {
    let app = spawn_app(engine).await;
    let url = app.url("/programs");
    let no_key = app.client.get(&url).send().await.expect("request");
    assert_eq!(no_key.status(), StatusCode::UNAUTHORIZED);
    let (key_id, _) = app.admin_key.split_once('.').expect("id.secret");
    for token in [
        format!("{key_id}.wrong-secret"),
        "garbage".to_owned(),
        format!("{key_id}."),
    ] {
        let r = app
            .client
            .get(&url)
            .bearer_auth(&token)
            .send()
            .await
            .expect("request");
        let body = assert_status(r, StatusCode::UNAUTHORIZED).await;
        assert_eq!(body["error"]["code"], "unauthorized");
    }
    let created = app
        .client
        .post(&url)
        .bearer_auth("nope")
        .json(&program_body("discount"))
        .send()
        .await
        .expect("request");
    assert_eq!(created.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(count(&app, "/programs").await, 0);
}

async fn malformed_oversized_and_non_json_bodies_get_their_status_and_store_nothing(
    engine: Engine,
) {
    let app = spawn_app(engine).await;
    let send = |body: String, content_type: &'static str| {
        app.client
            .post(app.url("/programs"))
            .bearer_auth(&app.admin_key)
            .header("content-type", content_type)
            .body(body)
            .send()
    };
    let malformed = assert_status(
        send("{\"name\": ".into(), "application/json")
            .await
            .expect("request"),
        StatusCode::BAD_REQUEST,
    )
    .await;
    assert_eq!(malformed["error"]["code"], "malformed_json");
    let huge = json!({"name": "x".repeat(100 * 1024)}).to_string();
    let too_big = assert_status(
        send(huge, "application/json").await.expect("request"),
        StatusCode::PAYLOAD_TOO_LARGE,
    )
    .await;
    assert_eq!(too_big["error"]["code"], "body_too_large");
    let form = send("name=x".into(), "application/x-www-form-urlencoded")
        .await
        .expect("request");
    assert_eq!(form.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let unknown = assert_status(app.get("/no-such-thing").await, StatusCode::NOT_FOUND).await;
    assert_eq!(unknown["error"]["code"], "not_found");
    let delete = app
        .client
        .delete(app.url("/programs"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .expect("request");
    let wrong_method = assert_status(delete, StatusCode::METHOD_NOT_ALLOWED).await;
    assert_eq!(wrong_method["error"]["code"], "method_not_allowed");
    assert_eq!(count(&app, "/programs").await, 0);
}

async fn a_card_is_issued_once_per_member_and_program(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cashback").await;
    assert_eq!(card["status"], "active");
    assert_eq!(card["version"], 1);
    assert_eq!(card["balance"]["cashback_minor"], 0);
    let code = card["code"].as_str().expect("code");
    assert_eq!(code.len(), 14, "XXXX-XXXX-XXXX");
    assert_ne!(
        code.replace('-', ""),
        card["serial"].as_str().expect("serial")
    );
    let again = json!({"program_id": card["program_id"], "member_id": card["member_id"]});
    let conflict = app.post_ok("/cards", &again, StatusCode::CONFLICT).await;
    assert_eq!(
        (
            conflict["error"]["code"].as_str(),
            conflict["error"]["field"].as_str()
        ),
        (Some("card_exists"), Some("member_id"))
    );
    let unchanged = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(unchanged["version"], 1);
    let unknown = json!({"program_id": card["program_id"], "member_id": "mem_00000000000000000000000000000000"});
    let missing = app.post_ok("/cards", &unknown, StatusCode::NOT_FOUND).await;
    assert_eq!(missing["error"]["field"], "member_id");
}

async fn a_member_of_another_account_cannot_get_a_card_through_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let program = app.create_program("stamp").await;
    let acme = app.create_account("Acme").await;
    let other = app.create_account("Other Ltd").await;
    let member = app.create_member(id(&other), "Boris Ivanov").await;
    let wrong =
        json!({"program_id": id(&program), "member_id": id(&member), "account_id": id(&acme)});
    let error = app
        .post_ok("/cards", &wrong, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(error["error"]["code"], "member_not_in_account");
    let right =
        json!({"program_id": id(&program), "member_id": id(&member), "account_id": id(&other)});
    // Succeeds, so the refused request left no card behind (a second card would be a 409).
    app.post_ok("/cards", &right, StatusCode::CREATED).await;
}

async fn cards_are_found_by_their_barcode_code_as_staff_type_it(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("discount").await;
    let code = card["code"].as_str().expect("code");
    for typed in [code.to_owned(), code.to_lowercase(), code.replace('-', " ")] {
        let found = app
            .get_ok(&format!("/cards/by-code/{}", typed.replace(' ', "%20")))
            .await;
        assert_eq!(found["id"], card["id"]);
        assert_eq!(found["face"]["secondary"][0]["value"], "Anna Petrova");
        assert_eq!(found["face"]["secondary"][1]["value"], "Acme GmbH");
    }
    assert_eq!(
        app.get("/cards/by-code/0000-0000-0000").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/cards/by-code/not-a-code").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn suspension_can_be_undone_but_revocation_is_final(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("discount").await;
    let path = |action: &str| format!("/cards/{}/{action}", id(&card));
    let suspended = app
        .post_ok(&path("suspend"), &json!({}), StatusCode::OK)
        .await;
    assert_eq!(
        (suspended["status"].as_str(), suspended["version"].as_i64()),
        (Some("suspended"), Some(2))
    );
    assert_eq!(suspended["face"]["header"][0]["value"], "Suspended");
    assert!(
        suspended["updated_at"].as_str() > card["updated_at"].as_str(),
        "Last-Modified moves on"
    );
    let active = app
        .post_ok(&path("reactivate"), &json!({}), StatusCode::OK)
        .await;
    assert_eq!(active["status"], "active");
    let revoked = app
        .post_ok(&path("revoke"), &json!({}), StatusCode::OK)
        .await;
    assert_eq!(revoked["status"], "revoked");
    let refused = app
        .post_ok(&path("reactivate"), &json!({}), StatusCode::CONFLICT)
        .await;
    assert_eq!(refused["error"]["code"], "invalid_status_change");
    assert_eq!(
        app.get_ok(&format!("/cards/{}", id(&card))).await["status"],
        "revoked"
    );
}

async fn program_changes_give_its_cards_a_new_version_and_immutable_fields_stay(engine: Engine) {
    let app = spawn_app(engine).await;
    let card = app.issue_card("cumulative_discount").await;
    let program_path = format!(
        "/programs/{}",
        card["program_id"].as_str().expect("program")
    );
    let r = app.patch(&program_path, &json!({"kind": "stamp"})).await;
    let error = assert_status(r, StatusCode::UNPROCESSABLE_ENTITY).await;
    assert_eq!(
        (
            error["error"]["code"].as_str(),
            error["error"]["field"].as_str()
        ),
        (Some("immutable_field"), Some("kind"))
    );
    let r = app
        .patch(&program_path, &json!({"rules": {"tiers": []}}))
        .await;
    assert_eq!(
        assert_status(r, StatusCode::UNPROCESSABLE_ENTITY).await["error"]["field"],
        "rules.tiers"
    );
    assert_eq!(
        app.get_ok(&format!("/cards/{}", id(&card))).await["version"],
        1,
        "refused changes touch no card"
    );
    let r = app
        .patch(
            &program_path,
            &json!({"name": "Partner Plus", "branding": {"logo_text": "Acme"}}),
        )
        .await;
    let program = assert_status(r, StatusCode::OK).await;
    assert_eq!(program["name"], "Partner Plus");
    let after = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(after["version"], 2);
    assert_eq!(after["face"]["back"][1]["value"], "Partner Plus");
    let r = app.patch(&program_path, &json!({"status": "ended"})).await;
    assert_eq!(assert_status(r, StatusCode::OK).await["status"], "ended");
    let unchanged = app.get_ok(&format!("/cards/{}", id(&card))).await;
    assert_eq!(
        unchanged["version"], 2,
        "the status of a program is not on its cards"
    );
    let member = app
        .create_member(card["account_id"].as_str().expect("account"), "Boris")
        .await;
    let late = json!({"program_id": card["program_id"], "member_id": id(&member)});
    let refused = app
        .post_ok("/cards", &late, StatusCode::UNPROCESSABLE_ENTITY)
        .await;
    assert_eq!(refused["error"]["code"], "program_ended");
}

async fn companies_and_decision_makers_are_validated_and_unique_where_it_matters(engine: Engine) {
    let app = spawn_app(engine).await;
    let acme = app
        .post_ok(
            "/accounts",
            &json!({"name": "Acme", "external_id": "C-1"}),
            StatusCode::CREATED,
        )
        .await;
    let dup = app
        .post_ok(
            "/accounts",
            &json!({"name": "Acme 2", "external_id": "C-1"}),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(dup["error"]["field"], "external_id");
    let members = format!("/accounts/{}/members", id(&acme));
    let bad = app
        .post_ok(
            &members,
            &json!({"name": "A", "email": "not-an-email"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(bad["error"]["field"], "email");
    let bad = app
        .post_ok(
            &members,
            &json!({"name": "A", "phone": "call me"}),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    assert_eq!(bad["error"]["field"], "phone");
    app.post_ok(
        &members,
        &json!({"name": "Anna", "email": "anna@acme.test"}),
        StatusCode::CREATED,
    )
    .await;
    let dup = app
        .post_ok(
            &members,
            &json!({"name": "Anna 2", "email": "ANNA@acme.test "}),
            StatusCode::CONFLICT,
        )
        .await;
    assert_eq!(dup["error"]["field"], "email");
    assert_eq!(count(&app, &members).await, 1);
    assert_eq!(count(&app, "/accounts").await, 1);
    let other = app.create_account("Other").await;
    let same_email_elsewhere = json!({"name": "Anna", "email": "anna@acme.test"});
    app.post_ok(
        &format!("/accounts/{}/members", id(&other)),
        &same_email_elsewhere,
        StatusCode::CREATED,
    )
    .await;
    assert_eq!(
        app.get("/accounts/acc_nope/members").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn design_images_are_served_at_content_hashed_urls(engine: Engine) {
    use sha1::{Digest, Sha1};
    let app = spawn_app(engine).await;
    let logo = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/pass_templates/default/logo@2x.png"
    ))
    .expect("the default logo");
    let hash = hex::encode(Sha1::digest(&logo));
    let r = app
        .client
        .get(format!("{}/images/{hash}.png", app.base))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .is_ok_and(|v| v.contains("immutable"))
    );
    assert_eq!(r.bytes().await.expect("body").as_ref(), logo.as_slice());
    for missing in [
        "0000000000000000000000000000000000000000.png".to_owned(),
        format!("{hash}.jpg"),
        "..%2Fpass.json".to_owned(),
    ] {
        let r = app
            .client
            .get(format!("{}/images/{missing}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{missing}");
    }
}

async fn health_readiness_metrics_and_the_openapi_document_are_served(engine: Engine) {
    let app = spawn_app(engine).await;
    for path in ["/healthz", "/readyz"] {
        let r = app
            .client
            .get(format!("{}{path}", app.base))
            .send()
            .await
            .expect("request");
        assert_eq!(r.status(), StatusCode::OK, "{path}");
    }
    let doc: Value = app
        .client
        .get(app.url("/openapi.json"))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert_eq!(doc["openapi"], "3.1.0");

    // What an operator alerts on before passes stop installing.
    let metrics = app.metrics().await;
    for (certificate, at) in app.state.signer.expiries() {
        let line = format!(
            "walletcards_certificate_expiry_timestamp_seconds{{certificate=\"{certificate}\"}} {}",
            at.timestamp()
        );
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
    let in_a_year = chrono::Utc::now() + chrono::TimeDelta::days(360);
    assert!(
        app.state.signer.not_after() > in_a_year,
        "development certificates last a year"
    );
}

/// Found by the conformance run: a NUL byte in `after` reached PostgreSQL, which refuses it in
/// text, and came back as a 500.
async fn a_list_cursor_with_a_control_character_is_a_bad_query(engine: Engine) {
    let app = spawn_app(engine).await;
    let account = app.create_account("Acme GmbH").await;
    for list in [
        "/programs".to_owned(),
        "/accounts".to_owned(),
        format!("/accounts/{}/members", id(&account)),
    ] {
        let r = app.get(&format!("{list}?after=acc_%00x")).await;
        let body = assert_status(r, StatusCode::BAD_REQUEST).await;
        assert_eq!(body["error"]["code"], "invalid_query", "{list}: {body}");
    }
}
