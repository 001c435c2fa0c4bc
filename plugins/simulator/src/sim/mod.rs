//! The simulation core: a discrete-event simulation of one CNC machine on a simulated clock.
//!
//! Everything here is a pure function of the seed: no host imports, no real clock, no floating
//! point in any decision, so native unit tests see exactly what the WebAssembly driver reports.

mod catalog;
mod clock;
mod machine;
mod queue;
mod rng;
mod values;

pub use clock::Clock;
pub use values::{Change, Cond, Item, Value};

use machine::{Ctx, Machine, Wake};
use queue::Queue;

/// One simulated machine: its processes, their pending wake-ups, and the changes made but not
/// handed out yet.
pub struct Simulation {
    machine: Machine,
    queue: Queue<Wake>,
    /// Oldest first. A `Vec`, not a `VecDeque`: pushing is on every change's path, and what is
    /// left after a batch is at most the few changes of one wake-up (see `advance`).
    ready: Vec<Change>,
    /// Program names, by the index `Value::Program` carries.
    programs: Vec<String>,
}

impl Simulation {
    /// The simulation of the machine `seed` selects, at simulated offset 0, with the initial
    /// value of every data item ready to be handed out.
    pub fn new(seed: u64) -> Self {
        let mut machine = Machine::new(seed);
        let programs = machine.programs().iter().map(|p| p.name.clone()).collect();
        let mut queue = Queue::new();
        let mut ready = Vec::new();
        machine.start(&mut Ctx::new(0, &mut queue, &mut ready));
        Simulation {
            machine,
            queue,
            ready,
            programs,
        }
    }

    /// Runs the simulation up to simulated offset `until` (ns since the simulation started) and
    /// hands out the oldest changes not handed out yet, at most `max` of them; the rest waits
    /// for the next call. Also returns the program names the changes refer to.
    ///
    /// Wake-ups run only until `max` changes are ready, so a simulation started long ago
    /// catches up batch by batch instead of building its whole backlog at once. How the run is
    /// cut into calls never changes what happens.
    pub fn advance(
        &mut self,
        until: i64,
        max: usize,
    ) -> (impl ExactSizeIterator<Item = Change> + '_, &[String]) {
        while self.ready.len() < max {
            let Some((at, wake)) = self.queue.pop_due(until) else {
                break;
            };
            self.machine
                .handle(wake, &mut Ctx::new(at, &mut self.queue, &mut self.ready));
        }
        let count = max.min(self.ready.len());
        (self.ready.drain(..count), &self.programs)
    }
}
