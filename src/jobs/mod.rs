//! Background work of `serve`: the scheduled recompute of time-based balance changes, the
//! outbox dispatchers that deliver card changes to the wallets, and housekeeping.

pub mod google;
pub mod housekeeping;
pub mod mail;
pub mod outbox;
pub mod recompute;
