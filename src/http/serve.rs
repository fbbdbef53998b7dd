//! The server loop: each accepted connection is served by hyper (HTTP/1 and HTTP/2) with two
//! bounds axum's `serve` does not set, so stalled clients cannot hold file descriptors:
//!
//! - a header read timeout: an HTTP/1 request head must arrive whole within it (hyper also
//!   counts it while a kept-alive connection waits for its next request);
//! - an idle timeout: a connection with no request in flight for that long is shut down
//!   gracefully, whatever its protocol, including one that never sent a byte.
//!
//! On shutdown the listener closes, every connection is shut down gracefully (answers in
//! flight finish) and the loop returns once all have ended.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

/// The connection bounds (`WALLETCARDS_HTTP__*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    pub header_read: Duration,
    pub idle: Duration,
}

impl From<&crate::config::HttpSettings> for Timeouts {
    fn from(s: &crate::config::HttpSettings) -> Self {
        Timeouts {
            header_read: Duration::from_millis(s.header_read_timeout_ms),
            idle: Duration::from_millis(s.idle_timeout_ms),
        }
    }
}

/// Serves `app` on `listener` until `shutdown`, then waits for open connections to finish.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    timeouts: Timeouts,
    shutdown: CancellationToken,
) {
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(timeouts.header_read);
    builder.http2().timer(TokioTimer::new());
    let connections = TaskTracker::new();
    loop {
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: let connections end before trying again.
                    tracing::warn!(error = %e, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let connection = Connection {
            builder: builder.clone(),
            app: app.clone(),
            idle: timeouts.idle,
            shutdown: shutdown.clone(),
        };
        connections.spawn(connection.serve(stream, peer));
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

struct Connection {
    builder: Builder<TokioExecutor>,
    app: Router,
    idle: Duration,
    shutdown: CancellationToken,
}

impl Connection {
    async fn serve(self, stream: TcpStream, peer: SocketAddr) {
        let activity = Arc::new(Activity::new());
        let tracked = Arc::clone(&activity);
        let app = self.app;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let in_flight = tracked.begin();
            let app = app.clone();
            async move {
                let response = app.oneshot(request).await;
                drop(in_flight);
                response
            }
        });
        let connection = self
            .builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service);
        tokio::pin!(connection);
        let mut closing = false;
        loop {
            tokio::select! {
                ended = connection.as_mut() => {
                    if let Err(e) = ended {
                        tracing::debug!(error = %e, "a connection ended with an error");
                    }
                    return;
                }
                () = self.shutdown.cancelled(), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
                () = activity.idle_for(self.idle), if !closing => {
                    connection.as_mut().graceful_shutdown();
                    closing = true;
                }
            }
        }
    }
}

/// Requests in flight on one connection, and when the last one began or ended.
struct Activity {
    in_flight: AtomicUsize,
    last: Mutex<Instant>,
}

impl Activity {
    fn new() -> Self {
        Activity {
            in_flight: AtomicUsize::new(0),
            last: Mutex::new(Instant::now()),
        }
    }

    fn touch(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn last(&self) -> Instant {
        *self.last.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        self.touch();
        InFlight(Arc::clone(self))
    }

    /// Returns once no request has been in flight for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let busy = self.in_flight.load(Ordering::SeqCst) > 0;
            let since = if busy { Instant::now() } else { self.last() };
            tokio::time::sleep_until(since + idle).await;
            if self.in_flight.load(Ordering::SeqCst) == 0 && self.last().elapsed() >= idle {
                return;
            }
        }
    }
}

/// One request in flight; its end counts as activity.
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
        self.0.touch();
    }
}
