//! Just enough HTTP/1.1 to talk to an MTConnect agent: `GET` requests written by hand,
//! responses read with `httparse`, bodies delimited by `Content-Length`, chunked encoding or
//! the end of the connection. The connection is kept alive between requests and opened again
//! when the agent closed it.
//!
//! The bytes move through a [`Transport`] made by a [`Connector`], so the client runs natively
//! in tests over scripted bytes and in the component over `chatter_sdk::net`.

use chatter_sdk::{Error, ErrorCode};

/// Bytes to and from the agent.
pub trait Transport {
    /// Writes all of `data`.
    fn write(&mut self, data: &[u8]) -> Result<(), Error>;

    /// Reads up to `max` bytes, waiting at most `timeout_ms`. An empty result means the peer
    /// closed the connection; an error with code `timeout` means nothing arrived in time.
    fn read(&mut self, max: usize, timeout_ms: u32) -> Result<Vec<u8>, Error>;
}

/// Opens connections to the agent.
pub trait Connector {
    /// The connections it opens.
    type Connection: Transport;

    /// Opens a new connection.
    fn connect(&mut self) -> Result<Self::Connection, Error>;
}

/// An HTTP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The reason phrase.
    pub reason: String,
    /// The headers, names as sent.
    pub headers: Vec<(String, String)>,
    /// The body, decoded from chunked encoding.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// What the client did since it was last asked: for the driver's diagnostics counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Requests sent.
    pub requests: u64,
    /// Connections opened again after one was lost.
    pub reconnects: u64,
}

/// The largest response head accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// The largest body accepted: far above any `/sample` of a sane `count`, far below the guest's
/// memory.
const MAX_BODY_BYTES: usize = 32 * 1024 * 1024;
/// Bytes asked for per read.
const READ_CHUNK: usize = 64 * 1024;
/// Headers parsed per response.
const MAX_HEADERS: usize = 64;

/// An HTTP/1.1 client for one agent, keeping its connection alive between requests.
pub struct Client<C: Connector> {
    connector: C,
    host: String,
    timeout_ms: u32,
    connection: Option<C::Connection>,
    /// Whether a connection was ever opened: opening one after that is a reconnect.
    connected_before: bool,
    activity: Activity,
}

impl<C: Connector> Client<C> {
    /// A client opening connections with `connector`, sending `host` (`host:port`) as the
    /// `Host` header and waiting at most `timeout_ms` for each read.
    pub fn new(connector: C, host: impl Into<String>, timeout_ms: u32) -> Self {
        Client {
            connector,
            host: host.into(),
            timeout_ms,
            connection: None,
            connected_before: false,
            activity: Activity::default(),
        }
    }

    /// What the client did since the previous call.
    pub fn take_activity(&mut self) -> Activity {
        std::mem::take(&mut self.activity)
    }

    /// `GET target` with `accept` as the `Accept` header. A kept-alive connection the agent
    /// closed meanwhile is opened again and the request sent once more (a `GET` can be
    /// repeated).
    pub fn get(&mut self, target: &str, accept: &str) -> Result<Response, Error> {
        let request = format!(
            "GET {target} HTTP/1.1\r\nHost: {}\r\nAccept: {accept}\r\n\
             User-Agent: chatter-mtconnect\r\n\r\n",
            self.host
        );
        let reused = self.connection.is_some();
        match self.exchange(request.as_bytes()) {
            Err(Failure::Stale) if reused => match self.exchange(request.as_bytes()) {
                Err(Failure::Stale) => Err(closed_early(&self.host)),
                other => other.map_err(Failure::into_error),
            },
            Err(Failure::Stale) => Err(closed_early(&self.host)),
            other => other.map_err(Failure::into_error),
        }
    }

    fn exchange(&mut self, request: &[u8]) -> Result<Response, Failure> {
        let timeout_ms = self.timeout_ms;
        self.ensure_connected()?;
        self.activity.requests += 1;
        let connection = self
            .connection
            .as_mut()
            .ok_or_else(|| Failure::Error(Error::new(ErrorCode::Internal, "no connection")))?;
        let outcome = match connection.write(request) {
            // A write failing on a connection the agent dropped behaves like a stale one.
            Err(_) => Err(Failure::Stale),
            Ok(()) => read_response(&mut Reader::new(connection, timeout_ms)),
        };
        match outcome {
            Ok((response, keep_alive)) => {
                if !keep_alive {
                    self.connection = None;
                }
                Ok(response)
            }
            Err(failure) => {
                self.connection = None;
                Err(failure)
            }
        }
    }

    fn ensure_connected(&mut self) -> Result<(), Failure> {
        if self.connection.is_none() {
            let opened = self.connector.connect().map_err(Failure::Error)?;
            if self.connected_before {
                self.activity.reconnects += 1;
            }
            self.connected_before = true;
            self.connection = Some(opened);
        }
        Ok(())
    }
}

fn closed_early(host: &str) -> Error {
    Error::unreachable(format!("{host} closed the connection before answering"))
}

/// Why an exchange failed.
enum Failure {
    /// The connection closed before any byte of the response: the agent dropped a kept-alive
    /// connection, the request may be sent again on a new one.
    Stale,
    /// Anything else.
    Error(Error),
}

impl Failure {
    fn into_error(self) -> Error {
        match self {
            Failure::Stale => Error::unreachable("the agent closed the connection"),
            Failure::Error(error) => error,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        Failure::Error(error)
    }
}

/// Buffered reading from a transport.
struct Reader<'t, T: Transport> {
    transport: &'t mut T,
    timeout_ms: u32,
    buffer: Vec<u8>,
    /// How much of `buffer` was consumed.
    at: usize,
}

impl<'t, T: Transport> Reader<'t, T> {
    fn new(transport: &'t mut T, timeout_ms: u32) -> Self {
        Reader {
            transport,
            timeout_ms,
            buffer: Vec::new(),
            at: 0,
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buffer[self.at..]
    }

    /// Reads more bytes; `false` when the peer closed the connection.
    fn fill(&mut self) -> Result<bool, Error> {
        if self.at > 0 {
            self.buffer.drain(..self.at);
            self.at = 0;
        }
        let bytes = self
            .transport
            .read(READ_CHUNK, self.timeout_ms)
            .map_err(|error| {
                if error.code == ErrorCode::Timeout {
                    Error::new(
                        ErrorCode::Timeout,
                        format!("the agent sent no response within {} ms", self.timeout_ms),
                    )
                } else {
                    error
                }
            })?;
        self.buffer.extend_from_slice(&bytes);
        Ok(!bytes.is_empty())
    }

    fn fill_or_fail(&mut self, what: &str) -> Result<(), Error> {
        if self.fill()? {
            Ok(())
        } else {
            Err(Error::protocol(format!(
                "the agent closed the connection in the middle of {what}"
            )))
        }
    }

    /// The next line without its CRLF.
    fn line(&mut self, what: &str) -> Result<Vec<u8>, Error> {
        loop {
            if let Some(end) = self.unread().windows(2).position(|w| w == b"\r\n") {
                let line = self.unread()[..end].to_vec();
                self.at += end + 2;
                return Ok(line);
            }
            if self.unread().len() > MAX_HEAD_BYTES {
                return Err(Error::protocol(format!(
                    "{what} is longer than {MAX_HEAD_BYTES} bytes"
                )));
            }
            self.fill_or_fail(what)?;
        }
    }

    /// Exactly `count` bytes, appended to `out`.
    fn exact(&mut self, count: usize, out: &mut Vec<u8>, what: &str) -> Result<(), Error> {
        let mut missing = count;
        while missing > 0 {
            if self.unread().is_empty() {
                self.fill_or_fail(what)?;
            }
            let take = missing.min(self.unread().len());
            out.extend_from_slice(&self.unread()[..take]);
            self.at += take;
            missing -= take;
        }
        Ok(())
    }

    /// Everything until the peer closes, appended to `out`.
    fn read_to_end(&mut self, out: &mut Vec<u8>) -> Result<(), Error> {
        loop {
            out.extend_from_slice(self.unread());
            self.at = self.buffer.len();
            check_body_size(out.len())?;
            if !self.fill()? {
                return Ok(());
            }
        }
    }
}

/// Reads one response; returns it with whether the connection may be used again.
fn read_response<T: Transport>(reader: &mut Reader<T>) -> Result<(Response, bool), Failure> {
    let (mut response, head_length, version) = read_head(reader)?;
    reader.at += head_length;
    let connection = response.header("connection").unwrap_or_default();
    // HTTP/1.1 keeps connections alive unless told otherwise; HTTP/1.0 only when told so.
    let closes = if version == 0 {
        !connection.eq_ignore_ascii_case("keep-alive")
    } else {
        connection.eq_ignore_ascii_case("close")
    };
    if let Some(encoding) = response.header("content-encoding")
        && !encoding.eq_ignore_ascii_case("identity")
    {
        return Err(Error::protocol(format!(
            "the agent sent a body in `{encoding}` encoding, which this driver does not decode"
        ))
        .into());
    }
    let chunked = response
        .header("transfer-encoding")
        .is_some_and(|value| value.to_ascii_lowercase().contains("chunked"));
    let length = response.header("content-length").map(str::trim);
    let mut body = Vec::new();
    let keep_alive = if no_body(response.status) {
        !closes
    } else if chunked {
        read_chunked(reader, &mut body)?;
        !closes
    } else if let Some(length) = length {
        let length: usize = length.parse().map_err(|_| {
            Error::protocol(format!(
                "the agent sent `Content-Length: {length}`, not a number"
            ))
        })?;
        check_body_size(length)?;
        reader.exact(length, &mut body, "a response body")?;
        !closes
    } else {
        // Without a length, the body ends when the agent closes the connection.
        reader.read_to_end(&mut body)?;
        false
    };
    response.body = body;
    Ok((response, keep_alive))
}

fn no_body(status: u16) -> bool {
    (100..200).contains(&status) || status == 204 || status == 304
}

fn check_body_size(length: usize) -> Result<(), Error> {
    if length > MAX_BODY_BYTES {
        return Err(Error::protocol(format!(
            "the agent's response body is larger than {MAX_BODY_BYTES} bytes; lower `count`"
        )));
    }
    Ok(())
}

/// Reads until the head is complete; returns the response (without body), the head's length
/// and the minor HTTP version.
fn read_head<T: Transport>(reader: &mut Reader<T>) -> Result<(Response, usize, u8), Failure> {
    loop {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut headers);
        match parsed.parse(reader.unread()) {
            Ok(httparse::Status::Complete(length)) => {
                let response = Response {
                    status: parsed.code.unwrap_or_default(),
                    reason: parsed.reason.unwrap_or_default().to_owned(),
                    headers: parsed
                        .headers
                        .iter()
                        .map(|h| {
                            (
                                h.name.to_owned(),
                                String::from_utf8_lossy(h.value).into_owned(),
                            )
                        })
                        .collect(),
                    body: Vec::new(),
                };
                return Ok((response, length, parsed.version.unwrap_or(1)));
            }
            Ok(httparse::Status::Partial) => {}
            Err(error) => {
                return Err(
                    Error::protocol(format!("the agent's response is not HTTP: {error}")).into(),
                );
            }
        }
        if reader.unread().len() > MAX_HEAD_BYTES {
            return Err(Error::protocol(format!(
                "the agent's response head is longer than {MAX_HEAD_BYTES} bytes"
            ))
            .into());
        }
        let nothing_yet = reader.unread().is_empty();
        if !reader.fill()? {
            return Err(if nothing_yet {
                Failure::Stale
            } else {
                Error::protocol("the agent closed the connection in the middle of a response head")
                    .into()
            });
        }
    }
}

fn read_chunked<T: Transport>(reader: &mut Reader<T>, body: &mut Vec<u8>) -> Result<(), Error> {
    loop {
        let line = reader.line("a chunk size line")?;
        let size = chunk_size(&line)?;
        if size == 0 {
            // Trailers, if any, end with an empty line.
            while !reader.line("the chunked trailer")?.is_empty() {}
            return Ok(());
        }
        check_body_size(body.len().saturating_add(size))?;
        reader.exact(size, body, "a chunk")?;
        if !reader.line("a chunk")?.is_empty() {
            return Err(Error::protocol(
                "a chunk of the agent's response is longer than its size line says",
            ));
        }
    }
}

fn chunk_size(line: &[u8]) -> Result<usize, Error> {
    let text = String::from_utf8_lossy(line);
    // Chunk extensions (`;name=value`) carry nothing an agent uses.
    let digits = text.split(';').next().unwrap_or_default().trim();
    usize::from_str_radix(digits, 16).map_err(|_| {
        Error::protocol(format!(
            "chunk size line {text:?} is not a hexadecimal size"
        ))
    })
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    use super::*;

    /// What one scripted connection does when read.
    #[derive(Debug, Clone)]
    enum Step {
        Bytes(Vec<u8>),
        Close,
        Timeout,
    }

    #[derive(Default)]
    struct Script {
        /// One list of reads per connection, in the order connections are opened.
        connections: VecDeque<VecDeque<Step>>,
        opened: usize,
        written: Vec<String>,
    }

    struct ScriptedConnector(Rc<RefCell<Script>>);
    struct ScriptedConnection {
        script: Rc<RefCell<Script>>,
        reads: VecDeque<Step>,
    }

    impl Connector for ScriptedConnector {
        type Connection = ScriptedConnection;
        fn connect(&mut self) -> Result<ScriptedConnection, Error> {
            let mut script = self.0.borrow_mut();
            script.opened += 1;
            let reads = script
                .connections
                .pop_front()
                .ok_or_else(|| Error::unreachable("connection refused"))?;
            Ok(ScriptedConnection {
                script: Rc::clone(&self.0),
                reads,
            })
        }
    }

    impl Transport for ScriptedConnection {
        fn write(&mut self, data: &[u8]) -> Result<(), Error> {
            let text = String::from_utf8_lossy(data).into_owned();
            self.script.borrow_mut().written.push(text);
            Ok(())
        }
        fn read(&mut self, max: usize, _timeout_ms: u32) -> Result<Vec<u8>, Error> {
            match self.reads.pop_front() {
                None | Some(Step::Close) => Ok(Vec::new()),
                Some(Step::Timeout) => Err(Error::new(ErrorCode::Timeout, "nothing")),
                Some(Step::Bytes(mut bytes)) => {
                    if bytes.len() > max {
                        let rest = bytes.split_off(max);
                        self.reads.push_front(Step::Bytes(rest));
                    }
                    Ok(bytes)
                }
            }
        }
    }

    /// `text` delivered in reads of `piece` bytes.
    fn pieces(text: &str, piece: usize) -> VecDeque<Step> {
        text.as_bytes()
            .chunks(piece)
            .map(|chunk| Step::Bytes(chunk.to_vec()))
            .collect()
    }

    fn client(
        connections: Vec<VecDeque<Step>>,
    ) -> (Client<ScriptedConnector>, Rc<RefCell<Script>>) {
        let script = Rc::new(RefCell::new(Script {
            connections: connections.into(),
            ..Script::default()
        }));
        let client = Client::new(
            ScriptedConnector(Rc::clone(&script)),
            "agent.local:5000",
            100,
        );
        (client, script)
    }

    const LENGTH_RESPONSE: &str =
        "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 11\r\n\r\n<Streams/>\n";

    #[test]
    fn requests_name_the_host_and_the_format() {
        let (mut client, script) = client(vec![pieces(LENGTH_RESPONSE, 1000)]);
        client
            .get("/Mazak/sample?from=5&count=10", "application/json")
            .unwrap();
        let written = &script.borrow().written[0];
        assert!(written.starts_with("GET /Mazak/sample?from=5&count=10 HTTP/1.1\r\n"));
        assert!(written.contains("\r\nHost: agent.local:5000\r\n"));
        assert!(written.contains("\r\nAccept: application/json\r\n"));
        assert!(written.ends_with("\r\n\r\n"));
    }

    #[test]
    fn a_content_length_body_is_read_across_split_reads() {
        let (mut client, _) = client(vec![pieces(LENGTH_RESPONSE, 3)]);
        let response = client.get("/current", "application/xml").unwrap();
        assert_eq!(response.status, 200);
        assert_eq!(response.header("content-type"), Some("text/xml"));
        assert_eq!(response.body, b"<Streams/>\n");
    }

    #[test]
    fn a_chunked_body_is_decoded_across_split_reads() {
        let text = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                    4;ext=1\r\n<Str\r\n7\r\neams/>\n\r\n0\r\nTrailer: x\r\n\r\n";
        for piece in [1, 2, 5, 1000] {
            let (mut client, _) = client(vec![pieces(text, piece)]);
            let response = client.get("/current", "application/xml").unwrap();
            assert_eq!(response.body, b"<Streams/>\n", "reads of {piece} bytes");
        }
    }

    #[test]
    fn a_body_without_length_ends_with_the_connection() {
        let text = "HTTP/1.0 200 OK\r\n\r\n<Streams/>";
        let (mut client, script) = client(vec![pieces(text, 4), pieces(LENGTH_RESPONSE, 100)]);
        assert_eq!(
            client.get("/a", "application/xml").unwrap().body,
            b"<Streams/>"
        );
        client.get("/b", "application/xml").unwrap();
        assert_eq!(script.borrow().opened, 2);
    }

    #[test]
    fn the_connection_is_kept_alive_between_requests() {
        let mut both = pieces(LENGTH_RESPONSE, 7);
        both.extend(pieces(LENGTH_RESPONSE, 100));
        let (mut client, script) = client(vec![both]);
        client.get("/a", "application/xml").unwrap();
        client.get("/b", "application/xml").unwrap();
        assert_eq!(script.borrow().opened, 1);
        assert_eq!(
            client.take_activity(),
            Activity {
                requests: 2,
                reconnects: 0
            }
        );
    }

    #[test]
    fn a_connection_the_agent_closed_is_opened_again_and_the_request_repeated() {
        let mut first = pieces(LENGTH_RESPONSE, 100);
        first.push_back(Step::Close);
        let (mut client, script) = client(vec![first, pieces(LENGTH_RESPONSE, 100)]);
        client.get("/a", "application/xml").unwrap();
        let response = client.get("/b", "application/xml").unwrap();
        assert_eq!(response.body, b"<Streams/>\n");
        assert_eq!(script.borrow().opened, 2);
        assert_eq!(script.borrow().written.len(), 3);
        assert_eq!(
            client.take_activity(),
            Activity {
                requests: 3,
                reconnects: 1
            }
        );
    }

    #[test]
    fn connection_close_is_honoured() {
        let text = "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok";
        let (mut client, script) = client(vec![pieces(text, 100), pieces(LENGTH_RESPONSE, 100)]);
        client.get("/a", "application/xml").unwrap();
        client.get("/b", "application/xml").unwrap();
        assert_eq!(script.borrow().opened, 2);
    }

    #[test]
    fn failures_say_what_went_wrong() {
        let cases: Vec<(VecDeque<Step>, ErrorCode, &str)> = vec![
            (
                VecDeque::from([Step::Timeout]),
                ErrorCode::Timeout,
                "no response within 100 ms",
            ),
            (
                pieces("HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort", 100),
                ErrorCode::Protocol,
                "in the middle of a response body",
            ),
            (
                pieces("SSH-2.0-OpenSSH\r\n\r\n", 100),
                ErrorCode::Protocol,
                "not HTTP",
            ),
            (
                pieces(
                    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    100,
                ),
                ErrorCode::Protocol,
                "not a hexadecimal size",
            ),
            (
                pieces(
                    "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 1\r\n\r\nx",
                    100,
                ),
                ErrorCode::Protocol,
                "`gzip` encoding",
            ),
            (
                VecDeque::from([Step::Close]),
                ErrorCode::Unreachable,
                "closed the connection",
            ),
        ];
        for (reads, code, words) in cases {
            let (mut client, _) = client(vec![reads]);
            let error = client.get("/a", "application/xml").unwrap_err();
            assert_eq!(error.code, code, "{}", error.message);
            assert!(error.message.contains(words), "{}", error.message);
        }
    }

    #[test]
    fn an_unreachable_agent_is_an_error_of_the_connector() {
        let (mut client, _) = client(vec![]);
        let error = client.get("/probe", "application/xml").unwrap_err();
        assert_eq!(error.code, ErrorCode::Unreachable);
    }
}
