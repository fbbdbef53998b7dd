//! Enrollment through an invite, for the public `/join/{token}` page: [`invite_status`] is what
//! the page shows before its form, [`enroll`] what submitting the form does. The page renders
//! the answers; every decision is made here.
//!
//! An invite's `max_uses` counts new members. Someone whose e-mail address the account already
//! has gets their cards back (any missing card of the invite's programs is issued) without
//! using up the invite, even one that is used up; a revoked or expired invite serves no one.

use chrono::{DateTime, Utc};

use crate::cards::{IssueError, issue_card};
use crate::domain::FieldError;
use crate::domain::codes::InviteToken;
use crate::domain::contact;
use crate::domain::ids::{InviteId, MemberId};
use crate::domain::invites::{Invite, InviteStatus};
use crate::domain::model::{Card, Member, Program, ProgramStatus};
use crate::state::AppState;
use crate::store::{MemberKey, NewEnrollment, StoreError, normalize_email, now};

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

/// The outcome of an enrollment: the member and their cards of the invite's programs.
#[derive(Debug, Clone)]
pub struct Enrolled {
    pub member: Member,
    /// One card per active program of the invite, in the admin's order.
    pub cards: Vec<Card>,
    /// False when the e-mail address already belonged to a member of the account.
    pub new_member: bool,
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

/// Enrolls the person of `form` through the invite behind `token`: a new member (taking one
/// use of the invite, atomically) or the account's member with that e-mail address, and their
/// card of every active program of the invite, issued where missing.
#[tracing::instrument(skip_all, fields(invite.id))]
pub async fn enroll(
    state: &AppState,
    token: &str,
    form: EnrollForm,
) -> Result<Enrolled, EnrollError> {
    let at = now();
    let invite = live_invite(state, token, at).await?;
    tracing::Span::current().record("invite.id", invite.id.as_str());
    let member = new_member(&invite, form, at)?;
    let programs = active_programs(state, &invite).await?;
    let (member, new_member) = match state
        .store
        .enroll_new_member(&invite.id, &member, at)
        .await?
    {
        NewEnrollment::Created => (member, true),
        NewEnrollment::EmailTaken => {
            let email = member.email.as_deref().unwrap_or_default();
            let known = state
                .store
                .find_member(&invite.account_id, MemberKey::Email, email)
                .await?;
            state
                .store
                .record_consent(&invite.id, &known.id, at)
                .await?;
            (known, false)
        }
        NewEnrollment::InviteClosed => {
            let now_closed = state.store.get_invite(&invite.id).await?;
            return Err(closed(now_closed.status(at)));
        }
    };
    let cards = cards_of(state, &programs, &member).await?;
    tracing::info!(member.id = %member.id, new_member, cards = cards.len(), "enrolled");
    Ok(Enrolled {
        member,
        cards,
        new_member,
    })
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
