//! HTTPS serving: certificate loading and its errors, HTTP/1.1 and HTTP/2 over TLS, clients that
//! speak plain HTTP or nothing at all, and shutdown.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use chatter_server::tls::{self, TlsError};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// A self-signed certificate for `localhost` and 127.0.0.1, written as PEM files.
struct TestCert {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
    cert_pem: String,
}

fn write_cert(dir: tempfile::TempDir) -> TestCert {
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    let cert_pem = generated.cert.pem();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, &cert_pem).unwrap();
    std::fs::write(&key, generated.signing_key.serialize_pem()).unwrap();
    TestCert {
        _dir: dir,
        cert,
        key,
        cert_pem,
    }
}

fn test_cert() -> TestCert {
    write_cert(tempfile::tempdir().unwrap())
}

/// A server on 127.0.0.1 answering `GET /hello` with the client's address.
struct TestServer {
    addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
}

async fn start(cert: &TestCert) -> TestServer {
    let app = Router::new().route(
        "/hello",
        get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
    );
    start_with(cert, app).await
}

async fn start_with(cert: &TestCert, app: Router) -> TestServer {
    let config = tls::load_config(&cert.cert, &cert.key).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let shutdown = async {
        let _ = stopped.await;
    };
    let task = tokio::spawn(tls::serve_tls(listener, app, config, shutdown));
    TestServer { addr, stop, task }
}

impl TestServer {
    /// Stops the server and checks that it shuts down well within its grace period.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        let result = tokio::time::timeout(Duration::from_secs(5), self.task)
            .await
            .expect("the server did not shut down within 5 s")
            .unwrap();
        result.unwrap();
    }
}

/// A client that trusts only `cert` and reaches `localhost` at the server's address.
fn client(cert: &TestCert, server: &TestServer) -> reqwest::ClientBuilder {
    let root = reqwest::Certificate::from_pem(cert.cert_pem.as_bytes()).unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .resolve("localhost", server.addr)
        .timeout(Duration::from_secs(5))
}

/// Checks that `GET /hello` answers 200 over `version` with the client's loopback address.
async fn hello(client: &reqwest::Client, url: &str, version: reqwest::Version) {
    let response = client.get(url).send().await.unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    assert_eq!(response.version(), version);
    let peer: SocketAddr = response.text().await.unwrap().parse().unwrap();
    assert!(peer.ip().is_loopback(), "peer address {peer}");
    assert_ne!(peer.port(), 0);
}

#[tokio::test]
async fn serves_http1_and_http2_over_tls() {
    let cert = test_cert();
    let server = start(&cert).await;
    let url = format!("https://localhost:{}/hello", server.addr.port());

    let http1 = client(&cert, &server).http1_only().build().unwrap();
    hello(&http1, &url, reqwest::Version::HTTP_11).await;

    // Negotiated through ALPN.
    let alpn = client(&cert, &server).build().unwrap();
    hello(&alpn, &url, reqwest::Version::HTTP_2).await;

    let prior_knowledge = client(&cert, &server)
        .http2_prior_knowledge()
        .build()
        .unwrap();
    hello(&prior_knowledge, &url, reqwest::Version::HTTP_2).await;

    // The certificate also names the IP address.
    let by_ip = format!("https://127.0.0.1:{}/hello", server.addr.port());
    hello(&alpn, &by_ip, reqwest::Version::HTTP_2).await;

    // Idle keep-alive connections from all three clients do not hold up shutdown.
    server.stop().await;
}

#[tokio::test]
async fn plain_http_to_the_tls_port_fails_and_the_server_carries_on() {
    let cert = test_cert();
    let server = start(&cert).await;

    let plain = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let attempt = plain
        .get(format!("http://127.0.0.1:{}/hello", server.addr.port()))
        .send()
        .await;
    assert!(attempt.is_err(), "plain HTTP got an answer: {attempt:?}");

    let https = client(&cert, &server).build().unwrap();
    let url = format!("https://localhost:{}/hello", server.addr.port());
    hello(&https, &url, reqwest::Version::HTTP_2).await;
    server.stop().await;
}

#[tokio::test]
async fn a_silent_client_does_not_block_others_or_shutdown() {
    let cert = test_cert();
    let server = start(&cert).await;

    // Connects and never starts the handshake.
    let silent = tokio::net::TcpStream::connect(server.addr).await.unwrap();

    let https = client(&cert, &server).build().unwrap();
    let url = format!("https://localhost:{}/hello", server.addr.port());
    // Well within the 10 s handshake timeout: the silent client has its own task.
    tokio::time::timeout(
        Duration::from_secs(3),
        hello(&https, &url, reqwest::Version::HTTP_2),
    )
    .await
    .expect("a silent client blocked another one");

    // Shutdown abandons the silent client's handshake rather than waiting it out.
    server.stop().await;
    drop(silent);
}

#[tokio::test]
async fn shutdown_lets_in_flight_requests_finish() {
    for http1_only in [true, false] {
        let cert = test_cert();
        let (started_tx, mut started) = mpsc::channel::<()>(1);
        let app = Router::new().route(
            "/slow",
            get(move || async move {
                let _ = started_tx.send(()).await;
                tokio::time::sleep(Duration::from_millis(500)).await;
                "done"
            }),
        );
        let server = start_with(&cert, app).await;
        let builder = client(&cert, &server);
        let https = if http1_only {
            builder.http1_only()
        } else {
            builder
        }
        .build()
        .unwrap();
        let url = format!("https://localhost:{}/slow", server.addr.port());
        let request = tokio::spawn(async move {
            let response = https.get(url).send().await?;
            let version = response.version();
            response.text().await.map(|body| (version, body))
        });
        started.recv().await.unwrap();

        let addr = server.addr;
        server.stop().await;
        let (version, body) = request.await.unwrap().unwrap();
        assert_eq!(body, "done", "over {version:?}");
        let expected = if http1_only {
            reqwest::Version::HTTP_11
        } else {
            reqwest::Version::HTTP_2
        };
        assert_eq!(version, expected);
        // The listener is closed.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}

/// Loading a file that is not there names it.
#[test]
fn a_missing_certificate_file_is_named() {
    let cert = test_cert();
    let missing = cert.cert.with_file_name("missing.pem");
    let error = tls::load_config(&missing, &cert.key).unwrap_err();
    assert!(matches!(error, TlsError::Read { .. }), "{error:?}");
    assert_names(&error, &missing);
    assert!(error.to_string().contains("cannot read"), "{error}");

    let missing_key = cert.key.with_file_name("missing-key.pem");
    let error = tls::load_config(&cert.cert, &missing_key).unwrap_err();
    assert!(matches!(error, TlsError::Read { .. }), "{error:?}");
    assert_names(&error, &missing_key);
}

#[test]
fn a_file_without_a_certificate_is_named() {
    let cert = test_cert();
    // The key file holds no certificate.
    let error = tls::load_config(&cert.key, &cert.key).unwrap_err();
    assert!(matches!(error, TlsError::NoCertificate { .. }), "{error:?}");
    assert_names(&error, &cert.key);
    assert!(
        error.to_string().contains("no certificate found"),
        "{error}"
    );

    let broken = cert.cert.with_file_name("broken.pem");
    std::fs::write(
        &broken,
        "-----BEGIN CERTIFICATE-----\n!!! not base64 !!!\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let error = tls::load_config(&broken, &cert.key).unwrap_err();
    assert!(matches!(error, TlsError::Pem { .. }), "{error:?}");
    assert_names(&error, &broken);

    let text = cert.cert.with_file_name("notes.txt");
    std::fs::write(&text, "not PEM at all\n").unwrap();
    let error = tls::load_config(&text, &cert.key).unwrap_err();
    assert!(matches!(error, TlsError::NoCertificate { .. }), "{error:?}");
    assert_names(&error, &text);
}

#[test]
fn a_file_without_a_key_is_named() {
    let cert = test_cert();
    let error = tls::load_config(&cert.cert, &cert.cert).unwrap_err();
    assert!(matches!(error, TlsError::NoPrivateKey { .. }), "{error:?}");
    assert_names(&error, &cert.cert);
    assert!(
        error.to_string().contains("no private key found"),
        "{error}"
    );
}

#[test]
fn a_key_that_does_not_match_the_certificate_is_named() {
    let cert = test_cert();
    let other = test_cert();
    let error = tls::load_config(&cert.cert, &other.key).unwrap_err();
    assert!(matches!(error, TlsError::KeyMismatch { .. }), "{error:?}");
    assert_names(&error, &cert.cert);
    assert_names(&error, &other.key);
    assert!(error.to_string().contains("does not match"), "{error}");
}

fn assert_names(error: &TlsError, path: &Path) {
    let message = error.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "`{message}` does not name {}",
        path.display()
    );
}
