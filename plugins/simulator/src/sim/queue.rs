//! The discrete-event queue: future wake-ups of the machine's processes, earliest first.

/// A scheduled wake-up. Ties in time go in scheduling order (`seq`), so the simulation never
/// depends on how the queue happens to break them.
#[derive(Debug)]
struct Entry<W> {
    at: i64,
    seq: u64,
    wake: W,
}

/// Wake-ups of type `W` ordered by simulated time (nanoseconds since the simulation started).
///
/// Only a handful of wake-ups are ever pending (about one per process), so a vector kept sorted
/// latest-first, whose earliest entry pops off the end, is cheaper than a binary heap: this queue
/// is on the path of every observation.
#[derive(Debug)]
pub struct Queue<W> {
    entries: Vec<Entry<W>>,
    seq: u64,
}

impl<W> Queue<W> {
    pub fn new() -> Self {
        Queue {
            entries: Vec::with_capacity(8),
            seq: 0,
        }
    }

    /// Schedules `wake` at `at`.
    pub fn push(&mut self, at: i64, wake: W) {
        self.seq += 1;
        let key = (at, self.seq);
        let index = self
            .entries
            .partition_point(|entry| (entry.at, entry.seq) > key);
        self.entries.insert(
            index,
            Entry {
                at,
                seq: self.seq,
                wake,
            },
        );
    }

    /// The earliest wake-up, if it is due at or before `until`.
    pub fn pop_due(&mut self, until: i64) -> Option<(i64, W)> {
        if self.entries.last()?.at > until {
            return None;
        }
        self.entries.pop().map(|entry| (entry.at, entry.wake))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_time_order_then_scheduling_order() {
        let mut queue = Queue::new();
        queue.push(20, 'c');
        queue.push(10, 'a');
        queue.push(10, 'b');
        queue.push(30, 'd');
        let mut order = Vec::new();
        while let Some((_, wake)) = queue.pop_due(25) {
            order.push(wake);
        }
        assert_eq!(order, ['a', 'b', 'c']);
        assert_eq!(queue.pop_due(30), Some((30, 'd')));
    }
}
