//! Google Wallet: the service-account OAuth2 flow ([`auth`]), the REST client for loyalty
//! classes and objects ([`wallet`]) with the classification of its answers ([`response`]),
//! the resource types ([`model`]), the card face as a loyalty object ([`mapping`]), the
//! verification of save and delete callbacks ([`callback`]), skinny save links
//! ([`save_link`]) and Google's limits on notifications and requests ([`pace`]). RS256
//! signing lives in [`jwt`] alone.

pub mod auth;
pub mod callback;
pub mod issuer;
pub mod jwt;
pub mod mapping;
pub mod model;
pub mod pace;
pub mod response;
pub mod save_link;
pub mod wallet;

pub use auth::{AuthError, ServiceAccount, TokenSource, WALLET_SCOPE};
pub use issuer::Issuer;
pub use model::{InvalidId, ResourceId};
pub use response::{Outcome, Refusal, classify};
pub use save_link::{SaveLinkError, save_link};
pub use wallet::{WalletApi, WalletClient, WalletConfig, WalletError};
