//! Apple Wallet: pass templates, pass packages (manifest, zip), signing, the independent
//! validator and development certificates. This is the only module that signs with openssl.

pub mod devcerts;
pub mod package;
pub mod signer;
pub mod strings;
pub mod template;
pub mod verify;
