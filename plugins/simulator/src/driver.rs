//! The driver the host talks to: reads the configuration at `open`, then hands each poll the
//! observations the simulated clock has reached.

use chatter_sdk::{DataItem, Driver, Error, Machine, Observation, config, log, now};

use crate::observations;
use crate::settings::Settings;
use crate::sim::{Clock, Simulation};

/// A running simulator: the simulation, its clock, and how its timestamps are written.
pub struct Simulator {
    simulation: Simulation,
    clock: Clock,
    timestamps: Timestamps,
    max_batch: usize,
}

/// How simulated offsets become observation timestamps.
#[derive(Debug, Clone, Copy)]
enum Timestamps {
    /// A live shop (no `start` configured): an event is stamped with the real time at which the
    /// clock reaches it, so a fast simulation never reports from the future.
    Live { opened_at: i64, speed: f64 },
    /// A simulated history from `start`: events are stamped with simulated time, so a fast
    /// simulation can fill past days.
    Simulated { start: i64 },
}

impl Timestamps {
    fn of(self, offset: i64) -> i64 {
        match self {
            // Exact to the nanosecond for offsets below 2^53 ns (104 days); monotonic beyond.
            Timestamps::Live { opened_at, speed } => {
                opened_at.saturating_add((offset as f64 / speed) as i64)
            }
            Timestamps::Simulated { start } => start.saturating_add(offset),
        }
    }
}

impl Simulator {
    /// A simulator configured by `settings`, opened at real time `opened_at`.
    pub fn new(settings: &Settings, opened_at: i64) -> Self {
        Simulator {
            simulation: Simulation::new(settings.seed),
            clock: Clock::new(opened_at, settings.speed),
            timestamps: match settings.start {
                Some(start) => Timestamps::Simulated { start },
                None => Timestamps::Live {
                    opened_at,
                    speed: settings.speed,
                },
            },
            max_batch: settings.max_batch,
        }
    }

    /// Every observation not reported yet whose simulated time the clock reaches at real time
    /// `now`, oldest first, at most `max-batch` of them.
    pub fn poll_at(&mut self, now: i64) -> Vec<Observation> {
        let until = self.clock.offset_at(now);
        let (changes, programs) = self.simulation.advance(until, self.max_batch);
        changes
            .map(|change| {
                observations::observation(&change, self.timestamps.of(change.at), programs)
            })
            .collect()
    }
}

impl Driver for Simulator {
    fn open(machine: &Machine) -> Result<Self, Error> {
        let settings = Settings::new(
            config::parse("seed")?,
            config::parse("speed")?,
            config::parse("start")?,
            config::parse("max-batch")?,
        )?;
        log::info(&format!(
            "simulating machine `{}` with seed {} at {}x real time",
            machine.id, settings.seed as i64, settings.speed
        ));
        Ok(Simulator::new(&settings, now()))
    }

    fn data_items(&self) -> Vec<DataItem> {
        observations::data_items()
    }

    fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        Ok(self.poll_at(now()))
    }
}

chatter_sdk::export_driver!(Simulator);
