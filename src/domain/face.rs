//! The card face: what a card shows, computed by one pure function from the program, the
//! holder and the balance. Apple's pass.json and Google's loyalty object are renderings of it,
//! so both wallets show the same facts.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::balance::{Balance, CashbackBalance, CumulativeBalance, StampBalance};
use super::codes::CardCode;
use super::i18n::{self, Lang};
use super::model::{CardStatus, Program};
use super::money::{Bps, Money};
use super::rules::{Rules, Window};

/// A value on a card. Text that depends on the language is rendered by [`FaceValue::text`].
#[derive(Debug, Clone, PartialEq)]
pub enum FaceValue {
    /// Shown as given (names, codes, the program's own texts).
    Text(String),
    /// A word from the design's strings, e.g. "Suspended"; the English text is the key.
    Phrase(&'static str),
    Money(Money),
    Percent(Bps),
    Count(i64),
    Stamps {
        on_card: u32,
        required: u32,
    },
    NextTier {
        remaining: Money,
        percent: Bps,
    },
    MoneyOn {
        money: Money,
        at: DateTime<Utc>,
        tz: Tz,
    },
    RollingDays(u32),
    Terms(Box<(Rules, crate::domain::money::Currency)>),
}

impl FaceValue {
    pub fn text(&self, lang: Lang) -> String {
        match self {
            FaceValue::Text(s) => s.clone(),
            FaceValue::Phrase(p) => (*p).to_owned(),
            FaceValue::Money(m) => i18n::money(lang, *m),
            FaceValue::Percent(p) => i18n::percent(*p),
            FaceValue::Count(n) => n.to_string(),
            FaceValue::Stamps { on_card, required } => format!("{on_card} / {required}"),
            FaceValue::NextTier { remaining, percent } => {
                i18n::next_tier(lang, *remaining, *percent)
            }
            FaceValue::MoneyOn { money, at, tz } => i18n::money_on(lang, *money, *at, *tz),
            FaceValue::RollingDays(n) => i18n::rolling_days(lang, *n),
            FaceValue::Terms(t) => i18n::terms(lang, &t.0, t.1),
        }
    }

    /// The text in `lang`, a phrase in the design's words.
    pub fn text_with(&self, lang: Lang, words: &dyn i18n::Words) -> String {
        match self {
            FaceValue::Phrase(p) => words.say(lang, p).to_owned(),
            other => other.text(lang),
        }
    }

    /// Whether the text differs by language and so needs per-pass translations.
    pub fn is_localized_sentence(&self) -> bool {
        matches!(
            self,
            FaceValue::NextTier { .. }
                | FaceValue::MoneyOn { .. }
                | FaceValue::RollingDays(_)
                | FaceValue::Terms(_)
        )
    }
}

/// One field of the card.
#[derive(Debug, Clone, PartialEq)]
pub struct FaceField {
    /// Unique within the card.
    pub key: &'static str,
    /// English label; also the key of its translations in the design's strings.
    pub label: &'static str,
    pub value: FaceValue,
    /// Set on the one field that carries this version's lock-screen message.
    pub change_message: Option<&'static str>,
}

/// Why a change is worth a lock-screen message, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Notify {
    Stamp,
    CashbackCredit,
    TierChange,
    RewardUnlocked,
}

impl Notify {
    pub fn as_str(self) -> &'static str {
        match self {
            Notify::Stamp => "stamp",
            Notify::CashbackCredit => "cashback_credit",
            Notify::TierChange => "tier_change",
            Notify::RewardUnlocked => "reward_unlocked",
        }
    }

    pub fn parse(s: &str) -> Option<Notify> {
        [
            Notify::Stamp,
            Notify::CashbackCredit,
            Notify::TierChange,
            Notify::RewardUnlocked,
        ]
        .into_iter()
        .find(|n| n.as_str() == s)
    }
}

/// What a card shows, by area of the pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CardFace {
    pub header: Vec<FaceField>,
    pub primary: Vec<FaceField>,
    pub secondary: Vec<FaceField>,
    pub auxiliary: Vec<FaceField>,
    pub back: Vec<FaceField>,
}

impl CardFace {
    pub fn areas(&self) -> [(&'static str, &[FaceField]); 5] {
        [
            ("header", &self.header),
            ("primary", &self.primary),
            ("secondary", &self.secondary),
            ("auxiliary", &self.auxiliary),
            ("back", &self.back),
        ]
    }

    pub fn fields(&self) -> impl Iterator<Item = &FaceField> {
        self.areas().into_iter().flat_map(|(_, f)| f.iter())
    }
}

/// Everything a face is computed from.
pub struct FaceInput<'a> {
    pub program: &'a Program,
    pub holder_name: &'a str,
    pub company_name: &'a str,
    pub code: &'a CardCode,
    pub status: CardStatus,
    pub balance: &'a Balance,
    /// The reason of this version's notification, if any.
    pub notify: Option<Notify>,
}

fn field(key: &'static str, label: &'static str, value: FaceValue) -> FaceField {
    FaceField {
        key,
        label,
        value,
        change_message: None,
    }
}

/// The face of a card: a pure function of program, holder, status and balance.
pub fn card_face(input: &FaceInput<'_>) -> CardFace {
    let program = input.program;
    let mut face = match input.balance {
        Balance::Discount(b) => discount_face(program, b.spend_minor, b.percent_bps),
        Balance::CumulativeDiscount(b) => cumulative_face(program, b),
        Balance::Cashback(b) => cashback_face(program, b),
        Balance::Stamp(b) => stamp_face(program, b),
    };
    if input.status != CardStatus::Active {
        face.header.insert(
            0,
            field(
                "status",
                "Status",
                FaceValue::Phrase(status_phrase(input.status)),
            ),
        );
    }
    face.secondary = vec![
        field(
            "member",
            "Member",
            FaceValue::Text(input.holder_name.to_owned()),
        ),
        field(
            "company",
            "Company",
            FaceValue::Text(input.company_name.to_owned()),
        ),
    ];
    face.back.extend(back_fields(input));
    if let Some(reason) = input.notify {
        attach_change_message(&mut face, reason);
    }
    face
}

fn status_phrase(status: CardStatus) -> &'static str {
    match status {
        CardStatus::Active => "Active",
        CardStatus::Suspended => "Suspended",
        CardStatus::Revoked => "Revoked",
    }
}

fn money(program: &Program, minor: i64) -> FaceValue {
    FaceValue::Money(Money::new(minor, program.currency))
}

fn window_value(window: Window) -> FaceValue {
    match window {
        Window::Lifetime => FaceValue::Phrase("Lifetime"),
        Window::CalendarYear => FaceValue::Phrase("Calendar year"),
        Window::RollingDays(n) => FaceValue::RollingDays(n),
    }
}

fn discount_face(program: &Program, spend: i64, percent: Bps) -> CardFace {
    CardFace {
        primary: vec![field("discount", "Discount", FaceValue::Percent(percent))],
        auxiliary: vec![field("spend", "Spend", money(program, spend))],
        ..CardFace::default()
    }
}

fn cumulative_face(program: &Program, b: &CumulativeBalance) -> CardFace {
    let next = match (b.next_tier_remaining_minor, b.next_tier_percent_bps) {
        (Some(remaining), Some(percent)) => FaceValue::NextTier {
            remaining: Money::new(remaining, program.currency),
            percent,
        },
        _ => FaceValue::Phrase("Top tier reached"),
    };
    CardFace {
        header: vec![field("tier", "Tier", FaceValue::Text(b.tier.clone()))],
        primary: vec![field(
            "discount",
            "Discount",
            FaceValue::Percent(b.percent_bps),
        )],
        auxiliary: vec![
            field("spend", "Spend", money(program, b.spend_minor)),
            field("next_tier", "Next tier", next),
        ],
        ..CardFace::default()
    }
}

fn cashback_face(program: &Program, b: &CashbackBalance) -> CardFace {
    let last = b
        .last_credit_minor
        .map_or(FaceValue::Phrase("None yet"), |m| money(program, m));
    let mut auxiliary = vec![field("last_credit", "Last credit", last)];
    if let (Some(at), Some(minor)) = (b.next_expiry_at, b.next_expiry_minor) {
        let value = FaceValue::MoneyOn {
            money: Money::new(minor, program.currency),
            at,
            tz: program.time_zone,
        };
        auxiliary.push(field("next_expiry", "Next expiry", value));
    }
    CardFace {
        primary: vec![field(
            "cashback",
            "Cashback",
            money(program, b.cashback_minor),
        )],
        auxiliary,
        ..CardFace::default()
    }
}

fn stamp_face(program: &Program, b: &StampBalance) -> CardFace {
    let reward = match &program.rules {
        Rules::Stamp(r) => r.reward.clone(),
        _ => String::new(),
    };
    CardFace {
        header: vec![field(
            "rewards",
            "Rewards",
            FaceValue::Count(i64::from(b.rewards_available)),
        )],
        primary: vec![field(
            "stamps",
            "Stamps",
            FaceValue::Stamps {
                on_card: b.stamps,
                required: b.stamps_required,
            },
        )],
        auxiliary: vec![field("reward", "Reward", FaceValue::Text(reward))],
        ..CardFace::default()
    }
}

fn back_fields(input: &FaceInput<'_>) -> Vec<FaceField> {
    let program = input.program;
    let mut back = vec![
        field(
            "card_code",
            "Card code",
            FaceValue::Text(input.code.display()),
        ),
        field("program", "Program", FaceValue::Text(program.name.clone())),
    ];
    if let Some(window) = program.rules.window() {
        back.push(field("spend_window", "Spend window", window_value(window)));
    }
    let terms = FaceValue::Terms(Box::new((program.rules.clone(), program.currency)));
    back.push(field("terms", "Terms", terms));
    back
}

/// Puts the lock-screen message on the one field whose change it announces.
fn attach_change_message(face: &mut CardFace, reason: Notify) {
    let (key, message) = match reason {
        Notify::RewardUnlocked => ("rewards", "Reward unlocked: %@"),
        Notify::TierChange => ("discount", "Your discount is now %@"),
        Notify::CashbackCredit => ("cashback", "Cashback balance: %@"),
        Notify::Stamp => ("stamps", "Stamps: %@"),
    };
    let areas = [&mut face.header, &mut face.primary, &mut face.auxiliary];
    if let Some(f) = areas
        .into_iter()
        .flat_map(|a| a.iter_mut())
        .find(|f| f.key == key)
    {
        f.change_message = Some(message);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;
    use crate::domain::ids::ProgramId;
    use crate::domain::model::{BalanceScope, Branding, ProgramStatus};
    use crate::domain::money::Currency;
    use crate::domain::rules::Kind;

    fn program(kind: Kind, rules: serde_json::Value) -> Program {
        Program {
            id: ProgramId::generate(),
            name: "Partner".into(),
            rules: Rules::parse(kind, &rules).expect("valid rules"),
            currency: Currency::parse("EUR").expect("EUR"),
            time_zone: chrono_tz::Europe::Berlin,
            balance_scope: BalanceScope::Member,
            design: "default".into(),
            branding: Branding::default(),
            status: ProgramStatus::Active,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn all_programs() -> Vec<Program> {
        vec![
            program(Kind::Discount, json!({"percent_bps": 500})),
            program(
                Kind::CumulativeDiscount,
                json!({"tiers": [
                {"name": "Base", "min_spend_minor": 0, "percent_bps": 300},
                {"name": "Gold", "min_spend_minor": 100, "percent_bps": 700}], "window": "calendar_year"}),
            ),
            program(Kind::Cashback, json!({"percent_bps": 300})),
            program(
                Kind::Stamp,
                json!({"stamps_required": 5, "reward": "Free delivery"}),
            ),
        ]
    }

    fn face_of(p: &Program, status: CardStatus, notify: Option<Notify>) -> CardFace {
        let code = CardCode::generate();
        let balance = Balance::zero(&p.rules);
        card_face(&FaceInput {
            program: p,
            holder_name: "Anna Petrova",
            company_name: "Acme GmbH",
            code: &code,
            status,
            balance: &balance,
            notify,
        })
    }

    #[test]
    fn every_kind_shows_holder_company_and_its_figure_with_unique_keys() {
        for p in all_programs() {
            let face = face_of(&p, CardStatus::Active, None);
            let keys: Vec<_> = face.fields().map(|f| f.key).collect();
            let unique: HashSet<_> = keys.iter().collect();
            assert_eq!(keys.len(), unique.len(), "{keys:?}");
            assert_eq!(face.primary.len(), 1);
            assert!(face.secondary.len() + face.auxiliary.len() <= 4, "{keys:?}");
            let texts: Vec<_> = face.fields().map(|f| f.value.text(Lang::En)).collect();
            assert!(texts.contains(&"Anna Petrova".to_owned()));
            assert!(texts.contains(&"Acme GmbH".to_owned()));
            assert!(face.fields().all(|f| f.change_message.is_none()));
        }
    }

    #[test]
    fn zero_state_shows_zero_balances() {
        let [discount, cumulative, cashback, stamp] = &all_programs()[..] else {
            panic!()
        };
        let primary = |p: &Program| {
            face_of(p, CardStatus::Active, None).primary[0]
                .value
                .text(Lang::En)
        };
        assert_eq!(primary(discount), "5%");
        assert_eq!(primary(cumulative), "3%");
        assert_eq!(primary(cashback), "0.00\u{a0}EUR");
        assert_eq!(primary(stamp), "0 / 5");
    }

    #[test]
    fn a_suspended_card_says_so_in_its_header() {
        let p = &all_programs()[0];
        let face = face_of(p, CardStatus::Suspended, None);
        assert_eq!(face.header[0].value, FaceValue::Phrase("Suspended"));
    }

    #[test]
    fn only_the_announced_field_carries_a_change_message() {
        let p = &all_programs()[3];
        let face = face_of(p, CardStatus::Active, Some(Notify::RewardUnlocked));
        let with: Vec<_> = face
            .fields()
            .filter(|f| f.change_message.is_some())
            .map(|f| f.key)
            .collect();
        assert_eq!(with, ["rewards"]);
    }
}
