//! The cards of a holder whose face changed: their next version and the outbox rows that
//! deliver it.

use super::*;

#[derive(sqlx::FromRow)]
struct CardRow {
    id: String,
    version: i64,
    updated_at: DateTime<Utc>,
    /// Whether an Apple device or a Google object holds the card (so a new version has
    /// somewhere to go).
    deliverable: bool,
}

/// [`CardRow::deliverable`] of card `c`.
const DELIVERABLE: &str = "(c.google_object_id IS NOT NULL OR EXISTS \
    (SELECT 1 FROM registrations r WHERE r.card_id = c.id)) AS deliverable";

/// The holder's cards in the program. With `bump`, each gets a new version carrying the
/// notification reason, and one outbox row per Apple device and Google object holding it;
/// returns the cards with their versions and the deliveries queued.
pub(super) async fn holder_cards(
    tx: &mut Tx,
    target: &Target,
    bump: Option<Option<Notify>>,
    now: DateTime<Utc>,
) -> Result<(Vec<CardVersion>, u64), BookError> {
    let (column, value) = match &target.holder.member_id {
        Some(m) => ("member_id", m.as_str()),
        None => ("account_id", target.holder.account_id.as_str()),
    };
    let program_id = target.program.id.as_str();
    let rows: Vec<CardRow> = match (bump, &*tx) {
        (Some(notify), Tx::Postgres(_)) => {
            // One statement: the row lock, the new version and the next whole-second
            // modification time (`store::next_card_mtime`).
            let sql = format!(
                "UPDATE cards c SET version = c.version + 1, notify = $1, \
                 updated_at = GREATEST($2, c.updated_at + interval '1 second') \
                 WHERE c.program_id = $3 AND c.{column} = $4 AND c.status <> 'revoked' \
                 RETURNING c.id, c.version - 1 AS version, c.updated_at, {DELIVERABLE}"
            );
            let second = crate::store::next_card_mtime(DateTime::<Utc>::UNIX_EPOCH);
            let mut rows: Vec<CardRow> = tx
                .fetch_all(
                    &sql,
                    &args![notify.map(Notify::as_str), second, program_id, value],
                )
                .await?;
            rows.sort_by(|a, b| a.id.cmp(&b.id));
            rows
        }
        (_, _) => {
            let lock = if bump.is_some() { tx.lock_suffix() } else { "" };
            let sql = format!(
                "SELECT c.id, c.version, c.updated_at, {DELIVERABLE} FROM cards c \
                 WHERE c.program_id = $1 AND c.{column} = $2 AND c.status <> 'revoked' \
                 ORDER BY c.id{lock}"
            );
            let rows: Vec<CardRow> = tx.fetch_all(&sql, &args![program_id, value]).await?;
            if let (Some(notify), false) = (bump, rows.is_empty()) {
                bump_cards(tx, &rows, notify).await?;
            }
            rows
        }
    };
    let cards = rows
        .iter()
        .map(|r| CardVersion {
            id: r.id.clone(),
            version: r.version + i64::from(bump.is_some()),
        })
        .collect();
    let mut deliveries = 0;
    if bump.is_some() {
        let ids: Vec<&str> = rows
            .iter()
            .filter(|r| r.deliverable)
            .map(|r| r.id.as_str())
            .collect();
        if !ids.is_empty() {
            deliveries = enqueue(tx, &ids, now).await?;
        }
    }
    Ok((cards, deliveries))
}

/// One statement gives every card of `rows` its next version, its next modification time
/// and the notification reason of that version.
async fn bump_cards(
    tx: &mut Tx,
    rows: &[CardRow],
    notify: Option<Notify>,
) -> Result<(), BookError> {
    let mut sql =
        String::from("UPDATE cards SET version = version + 1, notify = $1, updated_at = CASE id");
    let mut values = Vec::with_capacity(1 + rows.len() * 3);
    values.extend(args![notify.map(Notify::as_str)]);
    for row in rows {
        let n = values.len();
        sql.push_str(&format!(" WHEN ${} THEN ${}", n + 1, n + 2));
        values.extend(args![
            row.id.as_str(),
            crate::store::next_card_mtime(row.updated_at)
        ]);
    }
    sql.push_str(" END WHERE id IN (");
    sql.push_str(&placeholders(values.len() + 1, rows.len()));
    sql.push(')');
    values.extend(rows.iter().map(|r| Arg::from(r.id.as_str())));
    tx.execute(&sql, &values).await?;
    Ok(())
}

/// The statement that queues one outbox row per Apple Wallet device (`ApplePass` scheme)
/// registered for a card and per Google object of a card, for the cards `filter` selects (a
/// condition on `c`), each carrying the card's current version and notification reason;
/// `$now` is the parameter of the current time. Run in the transaction that gave the cards
/// their new version.
pub(in crate::store) fn outbox_sql(now: usize, filter: &str) -> String {
    format!(
        "INSERT INTO outbox (kind, card_id, card_version, target, notify, state, attempts, due_at, created_at) \
         SELECT 'apple_push', c.id, c.version, d.push_token, c.notify, 'pending', 0, ${now}, ${now} \
         FROM cards c JOIN registrations r ON r.card_id = c.id JOIN devices d ON d.id = r.device_id \
         WHERE d.scheme = 'ApplePass' AND {filter} \
         UNION ALL \
         SELECT 'google_object', c.id, c.version, c.google_object_id, c.notify, 'pending', 0, ${now}, ${now} \
         FROM cards c WHERE c.google_object_id IS NOT NULL AND {filter}"
    )
}

/// Queues the deliveries of the cards `card_ids` (see [`outbox_sql`]).
pub(in crate::store) async fn enqueue(
    tx: &mut Tx,
    card_ids: &[&str],
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let filter = format!("c.id IN ({})", placeholders(2, card_ids.len()));
    let mut values = Vec::with_capacity(1 + card_ids.len());
    values.extend(args![now]);
    values.extend(card_ids.iter().map(|id| Arg::from(*id)));
    tx.execute(&outbox_sql(1, &filter), &values).await
}
