//! Serving the app on a listener the caller bound, until a shutdown signal,
//! then finishing the requests in flight.

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// How long requests in flight get to finish after a shutdown signal.
const GRACE: Duration = Duration::from_secs(10);

/// How long a client may take to send a request's headers, and how long a
/// connection may sit idle waiting for its next request: a slow or silent
/// client is cut off instead of holding a connection (slowloris).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How many connections may be open at once; one more is closed on arrival.
pub const MAX_CONNECTIONS: usize = 1024;

/// What the transport allows a client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transport {
    /// For a request's headers, and for an idle kept-alive connection.
    pub header_timeout: Duration,
    pub max_connections: usize,
}

impl Default for Transport {
    fn default() -> Self {
        Self { header_timeout: HEADER_READ_TIMEOUT, max_connections: MAX_CONNECTIONS }
    }
}

/// Serves `app` on `listener` (over TLS when `tls` is given) until
/// `shutdown` resolves. Both paths use the same HTTP settings: a client
/// that does not send its headers within the header timeout, or sends
/// nothing on a kept-alive connection for that long, is disconnected, and
/// at most `MAX_CONNECTIONS` connections are open at once.
pub async fn serve(
    app: Router,
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(app, listener, tls, shutdown, Transport::default()).await
}

/// [`serve`] with other transport limits (tests lower them).
pub async fn serve_with(
    app: Router,
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
    transport: Transport,
) -> std::io::Result<()> {
    let header_timeout = transport.header_timeout;
    let limit = crate::http::connection_limit::ConnectionLimit::new(transport.max_connections);
    listener.set_nonblocking(true)?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let handle = axum_server::Handle::new();
    let signal = handle.clone();
    tokio::spawn(async move {
        shutdown.await;
        signal.graceful_shutdown(Some(GRACE));
    });
    let configure = |builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>| {
        builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(header_timeout);
        builder
            .http2()
            .timer(hyper_util::rt::TokioTimer::new())
            .keep_alive_interval(header_timeout)
            .keep_alive_timeout(header_timeout);
    };
    match tls {
        Some(config) => {
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(config).acceptor(limit);
            let mut server = axum_server::from_tcp(listener).acceptor(acceptor).handle(handle);
            configure(server.http_builder());
            server.serve(service).await
        }
        None => {
            let mut server = axum_server::from_tcp(listener).acceptor(limit).handle(handle);
            configure(server.http_builder());
            server.serve(service).await
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
