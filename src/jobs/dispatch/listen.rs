//! Relays `NOTIFY walletcards_outbox` from other instances to this process's dispatchers
//! (PostgreSQL only), so a change booked on one instance is delivered at once by another.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::store::Signals;

/// Listens until `shutdown`; reconnects after a lost connection.
pub async fn listen(database_url: String, wake: Arc<Signals>, shutdown: CancellationToken) {
    loop {
        // Ends only with the connection: its `Ok` cannot happen.
        let listened = async || -> Result<std::convert::Infallible, sqlx::Error> {
            let mut listener = sqlx::postgres::PgListener::connect(&database_url).await?;
            listener.listen(crate::store::OUTBOX_CHANNEL).await?;
            // Changes committed while (re)connecting: look once.
            wake.wake_all();
            loop {
                listener.recv().await?;
                wake.wake_all();
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            result = listened() => {
                let Err(e) = result;
                tracing::warn!(error = %e, "outbox LISTEN connection lost; reconnecting");
            }
        }
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    }
}
