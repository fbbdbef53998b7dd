//! walletcards: issues and updates signed Apple Wallet and Google Wallet loyalty cards for B2B
//! suppliers.
//!
//! The crate is a library with a thin binary (`src/main.rs`). See the README's architecture
//! section for the module map and the dependency directions between modules.

pub mod apple;
pub mod audit;
pub mod booking;
pub mod cards;
pub mod cli;
pub mod config;
pub mod designs;
pub mod domain;
pub mod enroll;
pub mod error;
pub mod google;
pub mod http;
pub mod import;
pub mod jobs;
pub mod limit;
pub mod mail;
pub mod metrics;
pub mod passes;
pub mod program_designs;
pub mod render;
pub mod staff;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tokens;
