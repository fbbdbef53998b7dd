//! Booking a refund of an order: it reverses the order's effects, in proportion, in every
//! program and holder the order moved.

use serde_json::json;

use super::checks::{check_amount, check_external_id};
use super::keyed::Key;
use super::{Booked, BookingError, Caller, NewRefund, changes_json};
use crate::audit::{Action, Actor};
use crate::domain::ids::{ProgramId, RefundId};
use crate::store::{HolderChange, KeyedTable, RefundRecord, Store, Target};

/// Books a refund of the order `order_external_id` in `by`'s key space: a desk refunds
/// desk orders only (another source's order is not found there, 404).
pub async fn book_refund(
    store: &Store,
    order_external_id: &str,
    r: NewRefund,
    by: &Actor,
) -> Result<Booked, BookingError> {
    let caller = Caller::of_role(by.role);
    let source = caller.source(r.source.as_deref(), "erp")?;
    check_external_id(&r.external_id)?;
    let key = Key::new(
        (KeyedTable::Refunds, "refund"),
        &[source.as_str(), r.external_id.as_str()],
        &json!({"order": order_external_id, "amount_minor": r.amount_minor}),
    );
    if let Some(replayed) = key.stored(store).await? {
        return Ok(replayed);
    }
    check_amount("amount_minor", r.amount_minor)?;
    let order = store
        .keyed(KeyedTable::Orders, &[source.as_str(), order_external_id])
        .await?
        .ok_or_else(|| BookingError::not_found("order", "order_external_id"))?;
    let mut targets = Vec::new();
    for (program_id, holder) in store.order_targets(&order.id).await? {
        let p = store.get_program(&ProgramId::from_db(program_id)).await?;
        targets.push(Target { program: p, holder });
    }
    let record = RefundRecord {
        id: RefundId::generate().to_string(),
        source: source.clone(),
        external_id: r.external_id.clone(),
        order_id: order.id.clone(),
        amount_minor: r.amount_minor,
        fingerprint: key.print().to_owned(),
    };
    let respond = |changes: &[HolderChange]| {
        json!({
            "refund": {"id": record.id, "external_id": record.external_id, "source": record.source,
                       "order_id": record.order_id, "order_external_id": order_external_id,
                       "amount_minor": record.amount_minor},
            "cards": changes_json(changes),
        })
    };
    let mut audit = by
        .did(
            Action::OrderRefunded,
            format!("order:{source}/{order_external_id}"),
        )
        .details(json!({"refund_external_id": record.external_id,
                        "amount_minor": record.amount_minor, "desk": by.desk}));
    audit.account_id = targets.first().map(|t| t.holder.account_id.to_string());
    let result = store.book_refund(&record, &targets, respond, &audit).await;
    key.finish(store, result).await
}
