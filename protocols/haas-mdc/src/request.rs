//! Requests: the Q-commands a client sends, written and read back.

use std::fmt;

use crate::reply::{MacroValue, Reply};

/// The largest variable number `?Q600` accepts here. Haas variable numbers have at most five
/// digits.
const LARGEST_VARIABLE: u32 = 99_999;

/// A Q-command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Request {
    /// `?Q100`: the machine's serial number.
    SerialNumber,
    /// `?Q101`: the control's software version.
    SoftwareVersion,
    /// `?Q102`: the machine's model.
    Model,
    /// `?Q104`: the control's mode (MEM, MDI, JOG, …).
    Mode,
    /// `?Q500`: program, run status and parts counter in one reply.
    ProgramStatus,
    /// `?Q600 n`: the value of macro or system variable `n`.
    Macro(u32),
}

/// Why a command line is not a request the control answers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// Not a Q-command the control knows; it answers `UNKNOWN`.
    #[error("unknown command {0:?}")]
    Unknown(String),
    /// A `?Q600` whose argument is not a variable number; the control answers `INVALID NUMBER`.
    #[error("invalid variable number in {0:?}")]
    InvalidNumber(String),
}

impl Request {
    /// The Q-command number (`100` for `?Q100`).
    pub fn number(&self) -> u16 {
        match self {
            Request::SerialNumber => 100,
            Request::SoftwareVersion => 101,
            Request::Model => 102,
            Request::Mode => 104,
            Request::ProgramStatus => 500,
            Request::Macro(_) => 600,
        }
    }

    /// The request as sent: the command and CR LF.
    pub fn to_bytes(&self) -> Vec<u8> {
        format!("{self}\r\n").into_bytes()
    }

    /// Reads one command line as the control would (without its line end; surrounding spaces
    /// are ignored). Letters must be upper case, as Haas documents.
    pub fn parse(line: &str) -> Result<Request, RequestError> {
        let line = line.trim();
        let unknown = || RequestError::Unknown(line.to_owned());
        let rest = line.strip_prefix("?Q").ok_or_else(unknown)?;
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        let (number, argument) = rest.split_at(digits_end);
        let argument = argument.trim();
        match (number, argument.is_empty()) {
            ("100", true) => Ok(Request::SerialNumber),
            ("101", true) => Ok(Request::SoftwareVersion),
            ("102", true) => Ok(Request::Model),
            ("104", true) => Ok(Request::Mode),
            ("500", true) => Ok(Request::ProgramStatus),
            ("600", _) => parse_variable(argument)
                .map(Request::Macro)
                .ok_or_else(|| RequestError::InvalidNumber(line.to_owned())),
            _ => Err(unknown()),
        }
    }

    /// Whether `reply` answers this request. Refusals (`UNKNOWN`, `INVALID NUMBER`) and
    /// `STATUS, BUSY` answer any request; a macro value that names its variable answers only
    /// the request for that variable.
    pub fn answered_by(&self, reply: &Reply) -> bool {
        match (self, reply) {
            (_, Reply::Unknown | Reply::InvalidNumber | Reply::Busy) => true,
            (Request::SerialNumber, Reply::SerialNumber(_))
            | (Request::SoftwareVersion, Reply::SoftwareVersion(_))
            | (Request::Model, Reply::Model(_))
            | (Request::Mode, Reply::Mode(_))
            | (Request::ProgramStatus, Reply::ProgramStatus(_)) => true,
            (Request::Macro(wanted), Reply::Macro(MacroValue { variable, .. })) => {
                variable.is_none_or(|variable| variable == *wanted)
            }
            _ => false,
        }
    }
}

fn parse_variable(text: &str) -> Option<u32> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse()
        .ok()
        .filter(|n| (1..=LARGEST_VARIABLE).contains(n))
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Macro(variable) => write!(f, "?Q600 {variable}"),
            other => write!(f, "?Q{}", other.number()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reply::{Mode, ProgramStatus, RunStatus};

    #[test]
    fn requests_are_written_as_upper_case_q_commands_ended_by_cr_lf() {
        assert_eq!(Request::SerialNumber.to_bytes(), b"?Q100\r\n");
        assert_eq!(Request::SoftwareVersion.to_bytes(), b"?Q101\r\n");
        assert_eq!(Request::Model.to_bytes(), b"?Q102\r\n");
        assert_eq!(Request::Mode.to_bytes(), b"?Q104\r\n");
        assert_eq!(Request::ProgramStatus.to_bytes(), b"?Q500\r\n");
        assert_eq!(Request::Macro(5021).to_bytes(), b"?Q600 5021\r\n");
    }

    #[test]
    fn written_requests_read_back_as_themselves() {
        for request in [
            Request::SerialNumber,
            Request::SoftwareVersion,
            Request::Model,
            Request::Mode,
            Request::ProgramStatus,
            Request::Macro(1),
            Request::Macro(99_999),
        ] {
            assert_eq!(Request::parse(&request.to_string()), Ok(request));
        }
        assert_eq!(
            Request::parse("  ?Q600   1094 \r"),
            Ok(Request::Macro(1094))
        );
    }

    #[test]
    fn unknown_commands_and_bad_variables_are_told_apart() {
        for line in ["", "?q100", "Q100", "?Q999", "?Q100 7", "hello", "?Q"] {
            assert!(
                matches!(Request::parse(line), Err(RequestError::Unknown(_))),
                "{line:?}"
            );
        }
        for line in [
            "?Q600",
            "?Q600 x",
            "?Q600 0",
            "?Q600 100000",
            "?Q600 -5",
            "?Q600 1.5",
        ] {
            assert!(
                matches!(Request::parse(line), Err(RequestError::InvalidNumber(_))),
                "{line:?}"
            );
        }
    }

    #[test]
    fn a_reply_answers_the_request_it_names() {
        let status = Reply::ProgramStatus(ProgramStatus {
            program: "O1".into(),
            status: RunStatus::Idle,
            parts: 0,
        });
        assert!(Request::ProgramStatus.answered_by(&status));
        assert!(!Request::Mode.answered_by(&status));
        assert!(Request::Mode.answered_by(&Reply::Mode(Mode::Memory)));
        assert!(!Request::SerialNumber.answered_by(&Reply::Model("VF2".into())));
        for refusal in [Reply::Unknown, Reply::InvalidNumber, Reply::Busy] {
            assert!(Request::Macro(5021).answered_by(&refusal));
        }
    }

    #[test]
    fn a_macro_value_answers_only_the_request_for_its_variable() {
        let named = |variable| {
            Reply::Macro(MacroValue {
                variable,
                value: Some(1.0),
            })
        };
        assert!(Request::Macro(5021).answered_by(&named(Some(5021))));
        assert!(!Request::Macro(5021).answered_by(&named(Some(1094))));
        assert!(Request::Macro(5021).answered_by(&named(None)));
        assert!(!Request::ProgramStatus.answered_by(&named(None)));
    }
}
