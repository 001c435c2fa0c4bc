//! Time per state over a span, from the timeline.

use chatter_model::{Interval, MachineStatus, Timestamp, Totals};

/// Time per state over `[from, to)`, from closed `intervals` plus the `open` status (and since
/// when), which lasts until `now`.
///
/// Only the time fields of [`Totals`] are filled. Time after `now` has not happened and is not
/// counted (the span is `[from, min(to, now))`); time in the span that no interval covers counts
/// as offline: there was no data. Intervals may come in any order but must not overlap, as the
/// deriver's never do.
pub fn totals_in(
    intervals: &[Interval],
    open: Option<(MachineStatus, Timestamp)>,
    from: Timestamp,
    to: Timestamp,
    now: Timestamp,
) -> Totals {
    let to = to.min(now);
    let mut totals = Totals::default();
    if to <= from {
        return totals;
    }
    let open = open.map(|(status, since)| Interval {
        status,
        start: since,
        end: now,
    });
    let mut covered = 0;
    for interval in intervals.iter().chain(open.as_ref()) {
        let overlap = interval.end.min(to) - interval.start.max(from);
        if overlap > 0 {
            totals.add_time(interval.status, overlap);
            covered += overlap;
        }
    }
    totals.add_time(MachineStatus::Offline, (to - from - covered).max(0));
    totals
}

#[cfg(test)]
mod tests {
    use super::*;
    use MachineStatus::{Idle, Offline, Running};

    fn interval(status: MachineStatus, start: i64, end: i64) -> Interval {
        Interval { status, start, end }
    }

    #[test]
    fn clips_to_the_span_and_counts_gaps_as_offline() {
        let intervals = [interval(Idle, 0, 10), interval(Running, 20, 40)];
        let totals = totals_in(&intervals, Some((Idle, 40)), 5, 100, 50);
        assert_eq!(totals.idle, 5 + 10);
        assert_eq!(totals.running, 20);
        assert_eq!(totals.offline, 10, "the gap 10..20; nothing after now");
        assert_eq!(totals.covered(), 45);
    }

    #[test]
    fn empty_and_inverted_spans_are_zero() {
        assert_eq!(totals_in(&[], None, 10, 10, 20), Totals::default());
        assert_eq!(totals_in(&[], None, 10, 5, 20), Totals::default());
        let all_offline = totals_in(&[], None, 0, 10, 20);
        assert_eq!(all_offline.time(Offline), 10);
    }
}
