//! What the console's programs, companies and invites pages share: opening an admin page,
//! the words `console.js` shows (in `console/form_texts.html`), and money and percentages
//! written as people type them into the forms.

use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use super::{Console, Section};
use crate::domain::i18n::Lang;
use crate::domain::money::{Bps, Currency, Money};
use crate::http::pages::{PageError, lang_of};
use crate::state::AppState;
use crate::store::{Role, StoreError};

/// An admin's console page in `section`, with the page's language.
pub async fn open_admin(
    parts: &Parts,
    state: &AppState,
    section: Section,
) -> Result<(Console, Lang), Response> {
    let c = Console::open(parts, state, &[Role::Admin], section).await?;
    Ok((c, lang_of(None, &parts.headers)))
}

/// A store failure as the page answer.
pub fn store_failed(e: StoreError) -> Response {
    match e {
        StoreError::NotFound => not_found(),
        e => PageError::from(e).into_response(),
    }
}

pub fn not_found() -> Response {
    PageError::new(StatusCode::NOT_FOUND, "There is nothing at this address.").into_response()
}

/// An amount as typed into a money input: "1234.50" (no grouping, a point, no code).
pub fn money_input(minor: i64, currency: Currency) -> String {
    let (negative, whole, frac) = Money::new(minor, currency).split();
    let sign = if negative { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// Basis points as typed into a percent input: 750 → "7.5".
pub fn percent_input(bps: Bps) -> String {
    bps.percent_text()
}

/// The words of `console.js` in one language.
pub struct FormTexts {
    pub percent_error: &'static str,
    pub money_error: &'static str,
    pub int_error: &'static str,
    pub date_error: &'static str,
    pub no_answer: &'static str,
    pub save: &'static str,
    pub cancel: &'static str,
    pub copied: &'static str,
    pub saved: &'static str,
    /// The API's field messages people meet most, in this language: (English, translation).
    pub messages: &'static [(&'static str, &'static str)],
}

impl FormTexts {
    pub fn of(lang: Lang) -> &'static FormTexts {
        match lang {
            Lang::En => &EN,
            Lang::Ru => &RU,
            Lang::ZhHans => &ZH,
        }
    }
}

static EN: FormTexts = FormTexts {
    percent_error: "Enter a percentage from 0 to 100, such as 5 or 7.5.",
    money_error: "Enter an amount such as 1500 or 1500.50.",
    int_error: "Enter a whole number.",
    date_error: "Choose a date.",
    no_answer: "The service did not answer. Check the connection and try again.",
    save: "Save",
    cancel: "Cancel",
    copied: "Copied",
    saved: "Saved.",
    messages: &[],
};

static RU: FormTexts = FormTexts {
    percent_error: "Введите процент от 0 до 100, например 5 или 7,5.",
    money_error: "Введите сумму, например 1500 или 1500,50.",
    int_error: "Введите целое число.",
    date_error: "Выберите дату.",
    no_answer: "Сервис не ответил. Проверьте соединение и попробуйте ещё раз.",
    save: "Сохранить",
    cancel: "Отмена",
    copied: "Скопировано",
    saved: "Сохранено.",
    messages: &RU_MESSAGES,
};

static ZH: FormTexts = FormTexts {
    percent_error: "请输入 0 到 100 之间的百分比，例如 5 或 7.5。",
    money_error: "请输入金额，例如 1500 或 1500.50。",
    int_error: "请输入整数。",
    date_error: "请选择日期。",
    no_answer: "服务没有响应。请检查网络后重试。",
    save: "保存",
    cancel: "取消",
    copied: "已复制",
    saved: "已保存。",
    messages: &ZH_MESSAGES,
};

static RU_MESSAGES: [(&str, &str); 16] = [
    ("must not be empty", "Заполните это поле."),
    ("is not an e-mail address", "Это не адрес e-mail."),
    (
        "may hold digits, spaces and + - ( ) . only",
        "Только цифры, пробелы и + - ( ) .",
    ),
    ("must not be negative", "Не может быть отрицательным."),
    ("must be positive", "Должно быть больше нуля."),
    ("must not be zero", "Не может быть нулём."),
    ("must be at least 1", "Не меньше 1."),
    ("must be between 2 and 50", "От 2 до 50."),
    ("needs at least one tier", "Нужен хотя бы один уровень."),
    ("at most 20 tiers", "Не больше 20 уровней."),
    (
        "the first tier must start at 0",
        "Первый уровень начинается с 0.",
    ),
    (
        "tiers must be sorted by min_spend_minor, strictly ascending",
        "Каждый уровень должен начинаться с большей суммы, чем предыдущий.",
    ),
    (
        "percentages must not decrease from one tier to the next",
        "Скидка не может быть меньше, чем на предыдущем уровне.",
    ),
    (
        "tier names must be unique",
        "Названия уровней не должны повторяться.",
    ),
    (
        "required, at most 500 characters",
        "Обязательно, не длиннее 500 символов.",
    ),
    (
        "another record already uses this `external_id`",
        "Этот номер уже используется.",
    ),
];

static ZH_MESSAGES: [(&str, &str); 16] = [
    ("must not be empty", "请填写此项。"),
    ("is not an e-mail address", "这不是有效的电子邮箱地址。"),
    (
        "may hold digits, spaces and + - ( ) . only",
        "只能包含数字、空格和 + - ( ) .。",
    ),
    ("must not be negative", "不能为负数。"),
    ("must be positive", "必须大于零。"),
    ("must not be zero", "不能为零。"),
    ("must be at least 1", "至少为 1。"),
    ("must be between 2 and 50", "须在 2 到 50 之间。"),
    ("needs at least one tier", "至少需要一个等级。"),
    ("at most 20 tiers", "最多 20 个等级。"),
    (
        "the first tier must start at 0",
        "第一个等级必须从 0 开始。",
    ),
    (
        "tiers must be sorted by min_spend_minor, strictly ascending",
        "每个等级的采购额起点必须高于上一级。",
    ),
    (
        "percentages must not decrease from one tier to the next",
        "折扣不能低于上一级。",
    ),
    ("tier names must be unique", "等级名称不能重复。"),
    (
        "required, at most 500 characters",
        "必填，最多 500 个字符。",
    ),
    (
        "another record already uses this `external_id`",
        "此编号已被使用。",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_percentages_are_shown_as_people_type_them() {
        let eur = Currency::parse("EUR").expect("EUR");
        let jpy = Currency::parse("JPY").expect("JPY");
        assert_eq!(money_input(123_450, eur), "1234.50");
        assert_eq!(money_input(-5, eur), "-0.05");
        assert_eq!(money_input(1500, jpy), "1500");
        assert_eq!(percent_input(Bps(750)), "7.5");
    }
}
