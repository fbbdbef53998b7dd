//! Turning a stored card into what it shows and into its signed pass: the one place that
//! joins store data, the card face and the Apple package, shared by the admin API and (later)
//! the PassKit web service.

use std::sync::Arc;

use crate::apple::package::{PassContent, PassError, build_pkpass};
use crate::domain::face::{CardFace, FaceInput, card_face};
use crate::domain::model::CardStatus;
use crate::state::AppState;
use crate::store::CardBundle;

/// What the card shows in its current version, with the change message of that version.
pub fn face_of(bundle: &CardBundle) -> CardFace {
    card_face(&FaceInput {
        program: &bundle.program,
        holder_name: &bundle.member.name,
        company_name: &bundle.account.name,
        code: &bundle.card.code,
        status: bundle.card.status,
        balance: &bundle.balance,
        notify: bundle.card.notify,
    })
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("program {program} names design `{design}`, which is not loaded")]
    MissingDesign { program: String, design: String },
    #[error(transparent)]
    Pass(#[from] PassError),
    #[error("signing task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// Builds and signs the card's pass on the blocking pool (signing is CPU work).
pub async fn render_pkpass(state: &AppState, bundle: CardBundle) -> Result<Vec<u8>, RenderError> {
    let design =
        state
            .designs
            .get(&bundle.program.design)
            .ok_or_else(|| RenderError::MissingDesign {
                program: bundle.program.id.to_string(),
                design: bundle.program.design.clone(),
            })?;
    let signer = Arc::clone(&state.signer);
    let web_service_url = format!("{}/passes", state.public_url);
    let organization = Arc::clone(&state.organization_name);
    let span = tracing::Span::current();
    let bytes = tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        let face = face_of(&bundle);
        let b = &bundle;
        let content = PassContent {
            serial: b.card.serial.as_str(),
            auth_token: b.card.auth_token.expose(),
            barcode_message: b.card.code.as_str(),
            barcode_alt_text: &b.card.code.display(),
            organization_name: b
                .program
                .branding
                .organization_name
                .as_deref()
                .unwrap_or(&organization),
            description: &b.program.name,
            branding: &b.program.branding,
            web_service_url: &web_service_url,
            voided: b.card.status == CardStatus::Revoked,
            face: &face,
        };
        build_pkpass(&signer, &design, &content)
    })
    .await??;
    Ok(bytes)
}
