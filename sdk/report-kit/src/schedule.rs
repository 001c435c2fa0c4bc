//! Which time counts, and under which shift: the request's shift periods grouped by shift name,
//! and the scheduled (planned) time, their union, that reports measure machines against.
//!
//! Without a shift schedule the whole period is scheduled, as one pseudo-shift "All day".
//!
//! ```
//! use chatter_report_kit::schedule::{ALL_DAY, Schedule};
//! use chatter_sdk::TimeRange;
//!
//! let day = TimeRange { start: 0, end: 86_400_000_000_000 };
//! let schedule = Schedule::new(day, &[], None);
//! assert_eq!(schedule.shifts[0].name, ALL_DAY);
//! assert_eq!(schedule.scheduled_length(), day.end);
//! ```

use chatter_sdk::{ReportRequest, ShiftPeriod, TimeRange};

/// The name of the pseudo-shift covering the whole period when there is no shift schedule.
pub const ALL_DAY: &str = "All day";

/// One shift of the schedule and every occurrence of it in the period.
#[derive(Debug, Clone)]
pub struct Shift {
    /// The shift's name, e.g. `Second`.
    pub name: String,
    /// Its occurrences in the period, in order.
    pub ranges: Vec<TimeRange>,
    /// Whether this is the pseudo-shift [`ALL_DAY`], not a shift of the schedule.
    pub pseudo: bool,
}

impl Shift {
    /// Whether `at` falls in one of the shift's occurrences.
    pub fn contains(&self, at: i64) -> bool {
        self.ranges.iter().any(|r| r.start <= at && at < r.end)
    }

    /// Total length of its occurrences.
    pub fn length(&self) -> i64 {
        self.ranges.iter().map(|r| r.end - r.start).sum()
    }

    /// The shift as a sentence names it: "Second shift", "Night shift"; `None` for the
    /// pseudo-shift, which is the whole period.
    pub fn label(&self) -> Option<String> {
        if self.pseudo {
            None
        } else if self.name.to_lowercase().ends_with("shift") {
            Some(self.name.clone())
        } else {
            Some(format!("{} shift", self.name))
        }
    }

    /// " on Second shift", to end a phrase; nothing for the pseudo-shift.
    pub fn on_phrase(&self) -> String {
        self.label()
            .map_or_else(String::new, |label| format!(" on {label}"))
    }
}

/// The shifts of a period and its scheduled time.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The shifts, in the order of their first start on the period's first day.
    pub shifts: Vec<Shift>,
    /// The union of all shifts' occurrences: sorted, disjoint, not touching. Overlapping shifts
    /// are counted once here, so overall figures never count an hour twice.
    pub scheduled: Vec<TimeRange>,
}

impl Schedule {
    /// The schedule of a request: its `shifts`, or the pseudo-shift [`ALL_DAY`] over its period
    /// when there are none.
    pub fn for_request(request: &ReportRequest) -> Self {
        let first_day = request.days.first().map(|d| d.date.as_str());
        Schedule::new(request.period, &request.shifts, first_day)
    }

    /// The schedule of `periods`, or the pseudo-shift [`ALL_DAY`] over `period` when there are
    /// none. `first_day` (`YYYY-MM-DD`) orders the shifts: a night shift that began the day
    /// before the period and was clipped to it does not come first.
    pub fn new(period: TimeRange, periods: &[ShiftPeriod], first_day: Option<&str>) -> Self {
        let shifts = if periods.is_empty() {
            vec![Shift {
                name: ALL_DAY.to_owned(),
                ranges: vec![period],
                pseudo: true,
            }]
        } else {
            group(periods, first_day)
        };
        let scheduled = union(shifts.iter().flat_map(|s| s.ranges.iter().copied()));
        Schedule { shifts, scheduled }
    }

    /// The ranges to ask `totals-over` for, in one call: each shift's occurrences in the order
    /// of [`Schedule::shifts`], then the [`Schedule::scheduled`] ranges. [`Schedule::split`]
    /// takes the answer apart again.
    pub fn query_ranges(&self) -> Vec<TimeRange> {
        self.shifts
            .iter()
            .flat_map(|s| s.ranges.iter().copied())
            .chain(self.scheduled.iter().copied())
            .collect()
    }

    /// The answer for one machine to [`Schedule::query_ranges`], split into one slice per
    /// shift and one for the scheduled time; `None` when it has the wrong length.
    pub fn split<'a, T>(&self, answer: &'a [T]) -> Option<(Vec<&'a [T]>, &'a [T])> {
        let expected: usize =
            self.shifts.iter().map(|s| s.ranges.len()).sum::<usize>() + self.scheduled.len();
        if answer.len() != expected {
            return None;
        }
        let mut rest = answer;
        let mut per_shift = Vec::with_capacity(self.shifts.len());
        for shift in &self.shifts {
            let (this, after) = rest.split_at(shift.ranges.len());
            per_shift.push(this);
            rest = after;
        }
        Some((per_shift, rest))
    }

    /// Total scheduled time.
    pub fn scheduled_length(&self) -> i64 {
        self.scheduled.iter().map(|r| r.end - r.start).sum()
    }

    /// Whether `at` falls in the scheduled time.
    pub fn is_scheduled(&self, at: i64) -> bool {
        // Sorted and disjoint: the last range starting at or before `at` is the only candidate.
        let after = self.scheduled.partition_point(|r| r.start <= at);
        after > 0 && at < self.scheduled[after - 1].end
    }

    /// The index in [`Schedule::shifts`] of the first shift whose occurrences contain `at`.
    pub fn shift_at(&self, at: i64) -> Option<usize> {
        self.shifts.iter().position(|s| s.contains(at))
    }

    /// Whether the shifts are the pseudo-shift only.
    pub fn is_pseudo(&self) -> bool {
        self.shifts.iter().all(|s| s.pseudo)
    }
}

/// Shift periods grouped by name.
fn group(periods: &[ShiftPeriod], first_day: Option<&str>) -> Vec<Shift> {
    let mut shifts: Vec<(usize, Shift)> = Vec::new();
    for (i, period) in periods.iter().enumerate() {
        // Periods that began before the first day (clipped night shifts) sort after the rest.
        let order = match first_day {
            Some(day) if period.date.as_str() < day => periods.len() + i,
            _ => i,
        };
        match shifts.iter_mut().find(|(_, s)| s.name == period.shift) {
            Some((first, shift)) => {
                *first = (*first).min(order);
                shift.ranges.push(period.range);
            }
            None => shifts.push((
                order,
                Shift {
                    name: period.shift.clone(),
                    ranges: vec![period.range],
                    pseudo: false,
                },
            )),
        }
    }
    shifts.sort_by_key(|(order, _)| *order);
    shifts.into_iter().map(|(_, shift)| shift).collect()
}

/// The union of `ranges`: sorted, disjoint, touching ranges joined, empty ones dropped.
pub fn union(ranges: impl IntoIterator<Item = TimeRange>) -> Vec<TimeRange> {
    let mut ranges: Vec<TimeRange> = ranges.into_iter().filter(|r| r.end > r.start).collect();
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut merged: Vec<TimeRange> = Vec::with_capacity(ranges.len());
    for range in ranges {
        match merged.last_mut() {
            Some(last) if range.start <= last.end => last.end = last.end.max(range.end),
            _ => merged.push(range),
        }
    }
    merged
}

/// Nanoseconds of `[start, end)` within `ranges`.
pub fn overlap(start: i64, end: i64, ranges: &[TimeRange]) -> i64 {
    ranges
        .iter()
        .map(|r| (end.min(r.end) - start.max(r.start)).max(0))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: i64 = 3_600_000_000_000;

    fn range(start: i64, end: i64) -> TimeRange {
        TimeRange { start, end }
    }

    /// `ranges` as pairs, which compare (the bindings' `TimeRange` does not).
    fn pairs(ranges: &[TimeRange]) -> Vec<(i64, i64)> {
        ranges.iter().map(|r| (r.start, r.end)).collect()
    }

    fn period(shift: &str, date: &str, start: i64, end: i64) -> ShiftPeriod {
        ShiftPeriod {
            shift: shift.to_owned(),
            date: date.to_owned(),
            range: range(start * HOUR, end * HOUR),
        }
    }

    #[test]
    fn without_shifts_the_whole_period_is_one_pseudo_shift() {
        let schedule = Schedule::new(range(0, 24 * HOUR), &[], Some("2025-03-03"));
        assert_eq!(schedule.shifts.len(), 1);
        assert_eq!(schedule.shifts[0].name, ALL_DAY);
        assert!(schedule.is_pseudo());
        assert_eq!(schedule.shifts[0].on_phrase(), "");
        assert_eq!(schedule.shifts[0].label(), None);
        assert_eq!(pairs(&schedule.scheduled), [(0, 24 * HOUR)]);
        assert_eq!(schedule.query_ranges().len(), 2);
    }

    #[test]
    fn periods_are_grouped_by_shift_and_ordered_by_the_first_day() {
        // Two days; the night shift of the day before reaches into the period.
        let periods = [
            period("Night", "2025-03-02", 0, 6),
            period("First", "2025-03-03", 6, 14),
            period("Second", "2025-03-03", 14, 22),
            period("Night", "2025-03-03", 22, 30),
            period("First", "2025-03-04", 30, 38),
        ];
        let schedule = Schedule::new(range(0, 48 * HOUR), &periods, Some("2025-03-03"));
        let names: Vec<_> = schedule.shifts.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["First", "Second", "Night"]);
        assert_eq!(
            pairs(&schedule.shifts[2].ranges),
            [(0, 6 * HOUR), (22 * HOUR, 30 * HOUR)]
        );
        assert_eq!(schedule.shifts[0].length(), 16 * HOUR);
        assert!(schedule.shifts[0].contains(6 * HOUR));
        assert!(!schedule.shifts[0].contains(14 * HOUR));
        assert_eq!(pairs(&schedule.scheduled), [(0, 38 * HOUR)]);
        assert_eq!(schedule.shifts[1].on_phrase(), " on Second shift");
        assert_eq!(schedule.shift_at(14 * HOUR), Some(1));
        assert_eq!(schedule.shift_at(40 * HOUR), None);
    }

    #[test]
    fn overlapping_shifts_are_scheduled_once() {
        let periods = [
            period("Early", "d", 6, 14),
            period("Late shift", "d", 12, 20),
        ];
        let schedule = Schedule::new(range(0, 24 * HOUR), &periods, None);
        assert_eq!(pairs(&schedule.scheduled), [(6 * HOUR, 20 * HOUR)]);
        assert_eq!(schedule.scheduled_length(), 14 * HOUR);
        assert_eq!(schedule.shifts[1].on_phrase(), " on Late shift");
        // In both: the first shift of the schedule has it.
        assert_eq!(schedule.shift_at(13 * HOUR), Some(0));
    }

    #[test]
    fn scheduled_time_is_half_open() {
        let periods = [period("A", "d", 6, 14), period("B", "d", 16, 20)];
        let schedule = Schedule::new(range(0, 24 * HOUR), &periods, None);
        assert!(!schedule.is_scheduled(6 * HOUR - 1));
        assert!(schedule.is_scheduled(6 * HOUR));
        assert!(!schedule.is_scheduled(14 * HOUR));
        assert!(schedule.is_scheduled(19 * HOUR));
        assert!(!schedule.is_scheduled(20 * HOUR));
    }

    #[test]
    fn an_answer_splits_per_shift_and_scheduled() {
        let periods = [
            period("A", "d", 0, 8),
            period("B", "d", 8, 16),
            period("A", "e", 24, 32),
        ];
        let schedule = Schedule::new(range(0, 48 * HOUR), &periods, None);
        let ranges = schedule.query_ranges();
        // A twice, B once, then the union: 0–16 and 24–32.
        assert_eq!(ranges.len(), 5);
        let answer = [1, 2, 3, 4, 5];
        let (per_shift, scheduled) = schedule.split(&answer).unwrap();
        assert_eq!(per_shift, vec![&[1, 2][..], &[3][..]]);
        assert_eq!(scheduled, &[4, 5]);
        assert!(schedule.split(&answer[..4]).is_none());
    }

    #[test]
    fn overlap_counts_the_time_inside_ranges() {
        let ranges = [range(0, 10), range(20, 30)];
        assert_eq!(overlap(5, 25, &ranges), 10);
        assert_eq!(overlap(10, 20, &ranges), 0);
        assert_eq!(
            pairs(&union([range(5, 5), range(3, 4), range(0, 3)])),
            [(0, 4)]
        );
    }
}
