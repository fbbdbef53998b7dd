//! The integration tests, as one binary: each module is a feature's black-box tests against
//! the real application (see `common`), on SQLite and PostgreSQL. One binary links the crate
//! once instead of once per file.

#[macro_use]
mod common;

mod analytics;
mod api;
mod apns;
mod browser;
mod console;
mod database_file;
mod designer;
mod dispatch;
mod first_supplier;
mod google;
mod google_callbacks;
mod google_wallet;
mod hostile_input;
mod import;
mod invites;
mod orders;
mod pages;
mod passes;
mod passkit;
mod privacy;
mod push;
mod recompute;
mod replay;
mod restart;
mod signer_openssl_cli;
mod staff_pages;
mod webhook;
