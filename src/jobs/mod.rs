//! Background work of `serve`: the scheduled recompute of time-based balance changes,
//! and the outbox dispatchers that deliver card changes to the wallets.

pub mod google;
pub mod outbox;
pub mod recompute;
