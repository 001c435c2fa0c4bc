//! The host's answers to a run's batched machine-data calls, taken apart per machine.
//!
//! A report asks once for all its machines (`timelines`, `totals-over`, `events`) and gets
//! lists that need not follow the request's order. These helpers find each machine's part and
//! turn a missing or misshapen answer into an `internal` error naming the call and the machine:
//! a host bug fails the run rather than showing a machine without its data.
//!
//! ```
//! use chatter_report_kit::answers::{machine_name, take_events};
//! use chatter_sdk::machine_data::{MachineEvents, MachineInfo};
//!
//! let names = [MachineInfo { id: "m3".into(), name: "Mill 3".into() }];
//! assert_eq!(machine_name(&names, "m3"), "Mill 3");
//! let mut events = vec![MachineEvents {
//!     machine: "m3".into(),
//!     cycles: vec![],
//!     parts: vec![],
//!     alarms: vec![],
//!     truncated: false,
//! }];
//! assert!(take_events(&mut events, "m3").is_ok());
//! assert!(take_events(&mut events, "m3").is_err());
//! ```

use chatter_sdk::machine_data::{MachineEvents, MachineInfo, Timeline, Totals};
use chatter_sdk::{Error, ErrorCode};

/// Removes and returns the timeline of machine `id` from a `timelines` answer.
pub fn take_timeline(timelines: &mut Vec<Timeline>, id: &str) -> Result<Timeline, Error> {
    take_by_id(timelines, id, |t| &t.machine)
        .ok_or_else(|| internal(format!("timelines answered nothing for machine `{id}`")))
}

/// Removes and returns the events of machine `id` from an `events` answer.
pub fn take_events(events: &mut Vec<MachineEvents>, id: &str) -> Result<MachineEvents, Error> {
    take_by_id(events, id, |e| &e.machine)
        .ok_or_else(|| internal(format!("events answered nothing for machine `{id}`")))
}

/// The display name of machine `id` from a `machines` answer; its id when the host does not
/// know it (e.g. removed since the run was scheduled), so the report still names it somehow.
pub fn machine_name(machines: &[MachineInfo], id: &str) -> String {
    machines
        .iter()
        .find(|m| m.id == id)
        .map_or_else(|| id.to_owned(), |m| m.name.clone())
}

/// Each machine of `ids` with its part of a `totals-over` answer, which is in the order of the
/// request. Fails when the answer is for another number of machines.
pub fn totals_per_machine(
    ids: &[String],
    totals: Vec<Vec<Totals>>,
) -> Result<impl Iterator<Item = (&String, Vec<Totals>)>, Error> {
    if totals.len() != ids.len() {
        return Err(internal(format!(
            "totals-over answered for {} machines, {} were asked for",
            totals.len(),
            ids.len()
        )));
    }
    Ok(ids.iter().zip(totals))
}

/// The error for a `totals-over` answer of machine `id` that does not have the `asked` ranges.
pub fn wrong_ranges(id: &str, asked: usize) -> Error {
    internal(format!(
        "totals-over answered the wrong number of ranges for machine `{id}` ({asked} were asked \
         for)"
    ))
}

/// Removes and returns the element of `items` whose id is `id`.
fn take_by_id<T>(items: &mut Vec<T>, id: &str, id_of: impl Fn(&T) -> &String) -> Option<T> {
    let at = items.iter().position(|item| id_of(item) == id)?;
    // The order of an answer carries no meaning, so the cheaper removal will do.
    Some(items.swap_remove(at))
}

fn internal(message: String) -> Error {
    Error::new(ErrorCode::Internal, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals() -> Totals {
        Totals {
            offline: 0,
            alarm: 0,
            running: 0,
            paused: 0,
            setup: 0,
            idle: 0,
            parts: 0,
            cycles: 0,
            cycle_time: 0,
            alarms: 0,
        }
    }

    fn timeline(machine: &str) -> Timeline {
        Timeline {
            machine: machine.to_owned(),
            intervals: Vec::new(),
            totals: totals(),
        }
    }

    fn events(machine: &str) -> MachineEvents {
        MachineEvents {
            machine: machine.to_owned(),
            cycles: Vec::new(),
            parts: Vec::new(),
            alarms: Vec::new(),
            truncated: false,
        }
    }

    #[test]
    fn each_machine_takes_its_own_answer_whatever_the_order() {
        let mut timelines = vec![timeline("a"), timeline("b")];
        assert_eq!(take_timeline(&mut timelines, "b").unwrap().machine, "b");
        assert_eq!(take_timeline(&mut timelines, "a").unwrap().machine, "a");
        assert!(timelines.is_empty());
        let mut answer = vec![events("a"), events("b")];
        assert_eq!(take_events(&mut answer, "b").unwrap().machine, "b");
    }

    #[test]
    fn a_missing_machine_is_named_with_the_call() {
        let error = take_timeline(&mut vec![timeline("a")], "b").unwrap_err();
        assert!(matches!(error.code, ErrorCode::Internal));
        assert_eq!(error.message, "timelines answered nothing for machine `b`");
        let error = take_events(&mut Vec::new(), "c").unwrap_err();
        assert_eq!(error.message, "events answered nothing for machine `c`");
    }

    #[test]
    fn an_unknown_machine_is_named_by_its_id() {
        let machines = [MachineInfo {
            id: "m3".to_owned(),
            name: "Mill 3".to_owned(),
        }];
        assert_eq!(machine_name(&machines, "m3"), "Mill 3");
        assert_eq!(machine_name(&machines, "x9"), "x9");
    }

    #[test]
    fn totals_pair_with_the_requested_machines_in_order() {
        let ids = ["a".to_owned(), "b".to_owned()];
        let answer = vec![vec![totals()], vec![totals(), totals()]];
        let pairs: Vec<(&String, usize)> = totals_per_machine(&ids, answer)
            .unwrap()
            .map(|(id, t)| (id, t.len()))
            .collect();
        assert_eq!(pairs, [(&ids[0], 1), (&ids[1], 2)]);
        let Err(error) = totals_per_machine(&ids, vec![vec![totals()]]) else {
            panic!("one answer for two machines was accepted");
        };
        assert_eq!(
            error.message,
            "totals-over answered for 1 machines, 2 were asked for"
        );
    }

    #[test]
    fn wrong_ranges_name_the_machine_and_the_count() {
        assert_eq!(
            wrong_ranges("m3", 7).message,
            "totals-over answered the wrong number of ranges for machine `m3` (7 were asked for)"
        );
    }
}
