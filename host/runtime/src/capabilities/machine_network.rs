//! `machine-network`: TCP from a driver to the endpoints of the machine it serves, and nowhere
//! else. The endpoint is chosen by name from the machine's record; its resolved addresses are
//! checked against the operator's [`NetworkPolicy`] (no loopback, link-local or cloud metadata
//! addresses unless allowed). Reads and writes are async, so a guest waiting on a socket holds
//! no host thread.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wasmtime::component::{HasSelf, Linker, Resource};

use crate::bindings::driver::chatter::plugin::machine_network::{self, HostConnection};
use crate::bindings::driver::chatter::plugin::types::Endpoint;
use crate::bindings::driver::chatter::plugin::types::{Error, ErrorCode};
use crate::capabilities::{require, within_call_cap};
use crate::host_state::HostState;
use crate::manifest::Capability;

/// What the operator lets machine connections reach beyond the machine's own endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkPolicy {
    /// Allow loopback addresses (127.0.0.0/8, ::1). Off by default; tests and single-box
    /// setups with a local agent turn it on.
    pub allow_loopback: bool,
    /// Allow link-local addresses (169.254.0.0/16 with the cloud metadata service, fe80::/10).
    pub allow_link_local: bool,
    /// Open connections one instance may hold at once.
    pub max_connections: usize,
}

impl Default for NetworkPolicy {
    fn default() -> Self {
        NetworkPolicy {
            allow_loopback: false,
            allow_link_local: false,
            max_connections: 4,
        }
    }
}

impl NetworkPolicy {
    /// Why `address` is refused, if it is.
    pub fn refusal(&self, address: IpAddr) -> Option<&'static str> {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
            v4 => v4,
        };
        let link_local = match address {
            IpAddr::V4(v4) => v4.is_link_local(),
            IpAddr::V6(v6) => v6.is_unicast_link_local(),
        };
        if address.is_unspecified() || address.is_multicast() {
            Some("an unspecified or multicast address")
        } else if address.is_loopback() && !self.allow_loopback {
            Some("a loopback address (the operator has not allowed loopback)")
        } else if link_local && !self.allow_link_local {
            Some("a link-local or cloud metadata address")
        } else {
            None
        }
    }
}

/// An open connection held by a plugin.
#[derive(Debug)]
pub struct Connection {
    stream: TcpStream,
    endpoint: String,
}

pub(crate) fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    machine_network::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

fn error(code: ErrorCode, message: String) -> Error {
    Error { code, message }
}

impl machine_network::Host for HostState {
    fn endpoints(&mut self) -> wasmtime::Result<Vec<Endpoint>> {
        if require(self, Capability::MachineNetwork).is_err() {
            return Ok(Vec::new());
        }
        Ok(self
            .context
            .endpoints
            .iter()
            .map(|e| Endpoint {
                name: e.name.clone(),
                host: e.host.clone(),
                port: e.port,
            })
            .collect())
    }

    async fn connect(
        &mut self,
        name: String,
        timeout_ms: u32,
    ) -> Result<Resource<Connection>, Error> {
        let connected = self.open_connection(&name, timeout_ms).await;
        if let Err(refusal) = &connected
            && refusal.code == ErrorCode::Denied
        {
            let id = &self.identity;
            let machine = id.machine.as_ref().map(|m| m.as_str()).unwrap_or("-");
            tracing::warn!(
                plugin = %id.plugin, version = %id.version, org = %id.org, machine,
                endpoint = %name, reason = %refusal.message,
                "machine-network connection refused"
            );
        }
        connected
    }
}

impl HostState {
    /// Opens a connection to the endpoint called `name` if every rule allows it.
    async fn open_connection(
        &mut self,
        name: &str,
        timeout_ms: u32,
    ) -> Result<Resource<Connection>, Error> {
        require(self, Capability::MachineNetwork)?;
        let max = self.context.network.max_connections;
        if self.open_connections >= max {
            return Err(error(
                ErrorCode::Denied,
                format!("already {max} open connections, the most allowed"),
            ));
        }
        let Some(endpoint) = self
            .context
            .endpoints
            .iter()
            .find(|e| e.name == *name)
            .cloned()
        else {
            return Err(error(
                ErrorCode::Denied,
                format!("the machine has no endpoint called `{name}`"),
            ));
        };
        let timeout = self.remaining(Duration::from_millis(timeout_ms.into()));
        let target = format!("{}:{}", endpoint.host, endpoint.port);
        let addresses: Vec<SocketAddr> =
            tokio::time::timeout(timeout, tokio::net::lookup_host(&target))
                .await
                .map_err(|_| error(ErrorCode::Timeout, format!("resolving {target} timed out")))?
                .map_err(|e| {
                    error(
                        ErrorCode::Unreachable,
                        format!("cannot resolve {target}: {e}"),
                    )
                })?
                .collect();
        let policy = &self.context.network;
        let allowed: Vec<SocketAddr> = addresses
            .iter()
            .copied()
            .filter(|a| policy.refusal(a.ip()).is_none())
            .collect();
        if let (None, Some(first)) = (allowed.first(), addresses.first()) {
            let why = policy.refusal(first.ip()).unwrap_or("not allowed");
            return Err(error(
                ErrorCode::Denied,
                format!("{target} resolves to {}, {why}", first.ip()),
            ));
        }
        let stream = tokio::time::timeout(timeout, TcpStream::connect(&allowed[..]))
            .await
            .map_err(|_| {
                error(
                    ErrorCode::Timeout,
                    format!("connecting to {target} timed out"),
                )
            })?
            .map_err(|e| {
                error(
                    ErrorCode::Unreachable,
                    format!("cannot connect to {target}: {e}"),
                )
            })?;
        let connection = Connection {
            stream,
            endpoint: target,
        };
        let resource = self
            .table
            .push(connection)
            .map_err(|e| error(ErrorCode::Internal, format!("resource table: {e}")))?;
        self.open_connections += 1;
        Ok(resource)
    }
}

impl HostConnection for HostState {
    async fn read(
        &mut self,
        connection: Resource<Connection>,
        max_bytes: u32,
        timeout_ms: u32,
    ) -> Result<Vec<u8>, Error> {
        let cap = self.limits.host_call_bytes;
        let timeout = self.remaining(Duration::from_millis(timeout_ms.into()));
        let connection = self
            .table
            .get_mut(&connection)
            .map_err(|e| error(ErrorCode::Internal, format!("resource table: {e}")))?;
        let len = usize::try_from(max_bytes).unwrap_or(usize::MAX).min(cap);
        let mut buffer = vec![0; len];
        let read = tokio::time::timeout(timeout, connection.stream.read(&mut buffer))
            .await
            .map_err(|_| {
                error(
                    ErrorCode::Timeout,
                    format!("nothing from {} in time", connection.endpoint),
                )
            })?
            .map_err(|e| {
                error(
                    ErrorCode::Unreachable,
                    format!("reading from {}: {e}", connection.endpoint),
                )
            })?;
        buffer.truncate(read);
        Ok(buffer)
    }

    async fn write(
        &mut self,
        connection: Resource<Connection>,
        data: Vec<u8>,
    ) -> Result<(), Error> {
        within_call_cap(self, "a network write", data.len())?;
        let timeout = self.remaining(Duration::MAX);
        let connection = self
            .table
            .get_mut(&connection)
            .map_err(|e| error(ErrorCode::Internal, format!("resource table: {e}")))?;
        let endpoint = &connection.endpoint;
        tokio::time::timeout(timeout, connection.stream.write_all(&data))
            .await
            .map_err(|_| {
                error(
                    ErrorCode::Timeout,
                    format!("writing to {endpoint} timed out"),
                )
            })?
            .map_err(|e| {
                error(
                    ErrorCode::Unreachable,
                    format!("writing to {endpoint}: {e}"),
                )
            })
    }

    fn drop(&mut self, connection: Resource<Connection>) -> wasmtime::Result<()> {
        self.table.delete(connection)?;
        self.open_connections = self.open_connections.saturating_sub(1);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_policy_refuses_loopback_link_local_and_metadata() {
        let policy = NetworkPolicy::default();
        for refused in [
            "127.0.0.1",
            "::1",
            "169.254.169.254",
            "fe80::1",
            "0.0.0.0",
            "::ffff:127.0.0.1",
        ] {
            let ip: IpAddr = refused.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
            assert!(policy.refusal(ip).is_some(), "{refused} was allowed");
        }
        for allowed in ["192.168.1.20", "10.0.0.5", "2001:db8::5"] {
            let ip: IpAddr = allowed.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]));
            assert!(policy.refusal(ip).is_none(), "{allowed} was refused");
        }
    }

    #[test]
    fn loopback_is_an_explicit_operator_setting() {
        let policy = NetworkPolicy {
            allow_loopback: true,
            ..NetworkPolicy::default()
        };
        assert!(policy.refusal(IpAddr::from([127, 0, 0, 1])).is_none());
        assert!(policy.refusal(IpAddr::from([169, 254, 169, 254])).is_some());
    }
}
