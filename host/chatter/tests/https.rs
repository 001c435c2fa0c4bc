//! `chatter serve` with `[tls]`: it answers HTTPS with the configured certificate, its cookies
//! are `Secure` with the `__Host-` prefix, and a bad certificate file is named at start.

#![allow(clippy::unwrap_used)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A configuration serving HTTPS on `port` with the certificate and key in `dir`.
fn config(dir: &std::path::Path, port: u16, cert: &str) -> std::path::PathBuf {
    let path = dir.join("chatter.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\naddr = \"127.0.0.1:{port}\"\ndata-dir = {:?}\n\
             [tls]\ncert = {:?}\nkey = {:?}\n",
            dir.join("data").display().to_string(),
            dir.join(cert).display().to_string(),
            dir.join("key.pem").display().to_string(),
        ),
    )
    .unwrap();
    path
}

#[tokio::test(flavor = "multi_thread")]
async fn serve_answers_https_with_secure_host_cookies() {
    let dir = tempfile::tempdir().unwrap();
    let generated =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    std::fs::write(dir.path().join("cert.pem"), generated.cert.pem()).unwrap();
    std::fs::write(
        dir.path().join("key.pem"),
        generated.signing_key.serialize_pem(),
    )
    .unwrap();
    let port = free_port();
    let config = config(dir.path(), port, "cert.pem");
    let _server = Server(
        Command::new(env!("CARGO_BIN_EXE_chatter"))
            .args(["serve", "--config"])
            .arg(&config)
            .env("CHATTER_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::builder()
        .add_root_certificate(
            reqwest::Certificate::from_pem(generated.cert.pem().as_bytes()).unwrap(),
        )
        .resolve("localhost", ([127, 0, 0, 1], port).into())
        .build()
        .unwrap();
    let base = format!("https://localhost:{port}");
    let deadline = Instant::now() + Duration::from_secs(60);
    let healthy = loop {
        match client.get(format!("{base}/healthz")).send().await {
            Ok(response) => break response,
            Err(_) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(error) => panic!("no HTTPS answer: {error}"),
        }
    };
    assert_eq!(healthy.status(), 200);

    let page = client.get(format!("{base}/sign-in")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let cookie = page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-chatter_form="), "{cookie}");
    for attribute in ["Secure", "HttpOnly", "Path=/"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Domain"),
        "a __Host- cookie has no domain: {cookie}"
    );

    let plain = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await;
    assert!(
        plain.is_err(),
        "plain HTTP is not answered on the HTTPS port"
    );
}

#[test]
fn a_missing_certificate_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key.pem"), "not a key").unwrap();
    let config = config(dir.path(), free_port(), "missing.pem");
    let output = Command::new(env!("CARGO_BIN_EXE_chatter"))
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("missing.pem"), "{stderr}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("stack backtrace"),
        "{stderr}"
    );
}
