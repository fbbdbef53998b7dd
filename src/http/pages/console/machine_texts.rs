//! The words of the API keys page and the failed deliveries page.

use crate::domain::i18n::Lang;

pub struct MachineTexts {
    pub keys_hint: &'static str,
    pub name: &'static str,
    pub role: &'static str,
    pub roles: [(&'static str, &'static str); 3],
    pub created: &'static str,
    pub last_used: &'static str,
    pub never: &'static str,
    pub status: &'static str,
    pub active: &'static str,
    pub revoked: &'static str,
    pub revoke: &'static str,
    pub new_key: &'static str,
    pub create: &'static str,
    pub token_once: &'static str,
    pub no_keys: &'static str,
    pub last_admin_key: &'static str,
    pub dead_hint: &'static str,
    pub kind: &'static str,
    pub to: &'static str,
    pub card: &'static str,
    pub attempts: &'static str,
    pub error: &'static str,
    pub when: &'static str,
    pub retry: &'static str,
    pub retried: &'static str,
    pub none_dead: &'static str,
    pub more: &'static str,
}

impl MachineTexts {
    pub fn of(lang: Lang) -> &'static MachineTexts {
        match lang {
            Lang::En => &EN,
            Lang::Ru => &RU,
            Lang::ZhHans => &ZH,
        }
    }

    /// The word for a key's role.
    pub fn role_name(&self, role: &str) -> &'static str {
        self.roles
            .iter()
            .find(|(r, _)| *r == role)
            .map_or("", |(_, name)| name)
    }
}

static EN: MachineTexts = MachineTexts {
    keys_hint: "Keys let machines in: your ERP (orders and refunds), scripts (admin), desk terminals (desk). People sign in with their own e-mail and password instead.",
    name: "Name",
    role: "Role",
    roles: [
        ("admin", "Admin"),
        ("desk", "Order desk"),
        ("erp-webhook", "ERP"),
    ],
    created: "Created",
    last_used: "Last used",
    never: "never",
    status: "Status",
    active: "active",
    revoked: "revoked",
    revoke: "Revoke",
    new_key: "New key",
    create: "Create key",
    token_once: "Copy this key now: it is shown only once. Give it to the machine as the header Authorization: Bearer <key>.",
    no_keys: "No keys yet.",
    last_admin_key: "This is the last admin key: create another one first.",
    dead_hint: "Updates a phone, Google or the mail server refused for good. Fix the cause (a certificate, an address), then retry.",
    kind: "Channel",
    to: "To",
    card: "Card",
    attempts: "Attempts",
    error: "Error",
    when: "Since",
    retry: "Retry",
    retried: "Queued again.",
    none_dead: "No failed deliveries. Every update reached its phone, Google or the mail server.",
    more: "More",
};

static RU: MachineTexts = MachineTexts {
    keys_hint: "Ключи — для систем: ERP (заказы и возвраты), скрипты (администратор), кассовые терминалы (касса). Люди входят по своей почте и паролю.",
    name: "Название",
    role: "Роль",
    roles: [
        ("admin", "Администратор"),
        ("desk", "Касса"),
        ("erp-webhook", "ERP"),
    ],
    created: "Создан",
    last_used: "Использован",
    never: "никогда",
    status: "Статус",
    active: "действует",
    revoked: "отозван",
    revoke: "Отозвать",
    new_key: "Новый ключ",
    create: "Создать ключ",
    token_once: "Скопируйте ключ сейчас: он показывается один раз. Система передаёт его в заголовке Authorization: Bearer <ключ>.",
    no_keys: "Ключей пока нет.",
    last_admin_key: "Это последний ключ администратора: сначала создайте другой.",
    dead_hint: "Обновления, которые телефон, Google или почтовый сервер окончательно отклонили. Устраните причину (сертификат, адрес) и повторите.",
    kind: "Канал",
    to: "Кому",
    card: "Карта",
    attempts: "Попыток",
    error: "Ошибка",
    when: "С",
    retry: "Повторить",
    retried: "Снова в очереди.",
    none_dead: "Недоставленных нет: каждое обновление дошло до телефона, Google или почтового сервера.",
    more: "Ещё",
};

static ZH: MachineTexts = MachineTexts {
    keys_hint: "密钥供系统使用：ERP（订单和退款）、脚本（管理员）、收银终端（收银台）。员工使用自己的邮箱和密码登录。",
    name: "名称",
    role: "角色",
    roles: [
        ("admin", "管理员"),
        ("desk", "收银台"),
        ("erp-webhook", "ERP"),
    ],
    created: "创建时间",
    last_used: "最近使用",
    never: "从未",
    status: "状态",
    active: "有效",
    revoked: "已撤销",
    revoke: "撤销",
    new_key: "新密钥",
    create: "创建密钥",
    token_once: "请立即复制此密钥：它只显示一次。系统通过请求头 Authorization: Bearer <密钥> 使用它。",
    no_keys: "还没有密钥。",
    last_admin_key: "这是最后一个管理员密钥：请先创建另一个。",
    dead_hint: "被手机、Google 或邮件服务器最终拒绝的更新。排除原因（证书、地址）后重试。",
    kind: "渠道",
    to: "接收方",
    card: "会员卡",
    attempts: "尝试次数",
    error: "错误",
    when: "时间",
    retry: "重试",
    retried: "已重新排队。",
    none_dead: "没有投递失败：每条更新都已送达手机、Google 或邮件服务器。",
    more: "更多",
};
