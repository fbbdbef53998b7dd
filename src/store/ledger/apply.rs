//! One event applied to one holder inside a transaction: the locked state (with the cold
//! cashback lots it needs warmed first), the engine's step, the ledger entries, the new state
//! (spilling cold lots), and the holder's cards.

use super::cards::holder_cards;
use super::*;
/// Applies one event to one holder inside `tx`.
pub(super) async fn apply(
    tx: &mut Tx,
    target: &Target,
    event: &Event,
    cause: Cause<'_>,
    now: DateTime<Utc>,
) -> Result<HolderChange, BookError> {
    let change = apply_state(tx, target, event, now).await?;
    insert_entries(tx, cause, std::slice::from_ref(&change), now).await?;
    Ok(change)
}

/// Applies one event to one holder inside `tx`: everything but writing the ledger entries
/// (left to the caller: the entries of an order may only follow the order's own row).
pub(super) async fn apply_state(
    tx: &mut Tx,
    target: &Target,
    event: &Event,
    now: DateTime<Utc>,
) -> Result<HolderChange, BookError> {
    let program = &target.program;
    let holder = target.holder.key();
    let ctx = ctx(program);
    let mut state = lock_state(tx, target, now).await?;
    while let Some(need) = ledger::cold_need(ctx, &state, event, now) {
        warm_lots(tx, target, &mut state, need).await?;
    }
    let shown = ledger::view(ctx, &state, state.as_of.unwrap_or(now));
    let (mut next, outcome) = ledger::apply(ctx, &state, event, now)?;
    let spilled = cashback::spill(&mut next.cashback, LOTS_KEPT);
    insert_lots(tx, target, &spilled).await?;
    let balance = ledger::view(ctx, &next, now);
    let sql = "UPDATE balances SET state = $1, next_change_at = $2, updated_at = $3 \
               WHERE program_id = $4 AND holder = $5";
    tx.execute(
        sql,
        &args![
            state_json(&next),
            ledger::next_change_at(ctx, &next),
            now,
            program.id.as_str(),
            holder
        ],
    )
    .await?;
    let changed = shown != balance;
    let (cards, deliveries) =
        holder_cards(tx, target, changed.then_some(outcome.notify), now).await?;
    Ok(HolderChange {
        program_id: program.id.as_str().to_owned(),
        holder: holder.to_owned(),
        balance,
        outcome,
        cards,
        changed,
        deliveries,
    })
}

/// The holder's state, locked for the rest of the transaction; a holder without history
/// gets its row first.
async fn lock_state(
    tx: &mut Tx,
    target: &Target,
    now: DateTime<Utc>,
) -> Result<HolderState, BookError> {
    let program_id = target.program.id.as_str();
    let holder = target.holder.key();
    let select = format!(
        "SELECT state FROM balances WHERE program_id = $1 AND holder = $2{}",
        tx.lock_suffix()
    );
    if let Some(row) = tx
        .fetch_optional::<StateRow>(&select, &args![program_id, holder])
        .await?
    {
        return Ok(parse_state(&row.state)?);
    }
    let sql = "INSERT INTO balances (program_id, holder, account_id, member_id, state, next_change_at, updated_at) \
               VALUES ($1, $2, $3, $4, $5, NULL, $6) ON CONFLICT (program_id, holder) DO NOTHING";
    tx.execute(
        sql,
        &args![
            program_id,
            holder,
            target.holder.account_id.as_str(),
            target.holder.member_id.as_ref().map(MemberId::as_str),
            state_json(&HolderState::default()),
            now
        ],
    )
    .await?;
    let row: StateRow = tx
        .fetch_optional(&select, &args![program_id, holder])
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(parse_state(&row.state)?)
}

/// Cashback lots a holder's state keeps; above twice as many, the newest become rows of
/// `cashback_lots` (see [`cashback::Cold`]).
const LOTS_KEPT: usize = 4;

#[derive(sqlx::FromRow)]
struct LotRow {
    lot_id: String,
    at: DateTime<Utc>,
    seq: i64,
    remaining: i64,
    expires_at: Option<DateTime<Utc>>,
}

impl LotRow {
    fn lot(self) -> cashback::Lot {
        cashback::Lot {
            source: ledger::Source {
                id: self.lot_id,
                at: self.at,
                seq: u64::try_from(self.seq).unwrap_or(0),
            },
            remaining: self.remaining,
            expires_at: self.expires_at,
        }
    }
}

/// Moves the cold lots an event needs from their rows into `state`: the oldest
/// [`LOTS_KEPT`], or all of them.
async fn warm_lots(
    tx: &mut Tx,
    target: &Target,
    state: &mut HolderState,
    need: cashback::ColdNeed,
) -> Result<(), BookError> {
    let (program_id, holder) = (target.program.id.as_str(), target.holder.key());
    let sql = "SELECT lot_id, at, seq, remaining, expires_at FROM cashback_lots \
               WHERE program_id = $1 AND holder = $2 ORDER BY at, seq";
    let rows: Vec<LotRow> = tx.fetch_all(sql, &args![program_id, holder]).await?;
    let n = match need {
        cashback::ColdNeed::Oldest => LOTS_KEPT.min(rows.len()),
        cashback::ColdNeed::All => rows.len(),
    };
    if n == 0 {
        // The summary promised lots the rows do not hold.
        return Err(StoreError::Corrupt(format!("cashback lots of {program_id}/{holder}")).into());
    }
    let mut lots: Vec<cashback::Lot> = rows.into_iter().map(LotRow::lot).collect();
    let rest = lots.split_off(n);
    let sql = format!(
        "DELETE FROM cashback_lots WHERE program_id = $1 AND holder = $2 AND lot_id IN ({})",
        placeholders(3, lots.len())
    );
    let mut values = Vec::from(args![program_id, holder]);
    values.extend(lots.iter().map(|l| Arg::from(l.source.id.as_str())));
    tx.execute(&sql, &values).await?;
    cashback::warm(&mut state.cashback, lots, cashback::summarize(&rest));
    Ok(())
}

/// Writes lots the state spilled as rows.
async fn insert_lots(
    tx: &mut Tx,
    target: &Target,
    lots: &[cashback::Lot],
) -> Result<(), BookError> {
    const COLUMNS: usize = 7;
    for batch in lots.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO cashback_lots (program_id, holder, lot_id, at, seq, remaining, expires_at) VALUES {}",
            value_rows(batch.len(), COLUMNS)
        );
        let mut values = Vec::with_capacity(batch.len() * COLUMNS);
        for lot in batch {
            values.extend(args![
                target.program.id.as_str(),
                target.holder.key(),
                lot.source.id.as_str(),
                lot.source.at,
                i64::try_from(lot.source.seq).unwrap_or(i64::MAX),
                lot.remaining,
                lot.expires_at
            ]);
        }
        tx.execute(&sql, &values).await?;
    }
    Ok(())
}

/// Rows per multi-row `INSERT`: at most 12 arguments each, well under every engine's limit.
const ROWS_PER_INSERT: usize = 200;

/// Writes the ledger entries of `changes` in as few statements as the batch size allows.
pub(super) async fn insert_entries(
    tx: &mut Tx,
    cause: Cause<'_>,
    changes: &[HolderChange],
    now: DateTime<Utc>,
) -> Result<(), BookError> {
    const COLUMNS: usize = 12;
    let entries: Vec<(&HolderChange, &Entry)> = changes
        .iter()
        .flat_map(|c| c.outcome.entries.iter().map(move |e| (c, e)))
        .collect();
    for batch in entries.chunks(ROWS_PER_INSERT) {
        let sql = format!(
            "INSERT INTO ledger_entries (program_id, holder, event_type, event_id, order_id, kind, amount, lot, effective_at, seq, expires_at, created_at) VALUES {}",
            value_rows(batch.len(), COLUMNS)
        );
        let mut values = Vec::with_capacity(batch.len() * COLUMNS);
        for (change, e) in batch {
            values.extend(args![
                change.program_id.as_str(),
                change.holder.as_str(),
                cause.event_type,
                cause.event_id,
                cause.order_id,
                e.kind.as_str(),
                e.amount,
                e.lot.as_deref(),
                e.effective_at,
                i64::try_from(e.seq).unwrap_or(i64::MAX),
                e.expires_at,
                now
            ]);
        }
        tx.execute(&sql, &values).await?;
    }
    Ok(())
}
