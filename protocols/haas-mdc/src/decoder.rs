//! Reply framing: bytes as TCP delivers them (in arbitrary pieces) in, complete reply frames out;
//! and the inverse, a reply text framed for the wire.

use std::collections::VecDeque;

/// Start of a reply frame (ASCII STX, ctrl-B).
pub const STX: u8 = 0x02;
/// End of a reply frame (ASCII ETB, ctrl-W).
pub const ETB: u8 = 0x17;
/// The prompt the control writes after each reply (or before it, on Ethernet without STX/ETB).
pub const PROMPT: u8 = b'>';
/// The longest reply text [`Decoder::new`] accepts. Published replies are under 60 bytes; a
/// longer "frame" means the stream lost its delimiters.
pub const DEFAULT_MAX_FRAME: usize = 256;

/// How much of a bad stretch of bytes an error quotes.
const PREVIEW_BYTES: usize = 32;

/// The text of one reply, without delimiters, line end and surrounding spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame(String);

impl Frame {
    /// A frame carrying `text`.
    pub fn new(text: impl Into<String>) -> Self {
        Frame(text.into())
    }

    /// The reply's comma-separated text, e.g. `MODE, (MEM)`.
    pub fn text(&self) -> &str {
        &self.0
    }
}

/// Bytes the decoder could not turn into a frame. The decoder reports them and carries on with
/// the next frame.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Bytes outside any frame: neither after STX nor after a `>` prompt.
    #[error("{len} bytes outside any reply frame: {preview:?}")]
    Garbage {
        /// How many bytes were skipped.
        len: usize,
        /// The first of them, as text.
        preview: String,
    },
    /// A frame grew past the decoder's limit; the rest of it up to its end is skipped.
    #[error("reply frame longer than {limit} bytes: {preview:?}…")]
    Oversize {
        /// The limit, in bytes.
        limit: usize,
        /// The beginning of the frame, as text.
        preview: String,
    },
    /// A frame was cut off by the STX of the next one.
    #[error("reply frame without end, cut off by the next one: {preview:?}")]
    Unterminated {
        /// The beginning of the abandoned frame, as text.
        preview: String,
    },
}

/// An incremental decoder of the control's replies.
///
/// Feed it whatever each TCP read returned with [`push`](Decoder::push), then take complete
/// frames with [`next_frame`](Decoder::next_frame) until it returns `None`. Prompts and stray
/// line ends between frames are skipped silently; anything else that is not a frame is
/// reported once as a [`DecodeError`] and the decoder resynchronises on the next STX or prompt.
#[derive(Debug, Clone)]
pub struct Decoder {
    state: State,
    text: Vec<u8>,
    skipped: usize,
    max_frame: usize,
    ready: VecDeque<Result<Frame, DecodeError>>,
}

/// Where the decoder is in the byte stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Between frames; `prompted` when a `>` came last, so text may start a prompted line.
    Between { prompted: bool },
    /// Inside `STX … ETB`.
    Framed,
    /// Inside a `>`-prompted line without STX, up to its line end.
    Prompted,
    /// Inside bytes that belong to no frame.
    Garbage,
    /// Skipping the rest of an oversize frame, up to the end of its kind.
    Skipping { framed: bool },
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder accepting frames of up to [`DEFAULT_MAX_FRAME`] bytes.
    pub fn new() -> Self {
        Self::with_max_frame(DEFAULT_MAX_FRAME)
    }

    /// A decoder accepting frames of up to `max_frame` bytes (at least 1).
    pub fn with_max_frame(max_frame: usize) -> Self {
        Decoder {
            state: State::Between { prompted: false },
            text: Vec::new(),
            skipped: 0,
            max_frame: max_frame.max(1),
            ready: VecDeque::new(),
        }
    }

    /// Forgets everything pushed so far, for a new connection.
    pub fn reset(&mut self) {
        *self = Self::with_max_frame(self.max_frame);
    }

    /// Decodes the next bytes of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.step(byte);
        }
    }

    /// The oldest complete frame (or decoding error) not taken yet.
    pub fn next_frame(&mut self) -> Option<Result<Frame, DecodeError>> {
        self.ready.pop_front()
    }

    fn step(&mut self, byte: u8) {
        match self.state {
            State::Between { prompted } => self.between(byte, prompted),
            State::Framed => self.framed(byte),
            State::Prompted => self.prompted(byte),
            State::Garbage => self.garbage(byte),
            State::Skipping { framed } => self.skipping(byte, framed),
        }
    }

    fn between(&mut self, byte: u8, prompted: bool) {
        match byte {
            STX => self.open(State::Framed),
            PROMPT => self.state = State::Between { prompted: true },
            b'\r' | b'\n' => self.state = State::Between { prompted: false },
            // Flow control, padding and a lone ETB carry nothing.
            b' ' | b'\t' | 0x00 | 0x11 | 0x13 | ETB => {}
            _ if prompted => {
                self.open(State::Prompted);
                self.text.push(byte);
            }
            _ => {
                self.open(State::Garbage);
                self.note_garbage(byte);
            }
        }
    }

    fn framed(&mut self, byte: u8) {
        match byte {
            ETB => self.close(),
            STX => {
                let preview = preview(&self.text);
                self.ready
                    .push_back(Err(DecodeError::Unterminated { preview }));
                self.open(State::Framed);
            }
            _ => self.grow(byte, true),
        }
    }

    fn prompted(&mut self, byte: u8) {
        match byte {
            b'\r' | b'\n' | ETB => self.close(),
            STX => {
                // The prompt was followed by something else than a reply; the STX starts one.
                self.text_to_garbage();
                self.open(State::Framed);
            }
            _ => self.grow(byte, false),
        }
    }

    fn garbage(&mut self, byte: u8) {
        match byte {
            STX => {
                self.report_garbage();
                self.open(State::Framed);
            }
            PROMPT => {
                self.report_garbage();
                self.state = State::Between { prompted: true };
            }
            b'\r' | b'\n' | ETB => {
                self.report_garbage();
                self.state = State::Between { prompted: false };
            }
            _ => {
                self.note_garbage(byte);
                if self.skipped >= self.max_frame {
                    // Report long runs in pieces instead of only when (if ever) they end.
                    self.report_garbage();
                    self.open(State::Garbage);
                }
            }
        }
    }

    fn skipping(&mut self, byte: u8, framed: bool) {
        match byte {
            STX => self.open(State::Framed),
            ETB => self.state = State::Between { prompted: false },
            b'\r' | b'\n' if !framed => self.state = State::Between { prompted: false },
            _ => {}
        }
    }

    /// Starts collecting a frame (or garbage) in `state`.
    fn open(&mut self, state: State) {
        self.text.clear();
        self.skipped = 0;
        self.state = state;
    }

    /// Adds a byte to the frame being collected, abandoning it past the limit.
    fn grow(&mut self, byte: u8, framed: bool) {
        if self.text.len() < self.max_frame {
            self.text.push(byte);
            return;
        }
        self.ready.push_back(Err(DecodeError::Oversize {
            limit: self.max_frame,
            preview: preview(&self.text),
        }));
        self.text.clear();
        self.state = State::Skipping { framed };
    }

    /// Ends the frame being collected and queues its text.
    fn close(&mut self) {
        let text = String::from_utf8_lossy(&self.text).trim().to_owned();
        self.text.clear();
        self.ready.push_back(Ok(Frame(text)));
        self.state = State::Between { prompted: false };
    }

    fn note_garbage(&mut self, byte: u8) {
        if self.text.len() < PREVIEW_BYTES {
            self.text.push(byte);
        }
        self.skipped += 1;
    }

    fn text_to_garbage(&mut self) {
        let len = self.text.len();
        let preview = preview(&self.text);
        self.ready
            .push_back(Err(DecodeError::Garbage { len, preview }));
    }

    fn report_garbage(&mut self) {
        let len = self.skipped;
        let preview = preview(&self.text);
        self.ready
            .push_back(Err(DecodeError::Garbage { len, preview }));
        self.text.clear();
        self.skipped = 0;
    }
}

fn preview(bytes: &[u8]) -> String {
    let head = &bytes[..bytes.len().min(PREVIEW_BYTES)];
    String::from_utf8_lossy(head).into_owned()
}

/// How a reply is framed on the wire; see the crate documentation for where each comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Framing {
    /// `STX text ETB CR LF >`, as the Setting 143 description gives it.
    #[default]
    Setting143,
    /// `STX text CR LF ETB >`: the line end inside the frame.
    LineEndInside,
    /// `>text CR LF`: a prompted line without STX and ETB, as the NGC Ethernet page gives it.
    PromptedLine,
}

impl Framing {
    /// Every framing, for tests that try them all.
    pub const ALL: [Framing; 3] = [
        Framing::Setting143,
        Framing::LineEndInside,
        Framing::PromptedLine,
    ];

    /// `text` framed for the wire.
    pub fn encode(self, text: &str) -> Vec<u8> {
        let mut wire = Vec::with_capacity(text.len() + 6);
        match self {
            Framing::Setting143 => {
                wire.push(STX);
                wire.extend_from_slice(text.as_bytes());
                wire.extend_from_slice(&[ETB, b'\r', b'\n', PROMPT]);
            }
            Framing::LineEndInside => {
                wire.push(STX);
                wire.extend_from_slice(text.as_bytes());
                wire.extend_from_slice(&[b'\r', b'\n', ETB, PROMPT]);
            }
            Framing::PromptedLine => {
                wire.push(PROMPT);
                wire.extend_from_slice(text.as_bytes());
                wire.extend_from_slice(b"\r\n");
            }
        }
        wire
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REPLIES: [&str; 4] = [
        "SERIAL NUMBER, 1234567",
        "MODE, (MEM)",
        "PROGRAM, O00012, FEED HOLD, PARTS, 1234",
        "MACRO, 123.000000",
    ];

    fn drain(decoder: &mut Decoder) -> Vec<Result<Frame, DecodeError>> {
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    fn frames(texts: &[&str]) -> Vec<Result<Frame, DecodeError>> {
        texts.iter().map(|t| Ok(Frame::new(*t))).collect()
    }

    fn wire(framing: Framing, texts: &[&str]) -> Vec<u8> {
        texts.iter().flat_map(|t| framing.encode(t)).collect()
    }

    #[test]
    fn every_framing_decodes_to_the_reply_texts() {
        for framing in Framing::ALL {
            let mut decoder = Decoder::new();
            decoder.push(&wire(framing, &REPLIES));
            assert_eq!(drain(&mut decoder), frames(&REPLIES), "{framing:?}");
        }
    }

    #[test]
    fn replies_split_at_every_byte_boundary_decode_the_same() {
        for framing in Framing::ALL {
            let bytes = wire(framing, &REPLIES);
            for cut in 0..=bytes.len() {
                let mut decoder = Decoder::new();
                let (head, tail) = bytes.split_at(cut);
                decoder.push(head);
                let mut got = drain(&mut decoder);
                decoder.push(tail);
                got.extend(drain(&mut decoder));
                assert_eq!(got, frames(&REPLIES), "{framing:?} cut at {cut}");
            }
        }
    }

    #[test]
    fn replies_fed_one_byte_at_a_time_decode_the_same() {
        for framing in Framing::ALL {
            let mut decoder = Decoder::new();
            let mut got = Vec::new();
            for byte in wire(framing, &REPLIES) {
                decoder.push(&[byte]);
                got.extend(drain(&mut decoder));
            }
            assert_eq!(got, frames(&REPLIES), "{framing:?}");
        }
    }

    #[test]
    fn a_frame_is_only_complete_at_its_end() {
        let mut decoder = Decoder::new();
        decoder.push(b"\x02MODE, (MDI)");
        assert_eq!(decoder.next_frame(), None);
        decoder.push(b"\x17");
        assert_eq!(decoder.next_frame(), Some(Ok(Frame::new("MODE, (MDI)"))));
    }

    #[test]
    fn prompts_and_stray_line_ends_between_frames_are_skipped() {
        let mut decoder = Decoder::new();
        decoder.push(b">\r\n\r\n>> \x02MODE, (MEM)\x17\n\n>\r\n\x17\x02MODEL, VF2\r\n\x17>");
        assert_eq!(drain(&mut decoder), frames(&["MODE, (MEM)", "MODEL, VF2"]));
    }

    #[test]
    fn garbage_without_stx_is_reported_once_and_the_next_frame_decodes() {
        let mut decoder = Decoder::new();
        decoder.push(b"NOISE 123\r\n\x02MODE, (JOG)\x17\r\n>");
        let got = drain(&mut decoder);
        assert_eq!(
            got,
            vec![
                Err(DecodeError::Garbage {
                    len: 9,
                    preview: "NOISE 123".into()
                }),
                Ok(Frame::new("MODE, (JOG)")),
            ]
        );
    }

    #[test]
    fn a_reply_without_its_stx_is_garbage_not_a_frame() {
        let mut decoder = Decoder::new();
        decoder.push(b"SERIAL NUMBER, 1\x17\r\n>\x02MODE, (MEM)\x17");
        let got = drain(&mut decoder);
        assert!(
            matches!(got[0], Err(DecodeError::Garbage { len: 16, .. })),
            "{got:?}"
        );
        assert_eq!(got[1..], frames(&["MODE, (MEM)"]));
    }

    #[test]
    fn an_oversize_frame_is_an_error_and_the_stream_resynchronises() {
        let mut decoder = Decoder::with_max_frame(16);
        decoder.push(b"\x02");
        decoder.push(&[b'A'; 100]);
        decoder.push(b"\x17\r\n>\x02MODE, (MEM)\x17");
        let got = drain(&mut decoder);
        assert_eq!(
            got,
            vec![
                Err(DecodeError::Oversize {
                    limit: 16,
                    preview: "A".repeat(16)
                }),
                Ok(Frame::new("MODE, (MEM)")),
            ]
        );
    }

    #[test]
    fn an_oversize_prompted_line_ends_at_its_line_end() {
        let mut decoder = Decoder::with_max_frame(10);
        decoder.push(b">0123456789ABCDEF\r\n>MODE, MEM\r\n");
        let got = drain(&mut decoder);
        assert!(
            matches!(got[0], Err(DecodeError::Oversize { limit: 10, .. })),
            "{got:?}"
        );
        assert_eq!(got[1..], frames(&["MODE, MEM"]));
    }

    #[test]
    fn endless_garbage_is_reported_in_bounded_pieces() {
        let mut decoder = Decoder::with_max_frame(10);
        decoder.push(&[b'x'; 35]);
        let got = drain(&mut decoder);
        assert_eq!(got.len(), 3, "{got:?}");
        assert!(
            got.iter()
                .all(|g| matches!(g, Err(DecodeError::Garbage { len: 10, .. })))
        );
    }

    #[test]
    fn a_frame_cut_off_by_the_next_stx_is_reported_and_the_next_one_decodes() {
        let mut decoder = Decoder::new();
        decoder.push(b"\x02MODE, (ME\x02MODE, (MDI)\x17");
        assert_eq!(
            drain(&mut decoder),
            vec![
                Err(DecodeError::Unterminated {
                    preview: "MODE, (ME".into()
                }),
                Ok(Frame::new("MODE, (MDI)")),
            ]
        );
    }

    #[test]
    fn reset_forgets_a_partial_frame() {
        let mut decoder = Decoder::new();
        decoder.push(b"\x02SERIAL NUM");
        decoder.reset();
        decoder.push(b"\x02MODE, (MEM)\x17");
        assert_eq!(drain(&mut decoder), frames(&["MODE, (MEM)"]));
    }

    #[test]
    fn the_framings_put_the_delimiters_where_their_sources_say() {
        assert_eq!(Framing::Setting143.encode("X, 1"), b"\x02X, 1\x17\r\n>");
        assert_eq!(Framing::LineEndInside.encode("X, 1"), b"\x02X, 1\r\n\x17>");
        assert_eq!(Framing::PromptedLine.encode("X, 1"), b">X, 1\r\n");
    }
}
