//! Support for end-to-end tests against real outside programs: an SMTP server that keeps what
//! it receives ([`smtp::MailServer`]), a headless Chromium driven over WebDriver
//! ([`browser::Browser`]), an OpenID Connect provider standing in for Autodesk's sign-in
//! ([`oidc::OidcServer`]), a stand-in for Autodesk's Data Management API and its signed
//! downloads ([`autodesk::DataManagementServer`]), the policy for a test whose program is
//! not installed ([`skip::available`]), and a realistic shop's derived data for benchmarks
//! ([`sample`]).
//!
//! The programs come from the machine: Python's `aiosmtpd` (PyPI), Debian's `chromium` and
//! `chromium-driver`, and Node.js with npm (the provider's npm packages are installed into the
//! cargo target folder on first use). `.ci/run` installs them and sets `CHATTER_REQUIRE_E2E=1`,
//! so that in CI a missing program fails the run instead of skipping its tests.

pub mod autodesk;
pub mod browser;
pub mod oidc;
pub mod sample;
pub mod skip;
pub mod smtp;

pub use autodesk::{DataManagementServer, RecordedRequest};
pub use browser::{Browser, BrowserOptions};
pub use oidc::{OidcOptions, OidcServer};
pub use smtp::{Mail, MailServer};

use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A TCP port on 127.0.0.1 that was free a moment ago: the operating system's choice for a
/// listener bound to port 0, which is closed again before this returns.
///
/// # Panics
///
/// If no port can be bound on 127.0.0.1 at all.
pub fn free_port() -> u16 {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("binding 127.0.0.1:0 for a free port");
    listener
        .local_addr()
        .expect("address of a bound listener")
        .port()
}

/// The workspace's root folder: two levels above this crate's manifest.
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .nth(2)
        .unwrap_or(manifest)
        .to_path_buf()
}

/// Waits until `port` on 127.0.0.1 accepts a connection, calling `exited` between tries; an
/// `Err` from it (the program died) ends the wait at once with that error. It blocks the
/// thread: programs start in well under a second, and tests start them before anything else.
pub(crate) fn wait_for_port(
    port: u16,
    timeout: Duration,
    mut exited: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let deadline = Instant::now() + timeout;
    loop {
        exited()?;
        if TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            anyhow::bail!("nothing accepted connections on {address} within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
