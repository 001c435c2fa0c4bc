//! Time per machine state: the sum a report keeps for a shift, a stop or a whole period.
//!
//! ```
//! use chatter_report_kit::states::StateTimes;
//! use chatter_sdk::machine_data::MachineState;
//!
//! let mut time = StateTimes::default();
//! time.add(MachineState::Idle, 30);
//! time.add(MachineState::Alarm, 10);
//! assert_eq!(time.covered(), 40);
//! assert_eq!(time.largest(&[MachineState::Running]), Some((MachineState::Idle, 30)));
//! ```

use chatter_sdk::machine_data::{MachineState, Totals};

/// Nanoseconds in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateTimes {
    /// Offline.
    pub offline: i64,
    /// In alarm.
    pub alarm: i64,
    /// Running a program.
    pub running: i64,
    /// Paused (feed hold, optional stop).
    pub paused: i64,
    /// In setup.
    pub setup: i64,
    /// Idle.
    pub idle: i64,
}

impl StateTimes {
    /// The state times of `totals`.
    pub fn of(totals: &Totals) -> Self {
        StateTimes {
            offline: totals.offline,
            alarm: totals.alarm,
            running: totals.running,
            paused: totals.paused,
            setup: totals.setup,
            idle: totals.idle,
        }
    }

    /// The sum of the state times of `totals`.
    pub fn sum<'a>(totals: impl IntoIterator<Item = &'a Totals>) -> Self {
        let mut sum = StateTimes::default();
        for t in totals {
            sum.add_all(&StateTimes::of(t));
        }
        sum
    }

    /// Nanoseconds in `state`.
    pub fn get(&self, state: MachineState) -> i64 {
        match state {
            MachineState::Offline => self.offline,
            MachineState::Alarm => self.alarm,
            MachineState::Running => self.running,
            MachineState::Paused => self.paused,
            MachineState::Setup => self.setup,
            MachineState::Idle => self.idle,
        }
    }

    /// Adds `ns` to the time in `state`.
    pub fn add(&mut self, state: MachineState, ns: i64) {
        let slot = match state {
            MachineState::Offline => &mut self.offline,
            MachineState::Alarm => &mut self.alarm,
            MachineState::Running => &mut self.running,
            MachineState::Paused => &mut self.paused,
            MachineState::Setup => &mut self.setup,
            MachineState::Idle => &mut self.idle,
        };
        *slot += ns;
    }

    /// Adds every state time of `other`.
    pub fn add_all(&mut self, other: &StateTimes) {
        for state in MachineState::ALL {
            self.add(state, other.get(state));
        }
    }

    /// Nanoseconds in any state.
    pub fn covered(&self) -> i64 {
        MachineState::ALL.iter().map(|&s| self.get(s)).sum()
    }

    /// The state with the most time, leaving out `except`, with its time; `None` when no other
    /// state has any. Ties go to the state of higher precedence, the order of
    /// [`MachineState::ALL`] (alarm before idle).
    pub fn largest(&self, except: &[MachineState]) -> Option<(MachineState, i64)> {
        MachineState::ALL
            .into_iter()
            .filter(|state| !except.contains(state))
            .map(|state| (state, self.get(state)))
            .filter(|&(_, time)| time > 0)
            .fold(None, |best, (state, time)| match best {
                Some((_, most)) if most >= time => best,
                _ => Some((state, time)),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(running: i64, idle: i64) -> Totals {
        Totals {
            offline: 1,
            alarm: 2,
            running,
            paused: 3,
            setup: 4,
            idle,
            parts: 0,
            cycles: 0,
            cycle_time: 0,
            alarms: 0,
        }
    }

    #[test]
    fn totals_add_up_per_state() {
        let sum = StateTimes::sum(&[totals(10, 20), totals(5, 0)]);
        assert_eq!(
            sum,
            StateTimes {
                offline: 2,
                alarm: 4,
                running: 15,
                paused: 6,
                setup: 8,
                idle: 20,
            }
        );
        assert_eq!(sum.covered(), 55);
        assert_eq!(sum.get(MachineState::Setup), 8);
    }

    #[test]
    fn the_largest_state_leaves_out_what_is_asked_and_breaks_ties_by_precedence() {
        let mut time = StateTimes::default();
        assert_eq!(time.largest(&[]), None);
        time.add(MachineState::Running, 100);
        time.add(MachineState::Idle, 30);
        time.add(MachineState::Alarm, 30);
        assert_eq!(time.largest(&[]), Some((MachineState::Running, 100)));
        assert_eq!(
            time.largest(&[MachineState::Running]),
            Some((MachineState::Alarm, 30))
        );
        assert_eq!(
            time.largest(&[
                MachineState::Running,
                MachineState::Alarm,
                MachineState::Idle
            ]),
            None
        );
    }
}
