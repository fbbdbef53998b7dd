//! What a booking names, looked up: a card by id or code, and the account, member and
//! programs of an order, which an order looks up in its own transaction ([`Booking`]). A
//! missing one is refused as not found, naming the request's field.

use super::checks::usable;
use super::error::found;
use super::{BookingError, NewOrder};
use crate::domain::codes::CardCode;
use crate::domain::ids::{AccountId, CardId, MemberId, ProgramId};
use crate::domain::model::{Account, Card, Member, Program, ProgramStatus};
use crate::domain::money::Currency;
use crate::store::{Booking, MemberKey, Store, StoreError};

/// The code of a scanned card, as the request's `card_code` sends it.
pub(super) fn card_code(code: &str) -> Result<CardCode, BookingError> {
    CardCode::parse(code).ok_or_else(|| BookingError::not_found("card", "card_code"))
}

pub(super) async fn card_by_code(store: &Store, code: &str) -> Result<Card, BookingError> {
    found(
        store.get_card_by_code(&card_code(code)?).await,
        "card",
        "card_code",
    )
}

/// The card with id `id`; not found names no field (the id is the resource's path).
pub async fn card_by_id(store: &Store, id: &str) -> Result<Card, BookingError> {
    let not_found = || BookingError::NotFound {
        what: "card",
        field: None,
    };
    let id = CardId::parse(id).ok_or_else(not_found)?;
    match store.get_card(&id).await {
        Err(StoreError::NotFound) => Err(not_found()),
        other => Ok(other?),
    }
}

/// The account, member and scanned card an order names.
pub(super) async fn order_people(
    tx: &mut Booking<'_>,
    o: &NewOrder,
) -> Result<(AccountId, Option<Member>, Option<Card>), BookingError> {
    // The common ERP case names both ids: the member proves its account exists. Anything
    // else (unknown ids, a member of another account) goes through the checks below, which
    // name the error in the order the rules fix.
    if let (Some(a), Some(m), None) = (&o.account_id, &o.member_id, &o.card_code) {
        if let (Some(account_id), Some(member_id)) = (AccountId::parse(a), MemberId::parse(m)) {
            match tx.member(&member_id).await {
                Ok(m) if m.account_id == account_id => return Ok((account_id, Some(m), None)),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let account = order_account(tx, o).await?;
    let (member, card) = order_member(tx, o, &account).await?;
    Ok((account.id, member, card))
}

async fn order_account(tx: &mut Booking<'_>, o: &NewOrder) -> Result<Account, BookingError> {
    match (&o.account_id, &o.account_external_id) {
        (Some(id), _) => {
            let id = AccountId::parse(id)
                .ok_or_else(|| BookingError::not_found("account", "account_id"))?;
            found(tx.account(&id).await, "account", "account_id")
        }
        (None, Some(ext)) => found(
            tx.account_by_external_id(ext).await,
            "account",
            "account_external_id",
        ),
        (None, None) => Err(account_required()),
    }
}

/// An order names its account by id or by the ERP's customer number.
pub(super) fn account_required() -> BookingError {
    BookingError::invalid(
        "missing_field",
        "account_id",
        "give account_id or account_external_id",
    )
}

/// The member an order names (by card, id, ERP contact id or e-mail), who must belong to
/// `account`, and the card when it was scanned.
async fn order_member(
    tx: &mut Booking<'_>,
    o: &NewOrder,
    account: &Account,
) -> Result<(Option<Member>, Option<Card>), BookingError> {
    let mut card = None;
    let (member, field) = if let Some(code) = &o.card_code {
        let c = found(
            tx.card_by_code(&card_code(code)?).await,
            "card",
            "card_code",
        )?;
        usable(&c, "card_code")?;
        let m = tx.member(&c.member_id).await?;
        card = Some(c);
        (m, "card_code")
    } else if let Some(id) = &o.member_id {
        let field = "member_id";
        let id = MemberId::parse(id).ok_or_else(|| BookingError::not_found("member", field))?;
        (found(tx.member(&id).await, "member", field)?, field)
    } else if let Some(ext) = &o.member_external_id {
        let field = "member_external_id";
        let m = tx
            .find_member(&account.id, MemberKey::ExternalId, ext)
            .await;
        (found(m, "member", field)?, field)
    } else if let Some(email) = &o.member_email {
        let field = "member_email";
        let m = tx.find_member(&account.id, MemberKey::Email, email).await;
        (found(m, "member", field)?, field)
    } else {
        return Ok((None, None));
    };
    if member.account_id != account.id {
        return Err(BookingError::invalid(
            "member_not_in_account",
            field,
            "the member belongs to another account",
        ));
    }
    Ok((Some(member), card))
}

/// The programs an order applies to: the one it names, else every active program.
pub(super) async fn order_programs(
    tx: &mut Booking<'_>,
    o: &NewOrder,
    currency: Currency,
) -> Result<Vec<Program>, BookingError> {
    let programs = match &o.program_id {
        Some(id) => {
            let field = "program_id";
            let id =
                ProgramId::parse(id).ok_or_else(|| BookingError::not_found("program", field))?;
            let p = found(tx.program(&id).await, "program", field)?;
            if p.status != ProgramStatus::Active {
                return Err(BookingError::invalid(
                    "program_ended",
                    "program_id",
                    "the program has ended",
                ));
            }
            vec![p]
        }
        None => tx.active_programs().await?,
    };
    if programs.is_empty() {
        return Err(BookingError::invalid(
            "no_active_program",
            "program_id",
            "no active loyalty program takes orders",
        ));
    }
    if let Some(p) = programs.iter().find(|p| p.currency != currency) {
        return Err(BookingError::invalid(
            "currency_mismatch",
            "currency",
            format!(
                "program {} runs in {}; orders in other currencies are not converted",
                p.id,
                p.currency.code()
            ),
        ));
    }
    Ok(programs)
}
