//! One object's delivery: the class first, then insert or PATCH with the card's current face,
//! notifying within the day's budget (see the dispatcher's module doc).

use chrono::TimeDelta;
use sha2::{Digest, Sha256};

use super::{Google, Step};
use crate::domain::balance::Balance;
use crate::domain::card::CardBundle;
use crate::domain::card::face_of;
use crate::domain::face::Notify;
use crate::domain::ids::CardId;
use crate::domain::model::Program;
use crate::google::mapping::{ObjectInput, object_fields, object_state};
use crate::google::model::{LoyaltyObject, LoyaltyObjectPatch, NotifyPreference, ResourceId};
use crate::google::pace::{Delivery as Pacing, NOTIFICATIONS_PER_DAY, most_important};
use crate::google::{Outcome, WalletApi};
use crate::program_designs::{LiveError, Resolved};
use crate::render::stamp_grid_url;
use crate::render::stamps::Grid;
use crate::store::{Delivery, StoreError, now};

impl<W: WalletApi + 'static> Google<W> {
    /// Brings the object of the rows' card up to the card's current face.
    pub(super) async fn deliver_object(
        &self,
        object_id: &str,
        rows: &[Delivery],
    ) -> Result<Step, StoreError> {
        let Some(card_id) = rows[0].card_id.clone().map(CardId::from_db) else {
            return Ok(Step::Rejected {
                reason: "a Google delivery without a card".into(),
            });
        };
        let card = match self.store.get_card(&card_id).await {
            Ok(card) => card,
            // Nothing left to show (the rows outlived their card).
            Err(StoreError::NotFound) => return Ok(Step::Applied { notified: false }),
            Err(e) => return Err(e),
        };
        let bundle = self.store.card_bundle(card).await?;
        let ids = ResourceId::parse(object_id).and_then(|object| {
            ResourceId::new(&self.issuer_id, bundle.program.id.as_str())
                .map(|class| (object, class))
        });
        let (object_id, class_id) = match ids {
            Ok(ids) => ids,
            Err(e) => {
                return Ok(Step::Rejected {
                    reason: e.to_string(),
                });
            }
        };
        let design = match self.designs.for_program(&bundle.program).await {
            Ok(design) => design,
            Err(LiveError::Store(e)) => return Err(e),
            Err(e) => {
                return Ok(Step::Rejected {
                    reason: e.to_string(),
                });
            }
        };
        let reason = most_important(
            rows.iter()
                .filter_map(|r| r.notify.as_deref().and_then(Notify::parse)),
        );
        if let Some(failed) = self
            .ensure_class(&bundle.program, &class_id, false, &design)
            .await?
        {
            return Ok(failed);
        }
        let object = self.object(&bundle, object_id, class_id.clone(), &design);
        let version = bundle.card.version;
        let step = match self
            .store
            .google_synced_version(bundle.card.id.as_str())
            .await?
        {
            None => match self.insert(&bundle.program, &object, &design).await? {
                Outcome::AlreadyExists(_) => self.patch(&object, reason).await?,
                outcome => applied_or_failed(outcome, false),
            },
            Some(_) => self.patch(&object, reason).await?,
        };
        if matches!(step, Step::Applied { .. }) {
            self.store
                .set_google_synced_version(bundle.card.id.as_str(), version)
                .await?;
        }
        Ok(step)
    }

    /// The object as the card shows now.
    fn object(
        &self,
        bundle: &CardBundle,
        id: ResourceId,
        class_id: ResourceId,
        design: &Resolved,
    ) -> LoyaltyObject {
        let face = face_of(bundle);
        let hero = match &bundle.balance {
            Balance::Stamp(stamps) => Some(stamp_grid_url(
                &self.public_url,
                &Grid::new(
                    stamps.stamps,
                    stamps.stamps_required,
                    bundle.program.branding.background_color,
                    bundle.program.branding.foreground_color,
                ),
            )),
            _ => None,
        };
        let member_url = crate::designs::member_url(&self.public_url, &bundle.card);
        let words = &design.design;
        let input = ObjectInput {
            code: &bundle.card.code,
            holder_name: &bundle.member.name,
            member_url: Some(&member_url),
            hero_image_url: hero.as_deref(),
            words: &**words,
        };
        LoyaltyObject {
            id,
            class_id,
            state: object_state(bundle.card.status),
            fields: object_fields(&face, &input),
            extra: serde_json::Map::new(),
        }
    }

    /// Inserts the object; a 404 means its class is gone on Google's side, so the class is
    /// upserted again and the insert tried once more.
    async fn insert(
        &self,
        program: &Program,
        object: &LoyaltyObject,
        design: &Resolved,
    ) -> Result<Outcome<LoyaltyObject>, StoreError> {
        match self.api.insert_object(object).await {
            Outcome::NotFound(e) => {
                let class_id = &object.class_id;
                if let Some(failed) = self.ensure_class(program, class_id, true, design).await? {
                    tracing::warn!(class = %object.class_id, error = %e, "the class of a new object was missing and could not be upserted");
                    return Ok(match failed {
                        Step::Retry { reason, .. } => Outcome::Retry {
                            status: None,
                            error: Some(reason),
                            retry_after: None,
                        },
                        _ => Outcome::NotFound(e),
                    });
                }
                Ok(self.api.insert_object(object).await)
            }
            outcome => Ok(outcome),
        }
    }

    /// PATCHes the object with its current face, notifying if `reason` may use one of the
    /// day's notifications; a 404 re-inserts the object.
    async fn patch(
        &self,
        object: &LoyaltyObject,
        reason: Option<Notify>,
    ) -> Result<Step, StoreError> {
        let id = object.id.as_str();
        let day_ago = now() - TimeDelta::days(1);
        // Only a change worth a notification needs the day's count.
        let sent = match reason {
            Some(_) => self.store.google_notifications_since(id, day_ago).await?,
            None => 0,
        };
        let notify = crate::google::pace::notify_or_silent(reason, sent) == Pacing::Notify;
        let mut patch = LoyaltyObjectPatch {
            state: Some(object.state),
            fields: object.fields.clone(),
            notify_preference: notify.then_some(NotifyPreference::NotifyOnUpdate),
        };
        let outcome = match self.api.patch_object(&object.id, &patch).await {
            Outcome::QuotaExceeded(e) if notify => {
                // Google counted more than we did (another issuer tool, a restored
                // database): the day's budget is spent; the update goes silently.
                tracing::info!(object = %id, error = %e, "notification quota exceeded; updating silently");
                for _ in sent..NOTIFICATIONS_PER_DAY {
                    self.store.record_google_notification(id, now()).await?;
                }
                patch.notify_preference = None;
                return Ok(applied_or_failed(
                    self.api.patch_object(&object.id, &patch).await,
                    false,
                ));
            }
            Outcome::NotFound(e) => {
                tracing::warn!(object = %id, error = %e, "the object is gone from Google Wallet; inserting it again");
                return Ok(applied_or_failed(
                    self.api.insert_object(object).await,
                    false,
                ));
            }
            outcome => outcome,
        };
        if notify && matches!(outcome, Outcome::Ok(_)) {
            self.store.record_google_notification(id, now()).await?;
        }
        Ok(applied_or_failed(outcome, notify))
    }

    /// Upserts the program's class when Google does not have it as it should look now
    /// (`force`: whatever we recorded); `Some(step)` when that failed.
    async fn ensure_class(
        &self,
        program: &Program,
        class_id: &ResourceId,
        force: bool,
        design: &Resolved,
    ) -> Result<Option<Step>, StoreError> {
        let class = design.google_class(
            program,
            class_id.clone(),
            &self.organization_name,
            &self.public_url,
            self.callback_url.as_deref(),
        );
        let Some(class) = class else {
            return Ok(Some(Step::Rejected {
                reason: format!(
                    "design `{}` has no logo, which a Google class needs",
                    program.design
                ),
            }));
        };
        let hash = hex::encode(Sha256::digest(
            serde_json::to_vec(&class).unwrap_or_default(),
        ));
        let program_id = program.id.as_str();
        if !force {
            if self.known_class(program_id).as_deref() == Some(&hash) {
                return Ok(None);
            }
            let stored = self.store.google_class_hash(program_id).await?;
            if stored.as_deref() == Some(&hash) {
                self.learn_class(program_id, hash);
                return Ok(None);
            }
        }
        match self.api.upsert_class(&class).await {
            Outcome::Ok(_) => {
                self.store
                    .record_google_class(program_id, class_id.as_str(), &hash, now())
                    .await?;
                self.learn_class(program_id, hash);
                tracing::info!(class = %class_id, "Google class upserted (under review)");
                Ok(None)
            }
            outcome => Ok(Some(Step::failed(outcome))),
        }
    }

    fn known_class(&self, program_id: &str) -> Option<String> {
        let known = self.known_classes.lock().unwrap_or_else(|e| e.into_inner());
        known.get(program_id).cloned()
    }

    fn learn_class(&self, program_id: &str, hash: String) {
        let mut known = self.known_classes.lock().unwrap_or_else(|e| e.into_inner());
        known.insert(program_id.to_owned(), hash);
    }
}

fn applied_or_failed<T>(outcome: Outcome<T>, notified: bool) -> Step {
    match outcome {
        Outcome::Ok(_) => Step::Applied { notified },
        other => Step::failed(other),
    }
}
