//! Per-machine write locks.
//!
//! Appends to one machine must take sequence numbers one after another, and removing a machine
//! must not interleave with an append that would leave orphaned observations behind. A fixed set
//! of striped mutexes gives that without a map that grows with every machine ever seen; two
//! machines sharing a stripe only wait for each other's in-memory write, never for a flush.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::sync::{Mutex, MutexGuard, PoisonError};

use chatter_model::{MachineId, OrgId};

const STRIPES: usize = 64;

/// Striped mutexes keyed by (organization, machine).
pub(crate) struct MachineLocks {
    stripes: Vec<Mutex<()>>,
}

impl MachineLocks {
    pub(crate) fn new() -> Self {
        MachineLocks {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
        }
    }

    /// Locks the machine's stripe. The guard is not `Send`, so it cannot be held across an await.
    pub(crate) fn lock(&self, org: &OrgId, machine: &MachineId) -> MutexGuard<'_, ()> {
        let mut hasher = DefaultHasher::new();
        (org, machine).hash(&mut hasher);
        // The remainder is below STRIPES, so it fits in usize and indexes a stripe.
        let stripe = (hasher.finish() % STRIPES as u64) as usize;
        // The mutex guards no data, so a panic while it was held left nothing inconsistent.
        self.stripes[stripe]
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
