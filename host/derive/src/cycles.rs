//! Cycles: runs of a program, from execution becoming ACTIVE to the program ending.

use chatter_model::{Cycle, CycleEnd, Timestamp};
use serde::{Deserialize, Serialize};

use crate::status::Execution;

/// How long after a cycle ends a part count is still credited to it, in nanoseconds: many
/// controls count the part just after the program ends. Ended cycles are emitted only once
/// this grace has passed (or the next cycle starts, or the machine goes offline).
pub const PART_GRACE_NS: i64 = 60_000_000_000;

/// The cycle running now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenCycle {
    /// When execution became ACTIVE, in nanoseconds since the Unix epoch.
    pub start: Timestamp,
    /// The program it runs, as reported at its start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
    /// Nanoseconds spent with execution ACTIVE so far, up to the latest observation.
    pub active: i64,
    /// Parts counted during it so far.
    pub parts: u64,
}

/// An open cycle, with what it takes to keep counting its active time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Running {
    /// The cycle, with `active` counted up to the last time execution left ACTIVE.
    cycle: OpenCycle,
    /// Since when execution has been ACTIVE, if it is.
    active_since: Option<Timestamp>,
}

impl Running {
    /// Active time up to `t`.
    fn active_at(&self, t: Timestamp) -> i64 {
        self.cycle.active + self.active_since.map_or(0, |since| t - since)
    }
}

/// The open cycle and the ended one still in its part grace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Cycles {
    /// The cycle running now.
    open: Option<Running>,
    /// The last ended cycle, held back while parts may still be credited to it.
    ended: Option<Cycle>,
}

impl Cycles {
    /// The open cycle as of `now` (the latest observation's time).
    pub(crate) fn current(&self, now: Timestamp) -> Option<OpenCycle> {
        self.open.as_ref().map(|running| OpenCycle {
            active: running.active_at(now),
            ..running.cycle.clone()
        })
    }

    /// The ended cycle still in its part grace, not yet emitted.
    pub(crate) fn ended(&self) -> Option<&Cycle> {
        self.ended.as_ref()
    }

    /// Time reached `t`: releases the ended cycle once its part grace is over.
    #[inline]
    pub(crate) fn advance(&mut self, t: Timestamp, out: &mut Vec<Cycle>) {
        if let Some(ended) = &self.ended
            && t - ended.end >= PART_GRACE_NS
        {
            out.extend(self.ended.take());
        }
    }

    /// Credits `parts` to the open cycle, else to the ended one still in its grace.
    pub(crate) fn count(&mut self, parts: u64) {
        // An ended cycle past its grace has been released by `advance` already.
        if let Some(running) = &mut self.open {
            running.cycle.parts += parts;
        } else if let Some(ended) = &mut self.ended {
            ended.parts += parts;
        }
    }

    /// The program became `program` at `t`: a cycle that started at that very timestamp runs
    /// it (controls report the program and execution together, in either order), and so does
    /// one that started without a known program (some report the program just after starting).
    pub(crate) fn program_changed(&mut self, t: Timestamp, program: &Option<String>) {
        if let Some(running) = &mut self.open
            && (running.cycle.start == t || running.cycle.program.is_none())
        {
            running.cycle.program.clone_from(program);
        }
    }

    /// Follows the execution state (and whether the machine is offline) at `t`. Idempotent:
    /// called after every change of availability or execution.
    pub(crate) fn update(
        &mut self,
        execution: Execution,
        offline: bool,
        t: Timestamp,
        program: &Option<String>,
        out: &mut Vec<Cycle>,
    ) {
        if offline {
            self.end(t, CycleEnd::Offline, out);
            out.extend(self.ended.take());
            return;
        }
        match execution {
            Execution::Active => self.activate(t, program, out),
            Execution::Completed => self.end(t, CycleEnd::Completed, out),
            Execution::Stopped => self.end(t, CycleEnd::Stopped, out),
            Execution::Held | Execution::Unavailable | Execution::Other | Execution::Never => {
                self.deactivate(t);
            }
        }
    }

    /// Execution is ACTIVE: starts a cycle unless one is open, else resumes its active time.
    fn activate(&mut self, t: Timestamp, program: &Option<String>, out: &mut Vec<Cycle>) {
        match &mut self.open {
            Some(running) => {
                running.active_since.get_or_insert(t);
            }
            None => {
                out.extend(self.ended.take());
                self.open = Some(Running {
                    cycle: OpenCycle {
                        start: t,
                        program: program.clone(),
                        active: 0,
                        parts: 0,
                    },
                    active_since: Some(t),
                });
            }
        }
    }

    /// Execution left ACTIVE without ending the cycle: stops counting active time.
    fn deactivate(&mut self, t: Timestamp) {
        if let Some(running) = &mut self.open {
            running.cycle.active = running.active_at(t);
            running.active_since = None;
        }
    }

    /// Ends the open cycle at `t`, holding it back for its part grace.
    fn end(&mut self, t: Timestamp, ended: CycleEnd, out: &mut Vec<Cycle>) {
        let Some(running) = self.open.take() else {
            return;
        };
        out.extend(self.ended.take());
        let active = running.active_at(t);
        let OpenCycle {
            start,
            program,
            parts,
            ..
        } = running.cycle;
        self.ended = Some(Cycle {
            start,
            end: t,
            ended,
            program,
            active,
            parts,
        });
    }
}
