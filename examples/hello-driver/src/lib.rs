//! The smallest Chatter driver: a machine whose part counter goes up by one every poll.

use chatter_sdk::{DataItem, Driver, Error, Machine, Observation, now};

struct Counter {
    parts: u64,
}

impl Driver for Counter {
    fn open(_machine: &Machine) -> Result<Self, Error> {
        Ok(Counter { parts: 0 })
    }

    fn data_items(&self) -> Vec<DataItem> {
        vec![DataItem::event("part-count", "PART_COUNT")]
    }

    fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        self.parts += 1;
        Ok(vec![Observation::event(
            "part-count",
            now(),
            self.parts.to_string(),
        )])
    }
}

chatter_sdk::export_driver!(Counter);
