//! Background work of `serve`: the scheduled recompute of time-based balance changes.
//! (The outbox dispatcher joins it with the Apple and Google delivery issues.)

pub mod recompute;
