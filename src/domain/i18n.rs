//! Text of card values in the languages passes ship with (en, ru, zh-Hans): numbers, money,
//! dates and the few sentences that embed them. Labels are not here: they are words of a
//! design and live in its `*.lproj/pass.strings`.

use chrono::{DateTime, Datelike, Utc};
use chrono_tz::Tz;

use super::money::{Bps, Currency, Money};
use super::rules::{Rules, Window};

/// A language a pass is localized into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Ru,
    ZhHans,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Ru, Lang::ZhHans];

    /// The `.lproj` folder name.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::ZhHans => "zh-Hans",
        }
    }

    pub fn from_tag(tag: &str) -> Option<Lang> {
        Lang::ALL.into_iter().find(|l| l.tag() == tag)
    }
}

/// A design's words (labels and phrases such as "Suspended") in each language, keyed by
/// their English text; `()` is a design that has none.
pub trait Words {
    fn word(&self, lang: Lang, english: &str) -> Option<&str>;

    /// `english` in `lang`, or as it is when there is no translation.
    fn say<'a>(&'a self, lang: Lang, english: &'a str) -> &'a str {
        self.word(lang, english).unwrap_or(english)
    }
}

impl Words for () {
    fn word(&self, _: Lang, _: &str) -> Option<&str> {
        None
    }
}

/// Groups digits the way each language writes them: 39,000 / 39 000 / 39,000.
pub fn number(lang: Lang, whole: u64) -> String {
    let sep = if lang == Lang::Ru { '\u{a0}' } else { ',' };
    let digits = whole.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// An amount with its currency code: "39,000.00 EUR", "39 000,00 EUR".
pub fn money(lang: Lang, m: Money) -> String {
    let (negative, whole, frac) = m.split();
    let sign = if negative { "-" } else { "" };
    let decimal = if lang == Lang::Ru { "," } else { "." };
    let frac = if frac.is_empty() {
        String::new()
    } else {
        format!("{decimal}{frac}")
    };
    format!("{sign}{}{frac}\u{a0}{}", number(lang, whole), m.currency)
}

pub fn percent(p: Bps) -> String {
    format!("{}%", p.percent_text())
}

/// A calendar date in the program's time zone.
pub fn date(lang: Lang, at: DateTime<Utc>, tz: Tz) -> String {
    let d = at.with_timezone(&tz).date_naive();
    match lang {
        Lang::En => d.format("%Y-%m-%d").to_string(),
        Lang::Ru => d.format("%d.%m.%Y").to_string(),
        Lang::ZhHans => format!("{}年{}月{}日", d.year(), d.month(), d.day()),
    }
}

pub fn next_tier(lang: Lang, remaining: Money, target: Bps) -> String {
    let (m, p) = (money(lang, remaining), percent(target));
    match lang {
        Lang::En => format!("{m} more to reach {p}"),
        Lang::Ru => format!("ещё {m} до скидки {p}"),
        Lang::ZhHans => format!("再消费 {m} 即享 {p} 折扣"),
    }
}

pub fn money_on(lang: Lang, m: Money, at: DateTime<Utc>, tz: Tz) -> String {
    let (m, d) = (money(lang, m), date(lang, at, tz));
    match lang {
        Lang::En => format!("{m} on {d}"),
        Lang::Ru => format!("{m} — {d}"),
        Lang::ZhHans => format!("{m}（{d}）"),
    }
}

pub fn rolling_days(lang: Lang, days: u32) -> String {
    match lang {
        Lang::En => format!("Last {days} days"),
        Lang::Ru => format!("Последние {days} дн."),
        Lang::ZhHans => format!("最近 {days} 天"),
    }
}

/// The program's terms in one or two sentences, for the back of the card.
pub fn terms(lang: Lang, rules: &Rules, currency: Currency) -> String {
    let m = |minor: i64| money(lang, Money::new(minor, currency));
    match rules {
        Rules::Discount(r) => match lang {
            Lang::En => format!("{} off every order.", percent(r.percent_bps)),
            Lang::Ru => format!("Скидка {} на каждый заказ.", percent(r.percent_bps)),
            Lang::ZhHans => format!("每笔订单享受 {} 折扣。", percent(r.percent_bps)),
        },
        Rules::CumulativeDiscount(r) => {
            let tiers: Vec<String> = r
                .tiers
                .iter()
                .map(|t| tier_text(lang, &t.name, t.percent_bps, &m(t.min_spend_minor)))
                .collect();
            cumulative_terms(lang, r.window, &tiers.join(", "))
        }
        Rules::Cashback(r) => {
            let min = (r.min_order_minor > 0).then(|| m(r.min_order_minor));
            cashback_terms(
                lang,
                r.percent_bps,
                min,
                r.max_redeem_share_bps,
                r.expiry_days,
            )
        }
        Rules::Stamp(r) => {
            let min = (r.min_order_minor > 0).then(|| m(r.min_order_minor));
            let every = r.stamp_every_minor.map(m);
            stamp_terms(
                lang,
                r.stamps_required,
                min,
                every,
                &r.reward,
                r.reward_expiry_days,
            )
        }
    }
}

fn tier_text(lang: Lang, name: &str, p: Bps, from: &str) -> String {
    match lang {
        Lang::En => format!("{name} {} from {from}", percent(p)),
        Lang::Ru => format!("{name} {} от {from}", percent(p)),
        Lang::ZhHans => format!("{name} {}（满 {from}）", percent(p)),
    }
}

fn cumulative_terms(lang: Lang, window: Window, tiers: &str) -> String {
    match (lang, window) {
        (Lang::En, Window::Lifetime) => {
            format!("Your discount grows with your total spend: {tiers}.")
        }
        (Lang::En, Window::CalendarYear) => {
            format!("Your discount grows with your spend this calendar year: {tiers}.")
        }
        (Lang::En, Window::RollingDays(n)) => {
            format!("Your discount grows with your spend over the last {n} days: {tiers}.")
        }
        (Lang::Ru, Window::Lifetime) => format!("Скидка растёт с общей суммой закупок: {tiers}."),
        (Lang::Ru, Window::CalendarYear) => {
            format!("Скидка растёт с суммой закупок за календарный год: {tiers}.")
        }
        (Lang::Ru, Window::RollingDays(n)) => {
            format!("Скидка растёт с суммой закупок за последние {n} дн.: {tiers}.")
        }
        (Lang::ZhHans, Window::Lifetime) => format!("折扣随累计采购额提升：{tiers}。"),
        (Lang::ZhHans, Window::CalendarYear) => format!("折扣随本自然年采购额提升：{tiers}。"),
        (Lang::ZhHans, Window::RollingDays(n)) => format!("折扣随最近 {n} 天采购额提升：{tiers}。"),
    }
}

fn cashback_terms(
    lang: Lang,
    p: Bps,
    min: Option<String>,
    share: Bps,
    expiry: Option<u32>,
) -> String {
    let (p, share) = (percent(p), percent(share));
    match lang {
        Lang::En => {
            let min = min.map(|m| format!(" from {m}")).unwrap_or_default();
            let exp = expiry
                .map(|d| format!(" Credits expire after {d} days."))
                .unwrap_or_default();
            format!(
                "{p} of every order{min} comes back as cashback. Cashback pays up to {share} of an order.{exp}"
            )
        }
        Lang::Ru => {
            let min = min.map(|m| format!(" от {m}")).unwrap_or_default();
            let exp = expiry
                .map(|d| format!(" Начисления сгорают через {d} дн."))
                .unwrap_or_default();
            format!(
                "{p} от каждого заказа{min} возвращается кешбэком. Кешбэком можно оплатить до {share} заказа.{exp}"
            )
        }
        Lang::ZhHans => {
            let min = min.map(|m| format!("（满 {m}）")).unwrap_or_default();
            let exp = expiry
                .map(|d| format!("返现 {d} 天后过期。"))
                .unwrap_or_default();
            format!("每笔订单{min}返还 {p} 作为返现。返现最多可抵扣订单金额的 {share}。{exp}")
        }
    }
}

fn stamp_terms(
    lang: Lang,
    n: u32,
    min: Option<String>,
    every: Option<String>,
    reward: &str,
    expiry: Option<u32>,
) -> String {
    match lang {
        Lang::En => {
            let earn = every.map_or("One stamp per order".to_owned(), |e| {
                format!("One stamp per {e} spent")
            });
            let min = min.map(|m| format!(" from {m}")).unwrap_or_default();
            let exp = expiry
                .map(|d| format!(" Rewards expire after {d} days."))
                .unwrap_or_default();
            format!("{earn}{min}. {n} stamps earn: {reward}.{exp}")
        }
        Lang::Ru => {
            let earn = every.map_or("Один штамп за заказ".to_owned(), |e| {
                format!("Один штамп за каждые {e}")
            });
            let min = min.map(|m| format!(" от {m}")).unwrap_or_default();
            let exp = expiry
                .map(|d| format!(" Награды сгорают через {d} дн."))
                .unwrap_or_default();
            format!("{earn}{min}. За {n} штампов: {reward}.{exp}")
        }
        Lang::ZhHans => {
            let earn = every.map_or("每笔订单获得 1 个印章".to_owned(), |e| {
                format!("每消费 {e} 获得 1 个印章")
            });
            let min = min.map(|m| format!("（订单满 {m}）")).unwrap_or_default();
            let exp = expiry
                .map(|d| format!("奖励 {d} 天后过期。"))
                .unwrap_or_default();
            format!("{earn}{min}。集满 {n} 个印章可获得：{reward}。{exp}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur(minor: i64) -> Money {
        Money::new(minor, Currency::parse("EUR").expect("EUR"))
    }

    #[test]
    fn money_is_written_the_way_each_language_writes_it() {
        assert_eq!(money(Lang::En, eur(3_900_000)), "39,000.00\u{a0}EUR");
        assert_eq!(money(Lang::Ru, eur(3_900_000)), "39\u{a0}000,00\u{a0}EUR");
        assert_eq!(money(Lang::En, eur(-705)), "-7.05\u{a0}EUR");
        assert_eq!(money(Lang::En, eur(5)), "0.05\u{a0}EUR");
        assert_eq!(number(Lang::En, 1_234_567), "1,234,567");
        assert_eq!(number(Lang::En, 999), "999");
    }

    #[test]
    fn next_tier_reads_as_a_sentence() {
        assert_eq!(
            next_tier(Lang::En, eur(3_900_000), Bps(700)),
            "39,000.00\u{a0}EUR more to reach 7%"
        );
    }

    #[test]
    fn dates_use_the_program_time_zone() {
        let at = DateTime::parse_from_rfc3339("2026-12-31T23:30:00Z")
            .expect("date")
            .to_utc();
        let tz: Tz = "Europe/Moscow".parse().expect("tz");
        assert_eq!(date(Lang::En, at, tz), "2027-01-01");
        assert_eq!(date(Lang::Ru, at, tz), "01.01.2027");
        assert_eq!(date(Lang::ZhHans, at, tz), "2027年1月1日");
    }
}
