//! The mails staff get: an invitation to choose a password, and a password reset link, in the
//! sender's language (the admin's who invites, the page's for a reset).

use askama::Template;

use crate::domain::i18n::Lang;
use crate::mail::MailMessage;
use crate::store::StaffLinkPurpose;

struct Words {
    invite_subject: &'static str,
    reset_subject: &'static str,
    hello: &'static str,
    invite_intro: &'static str,
    reset_intro: &'static str,
    action: &'static str,
    valid_hours: &'static str,
    not_you: &'static str,
}

const EN: Words = Words {
    invite_subject: "You are invited to the walletcards console",
    reset_subject: "Choose a new walletcards password",
    hello: "Hello",
    invite_intro: "{inviter} gave you access to the loyalty console as {role}. Choose your password to sign in.",
    reset_intro: "Someone asked for a new password for this address. Choose one with the link below.",
    action: "Choose my password",
    valid_hours: "The link works once, for {hours} hours.",
    not_you: "If you did not expect this mail, ignore it: nothing changes without the link.",
};

const RU: Words = Words {
    invite_subject: "Приглашение в консоль walletcards",
    reset_subject: "Новый пароль walletcards",
    hello: "Здравствуйте",
    invite_intro: "{inviter} открыл(а) вам доступ к консоли программ лояльности с ролью «{role}». Задайте пароль, чтобы войти.",
    reset_intro: "Для этого адреса запрошен новый пароль. Задайте его по ссылке ниже.",
    action: "Задать пароль",
    valid_hours: "Ссылка срабатывает один раз и действует {hours} ч.",
    not_you: "Если вы не ждали этого письма, просто удалите его: без ссылки ничего не изменится.",
};

const ZH: Words = Words {
    invite_subject: "邀请您使用 walletcards 控制台",
    reset_subject: "设置新的 walletcards 密码",
    hello: "您好",
    invite_intro: "{inviter} 已为您开通会员计划控制台的访问权限，角色：{role}。请设置密码后登录。",
    reset_intro: "有人为此邮箱申请了新密码。请通过下方链接设置。",
    action: "设置密码",
    valid_hours: "该链接只能使用一次，有效期 {hours} 小时。",
    not_you: "如果您没有预料到这封邮件，请忽略：没有链接不会发生任何变化。",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &EN,
        Lang::Ru => &RU,
        Lang::ZhHans => &ZH,
    }
}

/// The role as the mail names it.
pub fn role_name(lang: Lang, admin: bool) -> &'static str {
    match (lang, admin) {
        (Lang::En, true) => "admin",
        (Lang::En, false) => "order desk",
        (Lang::Ru, true) => "администратор",
        (Lang::Ru, false) => "касса",
        (Lang::ZhHans, true) => "管理员",
        (Lang::ZhHans, false) => "收银台",
    }
}

#[derive(Template)]
#[template(path = "staff_link.txt")]
struct Text<'a> {
    w: &'static Words,
    name: &'a str,
    intro: &'a str,
    url: &'a str,
    validity: &'a str,
}

#[derive(Template)]
#[template(path = "staff_link.html")]
struct Html<'a> {
    w: &'static Words,
    lang: &'a str,
    subject: &'a str,
    name: &'a str,
    intro: &'a str,
    url: &'a str,
    validity: &'a str,
}

/// What a staff link mail says.
pub struct StaffMail<'a> {
    pub purpose: StaffLinkPurpose,
    pub lang: Lang,
    pub to: &'a str,
    pub name: &'a str,
    /// Who invites (for an invitation).
    pub inviter: &'a str,
    pub admin: bool,
    pub url: &'a str,
    pub valid_hours: i64,
}

/// The mail with a staff link.
pub fn compose(m: &StaffMail<'_>) -> Result<MailMessage, askama::Error> {
    let w = words(m.lang);
    let (subject, intro) = match m.purpose {
        StaffLinkPurpose::Invite => (
            w.invite_subject,
            w.invite_intro
                .replace("{inviter}", m.inviter)
                .replace("{role}", role_name(m.lang, m.admin)),
        ),
        StaffLinkPurpose::Reset => (w.reset_subject, w.reset_intro.to_owned()),
    };
    let validity = w.valid_hours.replace("{hours}", &m.valid_hours.to_string());
    let text = Text {
        w,
        name: m.name,
        intro: &intro,
        url: m.url,
        validity: &validity,
    }
    .render()?;
    let html = Html {
        w,
        lang: m.lang.tag(),
        subject,
        name: m.name,
        intro: &intro,
        url: m.url,
        validity: &validity,
    }
    .render()?;
    Ok(MailMessage {
        to: m.to.to_owned(),
        subject: subject.to_owned(),
        text,
        html,
    })
}
