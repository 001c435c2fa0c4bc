//! What a machine's open state adds to its stored records over a span: queries sum the stored
//! totals (the store's roll-ups) and this.

use chatter_model::{Timestamp, Totals};

use crate::Current;

impl Current {
    /// The totals over `[from, to)` of what is derived but not stored yet: the pending interval,
    /// the open status (lasting until `to`), the ended cycle still in its part grace, and the
    /// active alarms raised in the span. Added to the stored totals of the same span, it gives
    /// the machine's totals; time neither covers is time without data (see
    /// [`Totals::fill_uncovered`]).
    pub fn unstored(&self, from: Timestamp, to: Timestamp) -> Totals {
        let mut totals = Totals::default();
        let mut add = |status, start: Timestamp, end: Timestamp| {
            let (start, end) = (start.max(from), end.min(to));
            if start < end {
                totals.add_time(status, end - start);
            }
        };
        if let Some(pending) = self.pending {
            add(pending.status, pending.start, pending.end);
        }
        if let Some(since) = self.since {
            add(self.status, since, to);
        }
        let within = |t: &Timestamp| (from..to).contains(t);
        if let Some(cycle) = self.ended_cycle.as_ref().filter(|c| within(&c.end)) {
            totals.cycles += 1;
            totals.cycle_time += cycle.duration();
        }
        totals.alarms = self.alarms.iter().filter(|a| within(&a.start)).count() as u64;
        totals
    }
}
