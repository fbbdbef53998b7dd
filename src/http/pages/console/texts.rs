//! The words of the console's layout and home page in each language the service speaks.
//! Each console page keeps the words of its own content in a texts module of its own.

use crate::domain::i18n::Lang;

/// One language's words of the console layout.
pub struct ConsoleTexts {
    pub console: &'static str,
    pub home: &'static str,
    pub programs: &'static str,
    pub companies: &'static str,
    pub invites: &'static str,
    pub desk: &'static str,
    pub dashboard: &'static str,
    pub dead_letters: &'static str,
    pub keys: &'static str,
    pub users: &'static str,
    pub audit: &'static str,
    pub sign_out: &'static str,
    pub signed_in_as: &'static str,
    pub home_intro: &'static str,
    pub programs_blurb: &'static str,
    pub companies_blurb: &'static str,
    pub invites_blurb: &'static str,
    pub desk_blurb: &'static str,
    pub dashboard_blurb: &'static str,
    pub dead_letters_blurb: &'static str,
    pub keys_blurb: &'static str,
    pub users_blurb: &'static str,
    pub audit_blurb: &'static str,
}

impl ConsoleTexts {
    pub fn of(lang: Lang) -> &'static ConsoleTexts {
        match lang {
            Lang::En => &EN,
            Lang::Ru => &RU,
            Lang::ZhHans => &ZH,
        }
    }
}

static EN: ConsoleTexts = ConsoleTexts {
    console: "Console",
    home: "Home",
    programs: "Programs",
    companies: "Companies",
    invites: "Invites",
    desk: "Order desk",
    dashboard: "Dashboard",
    dead_letters: "Failed deliveries",
    keys: "API keys",
    users: "Staff",
    audit: "Audit trail",
    sign_out: "Sign out",
    signed_in_as: "Signed in as",
    home_intro: "Run your loyalty programs: set them up, design their cards, hand cards out to your client companies and see what happens.",
    programs_blurb: "Discount, cumulative discount, cashback and stamp programs, and their card designs.",
    companies_blurb: "Client companies, their decision-makers and their cards.",
    invites_blurb: "QR codes and links with which a company's people enrol themselves.",
    desk_blurb: "Scan a card, book an order or a redemption.",
    dashboard_blurb: "Cards, orders and pushes over time.",
    dead_letters_blurb: "Updates the phones or the mail server refused, to look at and retry.",
    keys_blurb: "Keys for machines: your ERP, scripts, desk terminals.",
    users_blurb: "Who may sign in, with which role.",
    audit_blurb: "Who moved money or access, and when.",
};

static RU: ConsoleTexts = ConsoleTexts {
    console: "Консоль",
    home: "Главная",
    programs: "Программы",
    companies: "Компании",
    invites: "Приглашения",
    desk: "Касса",
    dashboard: "Аналитика",
    dead_letters: "Недоставленные",
    keys: "API-ключи",
    users: "Сотрудники",
    audit: "Журнал действий",
    sign_out: "Выйти",
    signed_in_as: "Вы вошли как",
    home_intro: "Управляйте программами лояльности: настраивайте их, оформляйте карты, выдавайте карты сотрудникам компаний-клиентов и следите за результатами.",
    programs_blurb: "Скидочные, накопительные, кешбэк- и штамп-программы и оформление их карт.",
    companies_blurb: "Компании-клиенты, их ответственные лица и их карты.",
    invites_blurb: "QR-коды и ссылки, по которым сотрудники компании сами получают карты.",
    desk_blurb: "Отсканировать карту, провести заказ или списание.",
    dashboard_blurb: "Карты, заказы и обновления во времени.",
    dead_letters_blurb: "Обновления, которые телефоны или почтовый сервер не приняли: посмотреть и повторить.",
    keys_blurb: "Ключи для систем: ERP, скрипты, кассовые терминалы.",
    users_blurb: "Кто может входить и с какой ролью.",
    audit_blurb: "Кто и когда менял деньги и доступы.",
};

static ZH: ConsoleTexts = ConsoleTexts {
    console: "控制台",
    home: "首页",
    programs: "会员计划",
    companies: "客户公司",
    invites: "邀请",
    desk: "收银台",
    dashboard: "数据看板",
    dead_letters: "投递失败",
    keys: "API 密钥",
    users: "员工",
    audit: "操作记录",
    sign_out: "退出",
    signed_in_as: "当前登录",
    home_intro: "管理您的会员计划：设置计划、设计卡面、向客户公司的人员发卡，并查看效果。",
    programs_blurb: "折扣、累计折扣、返现和集章计划及其卡面设计。",
    companies_blurb: "客户公司、其决策人及其会员卡。",
    invites_blurb: "公司人员自行领卡所用的二维码和链接。",
    desk_blurb: "扫描会员卡，登记订单或兑换。",
    dashboard_blurb: "会员卡、订单和推送的趋势。",
    dead_letters_blurb: "被手机或邮件服务器拒绝的更新：查看并重试。",
    keys_blurb: "供系统使用的密钥：ERP、脚本、收银终端。",
    users_blurb: "谁可以登录，以及其角色。",
    audit_blurb: "谁在何时变动了金额或权限。",
};
