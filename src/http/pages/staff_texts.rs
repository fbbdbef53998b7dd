//! The words of the staff pages (sign-in, order desk, dashboard) in each language the service
//! speaks. The pages' scripts read theirs from the `data-*` attributes of a hidden `#texts`
//! element (`staff_texts.html`); `{name}` marks where a script puts a value.

use crate::domain::i18n::Lang;
use crate::domain::model::CardStatus;

/// What a staff page needs of its language: the tag, the words, and the card statuses (the
/// public pages' words for them).
#[derive(Clone, Copy)]
pub struct StaffLang {
    pub lang: &'static str,
    pub t: &'static StaffTexts,
    pub statuses: [&'static str; 3],
}

impl StaffLang {
    pub fn of(lang: Lang) -> StaffLang {
        let public = super::texts::Texts::of(lang);
        StaffLang {
            lang: lang.tag(),
            t: StaffTexts::of(lang),
            statuses: [
                public.status(CardStatus::Active),
                public.status(CardStatus::Suspended),
                public.status(CardStatus::Revoked),
            ],
        }
    }
}

/// One language's words.
pub struct StaffTexts {
    pub sign_in_title: &'static str,
    pub sign_in_heading: &'static str,
    pub sign_in_hint: &'static str,
    pub key: &'static str,
    pub sign_in: &'static str,
    pub bad_key: &'static str,
    pub wrong_role: &'static str,
    pub form_expired: &'static str,
    pub sign_out: &'static str,
    pub console: &'static str,
    pub desk_title: &'static str,
    pub scan_label: &'static str,
    pub status: &'static str,
    pub order_amount: &'static str,
    pub cashback_to_use: &'static str,
    pub book_order: &'static str,
    pub redeem_reward: &'static str,
    pub booked_here: &'static str,
    pub dashboard_title: &'static str,
    pub period: &'static str,
    pub last_days: [&'static str; 4],
    pub export: &'static str,
    pub cards_issued: &'static str,
    pub installed: &'static str,
    pub active_holders_30: &'static str,
    pub orders_in_period: &'static str,
    pub pushes: &'static str,
    // For the scripts.
    pub unknown_card: &'static str,
    pub no_answer: &'static str,
    pub quote: &'static str,
    pub quote_cashback: &'static str,
    pub enter_amount: &'static str,
    pub booked: &'static str,
    pub refund: &'static str,
    pub refunded_item: &'static str,
    pub refunded: &'static str,
    pub reward_redeemed: &'static str,
    pub revenue_per_period: &'static str,
    pub n_orders: &'static str,
    pub active_holders: &'static str,
    pub orders: &'static str,
    pub revenue: &'static str,
    pub rewards_redeemed: &'static str,
    pub cashback_redeemed: &'static str,
    pub holders_per_tier: &'static str,
    pub updated: &'static str,
    pub load_failed: &'static str,
    /// Program kinds: discount, cumulative discount, cashback, stamp.
    pub kinds: [&'static str; 4],
}

const EN: StaffTexts = StaffTexts {
    sign_in_title: "Sign in",
    sign_in_heading: "Staff sign-in",
    sign_in_hint: "Sign in with your desk or admin key.",
    key: "Key",
    sign_in: "Sign in",
    bad_key: "That key is not valid.",
    wrong_role: "Only desk and admin keys can sign in here.",
    form_expired: "This form expired or was not sent from this site. Open the sign-in page again.",
    sign_out: "Sign out",
    console: "Console",
    desk_title: "Order desk",
    scan_label: "Scan or type a card code, then Enter",
    status: "Status",
    order_amount: "Order amount",
    cashback_to_use: "Cashback to use",
    book_order: "Book order",
    redeem_reward: "Redeem reward",
    booked_here: "Booked here",
    dashboard_title: "Loyalty dashboard",
    period: "Period",
    last_days: ["Last 7 days", "Last 30 days", "Last 90 days", "Last year"],
    export: "Export orders (CSV)",
    cards_issued: "Cards issued",
    installed: "Installed (Apple / Google)",
    active_holders_30: "Active holders (30 days)",
    orders_in_period: "Orders in period",
    pushes: "Pushes delivered / failed",
    unknown_card: "Unknown card: {code}",
    no_answer: "The service did not answer.",
    quote: "Discount {percent} %: {discount} · to pay {net}",
    quote_cashback: " · cashback may cover up to {max}",
    enter_amount: "Enter the order amount.",
    booked: "Booked {amount}.",
    refund: "Refund",
    refunded_item: "{amount} refunded",
    refunded: "Refunded {amount}.",
    reward_redeemed: "Reward redeemed.",
    revenue_per_period: "Revenue per period",
    n_orders: "{n} orders",
    active_holders: "Active holders",
    orders: "Orders",
    revenue: "Revenue",
    rewards_redeemed: "Rewards redeemed",
    cashback_redeemed: "Cashback redeemed",
    holders_per_tier: "Holders per tier",
    updated: "Updated {time}",
    load_failed: "Could not load the figures: {error}",
    kinds: ["discount", "cumulative discount", "cashback", "stamp"],
};

const RU: StaffTexts = StaffTexts {
    sign_in_title: "Вход",
    sign_in_heading: "Вход для сотрудников",
    sign_in_hint: "Войдите с ключом стойки или администратора.",
    key: "Ключ",
    sign_in: "Войти",
    bad_key: "Этот ключ недействителен.",
    wrong_role: "Здесь можно войти только с ключом стойки или администратора.",
    form_expired: "Форма устарела или отправлена не с этого сайта. Откройте страницу входа снова.",
    sign_out: "Выйти",
    console: "Консоль",
    desk_title: "Стойка заказов",
    scan_label: "Отсканируйте или введите код карты и нажмите Enter",
    status: "Статус",
    order_amount: "Сумма заказа",
    cashback_to_use: "Списать кешбэк",
    book_order: "Провести заказ",
    redeem_reward: "Выдать награду",
    booked_here: "Проведено здесь",
    dashboard_title: "Панель программ лояльности",
    period: "Период",
    last_days: [
        "Последние 7 дней",
        "Последние 30 дней",
        "Последние 90 дней",
        "Последний год",
    ],
    export: "Выгрузить заказы (CSV)",
    cards_issued: "Выдано карт",
    installed: "Установлено (Apple / Google)",
    active_holders_30: "Активные держатели (30 дней)",
    orders_in_period: "Заказов за период",
    pushes: "Обновления доставлены / с ошибкой",
    unknown_card: "Неизвестная карта: {code}",
    no_answer: "Сервис не ответил.",
    quote: "Скидка {percent} %: {discount} · к оплате {net}",
    quote_cashback: " · кешбэком можно оплатить до {max}",
    enter_amount: "Введите сумму заказа.",
    booked: "Проведено: {amount}.",
    refund: "Возврат",
    refunded_item: "{amount} возвращено",
    refunded: "Возвращено: {amount}.",
    reward_redeemed: "Награда выдана.",
    revenue_per_period: "Выручка по периодам",
    n_orders: "заказов: {n}",
    active_holders: "Активные держатели",
    orders: "Заказы",
    revenue: "Выручка",
    rewards_redeemed: "Выдано наград",
    cashback_redeemed: "Списано кешбэка",
    holders_per_tier: "Держатели по уровням",
    updated: "Обновлено в {time}",
    load_failed: "Не удалось загрузить показатели: {error}",
    kinds: ["скидка", "накопительная скидка", "кешбэк", "штампы"],
};

const ZH_HANS: StaffTexts = StaffTexts {
    sign_in_title: "登录",
    sign_in_heading: "员工登录",
    sign_in_hint: "请使用前台或管理员密钥登录。",
    key: "密钥",
    sign_in: "登录",
    bad_key: "该密钥无效。",
    wrong_role: "只有前台或管理员密钥可以在此登录。",
    form_expired: "此表单已过期或并非从本站提交。请重新打开登录页面。",
    sign_out: "退出",
    console: "控制台",
    desk_title: "订单柜台",
    scan_label: "扫描或输入卡号，然后按回车",
    status: "状态",
    order_amount: "订单金额",
    cashback_to_use: "使用返现",
    book_order: "记录订单",
    redeem_reward: "兑换奖励",
    booked_here: "本柜台记录",
    dashboard_title: "会员计划看板",
    period: "时间段",
    last_days: ["最近 7 天", "最近 30 天", "最近 90 天", "最近一年"],
    export: "导出订单 (CSV)",
    cards_issued: "已发卡",
    installed: "已添加 (Apple / Google)",
    active_holders_30: "活跃持卡人 (30 天)",
    orders_in_period: "期间订单",
    pushes: "更新推送 成功 / 失败",
    unknown_card: "未知卡：{code}",
    no_answer: "服务无响应。",
    quote: "折扣 {percent} %：{discount} · 应付 {net}",
    quote_cashback: " · 返现最多可抵 {max}",
    enter_amount: "请输入订单金额。",
    booked: "已记录 {amount}。",
    refund: "退款",
    refunded_item: "{amount} 已退款",
    refunded: "已退款 {amount}。",
    reward_redeemed: "奖励已兑换。",
    revenue_per_period: "各时段收入",
    n_orders: "{n} 笔订单",
    active_holders: "活跃持卡人",
    orders: "订单",
    revenue: "收入",
    rewards_redeemed: "已兑换奖励",
    cashback_redeemed: "已使用返现",
    holders_per_tier: "各等级持卡人",
    updated: "更新于 {time}",
    load_failed: "无法加载数据：{error}",
    kinds: ["折扣", "累计折扣", "返现", "印章"],
};

impl StaffTexts {
    pub fn of(lang: Lang) -> &'static StaffTexts {
        match lang {
            Lang::En => &EN,
            Lang::Ru => &RU,
            Lang::ZhHans => &ZH_HANS,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `{name}` of the English text is in each translation, so a script fills them all.
    #[test]
    fn every_translation_keeps_the_placeholders_of_the_english_text() {
        fn names(s: &str) -> Vec<&str> {
            let mut out: Vec<&str> = s
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
                .collect();
            out.sort_unstable();
            out
        }
        let fields = |t: &StaffTexts| {
            [
                t.unknown_card,
                t.quote,
                t.quote_cashback,
                t.booked,
                t.refunded_item,
                t.refunded,
                t.n_orders,
                t.updated,
                t.load_failed,
            ]
        };
        for lang in [Lang::Ru, Lang::ZhHans] {
            for (en, other) in fields(&EN).into_iter().zip(fields(StaffTexts::of(lang))) {
                assert_eq!(names(en), names(other), "{other} ({})", lang.tag());
                assert!(!names(en).is_empty(), "{en}");
            }
        }
    }
}
