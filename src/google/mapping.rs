//! The card face as a Google loyalty object: the same facts as the Apple pass, placed where
//! Google shows them (spec google-wallet.md §1.3–1.4).
//!
//! - `loyaltyPoints`: the face's primary figure (discount %, cashback money, stamps "7/10").
//! - `secondaryLoyaltyPoints`: the second figure on the card face — rewards available on
//!   stamp cards, spend in the window on discount cards (`accountName` shows only in the
//!   details, so the second figure cannot go there).
//! - `barcode`: a QR code of the card code, the same one the Apple pass carries.
//! - `textModulesData`: every other field (tier, next tier, last credit, company, terms, …),
//!   at most 10, ids without dots.
//! - `linksModuleData`: the member page, when there is one.
//! - `state`: a revoked card is `INACTIVE` (Google moves it to "Expired passes").
//!
//! Every text is English with its Russian and Simplified Chinese translations beside it
//! (`localized*` fields), in the design's words, the same as the Apple pass: Google shows the
//! phone's language. A translation equal to the English text is left out.

use super::model::{
    Balance, Barcode, CallbackOptions, Image, ImageUri, LinkUri, LinksModule, LocalizedString,
    LoyaltyClass, LoyaltyPoints, ObjectFields, ObjectState, ResourceId, ReviewStatus, TextModule,
    TranslatedString,
};
use crate::designs::MEMBER_PAGE_LABEL;
use crate::domain::codes::CardCode;
use crate::domain::face::{CardFace, FaceField, FaceValue};
use crate::domain::i18n::{Lang, Words};
use crate::domain::model::{CardStatus, Program};

/// Keys of the field shown as the second figure, in order of preference.
const SECOND_FIGURE: [&str; 2] = ["rewards", "spend"];
/// Fields the object carries elsewhere (the barcode and the account name).
const NOT_A_MODULE: [&str; 2] = ["card_code", "member"];
/// Google shows at most 10 text modules of an object.
const MAX_TEXT_MODULES: usize = 10;
/// A `loyaltyPoints` label longer than this is cut by Google.
const MAX_LABEL: usize = 9;
/// The class's labels of the card code and the holder's name (words of the designs).
const CARD_CODE_LABEL: &str = "Card code";
const MEMBER_LABEL: &str = "Member";

/// What the object shows besides the face.
pub struct ObjectInput<'a> {
    pub code: &'a CardCode,
    pub holder_name: &'a str,
    /// The holder's member page, linked from the pass.
    pub member_url: Option<&'a str>,
    /// The hero image (a stamp card's stamp grid, see `render::stamps`).
    pub hero_image_url: Option<&'a str>,
    /// The design's labels and phrases in each language.
    pub words: &'a dyn Words,
}

/// `in_lang(Lang::En)` as the default value, with every other language that says it
/// differently (tagged `ru`, `zh-Hans`: BCP 47 as Google asks); `None` when none does.
fn localized(in_lang: impl Fn(Lang) -> String) -> Option<LocalizedString> {
    let english = in_lang(Lang::En);
    let translated_values: Vec<TranslatedString> = Lang::ALL
        .into_iter()
        .filter(|l| *l != Lang::En)
        .filter_map(|l| {
            let value = in_lang(l);
            (value != english).then(|| TranslatedString {
                language: l.tag().to_owned(),
                value,
            })
        })
        .collect();
    (!translated_values.is_empty()).then(|| LocalizedString {
        default_value: TranslatedString {
            language: Lang::En.tag().to_owned(),
            value: english,
        },
        translated_values,
    })
}

/// A design's word in every language.
fn localized_word(words: &dyn Words, english: &str) -> Option<LocalizedString> {
    localized(|l| words.say(l, english).to_owned())
}

/// The object's content for `face`.
pub fn object_fields(face: &CardFace, input: &ObjectInput<'_>) -> ObjectFields {
    let primary = face.primary.first();
    let second = SECOND_FIGURE
        .iter()
        .find_map(|key| face.fields().find(|f| f.key == *key));
    let used = |f: &FaceField| {
        primary.is_some_and(|p| p.key == f.key)
            || second.is_some_and(|s| s.key == f.key)
            || NOT_A_MODULE.contains(&f.key)
    };
    let text_modules: Vec<TextModule> = face
        .fields()
        .filter(|f| !used(f))
        .take(MAX_TEXT_MODULES)
        .map(|f| TextModule {
            id: f.key.replace('.', "_"),
            header: f.label.to_owned(),
            body: f.value.text_with(Lang::En, input.words),
            localized_header: localized_word(input.words, f.label),
            localized_body: localized(|l| f.value.text_with(l, input.words)),
        })
        .collect();
    ObjectFields {
        account_id: Some(input.code.display()),
        account_name: Some(input.holder_name.to_owned()),
        loyalty_points: primary.map(|f| points(f, input.words)),
        secondary_loyalty_points: second.map(|f| points(f, input.words)),
        barcode: Some(Barcode {
            kind: "QR_CODE".into(),
            value: input.code.as_str().to_owned(),
            alternate_text: Some(input.code.display()),
        }),
        hero_image: input.hero_image_url.map(|uri| Image {
            source_uri: ImageUri {
                uri: uri.to_owned(),
            },
            content_description: None,
        }),
        text_modules_data: (!text_modules.is_empty()).then_some(text_modules),
        links_module_data: input.member_url.map(|uri| LinksModule {
            uris: vec![LinkUri {
                uri: uri.to_owned(),
                description: Some(MEMBER_PAGE_LABEL.into()),
                localized_description: localized_word(input.words, MEMBER_PAGE_LABEL),
                id: Some("member_page".into()),
            }],
        }),
        messages: None,
    }
}

/// A revoked card's object is `INACTIVE`; suspended cards stay active and say so in a module.
pub fn object_state(status: CardStatus) -> ObjectState {
    match status {
        CardStatus::Revoked => ObjectState::Inactive,
        CardStatus::Active | CardStatus::Suspended => ObjectState::Active,
    }
}

/// A program's class: its name, the supplier's name, the logo Google fetches from
/// `logo_url` (the design's largest logo at its content-hashed URL, see `render::logo_url`)
/// and the background colour; Google posts save and delete events of its objects to
/// `callback_url`. Google reviews every insert and update of a class.
pub fn loyalty_class(
    program: &Program,
    id: ResourceId,
    issuer_name: &str,
    logo_url: &str,
    callback_url: Option<&str>,
    words: &dyn Words,
) -> LoyaltyClass {
    LoyaltyClass {
        id,
        issuer_name: program
            .branding
            .organization_name
            .clone()
            .unwrap_or_else(|| issuer_name.to_owned()),
        program_name: program.name.clone(),
        program_logo: Image {
            source_uri: ImageUri {
                uri: logo_url.to_owned(),
            },
            content_description: None,
        },
        review_status: Some(ReviewStatus::UnderReview),
        hex_background_color: program.branding.background_color.map(|c| c.hex()),
        hero_image: None,
        account_id_label: Some(CARD_CODE_LABEL.into()),
        account_name_label: Some(MEMBER_LABEL.into()),
        localized_account_id_label: localized_word(words, CARD_CODE_LABEL),
        localized_account_name_label: localized_word(words, MEMBER_LABEL),
        rewards_tier_label: None,
        rewards_tier: None,
        callback_options: callback_url.map(|url| CallbackOptions {
            url: url.to_owned(),
        }),
        extra: serde_json::Map::new(),
    }
}

fn points(field: &FaceField, words: &dyn Words) -> LoyaltyPoints {
    let lang = Lang::En;
    let balance = match &field.value {
        FaceValue::Money(m) => Balance::Money((*m).into()),
        FaceValue::Count(n) => {
            i32::try_from(*n).map_or_else(|_| Balance::String(n.to_string()), Balance::Int)
        }
        // Exact text (Google recommends ≤ 7 characters): "7.5 %", "7/10".
        FaceValue::Stamps { on_card, required } => Balance::String(format!("{on_card}/{required}")),
        other => Balance::String(other.text(lang)),
    };
    let cut = |label: &str| label.chars().take(MAX_LABEL).collect::<String>();
    LoyaltyPoints {
        label: Some(cut(field.label)),
        localized_label: localized(|l| cut(words.say(l, field.label))),
        balance,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;
    use crate::domain::balance::{Balance as Shown, CashbackBalance, StampBalance};
    use crate::domain::face::{FaceInput, card_face};
    use crate::domain::ids::ProgramId;
    use crate::domain::model::{BalanceScope, Branding, Program, ProgramStatus};
    use crate::domain::money::Currency;
    use crate::domain::rules::{Kind, Rules};

    fn program(kind: Kind, rules: serde_json::Value) -> Program {
        Program {
            id: ProgramId::from_db("prg_test".into()),
            name: "Partner".into(),
            rules: Rules::parse(kind, &rules).expect("rules"),
            currency: Currency::parse("EUR").expect("EUR"),
            time_zone: chrono_tz::Europe::Berlin,
            balance_scope: BalanceScope::Account,
            design: "default".into(),
            branding: Branding::default(),
            status: ProgramStatus::Active,
            created_at: Utc.timestamp_opt(0, 0).unwrap(),
            updated_at: Utc.timestamp_opt(0, 0).unwrap(),
        }
    }

    fn fields(program: &Program, balance: &Shown, status: CardStatus) -> serde_json::Value {
        let code = CardCode::parse("ABCD-EFGH-JKMN").expect("a code");
        let face = card_face(&FaceInput {
            program,
            holder_name: "Anna Petrova",
            company_name: "Acme GmbH",
            code: &code,
            status,
            balance,
            notify: None,
        });
        let input = ObjectInput {
            code: &code,
            holder_name: "Anna Petrova",
            member_url: Some("https://cards.example/m/abc"),
            hero_image_url: None,
            words: &*design(),
        };
        serde_json::to_value(object_fields(&face, &input)).expect("JSON")
    }

    /// The shipped default design, with its English, Russian and Chinese words.
    fn design() -> std::sync::Arc<crate::designs::Design> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/pass_templates");
        let designs = crate::designs::Designs::load(std::path::Path::new(dir));
        designs
            .expect("designs")
            .get("default")
            .expect("the default design")
    }

    /// `{language: value}` of a localized string's translations.
    fn translations(v: &serde_json::Value) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        for t in v["translatedValues"].as_array().into_iter().flatten() {
            let language = t["language"].as_str().expect("language").to_owned();
            out.insert(language, t["value"].clone());
        }
        serde_json::Value::Object(out)
    }

    #[test]
    fn every_text_carries_its_russian_and_chinese_words_and_the_same_text_is_not_repeated() {
        let p = program(
            Kind::Cashback,
            json!({"percent_bps": 300, "min_order_minor": 0}),
        );
        let balance = Shown::Cashback(CashbackBalance {
            cashback_minor: 12_550,
            last_credit_minor: Some(123_456),
            last_credit_at: None,
            next_expiry_at: None,
            next_expiry_minor: None,
        });
        let v = fields(&p, &balance, CardStatus::Suspended);
        let module = |id: &str| {
            let modules = v["textModulesData"].as_array().expect("modules");
            let found = modules.iter().find(|m| m["id"] == id);
            found
                .cloned()
                .unwrap_or_else(|| panic!("no module {id}: {v}"))
        };
        let status = module("status");
        assert_eq!(status["body"], "Suspended");
        assert_eq!(
            status["localizedBody"]["defaultValue"],
            json!({"language": "en", "value": "Suspended"})
        );
        assert_eq!(
            translations(&status["localizedBody"]),
            json!({"ru": "Приостановлена", "zh-Hans": "已暂停"})
        );
        let company = module("company");
        assert_eq!(
            translations(&company["localizedHeader"]),
            json!({"ru": "Компания", "zh-Hans": "公司"})
        );
        assert!(
            company.get("localizedBody").is_none(),
            "a name is the same in every language: {company}"
        );
        let credit = module("last_credit");
        assert_eq!(credit["body"], "1,234.56\u{a0}EUR");
        assert_eq!(
            translations(&credit["localizedBody"]),
            json!({"ru": "1\u{a0}234,56\u{a0}EUR"}),
            "Chinese writes the amount as English does"
        );
        assert_eq!(
            translations(&v["loyaltyPoints"]["localizedLabel"]),
            json!({"ru": "Кешбэк", "zh-Hans": "返现"})
        );
        let link = &v["linksModuleData"]["uris"][0];
        assert_eq!(link["description"], "Your card online");
        assert_eq!(
            translations(&link["localizedDescription"])["ru"],
            "Ваша карта онлайн"
        );

        let id = ResourceId::parse("3388000000012345678.prg_test").expect("an id");
        let class = loyalty_class(&p, id, "Acme Supply", "https://x/l.png", None, &*design());
        let class = serde_json::to_value(&class).expect("JSON");
        assert_eq!(
            translations(&class["localizedAccountNameLabel"])["ru"],
            "Участник"
        );
        assert_eq!(
            translations(&class["localizedAccountIdLabel"])["ru"],
            "Код карты"
        );
        let id = ResourceId::parse("3388000000012345678.prg_test").expect("an id");
        let bare = loyalty_class(&p, id, "Acme Supply", "https://x/l.png", None, &());
        let bare = serde_json::to_value(&bare).expect("JSON");
        assert!(
            bare.get("localizedAccountNameLabel").is_none(),
            "no words, no translations"
        );
    }

    #[test]
    fn a_cashback_card_shows_its_balance_as_money_and_the_rest_as_modules() {
        let p = program(
            Kind::Cashback,
            json!({"percent_bps": 300, "min_order_minor": 0}),
        );
        let balance = Shown::Cashback(CashbackBalance {
            cashback_minor: 12_550,
            last_credit_minor: Some(300),
            last_credit_at: None,
            next_expiry_at: None,
            next_expiry_minor: None,
        });
        let v = fields(&p, &balance, CardStatus::Active);
        assert_eq!(v["loyaltyPoints"]["label"], "Cashback");
        assert_eq!(
            v["loyaltyPoints"]["balance"],
            json!({"money": {"micros": "125500000", "currencyCode": "EUR"}})
        );
        assert!(v.get("secondaryLoyaltyPoints").is_none());
        assert_eq!(v["barcode"]["type"], "QR_CODE");
        assert_eq!(v["accountId"], "ABCD-EFGH-JKMN");
        assert_eq!(v["accountName"], "Anna Petrova");
        let modules = v["textModulesData"].as_array().expect("modules");
        let ids: Vec<&str> = modules.iter().filter_map(|m| m["id"].as_str()).collect();
        assert!(
            ids.contains(&"last_credit") && ids.contains(&"company") && ids.contains(&"terms"),
            "{ids:?}"
        );
        assert!(
            !ids.contains(&"cashback") && !ids.contains(&"card_code") && !ids.contains(&"member")
        );
        assert!(ids.iter().all(|id| !id.contains('.')));
        assert_eq!(
            v["linksModuleData"]["uris"][0]["uri"],
            "https://cards.example/m/abc"
        );
    }

    #[test]
    fn a_stamp_card_shows_stamps_and_rewards_as_its_two_figures() {
        let p = program(
            Kind::Stamp,
            json!({"stamps_required": 10, "reward": "Free delivery"}),
        );
        let balance = Shown::Stamp(StampBalance {
            stamps: 7,
            stamps_required: 10,
            rewards_available: 1,
        });
        let v = fields(&p, &balance, CardStatus::Active);
        assert_eq!(v["loyaltyPoints"]["label"], "Stamps");
        assert_eq!(v["loyaltyPoints"]["balance"], json!({"string": "7/10"}));
        assert_eq!(v["secondaryLoyaltyPoints"]["label"], "Rewards");
        assert_eq!(v["secondaryLoyaltyPoints"]["balance"], json!({"int": 1}));
    }

    #[test]
    fn a_class_names_the_program_and_shows_its_logo_and_colour() {
        let mut p = program(Kind::Discount, json!({"percent_bps": 500}));
        p.branding.background_color = crate::domain::model::Color::parse("#16345c");
        let id = ResourceId::parse("3388000000012345678.prg_test").expect("an id");
        let logo = "https://cards.example/images/ab.png";
        let callback = Some("https://cards.example/google/callback");
        let class = loyalty_class(&p, id, "Acme Supply", logo, callback, &());
        let v = serde_json::to_value(&class).expect("JSON");
        assert_eq!(v["programName"], "Partner");
        assert_eq!(v["issuerName"], "Acme Supply");
        assert_eq!(v["reviewStatus"], "UNDER_REVIEW");
        assert_eq!(v["hexBackgroundColor"], "#16345c");
        assert_eq!(v["programLogo"]["sourceUri"]["uri"], logo);
        assert_eq!(
            v["callbackOptions"]["url"],
            "https://cards.example/google/callback"
        );
    }

    #[test]
    fn a_revoked_card_is_inactive_and_a_suspended_one_says_so() {
        assert_eq!(object_state(CardStatus::Revoked), ObjectState::Inactive);
        assert_eq!(object_state(CardStatus::Suspended), ObjectState::Active);
        let p = program(Kind::Discount, json!({"percent_bps": 500}));
        let balance = Shown::Discount(crate::domain::balance::DiscountBalance {
            spend_minor: 0,
            percent_bps: crate::domain::money::Bps(500),
        });
        let v = fields(&p, &balance, CardStatus::Suspended);
        let status = v["textModulesData"]
            .as_array()
            .and_then(|m| m.iter().find(|m| m["id"] == "status").cloned());
        assert_eq!(status.map(|m| m["body"].clone()), Some(json!("Suspended")));
    }
}
