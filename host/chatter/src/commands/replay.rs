//! `chatter replay shdr|agent|haas`: stand-ins for real machines, serving recorded traffic on
//! a local port so drivers can be developed and tested without a shop floor.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use chatter_haas_mdc::RunStatus;
use chatter_replay::agent::{AgentEmulator, Feed, Options as AgentOptions};
use chatter_replay::haas::{Advance, HaasResponder, MachineState, Options as HaasOptions};
use chatter_replay::shdr::{ReplayOptions, ShdrLog, ShdrReplay, Speed};
use clap::{Args, Subcommand};

/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);

/// What `chatter replay` serves.
#[derive(Debug, Subcommand)]
pub enum ReplayCommand {
    /// Serve a recorded SHDR log over TCP like an MTConnect adapter (answers `* PING`).
    Shdr(ShdrArgs),
    /// Serve a recorded SHDR log like an MTConnect agent: /probe, /current, /sample over HTTP.
    Agent(AgentArgs),
    /// Answer Haas MDC Q-commands over TCP like a Haas control running parts.
    Haas(HaasArgs),
}

/// Where a replay listens.
#[derive(Debug, Args)]
struct Listen {
    /// The TCP port.
    #[arg(long, short)]
    port: u16,
    /// The address to listen on; loopback unless another machine must reach it.
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    address: IpAddr,
}

impl Listen {
    fn socket(&self) -> SocketAddr {
        SocketAddr::new(self.address, self.port)
    }
}

/// Arguments of `chatter replay shdr`.
#[derive(Debug, Args)]
pub struct ShdrArgs {
    /// The SHDR log (`timestamp|key|value…` lines, or a cppagent scenario of delays).
    log: PathBuf,
    #[command(flatten)]
    listen: Listen,
    /// How fast: `max` (no waiting) or a factor of the recorded pace (`1`, `10`, `0.5`).
    #[arg(long, default_value = "1")]
    speed: Speed,
    /// The heartbeat announced in `* PONG`, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    heartbeat_ms: u64,
    /// Close each connection once the whole log went out.
    #[arg(long)]
    close_at_end: bool,
    /// Shorten pauses longer than this many seconds (joined captures can pause for hours).
    #[arg(long)]
    max_pause_s: Option<u64>,
}

/// Arguments of `chatter replay agent`.
#[derive(Debug, Args)]
pub struct AgentArgs {
    /// The SHDR log the agent's adapter would have sent.
    log: PathBuf,
    /// The agent's device model (an MTConnectDevices document).
    #[arg(long)]
    devices: PathBuf,
    /// Which device of the model the log feeds (name, uuid or id); default: the first.
    #[arg(long)]
    device: Option<String>,
    #[command(flatten)]
    listen: Listen,
    /// How fast the log fills the buffer: `max` (all at once) or a factor of the recorded pace.
    #[arg(long, default_value = "1")]
    speed: Speed,
    /// How many observations the agent's buffer holds.
    #[arg(long, default_value_t = chatter_replay::agent::DEFAULT_BUFFER_SIZE)]
    buffer: usize,
}

/// Arguments of `chatter replay haas`.
#[derive(Debug, Args)]
pub struct HaasArgs {
    #[command(flatten)]
    listen: Listen,
    /// How long each step of the simulated work lasts, in milliseconds.
    #[arg(long, default_value_t = 5_000)]
    step_ms: u64,
}

/// Runs a replay until Ctrl-C.
pub fn run(command: ReplayCommand) -> anyhow::Result<()> {
    super::tokio_runtime()?.block_on(async {
        match command {
            ReplayCommand::Shdr(args) => shdr(args).await,
            ReplayCommand::Agent(args) => agent(args).await,
            ReplayCommand::Haas(args) => haas(args).await,
        }
    })
}

async fn shdr(args: ShdrArgs) -> anyhow::Result<()> {
    let log = ShdrLog::read(&args.log)
        .with_context(|| format!("cannot read the log {}", args.log.display()))?;
    let lines = log.len();
    let options = ReplayOptions {
        speed: args.speed,
        heartbeat_ms: args.heartbeat_ms,
        close_at_end: args.close_at_end,
        max_pause: args.max_pause_s.map(Duration::from_secs),
    };
    let replay = ShdrReplay::bind(args.listen.socket(), log, options)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen.socket()))?;
    eprintln!(
        "Replaying {} ({lines} lines, speed {}) as an SHDR adapter on {}",
        args.log.display(),
        args.speed,
        replay.local_addr()
    );
    let report = async {
        let mut last = Vec::new();
        loop {
            tokio::time::sleep(PROGRESS_EVERY).await;
            let progress = replay.progress().borrow().clone();
            for (client, now) in progress.iter().enumerate() {
                if last.get(client) != Some(now) {
                    let state = if now.finished { ", finished" } else { "" };
                    eprintln!(
                        "  client {}: {}/{lines} lines{state}",
                        client + 1,
                        now.lines_sent
                    );
                }
            }
            last = progress;
        }
    };
    tokio::select! {
        () = report => Ok(()),
        () = super::shutdown_signal() => Ok(()),
    }
}

async fn agent(args: AgentArgs) -> anyhow::Result<()> {
    let log = std::fs::read_to_string(&args.log)
        .with_context(|| format!("cannot read the log {}", args.log.display()))?;
    let devices = std::fs::read_to_string(&args.devices)
        .with_context(|| format!("cannot read the device model {}", args.devices.display()))?;
    let feed = match args.speed {
        Speed::Max => Feed::AllAtOnce,
        Speed::Factor(speed) => Feed::Paced {
            speed,
            max_wait: Duration::from_secs(10),
        },
    };
    let options = AgentOptions {
        device: args.device,
        buffer_size: args.buffer.max(1),
        feed,
    };
    let agent = AgentEmulator::bind(args.listen.socket(), &log, &devices, options)
        .await
        .with_context(|| format!("cannot serve the agent on {}", args.listen.socket()))?;
    eprintln!(
        "Replaying {} as an MTConnect agent at http://{}/ (probe, current, sample; buffer {})",
        args.log.display(),
        agent.local_addr(),
        args.buffer
    );
    let report = async {
        let mut last = usize::MAX;
        loop {
            let fed = agent.fed_lines();
            if fed != last {
                let window = agent.window();
                eprintln!(
                    "  {fed}/{} lines fed, sequences {}–{}",
                    agent.total_lines(),
                    window.first_sequence,
                    window.next_sequence.saturating_sub(1)
                );
                last = fed;
            }
            tokio::time::sleep(PROGRESS_EVERY).await;
        }
    };
    tokio::select! {
        () = report => Ok(()),
        () = super::shutdown_signal() => Ok(()),
    }
}

async fn haas(args: HaasArgs) -> anyhow::Result<()> {
    let options = HaasOptions {
        advance: Advance::OnDemand,
        ..HaasOptions::default()
    };
    let responder =
        HaasResponder::bind(args.listen.socket(), vec![MachineState::default()], options)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen.socket()))?;
    eprintln!(
        "A Haas control answering MDC Q-commands on {} (a step every {} ms)",
        responder.local_addr(),
        args.step_ms
    );
    let work = async {
        for step in 0u64.. {
            tokio::time::sleep(Duration::from_millis(args.step_ms)).await;
            let state = working_state(step);
            eprintln!(
                "  {} {}, {} parts",
                state.program,
                state.status.as_str(),
                state.parts
            );
            responder.set_state(state);
        }
    };
    tokio::select! {
        () = work => Ok(()),
        () = super::shutdown_signal() => Ok(()),
    }
}

/// Step `step` of a control making parts: each part runs three steps, is held once in five,
/// and a short idle follows it.
fn working_state(step: u64) -> MachineState {
    let part = step / 4;
    let status = match step % 4 {
        0 | 2 => RunStatus::Busy,
        1 if part % 5 == 4 => RunStatus::FeedHold,
        1 => RunStatus::Busy,
        _ => RunStatus::Idle,
    };
    MachineState {
        status,
        parts: part + u64::from(step % 4 == 3),
        ..MachineState::default()
    }
}
