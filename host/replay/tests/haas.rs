//! The scripted Haas MDC port over real TCP, read with the protocol crate's decoder.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use chatter_haas_mdc::{
    Decoder, Framing, MacroValue, Mode, ProgramStatus, Reply, Request, RunStatus,
};
use chatter_replay::haas::{Advance, HaasResponder, MachineState, Options, Quirks, SPLIT_PAUSE};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Generous: machines running the tests are shared.
const PATIENCE: Duration = Duration::from_secs(10);

/// A client of the MDC port that decodes what it receives.
struct Client {
    stream: TcpStream,
    decoder: Decoder,
    reads: usize,
}

impl Client {
    async fn connect(address: SocketAddr) -> Self {
        Client {
            stream: TcpStream::connect(address).await.unwrap(),
            decoder: Decoder::new(),
            reads: 0,
        }
    }

    async fn send(&mut self, command: &str) {
        self.stream
            .write_all(format!("{command}\r\n").as_bytes())
            .await
            .unwrap();
    }

    /// The next reply; panics on garbage and when none comes.
    async fn reply(&mut self) -> Reply {
        loop {
            if let Some(frame) = self.decoder.next_frame() {
                return Reply::parse(frame.unwrap().text()).unwrap();
            }
            let mut buffer = [0u8; 256];
            let count = timeout(PATIENCE, self.stream.read(&mut buffer))
                .await
                .expect("a reply in time")
                .unwrap();
            assert!(count > 0, "the responder closed the connection");
            self.reads += 1;
            self.decoder.push(&buffer[..count]);
        }
    }

    async fn ask(&mut self, command: &str) -> Reply {
        self.send(command).await;
        self.reply().await
    }

    /// Whether the responder closes the connection (before sending anything more).
    async fn is_closed(&mut self) -> bool {
        let mut buffer = [0u8; 64];
        matches!(
            timeout(PATIENCE, self.stream.read(&mut buffer)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }
}

fn state(mode: Mode, status: RunStatus, parts: u64) -> MachineState {
    MachineState {
        mode,
        status,
        parts,
        ..MachineState::default()
    }
}

fn program_status(reply: Reply) -> ProgramStatus {
    match reply {
        Reply::ProgramStatus(status) => status,
        other => panic!("not a program status: {other:?}"),
    }
}

#[tokio::test]
async fn every_q_command_is_answered_from_the_state_in_every_framing() {
    let mut macros = BTreeMap::new();
    macros.insert(5021, -234.567);
    let machine = MachineState {
        serial: "7654321".into(),
        software_version: "100.21.000.1200".into(),
        model: "ST-10".into(),
        mode: Mode::Jog,
        program: "O01234".into(),
        status: RunStatus::FeedHold,
        parts: 17,
        macros,
    };
    for framing in Framing::ALL {
        let options = Options {
            framing,
            ..Options::default()
        };
        let responder = HaasResponder::start(vec![machine.clone()], options)
            .await
            .unwrap();
        let mut client = Client::connect(responder.local_addr()).await;
        let expected = [
            (
                Request::SerialNumber,
                Reply::SerialNumber(machine.serial.clone()),
            ),
            (
                Request::SoftwareVersion,
                Reply::SoftwareVersion(machine.software_version.clone()),
            ),
            (Request::Model, Reply::Model(machine.model.clone())),
            (Request::Mode, Reply::Mode(machine.mode.clone())),
            (
                Request::ProgramStatus,
                Reply::ProgramStatus(ProgramStatus {
                    program: machine.program.clone(),
                    status: machine.status.clone(),
                    parts: machine.parts,
                }),
            ),
            (
                Request::Macro(5021),
                Reply::Macro(MacroValue {
                    variable: None,
                    value: Some(-234.567),
                }),
            ),
            (
                Request::Macro(100),
                Reply::Macro(MacroValue {
                    variable: None,
                    value: None,
                }),
            ),
        ];
        for (request, reply) in expected {
            assert_eq!(
                client.ask(&request.to_string()).await,
                reply,
                "{framing:?} {request}"
            );
        }
        assert_eq!(responder.requests().len(), 7);
    }
}

#[tokio::test]
async fn the_script_advances_after_each_program_status_and_stays_at_its_end() {
    let script = vec![
        state(Mode::Memory, RunStatus::Idle, 5),
        state(Mode::Memory, RunStatus::FeedHold, 5),
        state(Mode::Memory, RunStatus::Idle, 6),
    ];
    let responder = HaasResponder::start(script.clone(), Options::default())
        .await
        .unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        // Other requests do not move the script.
        client.ask("?Q104").await;
        let status = program_status(client.ask("?Q500").await);
        seen.push((status.status, status.parts));
    }
    let mut expected: Vec<(RunStatus, u64)> =
        script.iter().map(|s| (s.status.clone(), s.parts)).collect();
    expected.push(expected[2].clone());
    assert_eq!(seen, expected);
}

#[tokio::test]
async fn on_demand_the_script_moves_only_when_told() {
    let script = vec![
        state(Mode::Memory, RunStatus::Idle, 1),
        state(Mode::Mdi, RunStatus::Idle, 1),
    ];
    let options = Options {
        advance: Advance::OnDemand,
        ..Options::default()
    };
    let responder = HaasResponder::start(script, options).await.unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    client.ask("?Q500").await;
    assert_eq!(client.ask("?Q104").await, Reply::Mode(Mode::Memory));

    responder.advance();
    assert_eq!(client.ask("?Q104").await, Reply::Mode(Mode::Mdi));

    responder.set_state(state(Mode::Edit, RunStatus::Alarm, 9));
    assert_eq!(client.ask("?Q104").await, Reply::Mode(Mode::Edit));
    let status = program_status(client.ask("?Q500").await);
    assert_eq!((status.status, status.parts), (RunStatus::Alarm, 9));
    assert_eq!(responder.state().mode, Mode::Edit);
}

#[tokio::test]
async fn a_busy_control_answers_status_busy_unless_told_otherwise() {
    let busy = vec![state(Mode::Memory, RunStatus::Busy, 3)];
    let responder = HaasResponder::start(busy.clone(), Options::default())
        .await
        .unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    assert_eq!(client.ask("?Q500").await, Reply::Busy);

    let options = Options {
        status_busy: false,
        ..Options::default()
    };
    let responder = HaasResponder::start(busy, options).await.unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    assert_eq!(
        program_status(client.ask("?Q500").await).status,
        RunStatus::Busy
    );
}

#[tokio::test]
async fn bad_commands_and_refused_ones_are_answered_like_the_control_does() {
    let options = Options {
        quirks: Quirks {
            refuse: vec![104],
            ..Quirks::default()
        },
        ..Options::default()
    };
    let responder = HaasResponder::start(vec![], options).await.unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    assert_eq!(client.ask("?Q104").await, Reply::Unknown);
    assert_eq!(client.ask("?q100").await, Reply::Unknown);
    assert_eq!(client.ask("HELLO").await, Reply::Unknown);
    assert_eq!(client.ask("?Q600 abc").await, Reply::InvalidNumber);
    assert_eq!(
        client.ask("?Q100").await,
        Reply::SerialNumber(MachineState::default().serial)
    );
    assert_eq!(
        responder.requests(),
        ["?Q104", "?q100", "HELLO", "?Q600 abc", "?Q100"]
    );
}

#[tokio::test]
async fn split_replies_arrive_in_pieces_and_decode_whole() {
    let options = Options {
        quirks: Quirks {
            split_replies: Some(3),
            ..Quirks::default()
        },
        ..Options::default()
    };
    let responder = HaasResponder::start(vec![], options).await.unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    let started = Instant::now();
    let reply = client.ask("?Q500").await;
    let elapsed = started.elapsed();
    let status = program_status(reply.clone());
    assert_eq!(status.program, MachineState::default().program);
    // The pauses between the pieces are a lower bound on the time the reply takes.
    let pieces = Framing::default()
        .encode(&reply.to_string())
        .len()
        .div_ceil(3);
    let pauses = u32::try_from(pieces - 1).unwrap();
    assert!(
        elapsed >= SPLIT_PAUSE * pauses,
        "{elapsed:?} for {pieces} pieces"
    );
    assert!(client.reads >= 1);
}

#[tokio::test]
async fn noise_before_each_reply_is_reported_by_the_decoder_and_the_reply_still_decodes() {
    let options = Options {
        quirks: Quirks {
            noise: b"\x00line noise\r\n".to_vec(),
            ..Quirks::default()
        },
        ..Options::default()
    };
    let responder = HaasResponder::start(vec![], options).await.unwrap();
    let mut stream = TcpStream::connect(responder.local_addr()).await.unwrap();
    stream.write_all(b"?Q102\r\n").await.unwrap();
    let mut decoder = Decoder::new();
    let mut decoded = Vec::new();
    while !decoded.iter().any(Result::is_ok) {
        let mut buffer = [0u8; 256];
        let count = timeout(PATIENCE, stream.read(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert!(count > 0);
        decoder.push(&buffer[..count]);
        decoded.extend(std::iter::from_fn(|| decoder.next_frame()));
    }
    assert!(decoded[0].is_err(), "{decoded:?}");
    let frame = decoded.last().unwrap().clone().unwrap();
    assert_eq!(
        Reply::parse(frame.text()).unwrap(),
        Reply::Model(MachineState::default().model)
    );
}

#[tokio::test]
async fn a_connection_is_dropped_after_the_configured_replies_and_a_new_one_is_served() {
    let options = Options {
        quirks: Quirks {
            drop_after: Some(2),
            ..Quirks::default()
        },
        ..Options::default()
    };
    let responder = HaasResponder::start(vec![], options).await.unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    client.ask("?Q100").await;
    client.ask("?Q104").await;
    assert!(client.is_closed().await);

    let mut again = Client::connect(responder.local_addr()).await;
    assert_eq!(again.ask("?Q104").await, Reply::Mode(Mode::Memory));
    assert_eq!(*responder.connections().borrow(), 2);
}

#[tokio::test]
async fn connections_can_be_dropped_on_demand() {
    let responder = HaasResponder::start(vec![], Options::default())
        .await
        .unwrap();
    let mut client = Client::connect(responder.local_addr()).await;
    client.ask("?Q100").await;
    responder.drop_connections();
    assert!(client.is_closed().await);
}

#[tokio::test]
async fn replies_go_to_every_connection_like_on_the_real_control() {
    let responder = HaasResponder::start(vec![], Options::default())
        .await
        .unwrap();
    let mut asking = Client::connect(responder.local_addr()).await;
    let mut listening = Client::connect(responder.local_addr()).await;
    // A connection counts once it receives shared replies.
    let mut connections = responder.connections();
    timeout(PATIENCE, connections.wait_for(|n| *n == 2))
        .await
        .unwrap()
        .unwrap();
    let serial = Reply::SerialNumber(MachineState::default().serial);
    assert_eq!(asking.ask("?Q100").await, serial);
    assert_eq!(listening.ask("?Q102").await, serial);
    assert_eq!(
        listening.reply().await,
        Reply::Model(MachineState::default().model)
    );

    let options = Options {
        share_replies: false,
        ..Options::default()
    };
    let private = HaasResponder::start(vec![], options).await.unwrap();
    let mut asking = Client::connect(private.local_addr()).await;
    let mut listening = Client::connect(private.local_addr()).await;
    assert_eq!(asking.ask("?Q100").await, serial);
    assert_eq!(
        listening.ask("?Q102").await,
        Reply::Model(MachineState::default().model)
    );
}
