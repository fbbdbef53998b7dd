//! Enrollment through an invite, and every way to a person's cards, for the public pages:
//! [`invite_status`] is what `/join/{token}` shows before its form, [`request_join_link`] what
//! submitting it does, [`request_cards_link`] the "send me my link" form, [`send_card_link`]
//! an admin's personal invite, and [`open_link`] what opening a mailed link does. The pages
//! render the answers; every decision is made here.
//!
//! Nobody sees a card before proving they read the mail of its address: the forms only mail a
//! one-time link (single use, bound to the invite or member and the address) and answer the
//! same whether the address is new, known or has cards. Who the person is, is decided when the
//! link is opened: the account's member with that address (the name the form gave is then
//! ignored), or, if there is none, a new member with what the form said, taking one use of the
//! invite — so nobody can take an address over by typing it into a form.
//!
//! An invite's `max_uses` counts new members. Someone whose e-mail address the account already
//! has gets their cards back (any missing card of the invite's programs is issued) without
//! using up the invite, even one that is used up; a revoked or expired invite serves no one.

use chrono::{DateTime, TimeDelta, Utc};

use crate::cards::{IssueError, issue_card};
use crate::domain::FieldError;
use crate::domain::codes::InviteToken;
use crate::domain::contact;
use crate::domain::i18n::Lang;
use crate::domain::ids::{AccountId, EmailLinkId, InviteId, MemberId};
use crate::domain::invites::{Invite, InviteStatus};
use crate::domain::model::{Account, Card, Member, Program, ProgramStatus};
use crate::mail::compose::{LinkMail, LinkMailContent, link_mail};
use crate::state::AppState;
use crate::store::{
    EmailLink, LinkPurpose, MemberKey, NewEnrollment, StoreError, normalize_email, now,
};
use crate::tokens::{random_token, token_hash};

/// How long a link mailed from a public form works.
pub const FORM_LINK_TTL: TimeDelta = TimeDelta::minutes(30);
/// How long a link an admin sends works: the person may read the mail days later.
pub const PERSONAL_LINK_TTL: TimeDelta = TimeDelta::hours(72);
/// How long opening a link shows the person their cards (in the browser that opened it).
pub const HOLDER_SESSION_TTL: TimeDelta = TimeDelta::hours(2);

/// Whether a requested link was mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mailed {
    Queued,
    /// The address or the invite had as many links this hour as it may: none was sent.
    Limited,
}

/// A link, opened: the holder session that shows the person their cards.
#[derive(Debug, Clone)]
pub struct Opened {
    pub member: Member,
    /// The session's token (for its cookie); only its hash is stored.
    pub session_token: String,
    pub lang: Lang,
}

/// What a person fills in on the enrollment page.
#[derive(Debug, Clone, Default)]
pub struct EnrollForm {
    /// 1 to 200 characters once trimmed.
    pub name: String,
    /// Their role in the company, e.g. "Purchasing manager": 1 to 100 characters, as the
    /// admin API accepts for members.
    pub role: String,
    /// Compared and stored normalised (trimmed, lowercase).
    pub email: String,
    pub phone: Option<String>,
    /// Must be true: the person agrees to get a card and to be contacted about it.
    pub consent: bool,
}

/// Why enrollment did not happen. `Display` is a sentence the page may show as is.
#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error("this invitation link is not valid")]
    NotFound,
    #[error("this invitation has expired")]
    Expired,
    #[error("this invitation has been used up")]
    UsedUp,
    #[error("this invitation has been withdrawn")]
    Revoked,
    /// A mailed link that is unknown, used or expired (which, is not said).
    #[error("this link has expired or was used already")]
    LinkExpired,
    /// A link to the cards of an address that no member of the account has (any more).
    #[error("no card is registered for this address")]
    NoMember,
    /// Every program of the invite has ended since it was made: it offers no card any more.
    #[error("the programs of this invitation have ended")]
    ProgramsEnded,
    /// A form field is not acceptable; `field` is its name in [`EnrollForm`].
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A card could not be issued for a reason of ours (not the person's).
    #[error("issuing a card")]
    Card(#[source] IssueError),
    /// A mail could not be composed (a bug in a template, not the person's input).
    #[error("composing a mail: {0}")]
    Mail(String),
}

impl From<FieldError> for EnrollError {
    fn from(e: FieldError) -> Self {
        EnrollError::Invalid {
            field: e.field,
            message: e.message,
        }
    }
}

/// What the page shows about an open invite before its form.
#[derive(Debug, Clone)]
pub struct InviteView {
    pub invite_id: InviteId,
    /// The client company the person joins.
    pub account_name: String,
    /// The programs the person gets a card of (those still active), in the admin's order.
    pub programs: Vec<Program>,
    pub expires_at: DateTime<Utc>,
    pub uses_left: i64,
}

/// The public enrollment link of an invite: `{public_url}/join/{token}`.
pub fn join_url(public_url: &str, token: &InviteToken) -> String {
    format!("{public_url}/join/{}", token.expose())
}

/// The invite behind `token`, if it still enrolls new people, with what it offers.
pub async fn invite_status(state: &AppState, token: &str) -> Result<InviteView, EnrollError> {
    let at = now();
    let invite = live_invite(state, token, at).await?;
    if invite.status(at) == InviteStatus::UsedUp {
        return Err(EnrollError::UsedUp);
    }
    let programs = active_programs(state, &invite).await?;
    let account = state.store.get_account(&invite.account_id).await?;
    Ok(InviteView {
        invite_id: invite.id.clone(),
        account_name: account.name,
        programs,
        expires_at: invite.expires_at,
        uses_left: invite.uses_left(),
    })
}

/// Mails a one-time link to the address the invite form gives (see the module doc): the form is
/// checked, nothing is looked up about the address, and the answer is the same for every
/// address. Over the mail limits no mail is sent ([`Mailed::Limited`]), and the page still
/// says the same.
#[tracing::instrument(skip_all, fields(invite.id))]
pub async fn request_join_link(
    state: &AppState,
    token: &str,
    form: EnrollForm,
    lang: Lang,
) -> Result<Mailed, EnrollError> {
    let at = now();
    let invite = live_invite(state, token, at).await?;
    tracing::Span::current().record("invite.id", invite.id.as_str());
    let member = new_member(&invite, form, at)?;
    let programs = active_programs(state, &invite).await?;
    let account = state.store.get_account(&invite.account_id).await?;
    let link = EmailLink {
        invite_id: Some(invite.id.clone()),
        name: Some(member.name),
        role: member.role,
        phone: member.phone,
        ..new_link(
            LinkPurpose::Join,
            &member.account_id,
            member.email.as_deref().unwrap_or_default(),
            lang,
            (at, FORM_LINK_TTL),
        )
    };
    mail_link(state, link, &account, &programs, LinkMail::Join).await
}

/// "I already have a card: send me my link": mails the address a one-time link to its cards
/// with the invite's company. The answer says nothing about whether the address has any.
pub async fn request_cards_link(
    state: &AppState,
    token: &str,
    email: &str,
    lang: Lang,
) -> Result<Mailed, EnrollError> {
    let at = now();
    let invite = live_invite(state, token, at).await?;
    let email = contact::email("email", Some(email))?
        .ok_or_else(|| FieldError::new("email", "must not be empty"))?;
    let account = state.store.get_account(&invite.account_id).await?;
    let link = EmailLink {
        invite_id: Some(invite.id.clone()),
        ..new_link(
            LinkPurpose::Cards,
            &invite.account_id,
            &email,
            lang,
            (at, FORM_LINK_TTL),
        )
    };
    mail_link(state, link, &account, &[], LinkMail::Cards).await
}

/// An admin's personal invite: mails member `id` a link that opens their cards, valid for
/// [`PERSONAL_LINK_TTL`]. A member without an e-mail address is `Invalid { field: "email" }`.
pub async fn send_card_link(
    state: &AppState,
    id: &MemberId,
    lang: Lang,
) -> Result<Mailed, EnrollError> {
    let at = now();
    let member = state.store.get_member(id).await?;
    let email = member
        .email
        .clone()
        .ok_or_else(|| FieldError::new("email", "the member has no e-mail address to send to"))?;
    let account = state.store.get_account(&member.account_id).await?;
    let mut programs = Vec::new();
    for card in state.store.member_cards(&member.id).await? {
        programs.push(state.store.get_program(&card.program_id).await?);
    }
    let link = EmailLink {
        member_id: Some(member.id.clone()),
        ..new_link(
            LinkPurpose::Cards,
            &member.account_id,
            &email,
            lang,
            (at, PERSONAL_LINK_TTL),
        )
    };
    mail_link(state, link, &account, &programs, LinkMail::Cards).await
}

/// A link of `purpose` to `email` (normalised here) in `account`, made `at` and working for
/// `ttl`; the caller adds what it is bound to.
fn new_link(
    purpose: LinkPurpose,
    account: &AccountId,
    email: &str,
    lang: Lang,
    (at, ttl): (DateTime<Utc>, TimeDelta),
) -> EmailLink {
    EmailLink {
        id: EmailLinkId::generate(),
        purpose,
        account_id: account.clone(),
        invite_id: None,
        member_id: None,
        email: normalize_email(email),
        name: None,
        role: None,
        phone: None,
        lang: lang.tag().to_owned(),
        created_at: at,
        expires_at: at + ttl,
    }
}

/// Stores `link` with the mail that carries it, unless the address or invite reached its
/// limit for the hour.
async fn mail_link(
    state: &AppState,
    link: EmailLink,
    account: &Account,
    programs: &[Program],
    kind: LinkMail,
) -> Result<Mailed, EnrollError> {
    let hour_ago = link.created_at - TimeDelta::hours(1);
    let recent = state
        .store
        .recent_links(&link.email, link.invite_id.as_ref(), hour_ago)
        .await?;
    let limits = state.mail_limits;
    if recent.to_address >= i64::from(limits.per_address_per_hour)
        || recent.through_invite >= i64::from(limits.per_invite_per_hour)
    {
        tracing::warn!(
            invite.id = link.invite_id.as_ref().map(InviteId::as_str),
            "mail limit reached: no link sent"
        );
        return Ok(Mailed::Limited);
    }
    let token = random_token();
    // The link's pages speak the language the person used (or the admin chose).
    let url = format!("{}/access/{token}?lang={}", state.public_url, link.lang);
    let first = programs.first();
    let supplier = first
        .and_then(|p| p.branding.organization_name.as_deref())
        .unwrap_or(&state.organization_name);
    let mail = link_mail(&LinkMailContent {
        kind,
        lang: Lang::from_tag(&link.lang).unwrap_or(Lang::En),
        to: &link.email,
        supplier,
        company: &account.name,
        programs: programs.iter().map(|p| p.name.clone()).collect(),
        url: &url,
        valid_minutes: (link.expires_at - link.created_at).num_minutes(),
        background: first.and_then(|p| p.branding.background_color),
        foreground: first.and_then(|p| p.branding.foreground_color),
    })
    .map_err(|e| EnrollError::Mail(e.to_string()))?;
    let payload = serde_json::to_string(&mail).map_err(|e| EnrollError::Mail(e.to_string()))?;
    state
        .store
        .insert_email_link(&link, &token_hash(&token), &payload)
        .await?;
    tracing::info!(link.id = %link.id, "one-time link queued for mailing");
    Ok(Mailed::Queued)
}

/// Whether the link behind `token` would still open (for the page before its button).
pub async fn link_is_open(state: &AppState, token: &str) -> Result<bool, EnrollError> {
    Ok(state
        .store
        .email_link_is_open(&token_hash(token), now())
        .await?)
}

/// Opens the link behind `token`, once: finds (or, through an invite, creates) the person it
/// was mailed to, issues the invite's cards they miss, and starts a holder session.
#[tracing::instrument(skip_all, fields(link.id))]
pub async fn open_link(state: &AppState, token: &str) -> Result<Opened, EnrollError> {
    let at = now();
    let link = state
        .store
        .take_email_link(&token_hash(token), at)
        .await?
        .ok_or(EnrollError::LinkExpired)?;
    tracing::Span::current().record("link.id", link.id.as_str());
    let member = match link.purpose {
        LinkPurpose::Join => join_through(state, &link, at).await?,
        LinkPurpose::Cards => owner_of(state, &link).await?,
    };
    let session_token = random_token();
    state
        .store
        .insert_holder_session(
            &token_hash(&session_token),
            &member.id,
            at,
            at + HOLDER_SESSION_TTL,
        )
        .await?;
    tracing::info!(member.id = %member.id, "mailed link opened");
    Ok(Opened {
        member,
        session_token,
        lang: Lang::from_tag(&link.lang).unwrap_or(Lang::En),
    })
}

/// The member a join link enrolls: the account's member with the address (their consent
/// recorded), or a new one made from the form, taking a use of the invite; with every card of
/// the invite's active programs.
async fn join_through(
    state: &AppState,
    link: &EmailLink,
    at: DateTime<Utc>,
) -> Result<Member, EnrollError> {
    let invite_id = link.invite_id.as_ref().ok_or(EnrollError::NotFound)?;
    let invite = state.store.get_invite(invite_id).await?;
    match invite.status(at) {
        InviteStatus::Active | InviteStatus::UsedUp => {}
        closed_as => return Err(closed(closed_as)),
    }
    let programs = active_programs(state, &invite).await?;
    let member = match known_member(state, link).await? {
        Some(known) => {
            state
                .store
                .record_consent(&invite.id, &known.id, at)
                .await?;
            known
        }
        None => {
            let member = Member {
                id: MemberId::generate(),
                account_id: link.account_id.clone(),
                name: link.name.clone().unwrap_or_default(),
                role: link.role.clone(),
                email: Some(link.email.clone()),
                phone: link.phone.clone(),
                external_id: None,
                created_at: at,
                updated_at: at,
            };
            match state
                .store
                .enroll_new_member(&invite.id, &member, at)
                .await?
            {
                NewEnrollment::Created => member,
                // Enrolled a moment ago through another link: that member is this person.
                NewEnrollment::EmailTaken => known_member(state, link)
                    .await?
                    .ok_or(EnrollError::NoMember)?,
                NewEnrollment::InviteClosed => {
                    let now_closed = state.store.get_invite(&invite.id).await?;
                    return Err(closed(now_closed.status(at)));
                }
            }
        }
    };
    let cards = cards_of(state, &programs, &member).await?;
    tracing::info!(member.id = %member.id, cards = cards.len(), "enrolled");
    Ok(member)
}

/// The member a cards link opens: the one an admin named (if the address is still theirs),
/// else the account's member with the address.
async fn owner_of(state: &AppState, link: &EmailLink) -> Result<Member, EnrollError> {
    if let Some(id) = &link.member_id {
        let member = match state.store.get_member(id).await {
            Err(StoreError::NotFound) => return Err(EnrollError::NoMember),
            other => other?,
        };
        let same = member
            .email
            .as_deref()
            .is_some_and(|e| normalize_email(e) == link.email);
        return if same {
            Ok(member)
        } else {
            Err(EnrollError::NoMember)
        };
    }
    known_member(state, link)
        .await?
        .ok_or(EnrollError::NoMember)
}

/// The account's member with the link's address, if there is one.
async fn known_member(state: &AppState, link: &EmailLink) -> Result<Option<Member>, EnrollError> {
    match state
        .store
        .find_member(&link.account_id, MemberKey::Email, &link.email)
        .await
    {
        Ok(member) => Ok(Some(member)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The member of the holder session whose cookie holds `token`, if it is live.
pub async fn holder_of(state: &AppState, token: &str) -> Result<Option<Member>, EnrollError> {
    let Some(id) = state
        .store
        .find_holder_session(&token_hash(token), now())
        .await?
    else {
        return Ok(None);
    };
    match state.store.get_member(&id).await {
        Ok(member) => Ok(Some(member)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The invite behind `token` unless it is unknown, revoked or expired (used up passes: it
/// still serves people who are already members).
async fn live_invite(
    state: &AppState,
    token: &str,
    at: DateTime<Utc>,
) -> Result<Invite, EnrollError> {
    let token = InviteToken::parse(token).ok_or(EnrollError::NotFound)?;
    let invite = match state.store.find_invite_by_token(&token).await {
        Err(StoreError::NotFound) => return Err(EnrollError::NotFound),
        other => other?,
    };
    match invite.status(at) {
        InviteStatus::Active | InviteStatus::UsedUp => Ok(invite),
        closed_as => Err(closed(closed_as)),
    }
}

fn closed(status: InviteStatus) -> EnrollError {
    match status {
        InviteStatus::Revoked => EnrollError::Revoked,
        InviteStatus::Expired => EnrollError::Expired,
        // Active here means the use was taken by others between our read and our write.
        InviteStatus::UsedUp | InviteStatus::Active => EnrollError::UsedUp,
    }
}

/// The member the form describes, in the invite's account; checks every field.
fn new_member(invite: &Invite, form: EnrollForm, at: DateTime<Utc>) -> Result<Member, EnrollError> {
    let name = contact::text("name", &form.name, 200)?;
    let role = contact::text("role", &form.role, 100)?;
    let email = contact::email("email", Some(&form.email))?
        .ok_or_else(|| FieldError::new("email", "must not be empty"))?;
    let phone = contact::phone("phone", form.phone.as_deref())?;
    if !form.consent {
        return Err(FieldError::new("consent", "must be given to get a card").into());
    }
    Ok(Member {
        id: MemberId::generate(),
        account_id: invite.account_id.clone(),
        name,
        role: Some(role),
        email: Some(normalize_email(&email)),
        phone,
        external_id: None,
        created_at: at,
        updated_at: at,
    })
}

/// The invite's programs that still issue cards; none is [`EnrollError::ProgramsEnded`].
async fn active_programs(state: &AppState, invite: &Invite) -> Result<Vec<Program>, EnrollError> {
    let mut programs = Vec::with_capacity(invite.program_ids.len());
    for id in &invite.program_ids {
        let program = state.store.get_program(id).await?;
        if program.status == ProgramStatus::Active {
            programs.push(program);
        }
    }
    if programs.is_empty() {
        return Err(EnrollError::ProgramsEnded);
    }
    Ok(programs)
}

/// The member's card of each of `programs`: the one they hold, or a new one.
async fn cards_of(
    state: &AppState,
    programs: &[Program],
    member: &Member,
) -> Result<Vec<Card>, EnrollError> {
    let mut held = state.store.member_cards(&member.id).await?;
    let mut cards = Vec::with_capacity(programs.len());
    for program in programs {
        if let Some(i) = held.iter().position(|c| c.program_id == program.id) {
            cards.push(held.swap_remove(i));
            continue;
        }
        match issue_card(state, program, member).await {
            Ok(card) => cards.push(card),
            // A concurrent enrollment of the same person issued it first: theirs is ours.
            Err(IssueError::CardExists) => {
                let again = state.store.member_cards(&member.id).await?;
                cards.extend(again.into_iter().find(|c| c.program_id == program.id));
            }
            // Ended since we looked: no new cards of it.
            Err(IssueError::ProgramEnded) => {}
            Err(IssueError::Store(e)) => return Err(e.into()),
            Err(e) => return Err(EnrollError::Card(e)),
        }
    }
    Ok(cards)
}
