//! What a booking names, looked up: a card by id or code, a program, and the account, member
//! and programs of an order. A missing one is refused as not found, naming the request's field.

use super::checks::usable;
use super::error::found;
use super::{BookingError, NewOrder};
use crate::domain::codes::CardCode;
use crate::domain::ids::{AccountId, CardId, MemberId, ProgramId};
use crate::domain::model::{Account, Card, Member, Program, ProgramStatus};
use crate::domain::money::Currency;
use crate::store::{MemberKey, Store, StoreError};

pub(super) async fn program(
    store: &Store,
    id: &str,
    field: &'static str,
) -> Result<Program, BookingError> {
    let id = ProgramId::parse(id).ok_or_else(|| BookingError::not_found("program", field))?;
    found(store.get_program(&id).await, "program", field)
}

pub(super) async fn card_by_code(store: &Store, code: &str) -> Result<Card, BookingError> {
    let code = CardCode::parse(code).ok_or_else(|| BookingError::not_found("card", "card_code"))?;
    found(store.get_card_by_code(&code).await, "card", "card_code")
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
    store: &Store,
    o: &NewOrder,
) -> Result<(AccountId, Option<Member>, Option<Card>), BookingError> {
    // The common ERP case names both ids: the member proves its account exists. Anything
    // else (unknown ids, a member of another account) goes through the checks below, which
    // name the error in the order the rules fix.
    if let (Some(a), Some(m), None) = (&o.account_id, &o.member_id, &o.card_code) {
        if let (Some(account_id), Some(member_id)) = (AccountId::parse(a), MemberId::parse(m)) {
            match store.get_member(&member_id).await {
                Ok(m) if m.account_id == account_id => return Ok((account_id, Some(m), None)),
                Ok(_) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    let account = order_account(store, o).await?;
    let (member, card) = order_member(store, o, &account).await?;
    Ok((account.id, member, card))
}

async fn order_account(store: &Store, o: &NewOrder) -> Result<Account, BookingError> {
    match (&o.account_id, &o.account_external_id) {
        (Some(id), _) => {
            let id = AccountId::parse(id)
                .ok_or_else(|| BookingError::not_found("account", "account_id"))?;
            found(store.get_account(&id).await, "account", "account_id")
        }
        (None, Some(ext)) => found(
            store.find_account_by_external_id(ext).await,
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
    store: &Store,
    o: &NewOrder,
    account: &Account,
) -> Result<(Option<Member>, Option<Card>), BookingError> {
    let mut card = None;
    let (member, field) = if let Some(code) = &o.card_code {
        let c = card_by_code(store, code).await?;
        usable(&c, "card_code")?;
        let m = store.get_member(&c.member_id).await?;
        card = Some(c);
        (m, "card_code")
    } else if let Some(id) = &o.member_id {
        let field = "member_id";
        let id = MemberId::parse(id).ok_or_else(|| BookingError::not_found("member", field))?;
        (found(store.get_member(&id).await, "member", field)?, field)
    } else if let Some(ext) = &o.member_external_id {
        let m = store.find_member(&account.id, MemberKey::ExternalId, ext);
        let field = "member_external_id";
        (found(m.await, "member", field)?, field)
    } else if let Some(email) = &o.member_email {
        let m = store.find_member(&account.id, MemberKey::Email, email);
        let field = "member_email";
        (found(m.await, "member", field)?, field)
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
    store: &Store,
    o: &NewOrder,
    currency: Currency,
) -> Result<Vec<Program>, BookingError> {
    let programs = match &o.program_id {
        Some(id) => {
            let p = program(store, id, "program_id").await?;
            if p.status != ProgramStatus::Active {
                return Err(BookingError::invalid(
                    "program_ended",
                    "program_id",
                    "the program has ended",
                ));
            }
            vec![p]
        }
        None => store.active_programs().await?,
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
