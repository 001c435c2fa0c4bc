//! The state timeline: contiguous intervals, one per status change, with no zero-length ones.

use chatter_model::{Interval, MachineStatus, Timestamp};
use serde::{Deserialize, Serialize};

/// The open status, and the last closed interval while it may still have to merge.
///
/// A closed interval is held back until time moves past the start of the status that
/// followed it: until then that status may turn out to last 0 ns, be dropped, and the held
/// interval resume if the status after it is the same (`A, B for 0 ns, A` is one `A`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Timeline {
    /// The current status and since when; `None` before any observation.
    open: Option<(MachineStatus, Timestamp)>,
    /// The last closed interval, not emitted yet.
    held: Option<Interval>,
}

impl Timeline {
    /// The current status and since when.
    pub(crate) fn open(&self) -> Option<(MachineStatus, Timestamp)> {
        self.open
    }

    /// The last closed interval, while it is not final (see [`Timeline`]).
    pub(crate) fn held(&self) -> Option<Interval> {
        self.held
    }

    /// Time reached `t`: a held interval is final once the open status has lasted.
    #[inline]
    pub(crate) fn advance(&mut self, t: Timestamp, out: &mut Vec<Interval>) {
        if let (Some(_), Some((_, since))) = (self.held, self.open)
            && t > since
        {
            out.extend(self.held.take());
        }
    }

    /// The status is `status` from `t` on (`t` is never before the open status' start).
    pub(crate) fn set(&mut self, status: MachineStatus, t: Timestamp, out: &mut Vec<Interval>) {
        let Some((current, since)) = self.open else {
            self.open = Some((status, t));
            return;
        };
        if current == status {
            return;
        }
        if t > since {
            out.extend(self.held.take());
            self.held = Some(Interval {
                status: current,
                start: since,
                end: t,
            });
            self.open = Some((status, t));
        } else {
            // `current` lasted 0 ns: drop it, and resume the held interval if it is `status`.
            match self.held {
                Some(held) if held.status == status => {
                    self.held = None;
                    self.open = Some((status, held.start));
                }
                _ => self.open = Some((status, since)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MachineStatus::{Idle, Offline, Running};

    fn interval(status: MachineStatus, start: i64, end: i64) -> Interval {
        Interval { status, start, end }
    }

    #[test]
    fn changes_close_intervals_once_time_moves_on() {
        let mut timeline = Timeline::default();
        let mut out = Vec::new();
        timeline.set(Offline, 0, &mut out);
        timeline.set(Idle, 10, &mut out);
        assert!(out.is_empty(), "held until time passes 10");
        timeline.advance(10, &mut out);
        assert!(out.is_empty());
        timeline.advance(11, &mut out);
        assert_eq!(out, [interval(Offline, 0, 10)]);
        assert_eq!(timeline.open(), Some((Idle, 10)));
    }

    #[test]
    fn zero_length_statuses_vanish_and_neighbours_merge() {
        let mut timeline = Timeline::default();
        let mut out = Vec::new();
        timeline.set(Idle, 0, &mut out);
        timeline.set(Running, 10, &mut out);
        timeline.set(Idle, 10, &mut out);
        timeline.advance(20, &mut out);
        assert!(out.is_empty());
        assert_eq!(timeline.open(), Some((Idle, 0)));
        timeline.set(Running, 20, &mut out);
        timeline.set(Offline, 20, &mut out);
        timeline.advance(30, &mut out);
        assert_eq!(out, [interval(Idle, 0, 20)]);
        assert_eq!(timeline.open(), Some((Offline, 20)));
    }
}
