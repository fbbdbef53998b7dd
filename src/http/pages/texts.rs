//! The words of the public pages in each language the service speaks (en, ru, zh-Hans).

use crate::domain::i18n::Lang;
use crate::domain::ledger::EntryKind;
use crate::domain::model::CardStatus;

/// One language's words.
pub struct Texts {
    pub your_card: &'static str,
    pub history: &'static str,
    pub date: &'static str,
    pub entry: &'static str,
    pub amount: &'static str,
    pub no_history: &'static str,
    pub add_apple: &'static str,
    pub add_google: &'static str,
    pub language: &'static str,
    pub continue_on_phone: &'static str,
    /// The link from a card on the holder's cards page to the card's own page.
    pub details: &'static str,
    statuses: [&'static str; 3],
    entries: [&'static str; 6],
}

const EN: Texts = Texts {
    your_card: "Your card",
    history: "History",
    date: "Date",
    entry: "Entry",
    amount: "Amount",
    no_history: "No orders yet.",
    add_apple: "Add to Apple Wallet",
    add_google: "Add to Google Wallet",
    language: "Language",
    continue_on_phone: "On a computer? Scan this with your phone's camera to add the card there.",
    details: "History and details",
    statuses: ["Active", "Suspended", "Revoked"],
    entries: [
        "Order",
        "Cashback",
        "Stamps",
        "Reward",
        "Correction",
        "Entry",
    ],
};

const RU: Texts = Texts {
    your_card: "Ваша карта",
    history: "История",
    date: "Дата",
    entry: "Операция",
    amount: "Сумма",
    no_history: "Заказов пока нет.",
    add_apple: "Добавить в Apple Wallet",
    add_google: "Добавить в Google Wallet",
    language: "Язык",
    continue_on_phone: "Открыли на компьютере? Отсканируйте код камерой телефона, чтобы добавить карту на нём.",
    details: "История и подробности",
    statuses: ["Активна", "Приостановлена", "Отозвана"],
    entries: [
        "Заказ",
        "Кешбэк",
        "Штампы",
        "Награда",
        "Корректировка",
        "Операция",
    ],
};

const ZH: Texts = Texts {
    your_card: "您的会员卡",
    history: "记录",
    date: "日期",
    entry: "项目",
    amount: "金额",
    no_history: "暂无订单。",
    add_apple: "添加到 Apple 钱包",
    add_google: "添加到 Google 钱包",
    language: "语言",
    continue_on_phone: "在电脑上？用手机相机扫描此码，在手机上添加会员卡。",
    details: "记录和详情",
    statuses: ["有效", "已暂停", "已撤销"],
    entries: ["订单", "返现", "印章", "奖励", "调整", "项目"],
};

impl Texts {
    pub fn of(lang: Lang) -> &'static Texts {
        match lang {
            Lang::En => &EN,
            Lang::Ru => &RU,
            Lang::ZhHans => &ZH,
        }
    }

    pub fn status(&self, status: CardStatus) -> &'static str {
        match status {
            CardStatus::Active => self.statuses[0],
            CardStatus::Suspended => self.statuses[1],
            CardStatus::Revoked => self.statuses[2],
        }
    }

    /// What a ledger entry was, in a word.
    pub fn entry(&self, kind: Option<EntryKind>) -> &'static str {
        use EntryKind as K;
        let i = match kind {
            Some(K::Spend) => 0,
            Some(
                K::CashbackEarned | K::CashbackRedeemed | K::CashbackReversed | K::CashbackExpired,
            ) => 1,
            Some(K::StampsEarned | K::StampsRemoved) => 2,
            Some(K::RewardUnlocked | K::RewardRemoved | K::RewardRedeemed | K::RewardExpired) => 3,
            Some(K::SpendAdjusted | K::CashbackAdjusted | K::StampsAdjusted) => 4,
            None => 5,
        };
        self.entries[i]
    }
}

/// The enrollment page's words.
pub struct JoinTexts {
    pub title: &'static str,
    pub intro: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub role_hint: &'static str,
    pub email: &'static str,
    pub phone: &'static str,
    pub consent: &'static str,
    pub submit: &'static str,
    pub not_found: &'static str,
    pub expired: &'static str,
    pub used_up: &'static str,
    pub revoked: &'static str,
    pub ended: &'static str,
    pub unavailable: &'static str,
    pub stale_form: &'static str,
}

const JOIN_EN: JoinTexts = JoinTexts {
    title: "Get your loyalty card",
    intro: "Your company is invited to these programs:",
    name: "Full name",
    role: "Role",
    role_hint: "director, accountant, procurement",
    email: "Work e-mail",
    phone: "Phone (optional)",
    consent: "I agree that my name and contact details are used for the loyalty program.",
    submit: "Get my card",
    not_found: "This invitation link is not valid. Ask your supplier for a new one.",
    expired: "This invitation has expired. Ask your supplier for a new one.",
    used_up: "This invitation has been used as often as it may be. Ask your supplier for a new one.",
    revoked: "This invitation has been withdrawn. Ask your supplier for a new one.",
    ended: "The programs of this invitation have ended.",
    unavailable: "The service cannot enroll you right now. Please try again in a moment.",
    stale_form: "This form expired. Open the invitation link again.",
};

const JOIN_RU: JoinTexts = JoinTexts {
    title: "Получите карту лояльности",
    intro: "Ваша компания приглашена в программы:",
    name: "Имя и фамилия",
    role: "Должность",
    role_hint: "директор, бухгалтер, закупки",
    email: "Рабочий e-mail",
    phone: "Телефон (необязательно)",
    consent: "Я согласен(на) на использование моего имени и контактов в программе лояльности.",
    submit: "Получить карту",
    not_found: "Ссылка-приглашение недействительна. Попросите у поставщика новую.",
    expired: "Срок действия приглашения истёк. Попросите у поставщика новое.",
    used_up: "Приглашение уже использовано максимальное число раз. Попросите у поставщика новое.",
    revoked: "Приглашение отозвано. Попросите у поставщика новое.",
    ended: "Программы этого приглашения завершены.",
    unavailable: "Сейчас не удаётся оформить карту. Попробуйте чуть позже.",
    stale_form: "Форма устарела. Откройте ссылку-приглашение ещё раз.",
};

const JOIN_ZH: JoinTexts = JoinTexts {
    title: "领取您的会员卡",
    intro: "贵公司受邀加入以下计划：",
    name: "姓名",
    role: "职务",
    role_hint: "总监、会计、采购",
    email: "工作邮箱",
    phone: "电话（可选）",
    consent: "我同意将我的姓名和联系方式用于会员计划。",
    submit: "领取会员卡",
    not_found: "此邀请链接无效。请向供应商索取新的链接。",
    expired: "此邀请已过期。请向供应商索取新的邀请。",
    used_up: "此邀请的使用次数已满。请向供应商索取新的邀请。",
    revoked: "此邀请已被撤回。请向供应商索取新的邀请。",
    ended: "此邀请的计划已结束。",
    unavailable: "暂时无法办理，请稍后再试。",
    stale_form: "表单已过期。请重新打开邀请链接。",
};

impl JoinTexts {
    pub fn of(lang: Lang) -> &'static JoinTexts {
        match lang {
            Lang::En => &JOIN_EN,
            Lang::Ru => &JOIN_RU,
            Lang::ZhHans => &JOIN_ZH,
        }
    }

    /// A form field's label, for an error that names it.
    pub fn field(&self, field: &str) -> &'static str {
        match field {
            "name" => self.name,
            "role" => self.role,
            "email" => self.email,
            "phone" => self.phone,
            "consent" => self.consent,
            _ => self.title,
        }
    }
}

/// The words of the pages around a mailed link: "check your inbox", "send me my link", the
/// page a link opens and the holder's cards.
pub struct LinkTexts {
    pub sent_title: &'static str,
    pub sent_body: &'static str,
    pub sent_again: &'static str,
    pub have_card: &'static str,
    pub resend_title: &'static str,
    pub resend_intro: &'static str,
    pub resend_submit: &'static str,
    pub open_title: &'static str,
    pub open_intro: &'static str,
    pub open_button: &'static str,
    pub link_expired: &'static str,
    pub no_member: &'static str,
    pub cards_title: &'static str,
    pub no_cards: &'static str,
    pub session_over: &'static str,
}

const LINK_EN: LinkTexts = LinkTexts {
    sent_title: "Check your inbox",
    sent_body: "We are sending a mail with a link to the address you entered. Open the link within 30 minutes, on the phone that should hold the card; it works once.",
    sent_again: "No mail after a few minutes? Look in the spam folder, or try again.",
    have_card: "I already have a card: send me my link",
    resend_title: "Send me my link",
    resend_intro: "Enter the e-mail address your card was issued to, and we will mail you a link to your cards.",
    resend_submit: "Send my link",
    open_title: "Your cards are ready",
    open_intro: "Open your cards to see them and add them to your phone's wallet.",
    open_button: "Open my cards",
    link_expired: "This link has expired or was used already. Ask for a new one on the invitation page.",
    no_member: "No card is registered for this address with this company. Use the invitation form to get one.",
    cards_title: "Your cards",
    no_cards: "You have no cards yet.",
    session_over: "To see your cards, open the link from your mail again, or ask for a new one on the invitation page.",
};

const LINK_RU: LinkTexts = LinkTexts {
    sent_title: "Проверьте почту",
    sent_body: "Мы отправляем письмо со ссылкой на указанный адрес. Откройте ссылку в течение 30 минут на телефоне, где должна быть карта; она срабатывает один раз.",
    sent_again: "Письма нет через несколько минут? Проверьте папку «Спам» или попробуйте ещё раз.",
    have_card: "У меня уже есть карта: пришлите ссылку",
    resend_title: "Прислать ссылку",
    resend_intro: "Укажите адрес, на который выпущена ваша карта, и мы пришлём ссылку на ваши карты.",
    resend_submit: "Прислать ссылку",
    open_title: "Ваши карты готовы",
    open_intro: "Откройте карты, чтобы посмотреть их и добавить в кошелёк телефона.",
    open_button: "Открыть мои карты",
    link_expired: "Срок действия ссылки истёк, или она уже использована. Запросите новую на странице приглашения.",
    no_member: "Для этого адреса в этой компании карта не зарегистрирована. Получите её через форму приглашения.",
    cards_title: "Ваши карты",
    no_cards: "Карт пока нет.",
    session_over: "Чтобы увидеть карты, снова откройте ссылку из письма или запросите новую на странице приглашения.",
};

const LINK_ZH: LinkTexts = LinkTexts {
    sent_title: "请查收邮件",
    sent_body: "我们正在向您填写的邮箱发送一封带链接的邮件。请在 30 分钟内、在要存放会员卡的手机上打开该链接；链接只能使用一次。",
    sent_again: "几分钟后仍未收到？请检查垃圾邮件文件夹，或重试。",
    have_card: "我已有会员卡：发送我的链接",
    resend_title: "发送我的链接",
    resend_intro: "请输入办理会员卡时使用的邮箱，我们会把会员卡链接发送给您。",
    resend_submit: "发送链接",
    open_title: "您的会员卡已就绪",
    open_intro: "打开会员卡即可查看，并添加到手机钱包。",
    open_button: "打开我的会员卡",
    link_expired: "此链接已过期或已被使用。请在邀请页面重新申请。",
    no_member: "此邮箱在该公司名下没有登记会员卡。请通过邀请表单办理。",
    cards_title: "您的会员卡",
    no_cards: "您还没有会员卡。",
    session_over: "如需查看会员卡，请重新打开邮件中的链接，或在邀请页面申请新链接。",
};

impl LinkTexts {
    pub fn of(lang: Lang) -> &'static LinkTexts {
        match lang {
            Lang::En => &LINK_EN,
            Lang::Ru => &LINK_RU,
            Lang::ZhHans => &LINK_ZH,
        }
    }
}
