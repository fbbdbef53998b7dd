//! The mails the service writes, in the person's language (en, ru, zh-Hans), with the
//! program's name and colours: text and HTML from one set of words (askama templates in
//! `src/mail/templates`, auto-escaped in the HTML version).

use askama::Template;

use super::MailMessage;
use crate::domain::i18n::Lang;
use crate::domain::model::Color;

/// Why a mail with a one-time link is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkMail {
    /// Someone filled in a company's invite form with this address.
    Join,
    /// Someone asked for the link to their existing cards, or an admin sent it.
    Cards,
}

/// What a link mail says.
#[derive(Debug, Clone)]
pub struct LinkMailContent<'a> {
    pub kind: LinkMail,
    pub lang: Lang,
    pub to: &'a str,
    /// The supplier (the sender people recognise).
    pub supplier: &'a str,
    pub company: &'a str,
    /// The programs whose cards the link opens (may be empty for a cards link to no card).
    pub programs: Vec<String>,
    pub url: &'a str,
    /// How long the link works, in minutes.
    pub valid_minutes: i64,
    /// The first program's colours, for the header band and the button.
    pub background: Option<Color>,
    pub foreground: Option<Color>,
}

struct Words {
    join_subject: &'static str,
    cards_subject: &'static str,
    hello: &'static str,
    join_intro: &'static str,
    cards_intro: &'static str,
    action: &'static str,
    valid_for: &'static str,
    minutes: &'static str,
    hours: &'static str,
    once: &'static str,
    not_you: &'static str,
}

const EN: Words = Words {
    join_subject: "Your loyalty card",
    cards_subject: "The link to your loyalty cards",
    hello: "Hello,",
    join_intro: "A loyalty card for this address was requested through the invitation of",
    cards_intro: "Here is the link to your loyalty cards with",
    action: "Open my cards",
    valid_for: "The link works once, for",
    minutes: "minutes",
    hours: "hours",
    once: "Open it on the phone that should hold the card.",
    not_you: "If you did not ask for this, ignore this mail: nothing happens without the link.",
};

const RU: Words = Words {
    join_subject: "Ваша карта лояльности",
    cards_subject: "Ссылка на ваши карты лояльности",
    hello: "Здравствуйте!",
    join_intro: "Для этого адреса запрошена карта лояльности по приглашению компании",
    cards_intro: "Вот ссылка на ваши карты лояльности компании",
    action: "Открыть мои карты",
    valid_for: "Ссылка срабатывает один раз и действует",
    minutes: "мин",
    hours: "ч",
    once: "Откройте её на телефоне, где должна быть карта.",
    not_you: "Если вы ничего не запрашивали, просто удалите это письмо: без ссылки ничего не произойдёт.",
};

const ZH: Words = Words {
    join_subject: "您的会员卡",
    cards_subject: "您的会员卡链接",
    hello: "您好：",
    join_intro: "有人通过以下公司的邀请为此邮箱申请了会员卡：",
    cards_intro: "这是您在以下公司的会员卡链接：",
    action: "打开我的会员卡",
    valid_for: "该链接只能使用一次，有效期",
    minutes: "分钟",
    hours: "小时",
    once: "请在要存放会员卡的手机上打开。",
    not_you: "如果不是您本人申请，请忽略此邮件：没有链接不会发生任何事情。",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Ru => &RU,
        Lang::ZhHans => &ZH,
    }
}

#[derive(Template)]
#[template(path = "link.txt")]
struct LinkText<'a> {
    w: &'static Words,
    intro: &'a str,
    company: &'a str,
    programs: &'a [String],
    url: &'a str,
    validity: &'a str,
    supplier: &'a str,
}

#[derive(Template)]
#[template(path = "link.html")]
struct LinkHtml<'a> {
    w: &'static Words,
    lang: &'a str,
    subject: &'a str,
    intro: &'a str,
    company: &'a str,
    programs: &'a [String],
    url: &'a str,
    validity: &'a str,
    supplier: &'a str,
    background: String,
    foreground: String,
}

/// The mail carrying a one-time link.
pub fn link_mail(c: &LinkMailContent<'_>) -> Result<MailMessage, askama::Error> {
    let w = words(c.lang);
    let (subject, intro) = match c.kind {
        LinkMail::Join => (w.join_subject, w.join_intro),
        LinkMail::Cards => (w.cards_subject, w.cards_intro),
    };
    let subject = match c.programs.first() {
        Some(first) => format!("{subject}: {first}"),
        None => subject.to_owned(),
    };
    let validity = match c.valid_minutes {
        m if m >= 120 && m % 60 == 0 => format!("{} {} {}", w.valid_for, m / 60, w.hours),
        m => format!("{} {m} {}", w.valid_for, w.minutes),
    };
    let text = LinkText {
        w,
        intro,
        company: c.company,
        programs: &c.programs,
        url: c.url,
        validity: &validity,
        supplier: c.supplier,
    }
    .render()?;
    let html = LinkHtml {
        w,
        lang: c.lang.tag(),
        subject: &subject,
        intro,
        company: c.company,
        programs: &c.programs,
        url: c.url,
        validity: &validity,
        supplier: c.supplier,
        background: c
            .background
            .map_or_else(|| "#1d3557".to_owned(), |c| c.hex()),
        foreground: c
            .foreground
            .map_or_else(|| "#ffffff".to_owned(), |c| c.hex()),
    }
    .render()?;
    Ok(MailMessage {
        to: c.to.to_owned(),
        subject,
        text,
        html,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(lang: Lang) -> LinkMailContent<'static> {
        LinkMailContent {
            kind: LinkMail::Join,
            lang,
            to: "anna@client.example",
            supplier: "Acme <Supplies>",
            company: "Client & Co",
            programs: vec!["Partner cashback".into()],
            url: "https://cards.example/access/abc",
            valid_minutes: 30,
            background: Color::parse("#102030"),
            foreground: None,
        }
    }

    #[test]
    fn a_link_mail_says_the_link_and_program_in_both_versions_and_escapes_html() {
        let mail = link_mail(&content(Lang::En)).unwrap();
        assert_eq!(mail.subject, "Your loyalty card: Partner cashback");
        assert!(mail.text.contains("https://cards.example/access/abc"));
        assert!(mail.text.contains("Client & Co"));
        assert!(mail.text.contains("30 minutes"));
        assert!(
            mail.html
                .contains("href=\"https://cards.example/access/abc\"")
        );
        assert!(mail.html.contains("Client &#38; Co") || mail.html.contains("Client &amp; Co"));
        assert!(!mail.html.contains("<Supplies>"));
        assert!(mail.html.contains("#102030"));
    }

    #[test]
    fn a_link_mail_speaks_the_persons_language() {
        let ru = link_mail(&content(Lang::Ru)).unwrap();
        assert!(ru.subject.starts_with("Ваша карта лояльности"));
        assert!(ru.text.contains("Открыть мои карты"));
        let zh = link_mail(&content(Lang::ZhHans)).unwrap();
        assert!(zh.html.contains("lang=\"zh-Hans\""));
        assert!(zh.text.contains("打开我的会员卡"));
    }
}
