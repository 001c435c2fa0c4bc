//! `chatter edge --config edge.toml`: a Chatter server next to the machines that forwards what
//! its drivers record to a central Chatter server.
//!
//! It serves exactly as `chatter serve` does, on its own embedded store, so drivers keep
//! recording durably when central or the network is down; one forwarder per configured machine
//! sends the local observations to central in order, each stored there once.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use chatter_edge::{Central, EdgeConfig, Forwarder, ForwarderStatus, StatusHandle, StreamId};
use chatter_store::Store;
use clap::Args;
use tokio::sync::watch;

/// Arguments of `chatter edge`.
#[derive(Debug, Args)]
pub struct EdgeArgs {
    /// The configuration file: a `chatter serve` configuration plus an `[edge]` section
    /// (see docs/edge.md).
    #[arg(long, short, default_value = "edge.toml")]
    config: PathBuf,
    /// Seconds between two status lines (pending observations per machine); 0: none.
    #[arg(long, default_value_t = 10)]
    status_interval_s: u64,
}

pub fn run(args: EdgeArgs) -> anyhow::Result<()> {
    let config = EdgeConfig::from_file(&args.config)?;
    let status_every = Duration::from_secs(args.status_interval_s);
    super::tokio_runtime()?.block_on(edge(config, status_every))
}

/// Serves the local organization and forwards its configured machines until Ctrl-C.
async fn edge(config: EdgeConfig, status_every: Duration) -> anyhow::Result<()> {
    // Raw observations are the outbox: only the trimmer, which knows what central has, may
    // remove them; the server's retention task keeps to derived data.
    let keep_days = config.server.retention.raw_days;
    let mut server = config.server.clone();
    server.retention.raw_days = 0;
    let server = &server;
    // The stream id first: no observation may be recorded under a data folder without one.
    let stream = StreamId::load_or_create(&server.server.data_dir)
        .context("cannot set up the edge's stream id")?;
    let store = super::serve::open_store(server)?;
    let (runtime, listener) = super::serve::prepare(server, &store).await?;
    let addr = listener.local_addr()?;
    let central = Central::new(&config.edge).context("cannot set up the HTTP client")?;

    let (stop, stopped) = watch::channel(false);
    let dyn_store: Arc<dyn Store> = store.clone();
    let mut forwarders = tokio::task::JoinSet::new();
    let mut statuses = Vec::new();
    for machine in &server.machines {
        let forwarder = Forwarder::new(
            server.server.organization.clone(),
            machine.id.clone(),
            dyn_store.clone(),
            central.clone(),
            stream.clone(),
            &config.edge,
        );
        statuses.push(forwarder.status());
        forwarders.spawn(forwarder.run(stopped.clone()));
    }
    eprintln!(
        "Chatter edge is serving organization `{}` at http://{addr}/ and forwarding {} to {} \
         (stream {stream})",
        server.server.organization,
        plural(statuses.len(), "machine"),
        central.base(),
    );
    if statuses.is_empty() {
        eprintln!("warning: no [[machines]] configured: nothing will be forwarded");
    }
    if keep_days > 0 {
        forwarders.spawn(chatter_edge::trim::run(
            dyn_store.clone(),
            server.server.organization.clone(),
            statuses.clone(),
            keep_days,
            Duration::from_secs(server.retention.interval_s.max(1)),
            stopped.clone(),
        ));
    }
    let reporter = (!status_every.is_zero())
        .then(|| tokio::spawn(report(statuses.clone(), status_every, stopped.clone())));

    let shutdown = async move {
        super::shutdown_signal().await;
        // Forwarders stop with the server; a batch in flight is sent again at the next start.
        let _ = stop.send(true);
    };
    let served = chatter_server::serve(server, runtime, store, listener, shutdown).await;
    forwarders.join_all().await;
    if let Some(reporter) = reporter {
        reporter.abort();
    }
    for status in &statuses {
        eprintln!("edge stopped: {}", status_line(&status.snapshot()));
    }
    served
}

/// Prints each machine's status line every `every` until `stopped`.
async fn report(statuses: Vec<StatusHandle>, every: Duration, mut stopped: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every);
    ticks.tick().await;
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        for status in &statuses {
            eprintln!("edge: {}", status_line(&status.snapshot()));
        }
    }
}

/// One machine's forwarding status in a line: `mill-1: 120 pending (local 5120, central 5000),
/// last sent 2 s ago; last error: …`.
fn status_line(status: &ForwarderStatus) -> String {
    let mut line = match status.forwarded {
        Some(forwarded) => format!(
            "{}: {} pending (local {}, central {forwarded})",
            status.machine,
            status.pending(),
            status.local_last
        ),
        None => format!(
            "{}: {} stored locally, central not reached yet",
            status.machine, status.local_last
        ),
    };
    if let Some(at) = status.last_success_ms {
        let ago = (chatter_model::now_ms() - at).max(0) / 1000;
        line.push_str(&format!(", last sent {ago} s ago"));
    }
    if status.rejected > 0 {
        line.push_str(&format!(", {} rejected by central", status.rejected));
    }
    if let Some(error) = &status.last_error {
        line.push_str(&format!("; last error: {error}"));
    }
    line
}

fn plural(count: usize, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_say_what_is_pending() {
        let mut status = ForwarderStatus {
            machine: "mill-1".into(),
            local_last: 5_120,
            ..ForwarderStatus::default()
        };
        assert_eq!(
            status_line(&status),
            "mill-1: 5120 stored locally, central not reached yet"
        );
        status.forwarded = Some(5_000);
        status.last_error = Some("central is unavailable: refused".into());
        assert_eq!(
            status_line(&status),
            "mill-1: 120 pending (local 5120, central 5000); last error: central is unavailable: refused"
        );
    }
}
