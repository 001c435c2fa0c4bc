//! The SHDR replay server over real TCP, with real adapter logs from the shared fixtures.

#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chatter_mtconnect::time::parse_timestamp;
use chatter_replay::shdr::{LogFormat, ReplayOptions, ShdrLog, ShdrReplay, Speed};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout};

/// Generous: machines running the tests are shared.
const PATIENCE: Duration = Duration::from_secs(30);

/// The fixture at `relative` under the shared fixtures folder (`$CHATTER_FIXTURES`, or
/// `../shared/fixtures` beside the workspace), or `None` after saying why `test` is skipped.
fn fixture(test: &str, relative: &str) -> Option<PathBuf> {
    let root = std::env::var_os("CHATTER_FIXTURES").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures"),
        PathBuf::from,
    );
    let path = root.join(relative);
    if path.is_file() {
        Some(path)
    } else {
        println!("skipping {test}: fixtures not found at {}", path.display());
        None
    }
}

async fn serve(log: ShdrLog, options: ReplayOptions) -> ShdrReplay {
    ShdrReplay::start(log, options).await.unwrap()
}

async fn connect(address: SocketAddr) -> TcpStream {
    TcpStream::connect(address).await.unwrap()
}

/// Reads exactly `count` bytes.
async fn read_exactly(stream: &mut TcpStream, count: usize) -> Vec<u8> {
    let mut bytes = vec![0; count];
    timeout(PATIENCE, stream.read_exact(&mut bytes))
        .await
        .expect("the bytes in time")
        .unwrap();
    bytes
}

/// Reads one line (up to and with `\n`).
async fn read_line(reader: &mut BufReader<TcpStream>) -> String {
    let mut line = String::new();
    timeout(PATIENCE, reader.read_line(&mut line))
        .await
        .expect("a line in time")
        .unwrap();
    line
}

fn synthetic(lines: &[&str]) -> ShdrLog {
    ShdrLog::from_bytes(lines.concat().into_bytes())
}

#[tokio::test]
async fn okuma_at_max_speed_arrives_byte_for_byte_and_the_connection_closes_at_the_end() {
    let Some(path) = fixture(
        "okuma_at_max_speed_arrives_byte_for_byte",
        "mtconnect/cppagent/okuma.txt",
    ) else {
        return;
    };
    let recorded = std::fs::read(&path).unwrap();
    let log = ShdrLog::read(&path).unwrap();
    assert_eq!(log.format(), LogFormat::Timestamped);
    let options = ReplayOptions {
        close_at_end: true,
        ..ReplayOptions::default()
    };
    let replay = serve(log.clone(), options).await;
    let mut stream = connect(replay.local_addr()).await;
    let mut received = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the whole log in time")
        .unwrap();
    assert_eq!(received.len(), recorded.len());
    assert!(received == recorded, "the bytes differ from the file");
    let progress = replay.progress().borrow()[0];
    assert!(progress.finished);
    assert_eq!(progress.lines_sent, log.len());
    assert_eq!(progress.bytes_sent, recorded.len() as u64);
}

#[tokio::test]
async fn the_raw_hurco_capture_arrives_byte_for_byte_to_every_client_and_the_connection_stays_open()
{
    let Some(path) = fixture(
        "the_raw_hurco_capture_arrives_byte_for_byte",
        "mtconnect/nist-smstestbed/2-17-2017-Hurco04.txt",
    ) else {
        return;
    };
    let recorded = std::fs::read(&path).unwrap();
    let replay = serve(ShdrLog::read(&path).unwrap(), ReplayOptions::default()).await;
    let mut first = connect(replay.local_addr()).await;
    assert_eq!(read_exactly(&mut first, recorded.len()).await, recorded);
    // A second client gets the whole log again, from its first line.
    let mut second = connect(replay.local_addr()).await;
    assert_eq!(read_exactly(&mut second, recorded.len()).await, recorded);
    timeout(PATIENCE, replay.finished(1)).await.unwrap();

    // Nothing more comes, but the connection is open: a ping is answered.
    first.write_all(b"* PING\n").await.unwrap();
    let mut reader = BufReader::new(first);
    assert_eq!(read_line(&mut reader).await, "* PONG 10000\n");
}

#[tokio::test]
async fn lines_are_paced_by_their_timestamps_divided_by_the_speed() {
    // 3 s of log time at 10x: about 300 ms. Untimed and asset lines go with the line before;
    // the backward step does not wait.
    let log = synthetic(&[
        "2024-01-01T00:00:00Z|a|1\n",
        "2024-01-01T00:00:01Z|a|2\n",
        "continued|b|2\n",
        "2023-01-01T00:00:00Z|@ASSET@|T1|CuttingTool|<CuttingTool/>\n",
        "2024-01-01T00:00:00.5Z|a|3\n",
        "2024-01-01T00:00:02.5Z|a|4\n",
    ]);
    let speed = 10.0;
    let options = ReplayOptions {
        speed: Speed::Factor(speed),
        ..ReplayOptions::default()
    };
    let expected = log.duration(options.speed, None);
    assert_eq!(expected, Duration::from_millis(300));
    let replay = serve(log, options).await;
    let mut reader = BufReader::new(connect(replay.local_addr()).await);
    let started = Instant::now();
    let mut arrivals = Vec::new();
    for _ in 0..6 {
        read_line(&mut reader).await;
        arrivals.push(started.elapsed());
    }
    // Lower bounds only: a busy machine may be late, never early.
    let after = |ms: u64| Duration::from_millis(ms) - Duration::from_millis(20);
    assert!(arrivals[1] >= after(100), "{arrivals:?}");
    assert!(arrivals[5] >= after(300), "{arrivals:?}");
    // The untimed, asset and backward lines came with line 2, not seconds later.
    assert!(
        arrivals[4] < arrivals[1] + Duration::from_secs(5),
        "{arrivals:?}"
    );
}

#[tokio::test]
async fn a_ping_is_answered_while_the_log_waits() {
    let log = synthetic(&["2024-01-01T00:00:00Z|a|1\n", "2024-01-01T10:00:00Z|a|2\n"]);
    let options = ReplayOptions {
        speed: Speed::Factor(1.0),
        heartbeat_ms: 2_500,
        ..ReplayOptions::default()
    };
    let replay = serve(log, options).await;
    let mut reader = BufReader::new(connect(replay.local_addr()).await);
    assert_eq!(read_line(&mut reader).await, "2024-01-01T00:00:00Z|a|1\n");
    // The next line is ten hours away; the pong comes now.
    reader.get_mut().write_all(b"* PING\r\n").await.unwrap();
    assert_eq!(read_line(&mut reader).await, "* PONG 2500\n");
    reader.get_mut().write_all(b"* PING\n").await.unwrap();
    assert_eq!(read_line(&mut reader).await, "* PONG 2500\n");
    let progress = replay.progress().borrow()[0];
    assert_eq!((progress.lines_sent, progress.pongs_sent), (1, 2));
}

#[tokio::test]
async fn a_ping_mid_stream_of_a_real_log_is_answered_between_lines() {
    let Some(path) = fixture(
        "a_ping_mid_stream_of_a_real_log_is_answered_between_lines",
        "mtconnect/nist-smstestbed/Plate-Op2-Hurco04-01of20.txt",
    ) else {
        return;
    };
    let recorded = std::fs::read_to_string(&path).unwrap();
    let options = ReplayOptions {
        // Fast, but slow enough that the log is still going when the ping arrives.
        speed: Speed::Factor(200.0),
        ..ReplayOptions::default()
    };
    let log = ShdrLog::read(&path).unwrap();
    assert!(log.duration(options.speed, None) > Duration::from_secs(1));
    let replay = serve(log, options).await;
    let mut reader = BufReader::new(connect(replay.local_addr()).await);
    let mut received = vec![read_line(&mut reader).await];
    reader.get_mut().write_all(b"* PING\n").await.unwrap();
    let mut pongs = 0;
    while received.len() < recorded.lines().count() {
        let line = read_line(&mut reader).await;
        if line == "* PONG 10000\n" {
            pongs += 1;
        } else {
            received.push(line);
        }
    }
    assert_eq!(pongs, 1);
    assert_eq!(received.concat(), recorded);
}

#[tokio::test]
async fn a_scenario_waits_its_delays_and_stamps_each_line_with_the_current_time() {
    let Some(path) = fixture(
        "a_scenario_waits_its_delays_and_stamps_each_line",
        "mtconnect/cppagent/simple_scenario_1.txt",
    ) else {
        return;
    };
    let recorded = std::fs::read_to_string(&path).unwrap();
    let log = ShdrLog::read(&path).unwrap();
    assert_eq!(log.format(), LogFormat::Scenario);
    let options = ReplayOptions {
        speed: Speed::Factor(100.0),
        close_at_end: true,
        ..ReplayOptions::default()
    };
    let expected = log.duration(options.speed, None);
    let replay = serve(log, options).await;
    let before = now_ns();
    let started = Instant::now();
    let mut stream = connect(replay.local_addr()).await;
    let mut received = String::new();
    timeout(PATIENCE, stream.read_to_string(&mut received))
        .await
        .unwrap()
        .unwrap();
    assert!(started.elapsed() + Duration::from_millis(20) >= expected);
    let after = now_ns();

    let mut previous = before;
    let lines: Vec<&str> = received.lines().collect();
    assert_eq!(lines.len(), recorded.lines().count());
    for (line, original) in lines.iter().zip(recorded.lines()) {
        let (stamp, rest) = line.split_once('|').unwrap();
        let (_, original_rest) = original.split_once('|').unwrap();
        assert_eq!(rest, original_rest);
        assert!(stamp.ends_with('Z'), "{stamp}");
        let at = parse_timestamp(stamp).unwrap();
        // Microsecond precision: `before` may be up to a microsecond later.
        assert!(at >= previous - 1_000 && at <= after, "{line}");
        previous = at;
    }
}

#[tokio::test]
async fn each_connection_is_replayed_independently_from_the_first_line() {
    let log = synthetic(&["2024-01-01T00:00:00Z|a|1\n", "2024-01-01T00:00:00.2Z|a|2\n"]);
    let options = ReplayOptions {
        speed: Speed::Factor(1.0),
        ..ReplayOptions::default()
    };
    let replay = serve(log, options).await;
    let mut early = BufReader::new(connect(replay.local_addr()).await);
    assert_eq!(read_line(&mut early).await, "2024-01-01T00:00:00Z|a|1\n");
    assert_eq!(read_line(&mut early).await, "2024-01-01T00:00:00.2Z|a|2\n");
    let mut late = BufReader::new(connect(replay.local_addr()).await);
    assert_eq!(read_line(&mut late).await, "2024-01-01T00:00:00Z|a|1\n");
    timeout(PATIENCE, replay.finished(1)).await.unwrap();
    let progress = replay.progress().borrow().clone();
    assert_eq!(progress.len(), 2);
    assert!(progress.iter().all(|p| p.finished && p.lines_sent == 2));
}

#[tokio::test]
async fn a_client_that_stops_writing_still_receives_the_whole_log_then_is_let_go() {
    let lines = [
        "2024-01-01T00:00:00Z|a|1\n",
        "2024-01-01T00:00:01Z|a|2\n",
        "2024-01-01T00:00:02Z|a|3\n",
    ];
    let options = ReplayOptions {
        speed: Speed::Factor(20.0),
        ..ReplayOptions::default()
    };
    let replay = serve(synthetic(&lines), options).await;
    let mut stream = connect(replay.local_addr()).await;
    stream.shutdown().await.unwrap();
    let mut received = String::new();
    timeout(PATIENCE, stream.read_to_string(&mut received))
        .await
        .expect("the log, then the end of the connection")
        .unwrap();
    assert_eq!(received, lines.concat());
}

#[tokio::test]
async fn the_longest_pause_shortens_the_gaps_between_joined_captures() {
    let log = synthetic(&["2024-01-01T00:00:00Z|a|1\n", "2024-01-01T09:00:00Z|a|2\n"]);
    let options = ReplayOptions {
        speed: Speed::Factor(10.0),
        max_pause: Some(Duration::from_secs(1)),
        ..ReplayOptions::default()
    };
    assert_eq!(
        log.duration(options.speed, options.max_pause),
        Duration::from_millis(100)
    );
    let replay = serve(log, options).await;
    let mut reader = BufReader::new(connect(replay.local_addr()).await);
    read_line(&mut reader).await;
    assert_eq!(read_line(&mut reader).await, "2024-01-01T09:00:00Z|a|2\n");
}

#[tokio::test]
async fn an_empty_log_is_finished_at_once() {
    let options = ReplayOptions {
        close_at_end: true,
        ..ReplayOptions::default()
    };
    let replay = serve(ShdrLog::from_bytes(Vec::new()), options).await;
    let mut stream = connect(replay.local_addr()).await;
    let mut received = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .unwrap()
        .unwrap();
    assert!(received.is_empty());
    timeout(PATIENCE, replay.finished(0)).await.unwrap();
}

fn now_ns() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_nanos()).unwrap()
}

#[tokio::test]
async fn a_last_line_cut_off_in_the_recording_is_sent_whole() {
    let log = ShdrLog::from_bytes(
        b"2017-10-29T03:45:27.071535|total_time|10524118\n2017-10-29T03:45:29.172173|Zabs|"
            .to_vec(),
    );
    let options = ReplayOptions {
        close_at_end: true,
        ..ReplayOptions::default()
    };
    let replay = serve(log, options).await;
    let mut stream = connect(replay.local_addr()).await;
    let mut received = Vec::new();
    timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the whole log in time")
        .unwrap();
    assert!(
        received.ends_with(b"|Zabs|\n"),
        "{}",
        String::from_utf8_lossy(&received)
    );
}
