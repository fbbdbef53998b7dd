//! The service as a Google Wallet issuer: the API client, and how programs and cards are
//! named and linked there. A program's class is `<issuer id>.<program id>` and a card's object
//! `<issuer id>.<card id>` (our ids are letters, digits and `_`, which Google accepts).

use super::model::{InvalidId, ResourceId};
use super::save_link::{SaveLinkError, save_link};
use super::wallet::{WalletClient, WalletError};
use crate::config::GoogleSettings;
use crate::domain::ids::{CardId, ProgramId};

/// Google Wallet, switched on.
#[derive(Debug, Clone)]
pub struct Issuer {
    pub client: WalletClient,
    /// The `origins` claim of save links.
    pub origins: Vec<String>,
    /// Where Google posts save and delete events (each class's `callbackOptions.url`); unset
    /// when this service cannot verify them (no root keys configured).
    pub callback_url: Option<String>,
}

impl Issuer {
    /// The issuer the settings ask for, or `None` when Google Wallet is off.
    pub fn from_settings(
        settings: &GoogleSettings,
        public_url: &str,
    ) -> Result<Option<Self>, WalletError> {
        let Some(client) = WalletClient::from_settings(settings)? else {
            return Ok(None);
        };
        let verifiable =
            settings.callback_keys_file.is_some() || settings.callback_keys_url.is_some();
        let callback_url = settings.callback_url.clone().or_else(|| {
            verifiable.then(|| format!("{}/google/callback", public_url.trim_end_matches('/')))
        });
        Ok(Some(Issuer {
            client,
            origins: settings.origins.clone(),
            callback_url,
        }))
    }

    pub fn class_id(&self, program: &ProgramId) -> Result<ResourceId, InvalidId> {
        ResourceId::new(self.client.issuer_id(), program.as_str())
    }

    pub fn object_id(&self, card: &CardId) -> Result<ResourceId, InvalidId> {
        ResourceId::new(self.client.issuer_id(), card.as_str())
    }

    /// The "Add to Google Wallet" link of an object (a skinny JWT: the ids only).
    pub fn save_url(
        &self,
        object_id: &ResourceId,
        program: &ProgramId,
    ) -> Result<String, SaveLinkError> {
        let class_id = self
            .class_id(program)
            .map_err(|e| SaveLinkError::Id(e.to_string()))?;
        save_link(
            self.client.account(),
            &self.origins,
            object_id,
            &class_id,
            chrono::Utc::now().timestamp(),
        )
    }
}
