//! Serving the app on a listener the caller bound, until a shutdown signal,
//! then finishing the requests in flight.

use axum::Router;
use axum_server::tls_rustls::RustlsConfig;
use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// How long requests in flight get to finish after a shutdown signal.
const GRACE: Duration = Duration::from_secs(10);

pub async fn serve(
    app: Router,
    listener: std::net::TcpListener,
    tls: Option<RustlsConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    listener.set_nonblocking(true)?;
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    match tls {
        Some(config) => {
            let handle = axum_server::Handle::new();
            let signal = handle.clone();
            tokio::spawn(async move {
                shutdown.await;
                signal.graceful_shutdown(Some(GRACE));
            });
            axum_server::from_tcp_rustls(listener, config).handle(handle).serve(service).await
        }
        None => {
            let listener = tokio::net::TcpListener::from_std(listener)?;
            axum::serve(listener, service).with_graceful_shutdown(shutdown).await
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
