//! Programs: create, read, list, update. Updating what cards show bumps their versions.

use sqlx::types::Json;

use super::cards::bump_cards;
use super::rows::{Page, ProgramRow};
use super::tx::{On, args};
use super::{Store, StoreError, StoreResult, read, write};
use crate::domain::ids::ProgramId;
use crate::domain::model::Program;

const COLUMNS: &str = "id, name, kind, rules, currency, time_zone, balance_scope, design, branding, status, created_at, updated_at";

pub(super) async fn program_by_id(on: On<'_>, id: &ProgramId) -> StoreResult<Program> {
    let sql = format!("SELECT {COLUMNS} FROM programs WHERE id = $1");
    let row: Option<ProgramRow> = on.fetch_optional(&sql, &args![id.as_str()]).await?;
    row.ok_or(StoreError::NotFound)?.try_into()
}

impl Store {
    pub async fn insert_program(&self, p: &Program) -> StoreResult<()> {
        let sql = "INSERT INTO programs (id, name, kind, rules, currency, time_zone, balance_scope, design, branding, status, created_at, updated_at) \
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";
        write!(self, pool => sqlx::query(sql)
            .bind(p.id.as_str())
            .bind(&p.name)
            .bind(p.kind().as_str())
            .bind(Json(p.rules.to_json()))
            .bind(p.currency.code())
            .bind(p.time_zone.name())
            .bind(p.balance_scope.as_str())
            .bind(&p.design)
            .bind(Json(&p.branding))
            .bind(p.status.as_str())
            .bind(p.created_at)
            .bind(p.updated_at)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        self.cache.forget_programs();
        Ok(())
    }

    pub async fn get_program(&self, id: &ProgramId) -> StoreResult<Program> {
        program_by_id(On::Pool(self), id).await
    }

    /// Every active program, in id order: the programs an order applies to by default.
    /// The programs that take orders; cached for [`cache::TTL`](super::cache::TTL).
    pub async fn active_programs(&self) -> StoreResult<Vec<Program>> {
        self.active_programs_on(On::Pool(self)).await
    }

    /// [`Store::active_programs`], read `on` a pool or transaction when not cached.
    pub(super) async fn active_programs_on(&self, on: On<'_>) -> StoreResult<Vec<Program>> {
        let generation = match self.cache.active_programs() {
            Ok(programs) => return Ok(programs.as_ref().clone()),
            Err(generation) => generation,
        };
        let sql = format!("SELECT {COLUMNS} FROM programs WHERE status = 'active' ORDER BY id");
        let rows: Vec<ProgramRow> = on.fetch_all(&sql, &[]).await?;
        let programs = rows
            .into_iter()
            .map(Program::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        self.cache
            .set_active_programs(std::sync::Arc::new(programs.clone()), generation);
        Ok(programs)
    }

    pub async fn list_programs(
        &self,
        after: Option<&str>,
        limit: u32,
    ) -> StoreResult<Page<Program>> {
        let sql = format!("SELECT {COLUMNS} FROM programs WHERE id > $1 ORDER BY id LIMIT $2");
        let rows: Vec<ProgramRow> = read!(self, pool => sqlx::query_as(&sql)
            .bind(after.unwrap_or(""))
            .bind(i64::from(limit) + 1)
            .fetch_all(pool)
            .await)?;
        let items = rows
            .into_iter()
            .map(Program::try_from)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page::from_rows(items, limit, |p| p.id.to_string()))
    }

    /// Saves `p`; when `cards_change` the program's cards get a new version, since what they
    /// show (name, rules, branding, design) changed.
    pub async fn update_program(&self, p: &Program, cards_change: bool) -> StoreResult<()> {
        let saved = self.save_program(p, cards_change).await;
        self.cache.forget_programs();
        self.wake_dispatchers();
        saved
    }

    async fn save_program(&self, p: &Program, cards_change: bool) -> StoreResult<()> {
        let update = "UPDATE programs SET name = $2, rules = $3, time_zone = $4, design = $5, branding = $6, status = $7, updated_at = $8 WHERE id = $1";
        write!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(update)
                .bind(p.id.as_str())
                .bind(&p.name)
                .bind(Json(p.rules.to_json()))
                .bind(p.time_zone.name())
                .bind(&p.design)
                .bind(Json(&p.branding))
                .bind(p.status.as_str())
                .bind(p.updated_at)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            if cards_change {
                bump_cards!(tx, "program_id", p.id.as_str());
            }
            tx.commit().await?;
            Ok(())
        })
    }
}
