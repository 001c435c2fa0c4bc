//! A scripted Haas MDC port: a TCP server on 127.0.0.1 that answers Q-commands the way a Haas
//! control with Setting 143 does, from a script of machine states, so that a driver can be
//! tested against real sockets without a machine.
//!
//! The script is a list of [`MachineState`]s. The responder answers from the current one and
//! moves to the next either after each `?Q500` it answers ([`Advance::PerProgramStatus`], the
//! default: a driver polling Q500 walks through the script) or only when the test says so
//! ([`HaasResponder::advance`], [`HaasResponder::set_state`]). The last state stays.
//!
//! Replies use the framing of [`Options::framing`] and, like the real control, go to every open
//! connection ([`Options::share_replies`]). [`Quirks`] inject what makes drivers fail in the
//! field: replies split over several TCP writes, refusals, noise on the line, dropped
//! connections.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use chatter_replay::haas::{HaasResponder, MachineState, Options};
//! let responder = HaasResponder::start(vec![MachineState::default()], Options::default()).await?;
//! println!("Haas MDC port at {}", responder.local_addr());
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chatter_haas_mdc::{
    Framing, MacroValue, Mode, ProgramStatus, Reply, Request, RequestError, RunStatus,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{debug, info, warn};

/// The pause between the pieces of a split reply, so that they leave as separate segments.
pub const SPLIT_PAUSE: Duration = Duration::from_millis(5);
/// A command line longer than this is not a command; it is answered `UNKNOWN`.
const LONGEST_COMMAND: usize = 256;

/// What the control reports at one point of the script.
#[derive(Debug, Clone, PartialEq)]
pub struct MachineState {
    /// Q100.
    pub serial: String,
    /// Q101.
    pub software_version: String,
    /// Q102.
    pub model: String,
    /// Q104.
    pub mode: Mode,
    /// Q500: the active program (`O00012`, or `MDI`).
    pub program: String,
    /// Q500: the run status.
    pub status: RunStatus,
    /// Q500: the parts counter.
    pub parts: u64,
    /// Q600: variable values; a variable not listed is vacant (answered `MACRO, `).
    pub macros: BTreeMap<u32, f64>,
}

impl Default for MachineState {
    /// An idle VF-2 in MEM mode with program O00012 loaded.
    fn default() -> Self {
        MachineState {
            serial: "1234567".into(),
            software_version: "100.20.000.1110".into(),
            model: "VF-2".into(),
            mode: Mode::Memory,
            program: "O00012".into(),
            status: RunStatus::Idle,
            parts: 0,
            macros: BTreeMap::new(),
        }
    }
}

/// When the responder moves to the script's next state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Advance {
    /// After answering each `?Q500`.
    #[default]
    PerProgramStatus,
    /// Only on [`HaasResponder::advance`].
    OnDemand,
}

/// How the responder behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// How replies are framed.
    pub framing: Framing,
    /// When the script moves on.
    pub advance: Advance,
    /// Whether `?Q500` is answered `STATUS, BUSY` while the status is BUSY, as Haas documents;
    /// otherwise `PROGRAM, …, BUSY, PARTS, …`.
    pub status_busy: bool,
    /// Whether every open connection receives every reply, as on the real control (which
    /// accepts two connections and sends the output requested by one to both).
    pub share_replies: bool,
    /// Faults to inject.
    pub quirks: Quirks,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            framing: Framing::default(),
            advance: Advance::default(),
            status_busy: true,
            share_replies: true,
            quirks: Quirks::default(),
        }
    }
}

/// Faults to inject; the default injects none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Quirks {
    /// Write each reply in pieces of at most this many bytes, each its own write, with
    /// [`SPLIT_PAUSE`] between them.
    pub split_replies: Option<usize>,
    /// Q-command numbers answered `UNKNOWN` although the control knows them.
    pub refuse: Vec<u16>,
    /// Bytes written before every reply: noise on the line.
    pub noise: Vec<u8>,
    /// Close each connection after it was sent this many replies.
    pub drop_after: Option<usize>,
}

/// A running scripted Haas MDC port. Dropping it stops the server and closes its connections.
pub struct HaasResponder {
    address: SocketAddr,
    shared: Arc<Shared>,
    accept: JoinHandle<()>,
}

/// What the server task and the test share.
struct Shared {
    options: Options,
    script: Mutex<Script>,
    requests: Mutex<Vec<String>>,
    requests_seen: watch::Sender<usize>,
    /// The open connections' outboxes, for replies shared with every connection.
    outboxes: Mutex<Vec<(u64, mpsc::UnboundedSender<Vec<u8>>)>>,
    /// Bumped to close every open connection.
    hang_up: watch::Sender<u64>,
    connections: watch::Sender<u64>,
}

struct Script {
    states: Vec<MachineState>,
    index: usize,
}

impl Script {
    fn current(&self) -> &MachineState {
        // `states` is never empty: `start` puts a default state in an empty script.
        &self.states[self.index.min(self.states.len() - 1)]
    }

    fn advance(&mut self) {
        self.index = (self.index + 1).min(self.states.len() - 1);
    }
}

impl HaasResponder {
    /// Serves `script` with `options` on 127.0.0.1, on a port the system chooses. An empty
    /// script is one default state.
    pub async fn start(script: Vec<MachineState>, options: Options) -> io::Result<Self> {
        Self::bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)), script, options).await
    }

    /// Serves `script` with `options` on `address`.
    pub async fn bind(
        address: SocketAddr,
        script: Vec<MachineState>,
        options: Options,
    ) -> io::Result<Self> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let states = if script.is_empty() {
            vec![MachineState::default()]
        } else {
            script
        };
        let shared = Arc::new(Shared {
            options,
            script: Mutex::new(Script { states, index: 0 }),
            requests: Mutex::new(Vec::new()),
            requests_seen: watch::Sender::new(0),
            outboxes: Mutex::new(Vec::new()),
            hang_up: watch::Sender::new(0),
            connections: watch::Sender::new(0),
        });
        info!(%address, "scripted Haas MDC port listening");
        let accept = tokio::spawn(accept_loop(listener, Arc::clone(&shared)));
        Ok(HaasResponder {
            address,
            shared,
            accept,
        })
    }

    /// Where the responder listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.address
    }

    /// Moves to the script's next state (the last one stays).
    pub fn advance(&self) {
        lock(&self.shared.script).advance();
    }

    /// Replaces the current state.
    pub fn set_state(&self, state: MachineState) {
        let mut script = lock(&self.shared.script);
        let index = script.index;
        script.states[index] = state;
    }

    /// The state the responder answers from now.
    pub fn state(&self) -> MachineState {
        lock(&self.shared.script).current().clone()
    }

    /// Every command line received so far, from every connection, in order.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }

    /// The number of command lines received so far, to wait on.
    pub fn requests_seen(&self) -> watch::Receiver<usize> {
        self.shared.requests_seen.subscribe()
    }

    /// The number of connections accepted so far, to wait on.
    pub fn connections(&self) -> watch::Receiver<u64> {
        self.shared.connections.subscribe()
    }

    /// Closes every open connection now, as a control that is switched off would.
    pub fn drop_connections(&self) {
        self.shared
            .hang_up
            .send_modify(|generation| *generation += 1);
    }
}

impl Drop for HaasResponder {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panicking test thread must not hide the state from the others.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>) {
    let mut next_id = 0;
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                next_id += 1;
                info!(%peer, "Haas MDC client connected");
                // Registered before it is counted, so a test that waits for the count knows
                // the connection receives shared replies.
                let (outbox, inbox) = mpsc::unbounded_channel();
                lock(&shared.outboxes).push((next_id, outbox));
                shared.connections.send_modify(|count| *count += 1);
                tokio::spawn(serve(stream, next_id, inbox, Arc::clone(&shared)));
            }
            Err(error) => {
                warn!(%error, "cannot accept a Haas MDC client");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Serves one connection until the client leaves, the connection is dropped on purpose, or the
/// responder stops.
async fn serve(
    mut stream: TcpStream,
    id: u64,
    mut inbox: mpsc::UnboundedReceiver<Vec<u8>>,
    shared: Arc<Shared>,
) {
    // Split replies must leave as separate segments.
    if let Err(error) = stream.set_nodelay(true) {
        debug!(%error, "cannot disable Nagle's algorithm");
    }
    let result = converse(&mut stream, id, &mut inbox, &shared).await;
    lock(&shared.outboxes).retain(|(other, _)| *other != id);
    match result {
        Ok(()) => debug!(id, "Haas MDC connection closed"),
        Err(error) => debug!(id, %error, "Haas MDC connection failed"),
    }
}

async fn converse(
    stream: &mut TcpStream,
    id: u64,
    inbox: &mut mpsc::UnboundedReceiver<Vec<u8>>,
    shared: &Shared,
) -> io::Result<()> {
    let mut hang_up = shared.hang_up.subscribe();
    let mut line = Vec::new();
    let mut buffer = [0u8; 512];
    let mut replies_sent = 0;
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => {
                let count = read?;
                if count == 0 {
                    return Ok(());
                }
                for command in take_lines(&mut line, &buffer[..count]) {
                    shared.handle(&command, id);
                }
            }
            Some(reply) = inbox.recv() => {
                write_reply(stream, &reply, shared.options.quirks.split_replies).await?;
                replies_sent += 1;
                if shared.options.quirks.drop_after == Some(replies_sent) {
                    info!(replies_sent, "dropping the Haas MDC connection (quirk)");
                    return Ok(());
                }
            }
            _ = hang_up.changed() => return Ok(()),
        }
    }
}

/// The complete command lines in `line` after adding `bytes`; an incomplete one stays in
/// `line`. A line ends at CR or LF; empty lines are no commands.
fn take_lines(line: &mut Vec<u8>, bytes: &[u8]) -> Vec<String> {
    let mut commands = Vec::new();
    for &byte in bytes {
        if byte == b'\r' || byte == b'\n' {
            if !line.is_empty() {
                commands.push(String::from_utf8_lossy(line).into_owned());
                line.clear();
            }
        } else if line.len() < LONGEST_COMMAND {
            line.push(byte);
        }
    }
    commands
}

async fn write_reply(stream: &mut TcpStream, reply: &[u8], split: Option<usize>) -> io::Result<()> {
    let Some(piece) = split.filter(|size| *size > 0) else {
        return stream.write_all(reply).await;
    };
    for (index, chunk) in reply.chunks(piece).enumerate() {
        if index > 0 {
            tokio::time::sleep(SPLIT_PAUSE).await;
        }
        stream.write_all(chunk).await?;
        stream.flush().await?;
    }
    Ok(())
}

impl Shared {
    /// Records `command` from connection `from`, answers it and sends the framed reply where it
    /// goes.
    fn handle(&self, command: &str, from: u64) {
        debug!(command, "Haas MDC request");
        lock(&self.requests).push(command.to_owned());
        self.requests_seen.send_modify(|count| *count += 1);
        let reply = self.reply_to(command);
        let mut wire = self.options.quirks.noise.clone();
        wire.extend(self.options.framing.encode(&reply.to_string()));
        let outboxes = lock(&self.outboxes);
        let recipients = outboxes
            .iter()
            .filter(|(id, _)| self.options.share_replies || *id == from);
        for (_, outbox) in recipients {
            // A connection that is closing no longer needs it.
            let _ = outbox.send(wire.clone());
        }
    }

    fn reply_to(&self, command: &str) -> Reply {
        let request = match Request::parse(command) {
            Ok(request) if self.options.quirks.refuse.contains(&request.number()) => {
                return Reply::Unknown;
            }
            Ok(request) => request,
            Err(RequestError::InvalidNumber(_)) => return Reply::InvalidNumber,
            Err(RequestError::Unknown(_)) => return Reply::Unknown,
        };
        let mut script = lock(&self.script);
        let state = script.current();
        let reply = match request {
            Request::SerialNumber => Reply::SerialNumber(state.serial.clone()),
            Request::SoftwareVersion => Reply::SoftwareVersion(state.software_version.clone()),
            Request::Model => Reply::Model(state.model.clone()),
            Request::Mode => Reply::Mode(state.mode.clone()),
            Request::ProgramStatus => self.program_status(state),
            Request::Macro(variable) => Reply::Macro(MacroValue {
                variable: None,
                value: state.macros.get(&variable).copied(),
            }),
        };
        if request == Request::ProgramStatus && self.options.advance == Advance::PerProgramStatus {
            script.advance();
        }
        reply
    }

    fn program_status(&self, state: &MachineState) -> Reply {
        if self.options.status_busy && state.status == RunStatus::Busy {
            return Reply::Busy;
        }
        Reply::ProgramStatus(ProgramStatus {
            program: state.program.clone(),
            status: state.status.clone(),
            parts: state.parts,
        })
    }
}
