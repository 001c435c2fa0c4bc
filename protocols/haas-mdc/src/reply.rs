//! Replies: the text of a frame read into what it says, and written back out.

use std::fmt;

/// What the control said, by the name in its first field.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `SERIAL NUMBER, …` (Q100).
    SerialNumber(String),
    /// `SOFTWARE VERSION, …` (Q101).
    SoftwareVersion(String),
    /// `MODEL, …` (Q102).
    Model(String),
    /// `MODE, …` (Q104).
    Mode(Mode),
    /// `PROGRAM, …, …, PARTS, …` (Q500).
    ProgramStatus(ProgramStatus),
    /// `STATUS, BUSY`: the control is busy (Q500 while a program runs).
    Busy,
    /// `MACRO, …` (Q600).
    Macro(MacroValue),
    /// `UNKNOWN` or `?, ?`: the control does not know the request.
    Unknown,
    /// `INVALID NUMBER`: the request's number is out of range.
    InvalidNumber,
    /// A well-formed reply this crate has no type for (`TOOL CHANGES, 35`, …).
    Other {
        /// The first field, e.g. `TOOL CHANGES`.
        name: String,
        /// The other fields, trimmed.
        values: Vec<String>,
    },
}

/// The control's mode (Q104). Haas writes it with or without parentheses: `(MEM)` or `MEM`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `MEM`: running programs from memory.
    Memory,
    /// `MDI`: manual data input.
    Mdi,
    /// `JOG`: jogging the axes.
    Jog,
    /// `HAND JOG` or `HAND`: moving the axes with the hand wheel.
    HandJog,
    /// `EDIT`: editing programs.
    Edit,
    /// `ZERO RET` or `ZERO`: returning the axes to their zero.
    ZeroReturn,
    /// `LIST PROG` or `LIST`: listing programs.
    ListPrograms,
    /// Any other mode, as the control wrote it (without parentheses).
    Other(String),
}

/// The run status of a program status reply (Q500).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunStatus {
    /// `IDLE`: no program is running.
    Idle,
    /// `BUSY`: a program is running.
    Busy,
    /// `FEED HOLD`: motion is held.
    FeedHold,
    /// `ALARM` or `ALARM ON`: an alarm stopped the machine.
    Alarm,
    /// Any other status, as the control wrote it.
    Other(String),
}

/// The three-in-one reply to Q500.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramStatus {
    /// The active program, e.g. `O00012`, or `MDI`.
    pub program: String,
    /// What the program is doing.
    pub status: RunStatus,
    /// The parts counter.
    pub parts: u64,
}

/// The reply to Q600.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MacroValue {
    /// The variable, when the control repeats its number (`MACRO, 5021, 1.0`).
    pub variable: Option<u32>,
    /// The value; `None` when the control left it empty (a vacant variable).
    pub value: Option<f64>,
}

/// Why a frame's text is not a reply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    /// The frame was empty.
    #[error("empty reply")]
    Empty,
    /// The reply names itself but its fields do not have the expected form.
    #[error("malformed reply {text:?}: {problem}")]
    Malformed {
        /// The whole reply text.
        text: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

impl Reply {
    /// Reads the text of one frame.
    pub fn parse(text: &str) -> Result<Reply, ReplyError> {
        let fields: Vec<&str> = text.split(',').map(str::trim).collect();
        let malformed = |problem| ReplyError::Malformed {
            text: text.to_owned(),
            problem,
        };
        match fields.as_slice() {
            [""] => Err(ReplyError::Empty),
            ["UNKNOWN"] | ["?", "?"] | ["?"] => Ok(Reply::Unknown),
            ["INVALID NUMBER"] => Ok(Reply::InvalidNumber),
            ["STATUS", "BUSY"] => Ok(Reply::Busy),
            ["SERIAL NUMBER", value] => Ok(Reply::SerialNumber(non_empty(value, malformed)?)),
            ["SOFTWARE VERSION", value] => Ok(Reply::SoftwareVersion(non_empty(value, malformed)?)),
            ["MODEL", value] => Ok(Reply::Model(non_empty(value, malformed)?)),
            ["MODE", value] => Ok(Reply::Mode(Mode::parse(&non_empty(value, malformed)?))),
            ["PROGRAM", ..] => parse_program_status(&fields)
                .ok_or_else(|| malformed("expected PROGRAM, <program>, <status>, PARTS, <count>")),
            ["MACRO", ..] => parse_macro(&fields[1..])
                .ok_or_else(|| malformed("expected MACRO, [<variable>,] <number>")),
            [
                "SERIAL NUMBER" | "SOFTWARE VERSION" | "MODEL" | "MODE" | "STATUS",
                ..,
            ] => Err(malformed("expected the name and one value")),
            [name, values @ ..] if is_name(name) => Ok(Reply::Other {
                name: (*name).to_owned(),
                values: values.iter().map(|v| (*v).to_owned()).collect(),
            }),
            _ => Err(malformed("the first field is not a reply name")),
        }
    }
}

fn non_empty(
    value: &str,
    malformed: impl Fn(&'static str) -> ReplyError,
) -> Result<String, ReplyError> {
    if value.is_empty() {
        Err(malformed("the value is empty"))
    } else {
        Ok(value.to_owned())
    }
}

fn parse_program_status(fields: &[&str]) -> Option<Reply> {
    let ["PROGRAM", program, status, "PARTS", parts] = fields else {
        return None;
    };
    if program.is_empty() || status.is_empty() {
        return None;
    }
    Some(Reply::ProgramStatus(ProgramStatus {
        program: (*program).to_owned(),
        status: RunStatus::parse(status),
        parts: parts.parse().ok()?,
    }))
}

fn parse_macro(fields: &[&str]) -> Option<Reply> {
    let (variable, value) = match fields {
        [value] => (None, *value),
        [variable, value] => (Some(variable.parse().ok()?), *value),
        _ => return None,
    };
    let value = match value {
        "" => None,
        number => Some(number.parse::<f64>().ok().filter(|v| v.is_finite())?),
    };
    Some(Reply::Macro(MacroValue { variable, value }))
}

/// Reply names are upper-case words: letters, digits, spaces and a little punctuation
/// (`P.O. TIME`, `M30 #1`).
fn is_name(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_uppercase())
        && text
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || " .#_-".contains(c))
}

impl fmt::Display for Reply {
    /// The reply's text as the control writes it (the payload of a frame).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::SerialNumber(serial) => write!(f, "SERIAL NUMBER, {serial}"),
            Reply::SoftwareVersion(version) => write!(f, "SOFTWARE VERSION, {version}"),
            Reply::Model(model) => write!(f, "MODEL, {model}"),
            Reply::Mode(mode) => write!(f, "MODE, ({mode})"),
            Reply::ProgramStatus(status) => write!(
                f,
                "PROGRAM, {}, {}, PARTS, {}",
                status.program, status.status, status.parts
            ),
            Reply::Busy => f.write_str("STATUS, BUSY"),
            Reply::Macro(value) => write!(f, "{value}"),
            Reply::Unknown => f.write_str("UNKNOWN"),
            Reply::InvalidNumber => f.write_str("INVALID NUMBER"),
            Reply::Other { name, values } => {
                f.write_str(name)?;
                values.iter().try_for_each(|v| write!(f, ", {v}"))
            }
        }
    }
}

impl fmt::Display for MacroValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MACRO")?;
        if let Some(variable) = self.variable {
            write!(f, ", {variable}")?;
        }
        match self.value {
            // Haas writes macro values with six decimals.
            Some(value) => write!(f, ", {value:.6}"),
            None => f.write_str(", "),
        }
    }
}

impl Mode {
    /// Reads a mode as Q104 writes it, with or without parentheses.
    pub fn parse(text: &str) -> Mode {
        let bare = text
            .trim()
            .trim_start_matches('(')
            .trim_end_matches(')')
            .trim();
        match bare {
            "MEM" => Mode::Memory,
            "MDI" => Mode::Mdi,
            "JOG" => Mode::Jog,
            "HAND JOG" | "HAND" => Mode::HandJog,
            "EDIT" => Mode::Edit,
            "ZERO RET" | "ZERO" => Mode::ZeroReturn,
            "LIST PROG" | "LIST" => Mode::ListPrograms,
            other => Mode::Other(other.to_owned()),
        }
    }

    /// The mode as Haas spells it, without parentheses.
    pub fn as_str(&self) -> &str {
        match self {
            Mode::Memory => "MEM",
            Mode::Mdi => "MDI",
            Mode::Jog => "JOG",
            Mode::HandJog => "HAND JOG",
            Mode::Edit => "EDIT",
            Mode::ZeroReturn => "ZERO RET",
            Mode::ListPrograms => "LIST PROG",
            Mode::Other(text) => text,
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl RunStatus {
    /// Reads a run status as Q500 writes it.
    pub fn parse(text: &str) -> RunStatus {
        match text.trim() {
            "IDLE" => RunStatus::Idle,
            "BUSY" => RunStatus::Busy,
            "FEED HOLD" => RunStatus::FeedHold,
            "ALARM" | "ALARM ON" => RunStatus::Alarm,
            other => RunStatus::Other(other.to_owned()),
        }
    }

    /// The status as Haas spells it.
    pub fn as_str(&self) -> &str {
        match self {
            RunStatus::Idle => "IDLE",
            RunStatus::Busy => "BUSY",
            RunStatus::FeedHold => "FEED HOLD",
            RunStatus::Alarm => "ALARM",
            RunStatus::Other(text) => text,
        }
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn malformed(text: &str) -> bool {
        matches!(Reply::parse(text), Err(ReplyError::Malformed { .. }))
    }

    #[test]
    fn published_replies_read_as_their_types() {
        assert_eq!(
            Reply::parse("SERIAL NUMBER, 1234567"),
            Ok(Reply::SerialNumber("1234567".into()))
        );
        assert_eq!(
            Reply::parse("SOFTWARE VERSION, 100.17.000.2037"),
            Ok(Reply::SoftwareVersion("100.17.000.2037".into()))
        );
        assert_eq!(
            Reply::parse("MODEL, CSMD-G2"),
            Ok(Reply::Model("CSMD-G2".into()))
        );
        assert_eq!(
            Reply::parse("MODE, ZERO"),
            Ok(Reply::Mode(Mode::ZeroReturn))
        );
        assert_eq!(
            Reply::parse("PROGRAM, MDI, IDLE, PARTS, 380"),
            Ok(Reply::ProgramStatus(ProgramStatus {
                program: "MDI".into(),
                status: RunStatus::Idle,
                parts: 380
            }))
        );
        assert_eq!(Reply::parse("STATUS, BUSY"), Ok(Reply::Busy));
        assert_eq!(
            Reply::parse("MACRO, 0.0"),
            Ok(Reply::Macro(MacroValue {
                variable: None,
                value: Some(0.0)
            }))
        );
        assert_eq!(Reply::parse("UNKNOWN"), Ok(Reply::Unknown));
        assert_eq!(Reply::parse("?, ?"), Ok(Reply::Unknown));
        assert_eq!(Reply::parse("INVALID NUMBER"), Ok(Reply::InvalidNumber));
    }

    #[test]
    fn modes_read_with_or_without_parentheses() {
        for (text, mode) in [
            ("(MEM)", Mode::Memory),
            ("MEM", Mode::Memory),
            ("(MDI)", Mode::Mdi),
            ("(JOG)", Mode::Jog),
            ("(HAND JOG)", Mode::HandJog),
            ("(EDIT)", Mode::Edit),
            ("(ZERO RET)", Mode::ZeroReturn),
            ("(LIST PROG)", Mode::ListPrograms),
            ("(DNC)", Mode::Other("DNC".into())),
        ] {
            assert_eq!(
                Reply::parse(&format!("MODE, {text}")),
                Ok(Reply::Mode(mode)),
                "{text}"
            );
        }
    }

    #[test]
    fn run_statuses_read_as_published_and_others_are_kept() {
        for (text, status) in [
            ("IDLE", RunStatus::Idle),
            ("BUSY", RunStatus::Busy),
            ("FEED HOLD", RunStatus::FeedHold),
            ("ALARM", RunStatus::Alarm),
            ("ALARM ON", RunStatus::Alarm),
            ("SINGLE BLOCK", RunStatus::Other("SINGLE BLOCK".into())),
        ] {
            let reply = Reply::parse(&format!("PROGRAM, O00012, {text}, PARTS, 7"));
            let Ok(Reply::ProgramStatus(got)) = reply else {
                panic!("{text}: {reply:?}")
            };
            assert_eq!(got.status, status, "{text}");
        }
    }

    #[test]
    fn macro_values_read_with_or_without_their_variable() {
        let value = |variable, value| Ok(Reply::Macro(MacroValue { variable, value }));
        assert_eq!(Reply::parse("MACRO, 123.000000"), value(None, Some(123.0)));
        assert_eq!(
            Reply::parse("MACRO, 5021,   -234.567"),
            value(Some(5021), Some(-234.567))
        );
        assert_eq!(Reply::parse("MACRO,"), value(None, None));
        assert_eq!(Reply::parse("MACRO, 1.5E+02"), value(None, Some(150.0)));
    }

    #[test]
    fn replies_with_a_known_name_but_bad_fields_are_malformed() {
        for text in [
            "SERIAL NUMBER,",
            "SERIAL NUMBER, 1, 2",
            "MODE",
            "PROGRAM, O1, IDLE, PARTS",
            "PROGRAM, O1, IDLE, PARTS, many",
            "PROGRAM, O1, IDLE, PARTS, -1",
            "PROGRAM, , IDLE, PARTS, 1",
            "PROGRAM, O1, IDLE, COUNT, 1",
            "MACRO, abc",
            "MACRO, NaN",
            "MACRO, x, 1.0",
            "MACRO, 1, 2, 3",
            "hello world",
            "12, 34",
        ] {
            assert!(malformed(text), "{text}: {:?}", Reply::parse(text));
        }
        assert_eq!(Reply::parse(""), Err(ReplyError::Empty));
    }

    #[test]
    fn other_named_replies_are_kept_with_their_fields() {
        assert_eq!(
            Reply::parse("P.O. TIME, 06282:17:13"),
            Ok(Reply::Other {
                name: "P.O. TIME".into(),
                values: vec!["06282:17:13".into()]
            })
        );
        assert_eq!(
            Reply::parse("M30 #1, 380").map(|r| r.to_string()),
            Ok("M30 #1, 380".into())
        );
    }

    #[test]
    fn written_replies_read_back_as_themselves() {
        let replies = [
            Reply::SerialNumber("1234567".into()),
            Reply::SoftwareVersion("100.17.000.2037".into()),
            Reply::Model("VF2D".into()),
            Reply::Mode(Mode::ZeroReturn),
            Reply::Mode(Mode::Other("DNC".into())),
            Reply::ProgramStatus(ProgramStatus {
                program: "O00012".into(),
                status: RunStatus::FeedHold,
                parts: 1234,
            }),
            Reply::Busy,
            Reply::Macro(MacroValue {
                variable: None,
                value: Some(-0.5),
            }),
            Reply::Macro(MacroValue {
                variable: Some(5021),
                value: None,
            }),
            Reply::Unknown,
            Reply::InvalidNumber,
        ];
        for reply in replies {
            assert_eq!(
                Reply::parse(&reply.to_string()),
                Ok(reply.clone()),
                "{reply}"
            );
        }
    }

    #[test]
    fn modes_are_written_in_parentheses_and_macros_with_six_decimals() {
        assert_eq!(Reply::Mode(Mode::Memory).to_string(), "MODE, (MEM)");
        let value = MacroValue {
            variable: None,
            value: Some(123.0),
        };
        assert_eq!(Reply::Macro(value).to_string(), "MACRO, 123.000000");
    }
}
