//! Enrollment through an invite, as the `/join/{token}` page drives it: new people, people
//! who come back, closed invites, bad forms and concurrent submissions.

use reqwest::StatusCode;
use serde_json::{Value, json};
use walletcards::domain::i18n::Lang;
use walletcards::enroll::{
    EnrollError, EnrollForm, Mailed, invite_status, open_link, request_join_link,
};

use super::{Enrolled, assert_closed, enroll, form, invite_setup, queued_link, token, uses};
use crate::common::{Engine, TestApp, assert_status, id, spawn_app};
use walletcards::domain::model::Member;

crate::on_both_engines!(
    a_new_person_gets_a_member_and_a_card_per_program_for_one_use,
    the_same_e_mail_again_gets_the_same_cards_back_without_a_use,
    a_used_up_or_expired_invite_says_so_and_creates_no_one,
    a_form_with_a_bad_field_names_it_and_uses_nothing,
    concurrent_enrollments_neither_duplicate_people_nor_pass_max_uses,
    programs_ended_after_the_invite_give_no_new_cards,
);

/// Enrolls and expects success.
async fn enrolled(app: &TestApp, invite: &Value, form: EnrollForm) -> Enrolled {
    match enroll(app, &token(invite), form).await {
        Ok(done) => done,
        Err(e) => panic!("enrollment failed: {e:?}"),
    }
}

fn card_ids(done: &Enrolled) -> Vec<String> {
    done.cards.iter().map(|c| c.id.to_string()).collect()
}

async fn a_new_person_gets_a_member_and_a_card_per_program_for_one_use(engine: Engine) {
    let app = spawn_app(engine).await;
    let (account, programs, invite) = invite_setup(&app, json!({})).await;
    let view = invite_status(&app.state, &token(&invite))
        .await
        .expect("open");
    assert_eq!(view.account_name, "Acme GmbH");
    let names: Vec<&str> = view.programs.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["Partner discount", "Partner stamp"]);
    assert_eq!(view.uses_left, 50);

    let done = enrolled(
        &app,
        &invite,
        form("Anna Petrova", "Anna.Petrova@Example.test"),
    )
    .await;
    assert!(done.new_member);
    assert_eq!(
        done.member.email.as_deref(),
        Some("anna.petrova@example.test")
    );
    assert_eq!(done.member.account_id.as_str(), id(&account));
    let programs_of_cards: Vec<&str> = done.cards.iter().map(|c| c.program_id.as_str()).collect();
    assert_eq!(programs_of_cards, [id(&programs[0]), id(&programs[1])]);
    assert_eq!(uses(&app, &invite).await, 1);
    // The cards are real cards of the member, as the admin API shows them.
    for card in &done.cards {
        let read = app.get_ok(&format!("/cards/{}", card.id)).await;
        assert_eq!(
            (read["member_id"].as_str(), read["status"].as_str()),
            (Some(done.member.id.as_str()), Some("active"))
        );
    }
    let members = app
        .get_ok(&format!("/accounts/{}/members", id(&account)))
        .await;
    assert_eq!(members["items"][0]["role"], "Purchasing manager");
    assert_eq!(members["items"].as_array().map(Vec::len), Some(1));
    let consents: Vec<(String,)> = app.fetch("SELECT member_id FROM enrollments").await;
    assert_eq!(consents, [(done.member.id.to_string(),)]);
    let shown = invite_status(&app.state, &token(&invite))
        .await
        .expect("open");
    assert_eq!(shown.uses_left, 49);
}

async fn the_same_e_mail_again_gets_the_same_cards_back_without_a_use(engine: Engine) {
    let app = spawn_app(engine).await;
    let (account, programs, invite) = invite_setup(&app, json!({"max_uses": 1})).await;
    let first = enrolled(&app, &invite, form("Anna Petrova", "anna@example.test")).await;
    let again = enrolled(&app, &invite, form("Anna P.", "  ANNA@Example.TEST ")).await;
    assert!(!again.new_member);
    assert_eq!(again.member.id, first.member.id);
    assert_eq!(card_ids(&again), card_ids(&first));
    assert_eq!(
        uses(&app, &invite).await,
        1,
        "a returning person used the invite"
    );

    // A member the admin created gets the invite's missing cards, also for no use.
    let known = app.create_member(id(&account), "Boris Ivanov").await;
    let card = json!({"program_id": id(&programs[0]), "member_id": id(&known)});
    let held = app.post_ok("/cards", &card, StatusCode::CREATED).await;
    let done = enrolled(&app, &invite, form("Boris", "boris.ivanov@example.test")).await;
    assert_eq!(done.member.id.as_str(), id(&known));
    assert_eq!(done.cards.len(), 2);
    assert_eq!(done.cards[0].id.as_str(), id(&held));
    assert_eq!(done.cards[1].program_id.as_str(), id(&programs[1]));
    assert_eq!(uses(&app, &invite).await, 1);
}

async fn a_used_up_or_expired_invite_says_so_and_creates_no_one(engine: Engine) {
    let app = spawn_app(engine).await;
    let (account, _, invite) = invite_setup(&app, json!({"max_uses": 1})).await;
    enrolled(&app, &invite, form("Anna", "anna@example.test")).await;
    assert_closed(&app, &invite, |e| matches!(e, EnrollError::UsedUp)).await;
    assert_eq!(uses(&app, &invite).await, 1);
    let members = app
        .get_ok(&format!("/accounts/{}/members", id(&account)))
        .await;
    assert_eq!(
        members["items"].as_array().map(Vec::len),
        Some(1),
        "{members}"
    );
    let read = app.get_ok(&format!("/invites/{}", id(&invite))).await;
    assert_eq!(
        (read["status"].as_str(), read["uses_left"].as_i64()),
        (Some("used_up"), Some(0))
    );

    let (_, _, fresh) = invite_setup(&app, json!({})).await;
    app.execute_sql(&format!(
        "UPDATE invites SET expires_at = '2000-01-01T00:00:00+00:00' WHERE id = '{}'",
        id(&fresh)
    ))
    .await;
    assert_closed(&app, &fresh, |e| matches!(e, EnrollError::Expired)).await;
    assert_eq!(uses(&app, &fresh).await, 0);
    // Even someone already enrolled gets nothing through an expired invite.
    let known = enroll(&app, &token(&fresh), form("Anna", "anna@example.test")).await;
    assert!(matches!(known, Err(EnrollError::Expired)), "{known:?}");

    for unknown in ["", "x", &"A".repeat(27), &token(&fresh)[..26]] {
        let outcome = enroll(&app, unknown, form("Dan", "dan@example.test")).await;
        assert!(
            matches!(outcome, Err(EnrollError::NotFound)),
            "{unknown}: {outcome:?}"
        );
    }
}

async fn a_form_with_a_bad_field_names_it_and_uses_nothing(engine: Engine) {
    let app = spawn_app(engine).await;
    let (account, _, invite) = invite_setup(&app, json!({})).await;
    let good = form("Anna", "anna@example.test");
    let cases = [
        (
            EnrollForm {
                email: "anna@example".into(),
                ..good.clone()
            },
            "email",
        ),
        (
            EnrollForm {
                email: "  ".into(),
                ..good.clone()
            },
            "email",
        ),
        (
            EnrollForm {
                consent: false,
                ..good.clone()
            },
            "consent",
        ),
        (
            EnrollForm {
                name: " ".into(),
                ..good.clone()
            },
            "name",
        ),
        (
            EnrollForm {
                name: "x".repeat(201),
                ..good.clone()
            },
            "name",
        ),
        (
            EnrollForm {
                role: String::new(),
                ..good.clone()
            },
            "role",
        ),
        (
            EnrollForm {
                phone: Some("call me".into()),
                ..good.clone()
            },
            "phone",
        ),
    ];
    for (bad, field) in cases {
        match enroll(&app, &token(&invite), bad).await {
            Err(EnrollError::Invalid {
                field: got,
                message,
            }) => {
                assert_eq!(got, field, "{message}");
                assert!(!message.is_empty());
            }
            other => panic!("{field}: {other:?}"),
        }
    }
    assert_eq!(uses(&app, &invite).await, 0);
    let members = app
        .get_ok(&format!("/accounts/{}/members", id(&account)))
        .await;
    assert_eq!(members["items"], json!([]));
    let mails: Vec<(i64,)> = app
        .fetch("SELECT COUNT(*) FROM outbox WHERE kind = 'mail'")
        .await;
    assert_eq!(mails, [(0,)], "a bad form mailed a link");
}

/// Two links, each requested and then opened at the same moment.
async fn open_two_at_once(
    app: &TestApp,
    invite: &Value,
    forms: [EnrollForm; 2],
) -> (Result<Member, EnrollError>, Result<Member, EnrollError>) {
    let t = token(invite);
    let mut links = Vec::new();
    for f in forms {
        let email = walletcards::store::normalize_email(&f.email);
        let mailed = request_join_link(&app.state, &t, f, Lang::En).await;
        assert_eq!(mailed.expect("mailed"), Mailed::Queued);
        links.push(queued_link(app, &email).await);
    }
    let (a, b) = tokio::join!(
        open_link(&app.state, &links[0]),
        open_link(&app.state, &links[1]),
    );
    (a.map(|o| o.member), b.map(|o| o.member))
}

async fn concurrent_enrollments_neither_duplicate_people_nor_pass_max_uses(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, _, invite) = invite_setup(&app, json!({"max_uses": 1})).await;
    let (a, b) = open_two_at_once(
        &app,
        &invite,
        [
            form("Anna", "anna@example.test"),
            form("Anna", "ANNA@example.test"),
        ],
    )
    .await;
    let (a, b) = (a.expect("first"), b.expect("second"));
    assert_eq!(a.id, b.id);
    let cards = app.state.store.member_cards(&a.id).await.expect("cards");
    assert_eq!(cards.len(), 2, "each program's card once");
    assert_eq!(uses(&app, &invite).await, 1);

    let (_, _, other) = invite_setup(&app, json!({"max_uses": 1})).await;
    let (c, d) = open_two_at_once(
        &app,
        &other,
        [
            form("Carla", "carla@example.test"),
            form("Dan", "dan@example.test"),
        ],
    )
    .await;
    let used_up = [&c, &d]
        .iter()
        .filter(|r| matches!(r, Err(EnrollError::UsedUp)))
        .count();
    assert_eq!(
        (c.is_ok() as usize + d.is_ok() as usize, used_up),
        (1, 1),
        "{c:?} {d:?}"
    );
    assert_eq!(uses(&app, &other).await, 1);
}

async fn programs_ended_after_the_invite_give_no_new_cards(engine: Engine) {
    let app = spawn_app(engine).await;
    let (_, programs, invite) = invite_setup(&app, json!({})).await;
    let end = |p: &Value| format!("/programs/{}", id(p));
    assert_status(
        app.patch(&end(&programs[0]), &json!({"status": "ended"}))
            .await,
        StatusCode::OK,
    )
    .await;
    let done = enrolled(&app, &invite, form("Anna", "anna@example.test")).await;
    let cards: Vec<&str> = done.cards.iter().map(|c| c.program_id.as_str()).collect();
    assert_eq!(cards, [id(&programs[1])]);
    assert_status(
        app.patch(&end(&programs[1]), &json!({"status": "ended"}))
            .await,
        StatusCode::OK,
    )
    .await;
    assert_closed(&app, &invite, |e| matches!(e, EnrollError::ProgramsEnded)).await;
    assert_eq!(uses(&app, &invite).await, 1);
}
