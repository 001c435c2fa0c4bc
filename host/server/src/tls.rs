//! HTTPS for the server: loads a PEM certificate and key into a rustls configuration and serves
//! an axum router over TLS, HTTP/1.1 and HTTP/2.
//!
//! Chatter ships as one binary that a shop installs next to its machines; asking for a reverse
//! proxy (nginx, Caddy) in front of it only to terminate TLS would add a second program to
//! install, configure and keep updated. So the server terminates TLS itself, with rustls and the
//! `ring` crypto provider (no C toolchain or cmake needed to build it).
//!
//! [`load_config`] turns the certificate and key files into a [`rustls::ServerConfig`], with
//! errors that name the file and what is wrong with it. [`serve_tls`] runs the accept loop:
//! every connection does its TLS handshake in its own task, under a time limit, so a slow or
//! silent client never holds up the others, and a failed handshake is logged and forgotten.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tower::Layer as _;
use tracing::Instrument as _;

/// How long a client has to complete the TLS handshake after its TCP connection is accepted.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long, once shutdown is asked for, in-flight connections have to finish before they are
/// dropped.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// How long the accept loop pauses after an accept error that is not about one connection
/// (such as running out of file descriptors), so it does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(500);

/// Why a certificate and key could not be turned into a TLS configuration. Every message names
/// the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read TLS file `{}`: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: io::Error,
    },
    /// A file could be read but holds a malformed PEM section.
    #[error("TLS file `{}` is not valid PEM: {source}", path.display())]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser said.
        source: io::Error,
    },
    /// The certificate file holds no `CERTIFICATE` PEM section.
    #[error(
        "no certificate found in `{}`: expected one or more PEM `BEGIN CERTIFICATE` sections",
        path.display()
    )]
    NoCertificate {
        /// The certificate file.
        path: PathBuf,
    },
    /// The key file holds no private key PEM section.
    #[error(
        "no private key found in `{}`: expected a PEM PKCS#8 (`BEGIN PRIVATE KEY`), PKCS#1 \
         (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`) key",
        path.display()
    )]
    NoPrivateKey {
        /// The key file.
        path: PathBuf,
    },
    /// The private key is not the one the certificate was issued for.
    #[error(
        "the private key in `{}` does not match the certificate in `{}`",
        key.display(),
        cert.display()
    )]
    KeyMismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
    },
    /// rustls refused the certificate or key for another reason (an unsupported key type, a
    /// certificate it cannot parse, ...).
    #[error(
        "TLS certificate `{}` with key `{}` was refused: {source}",
        cert.display(),
        key.display()
    )]
    Rejected {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// What rustls said.
        source: rustls::Error,
    },
}

/// Loads a TLS server configuration from a PEM certificate chain (`cert`, the server's own
/// certificate first) and a PEM private key (`key`, PKCS#8, PKCS#1 or SEC1).
///
/// The configuration uses the `ring` crypto provider with rustls' safe default protocol
/// versions, and offers HTTP/2 and HTTP/1.1 through ALPN.
///
/// # Errors
///
/// A [`TlsError`] naming the file when a file cannot be read or parsed, holds no certificate or
/// no key, or the key does not belong to the certificate.
pub fn load_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let chain = read_certificates(cert)?;
    let private_key = read_private_key(key)?;
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|source| rejected(cert, key, source))?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(|source| rejected(cert, key, source))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// Reads every certificate in the PEM file at `path`; fails if there is none.
fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read_file(path)?;
    let chain = rustls_pemfile::certs(&mut pem.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsError::Pem {
            path: path.to_owned(),
            source,
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: path.to_owned(),
        });
    }
    Ok(chain)
}

/// Reads the first private key in the PEM file at `path`; fails if there is none.
fn read_private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = read_file(path)?;
    rustls_pemfile::private_key(&mut pem.as_slice())
        .map_err(|source| TlsError::Pem {
            path: path.to_owned(),
            source,
        })?
        .ok_or_else(|| TlsError::NoPrivateKey {
            path: path.to_owned(),
        })
}

/// Reads the whole file at `path`.
fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Classifies an error rustls gave for the certificate and key.
fn rejected(cert: &Path, key: &Path, source: rustls::Error) -> TlsError {
    let (cert, key) = (cert.to_owned(), key.to_owned());
    match source {
        rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch) => {
            TlsError::KeyMismatch { cert, key }
        }
        source => TlsError::Rejected { cert, key, source },
    }
}

/// Serves `app` over HTTPS (HTTP/1.1 and HTTP/2) on `listener` with `config` until `shutdown`
/// completes.
///
/// Each accepted connection gets its own task, which does the TLS handshake (at most
/// [`HANDSHAKE_TIMEOUT`]) and then serves requests; a failed or timed-out handshake is logged
/// at debug level and does not affect other connections. Handlers can extract
/// [`ConnectInfo<SocketAddr>`](ConnectInfo) for the client's address, as with
/// [`Router::into_make_service_with_connect_info`].
///
/// When `shutdown` completes the listener is closed, handshakes under way are abandoned, open
/// connections are asked to finish their in-flight requests and close, and this returns once
/// they have, or after [`SHUTDOWN_GRACE`], dropping whatever is still open.
///
/// # Errors
///
/// Only if the listener's local address cannot be read at the start; errors accepting or
/// serving one connection are logged and the server carries on.
pub async fn serve_tls(
    listener: TcpListener,
    app: Router,
    config: Arc<ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    tracing::info!(address = %listener.local_addr()?, "serving HTTPS");
    let (stopping, stopping_rx) = watch::channel(());
    let server = Server {
        acceptor: TlsAcceptor::from(config),
        app,
        http: http_builder(),
        stopping: stopping_rx,
    };
    let graceful = GracefulShutdown::new();
    let mut connections = JoinSet::new();
    accept_until(&listener, &server, &graceful, &mut connections, shutdown).await;
    drop(listener);
    stopping.send_replace(());
    drain(graceful, connections).await;
    Ok(())
}

/// The HTTP/1.1 and HTTP/2 connection settings: hyper's defaults, plus a timer so that
/// HTTP/1.1's request header timeout (30 s) applies, and HTTP/2's extended CONNECT for
/// WebSockets, as `axum::serve` has.
fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1().timer(TokioTimer::new());
    http.http2().enable_connect_protocol();
    http
}

/// What every connection task needs, cloned into each.
#[derive(Clone)]
struct Server {
    acceptor: TlsAcceptor,
    app: Router,
    http: auto::Builder<TokioExecutor>,
    /// Changes when the server stops accepting, to abandon handshakes under way.
    stopping: watch::Receiver<()>,
}

/// Accepts connections and spawns a task for each into `connections` until `shutdown`
/// completes.
async fn accept_until(
    listener: &TcpListener,
    server: &Server,
    graceful: &GracefulShutdown,
    connections: &mut JoinSet<()>,
    shutdown: impl Future<Output = ()>,
) {
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            Some(finished) = connections.join_next(), if !connections.is_empty() => {
                log_task_failure(finished);
            }
            accepted = listener.accept() => match accepted {
                Ok((tcp, peer)) => {
                    let span = tracing::info_span!("https", %peer);
                    let task = server.clone().connection(tcp, peer, graceful.watcher());
                    connections.spawn(task.instrument(span));
                }
                Err(error) => pause_after_accept_error(error).await,
            },
        }
    }
}

/// Logs an accept error; pauses unless it concerned only the one connection.
async fn pause_after_accept_error(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset, Interrupted};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted
    ) {
        tracing::debug!(%error, "accepting a connection failed");
    } else {
        tracing::warn!(%error, "accepting connections failed; retrying shortly");
        tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
    }
}

/// Logs a connection task that panicked (cancellations are expected at shutdown).
fn log_task_failure(finished: Result<(), tokio::task::JoinError>) {
    if let Err(error) = finished
        && error.is_panic()
    {
        tracing::error!(%error, "an HTTPS connection task panicked");
    }
}

impl Server {
    /// Does the TLS handshake on `tcp` and serves HTTP on it until it closes, or until shutdown
    /// is signalled through `watcher` and its in-flight requests are done.
    async fn connection(mut self, tcp: TcpStream, peer: SocketAddr, watcher: Watcher) {
        let Some(tls) = self.handshake(tcp).await else {
            return;
        };
        let service = TowerToHyperService::new(axum::Extension(ConnectInfo(peer)).layer(self.app));
        let connection = self
            .http
            .serve_connection_with_upgrades(TokioIo::new(tls), service);
        if let Err(error) = watcher.watch(connection).await {
            tracing::debug!(%error, "HTTPS connection ended with an error");
        }
    }

    /// Does the TLS handshake on `tcp`, giving up after [`HANDSHAKE_TIMEOUT`] or when the
    /// server stops.
    async fn handshake(&mut self, tcp: TcpStream) -> Option<TlsStream<TcpStream>> {
        let accept = tokio::time::timeout(HANDSHAKE_TIMEOUT, self.acceptor.accept(tcp));
        tokio::select! {
            accepted = accept => match accepted {
                Ok(Ok(tls)) => Some(tls),
                Ok(Err(error)) => {
                    tracing::debug!(%error, "TLS handshake failed");
                    None
                }
                Err(_elapsed) => {
                    tracing::debug!(timeout = ?HANDSHAKE_TIMEOUT, "TLS handshake timed out");
                    None
                }
            },
            _ = self.stopping.changed() => {
                tracing::debug!("server stopping; TLS handshake abandoned");
                None
            }
        }
    }
}

/// Signals every connection to finish, and waits for them for at most [`SHUTDOWN_GRACE`];
/// then drops those still open.
async fn drain(graceful: GracefulShutdown, mut connections: JoinSet<()>) {
    let open = connections.len();
    if open > 0 {
        tracing::info!(open, "waiting for open HTTPS connections to finish");
    }
    let finished = async {
        graceful.shutdown().await;
        while let Some(finished) = connections.join_next().await {
            log_task_failure(finished);
        }
    };
    if tokio::time::timeout(SHUTDOWN_GRACE, finished)
        .await
        .is_err()
    {
        tracing::warn!(
            grace = ?SHUTDOWN_GRACE,
            "HTTPS connections still open after the shutdown grace period; closing them"
        );
    }
    connections.abort_all();
}
