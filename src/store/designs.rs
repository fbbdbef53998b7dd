//! The designer's data: uploaded images, content-addressed by SHA-256, and each program's saved
//! design. Every change of a design goes through [`Store::save_design`], one transaction that
//! also writes the program's colours and logo text and gives every card of the program a new
//! version with its wallet deliveries (the outbox).

use std::collections::BTreeMap;

use sqlx::types::Json;

use super::cards::bump_cards;
use super::tx::Arg;
use super::{Store, StoreError, StoreResult, now, read, write};
use crate::domain::design::{DesignTexts, StoredDesign};
use crate::domain::ids::ProgramId;
use crate::domain::model::Branding;

/// An image to keep.
pub struct NewImage<'a> {
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub bytes: &'a [u8],
    pub width: u32,
    pub height: u32,
}

/// A stored image.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ImageRecord {
    pub sha256: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
    pub width: i64,
    pub height: i64,
}

#[derive(sqlx::FromRow)]
struct DesignRow {
    version: i64,
    texts: Json<DesignTexts>,
    images: Json<BTreeMap<String, String>>,
}

impl Store {
    /// Keeps an image; one already kept (the same bytes) is left as it is.
    pub async fn insert_image(&self, image: &NewImage<'_>) -> StoreResult<()> {
        let sql = "INSERT INTO images (sha256, content_type, bytes, width, height, created_at) \
                   VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (sha256) DO NOTHING";
        write!(self, pool => sqlx::query(sql)
            .bind(image.sha256)
            .bind(image.content_type)
            .bind(image.bytes)
            .bind(i64::from(image.width))
            .bind(i64::from(image.height))
            .bind(now())
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// The images with these hashes that exist (in no particular order).
    pub async fn images(&self, hashes: &[&str]) -> StoreResult<Vec<ImageRecord>> {
        if hashes.is_empty() {
            return Ok(Vec::new());
        }
        let marks: Vec<String> = (1..=hashes.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "SELECT sha256, content_type, bytes, width, height FROM images WHERE sha256 IN ({})",
            marks.join(", ")
        );
        let args: Vec<Arg> = hashes.iter().map(|h| (*h).into()).collect();
        self.select(&sql, &args).await
    }

    /// The saved design's version of the program; `None` when it has none.
    pub async fn design_version(&self, program: &ProgramId) -> StoreResult<Option<i64>> {
        let sql = "SELECT version FROM program_designs WHERE program_id = $1";
        Ok(read!(self, pool => sqlx::query_scalar(sql)
            .bind(program.as_str())
            .fetch_optional(pool)
            .await)?)
    }

    /// The program's saved design, if it has one.
    pub async fn program_design(&self, program: &ProgramId) -> StoreResult<Option<StoredDesign>> {
        let sql = "SELECT version, texts, images FROM program_designs WHERE program_id = $1";
        let row: Option<DesignRow> = read!(self, pool => sqlx::query_as(sql)
            .bind(program.as_str())
            .fetch_optional(pool)
            .await)?;
        Ok(row.map(|r| StoredDesign {
            version: r.version,
            texts: r.texts.0,
            images: r.images.0,
        }))
    }

    /// How many of the program's cards a saved design changes on devices (all but revoked).
    pub async fn cards_shown_in(&self, program: &ProgramId) -> StoreResult<i64> {
        let sql = "SELECT COUNT(*) FROM cards WHERE program_id = $1 AND status <> 'revoked'";
        Ok(read!(self, pool => sqlx::query_scalar(sql)
            .bind(program.as_str())
            .fetch_one(pool)
            .await)?)
    }

    /// Saves the program's design and `branding` (colours, logo text) in one transaction that
    /// gives every card of the program a new version and queues its Apple pushes and Google
    /// updates (Google's class follows with the first object). Answers the new version.
    pub async fn save_design(
        &self,
        program: &ProgramId,
        branding: &Branding,
        design: &StoredDesign,
    ) -> StoreResult<i64> {
        let saved = self
            .retrying(|| self.save_design_once(program, branding, design))
            .await;
        self.cache.forget_programs();
        self.wake_dispatchers();
        saved
    }

    async fn save_design_once(
        &self,
        program: &ProgramId,
        branding: &Branding,
        design: &StoredDesign,
    ) -> StoreResult<i64> {
        let branded = "UPDATE programs SET branding = $2, updated_at = $3 WHERE id = $1";
        let upsert = "INSERT INTO program_designs (program_id, version, texts, images, updated_at) \
                      VALUES ($1, 1, $2, $3, $4) ON CONFLICT (program_id) DO UPDATE SET \
                      version = program_designs.version + 1, texts = excluded.texts, \
                      images = excluded.images, updated_at = excluded.updated_at \
                      RETURNING version";
        let at = now();
        write!(self, pool => {
            let mut tx = pool.begin().await?;
            let done = sqlx::query(branded)
                .bind(program.as_str())
                .bind(Json(branding))
                .bind(at)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            let version: i64 = sqlx::query_scalar(upsert)
                .bind(program.as_str())
                .bind(Json(&design.texts))
                .bind(Json(&design.images))
                .bind(at)
                .fetch_one(&mut *tx)
                .await?;
            bump_cards!(tx, "program_id", program.as_str());
            tx.commit().await?;
            Ok(version)
        })
    }
}
