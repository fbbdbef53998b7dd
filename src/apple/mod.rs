//! Apple Wallet: designs made ready for passes, pass packages (manifest, zip), signing, the independent
//! validator, development certificates and the APNs client. The only module that signs with
//! openssl (passes, and APNs provider tokens).

pub mod apns;
pub mod devcerts;
pub mod package;
pub mod signer;
pub mod strings;
pub mod template;
pub mod verify;
