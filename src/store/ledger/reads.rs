//! What the ledger tables answer without booking anything: a holder's state and shown
//! balance, its history, a stored keyed request, the holders an order moved.

use super::*;

/// What the cards of a holder with `state` (none: no history yet) show.
fn shown(program: &Program, state: Option<&HolderState>) -> Balance {
    match state {
        Some(state) => {
            let at = state.as_of.unwrap_or_else(store_now);
            ledger::view(ctx(program), state, at)
        }
        None => Balance::zero(&program.rules),
    }
}

/// [`shown`] of a state as the `balances` table stores it.
pub(in crate::store) fn shown_stored(
    program: &Program,
    state: Option<&str>,
) -> Result<Balance, StoreError> {
    let state = state.map(parse_state).transpose()?;
    Ok(shown(program, state.as_ref()))
}

impl Store {
    /// The stored state of a holder, if it has any history.
    pub async fn holder_state(
        &self,
        program_id: &str,
        holder: &str,
    ) -> Result<Option<HolderState>, StoreError> {
        let sql = "SELECT state FROM balances WHERE program_id = $1 AND holder = $2";
        let row: Option<StateRow> = crate::store::read!(self, pool => sqlx::query_as(sql)
            .bind(program_id)
            .bind(holder)
            .fetch_optional(pool)
            .await)?;
        row.map(|r| parse_state(&r.state)).transpose()
    }

    /// What a holder's cards show now: the balance as of the holder's last change.
    pub async fn shown_balance(
        &self,
        program: &Program,
        holder: &str,
    ) -> Result<Balance, StoreError> {
        let state = self.holder_state(program.id.as_str(), holder).await?;
        Ok(shown(program, state.as_ref()))
    }

    /// A holder's ledger, oldest first, after entry `after`.
    pub async fn history(
        &self,
        program_id: &str,
        holder: &str,
        after: i64,
        limit: u32,
    ) -> Result<Vec<EntryRow>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries \
             WHERE program_id = $1 AND holder = $2 AND id > $3 ORDER BY id LIMIT $4"
        );
        Ok(crate::store::read!(self, pool => sqlx::query_as(&sql)
            .bind(program_id)
            .bind(holder)
            .bind(after)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?)
    }

    /// The holder's newest `limit` entries, newest first (the member page).
    pub async fn latest_history(
        &self,
        program_id: &str,
        holder: &str,
        limit: u32,
    ) -> Result<Vec<EntryRow>, StoreError> {
        let sql = format!(
            "SELECT {ENTRY_COLUMNS} FROM ledger_entries \
             WHERE program_id = $1 AND holder = $2 ORDER BY id DESC LIMIT $3"
        );
        Ok(crate::store::read!(self, pool => sqlx::query_as(&sql)
            .bind(program_id)
            .bind(holder)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await)?)
    }

    /// The stored request under a key of `table` (`orders`, `refunds`, `redemptions`,
    /// `adjustments`); `key` is its unique columns and their values.
    pub async fn keyed(
        &self,
        table: KeyedTable,
        key: &[&str],
    ) -> Result<Option<Keyed>, StoreError> {
        let sql = table.select_sql();
        let row: Option<Keyed> = crate::store::read!(self, pool => {
            let mut q = sqlx::query_as(sql);
            for k in key {
                q = q.bind(*k);
            }
            q.fetch_optional(pool).await
        })?;
        Ok(row)
    }

    /// The programs and holders an order moved (from its own ledger entries).
    pub async fn order_targets(&self, order_id: &str) -> Result<Vec<(String, Holder)>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            program_id: String,
            account_id: String,
            member_id: Option<String>,
        }
        let sql = "SELECT DISTINCT b.program_id, b.account_id, b.member_id FROM ledger_entries e \
                   JOIN balances b ON b.program_id = e.program_id AND b.holder = e.holder \
                   WHERE e.order_id = $1 AND e.event_type = 'order'";
        let rows: Vec<Row> = crate::store::read!(self, pool => sqlx::query_as(sql).bind(order_id).fetch_all(pool).await)?;
        Ok(rows
            .into_iter()
            .map(|r| {
                let holder = Holder {
                    account_id: AccountId::from_db(r.account_id),
                    member_id: r.member_id.map(MemberId::from_db),
                };
                (r.program_id, holder)
            })
            .collect())
    }
}
