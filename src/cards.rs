//! Issuing a card of a program to a member: the one path the admin API (`POST /api/v1/cards`)
//! and enrollment through an invite share, so both draw the card's secrets, name its Google
//! Wallet object and queue the object's insertion the same way.

use chrono::{DateTime, Utc};

use crate::domain::codes::{AuthToken, CardCode, SerialNumber};
use crate::domain::ids::CardId;
use crate::domain::model::{Card, CardStatus, Member, Program, ProgramStatus};
use crate::state::AppState;
use crate::store::{StoreError, next_card_mtime, now};

/// Why a card was not issued.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    #[error("the program has ended; no new cards")]
    ProgramEnded,
    /// The member already has a card of the program (one card per member and program).
    #[error("this member already has a card of this program")]
    CardExists,
    #[error("Google Wallet object id of a new card")]
    GoogleObjectId(#[from] crate::google::InvalidId),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Issues `member` a new card of `program`. Draws fresh random serial, token and code; a
/// collision of those (astronomically rare) is retried. With Google Wallet on, the card names
/// its object and the object's insertion is queued in the card's transaction.
pub async fn issue_card(
    state: &AppState,
    program: &Program,
    member: &Member,
) -> Result<Card, IssueError> {
    if program.status == ProgramStatus::Ended {
        return Err(IssueError::ProgramEnded);
    }
    for _ in 0..3 {
        let id = CardId::generate();
        let google_object_id = match &state.google {
            Some(issuer) => Some(issuer.object_id(&id)?.to_string()),
            None => None,
        };
        let card = Card {
            id,
            program_id: program.id.clone(),
            member_id: member.id.clone(),
            account_id: member.account_id.clone(),
            serial: SerialNumber::generate(),
            auth_token: AuthToken::generate(),
            code: CardCode::generate(),
            status: CardStatus::Active,
            version: 1,
            updated_at: next_card_mtime(DateTime::<Utc>::UNIX_EPOCH),
            created_at: now(),
            notify: None,
            google_object_id,
        };
        match state.store.insert_card(&card).await {
            Ok(()) => return Ok(card),
            Err(StoreError::Conflict { field: "member_id" }) => {
                return Err(IssueError::CardExists);
            }
            Err(StoreError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(StoreError::Corrupt("card code collisions persisted".into()).into())
}

/// With Google Wallet on, gives a card issued while it was off its object (inserted through
/// the outbox right after), so its holder can add it to Google Wallet too.
pub async fn ensure_google_object(state: &AppState, card: &mut Card) -> Result<(), StoreError> {
    let Some(issuer) = &state.google else {
        return Ok(());
    };
    if card.google_object_id.is_some() || card.status == CardStatus::Revoked {
        return Ok(());
    }
    let Ok(object_id) = issuer.object_id(&card.id) else {
        return Ok(());
    };
    let attached = state
        .store
        .attach_google_object(&card.id, object_id.as_str())
        .await?;
    card.google_object_id = if attached {
        Some(object_id.to_string())
    } else {
        // Attached meanwhile by another request (or revoked): as stored.
        state.store.get_card(&card.id).await?.google_object_id
    };
    Ok(())
}

/// The card's "Add to Google Wallet" link, when it has a Google object and Google Wallet is on.
pub fn google_save_url(state: &AppState, card: &Card) -> Option<String> {
    let issuer = state.google.as_ref()?;
    let object_id = crate::google::ResourceId::parse(card.google_object_id.as_deref()?).ok()?;
    match issuer.save_url(&object_id, &card.program_id) {
        Ok(url) => Some(url),
        Err(e) => {
            tracing::error!(card = %card.id, error = %e, "could not sign a Google Wallet save link");
            None
        }
    }
}
