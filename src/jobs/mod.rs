//! Background work of `serve`: the scheduled recompute of time-based balance changes, the
//! outbox's delivery loop ([`dispatch`]) with one module per channel (Apple pushes, Google
//! objects, mail), and housekeeping.

pub mod apple;
pub mod dispatch;
pub mod google;
pub mod housekeeping;
pub mod mail;
pub mod recompute;
