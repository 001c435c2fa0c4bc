//! Haas Machine Data Collection (MDC) without I/O: Q-command requests, the framing of the
//! control's replies, and typed replies. Shared by the `haas-mdc` driver plugin (compiled to
//! WebAssembly) and by the host's scripted Haas stand-in in `chatter-replay` (compiled natively).
//!
//! # The protocol
//!
//! What follows is what Haas publishes about MDC (the "Machine Data Collection" page of the
//! Next Generation Control reference, and the description of Setting 143 in the mill and lathe
//! operator's manuals), with the variations that clients found on real machines.
//!
//! - **Transport.** MDC is switched on by Setting 143; on Ethernet its value is the TCP port the
//!   control listens on (5051 in Haas' own example). The control accepts up to two connections
//!   at once and sends the output requested by one connection to *all* of them, so a client
//!   cannot assume that the next reply answers its own question: [`Request::answered_by`]
//!   matches a reply to a request by what it says. Haas also notes that right after connecting
//!   the first `?Q100` may have to be sent twice.
//! - **Requests.** `?Q` and a number, in upper case, ended by a new line; `?Q600` takes the number
//!   of a macro or system variable after a space (`?Q600 5021`). [`Request`] writes them with
//!   CR LF, which terminals such as PuTTY send and the control accepts.
//! - **Replies** are comma-separated text whose first field names the reply (`SERIAL NUMBER,
//!   1234567`). Three framings are in circulation, and [`Decoder`] reads all of them:
//!   - the one the Setting 143 description gives, `STX text ETB CR LF >` (STX is 0x02, ETB 0x17,
//!     `>` a prompt);
//!   - `STX text CR LF ETB >`, with the line end inside the frame;
//!   - the one the NGC page gives for Ethernet: a line that begins with `>` and ends with CR LF,
//!     without STX and ETB.
//! - **Refusals.** A request the control does not recognise is answered `UNKNOWN` (some controls
//!   answer `?, ?`); a `?Q600` whose number is not a variable, `INVALID NUMBER`. While busy the
//!   control may answer `STATUS, BUSY` instead.
//!
//! | request | meaning | reply, as published or observed |
//! |---|---|---|
//! | `?Q100` | serial number | `SERIAL NUMBER, 1234567` |
//! | `?Q101` | control software version | `SOFTWARE VERSION, 100.17.000.2037` |
//! | `?Q102` | model | `MODEL, VF2D` |
//! | `?Q104` | mode | `MODE, (MEM)` — also without parentheses (`MODE, ZERO`); MEM, MDI, JOG, HAND JOG, EDIT, ZERO RET, LIST PROG, … |
//! | `?Q500` | program, status and parts counter in one | `PROGRAM, O00012, IDLE, PARTS, 380` (status IDLE, BUSY, FEED HOLD, ALARM or ALARM ON, …); `STATUS, BUSY` while a program runs; the program is `MDI` in MDI |
//! | `?Q600 n` | macro or system variable `n` | `MACRO, 0.0`; some controls repeat the number: `MACRO, 5021, -234.567000` |
//!
//! # Use
//!
//! ```
//! use chatter_haas_mdc::{Decoder, Reply, Request, RunStatus};
//!
//! let request = Request::ProgramStatus;
//! assert_eq!(request.to_bytes(), b"?Q500\r\n");
//!
//! let mut decoder = Decoder::new();
//! decoder.push(b"\x02PROGRAM, O00012, ID"); // TCP delivers replies in arbitrary pieces
//! assert!(decoder.next_frame().is_none());
//! decoder.push(b"LE, PARTS, 380\x17\r\n>");
//! let frame = decoder.next_frame().unwrap().unwrap();
//! let reply = Reply::parse(frame.text()).unwrap();
//! assert!(request.answered_by(&reply));
//! let Reply::ProgramStatus(status) = reply else { panic!("{reply:?}") };
//! assert_eq!((status.program.as_str(), status.status, status.parts), ("O00012", RunStatus::Idle, 380));
//! ```

mod decoder;
mod reply;
mod request;

pub use decoder::{DEFAULT_MAX_FRAME, DecodeError, Decoder, ETB, Frame, Framing, PROMPT, STX};
pub use reply::{MacroValue, Mode, ProgramStatus, Reply, ReplyError, RunStatus};
pub use request::{Request, RequestError};
