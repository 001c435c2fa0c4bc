//! The retention task: deletes, per organization, raw observations and derived data older than
//! its retention periods. It works a bounded number of records at a time and yields between
//! steps, so ingest never waits on it for long.

use std::sync::Arc;
use std::time::Duration;

use chatter_model::{MachineId, OrgId, Organization, Timestamp};
use chatter_store::{Expired, Expiry, Store, StoreError};

/// Records one step deletes at most.
const STEP_BUDGET: usize = 1_000;

/// Nanoseconds in a day.
const DAY: i64 = 86_400 * 1_000_000_000;

/// Runs a retention pass every `interval`, the first one interval after start (a server
/// restarted in a loop does not scan everything each time), until the task is dropped.
pub async fn run(store: Arc<dyn Store>, interval: Duration) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let now = chatter_model::now_ms().saturating_mul(1_000_000);
        match pass(store.as_ref(), now).await {
            Ok(expired) if expired.observations + expired.derived > 0 => tracing::info!(
                observations = expired.observations,
                derived = expired.derived,
                "retention removed old data"
            ),
            Ok(_) => {}
            Err(error) => tracing::error!(%error, "retention pass failed; retrying next time"),
        }
    }
}

/// One pass over every organization's machines, as of `now`; returns what it removed.
pub async fn pass(store: &dyn Store, now: Timestamp) -> Result<Expired, StoreError> {
    let mut total = Expired::default();
    for org in store.organizations().await? {
        let (raw_before, derived_before) = cutoffs(&org, now);
        if raw_before.is_none() && derived_before.is_none() {
            continue;
        }
        for machine in store.machines(&org.id).await? {
            let expiry = Expiry {
                raw_before,
                raw_through: None,
                derived_before,
            };
            let expired = expire_machine(store, &org.id, &machine.id, expiry).await?;
            total.observations += expired.observations;
            total.derived += expired.derived;
        }
    }
    Ok(total)
}

/// When the organization's raw and derived data start to be kept, as of `now`.
fn cutoffs(org: &Organization, now: Timestamp) -> (Option<Timestamp>, Option<Timestamp>) {
    let before = |days: Option<u32>| days.map(|d| now.saturating_sub(i64::from(d) * DAY));
    (
        before(org.retention.raw_days),
        before(org.retention.derived_days),
    )
}

/// Removes what `expiry` says of one machine's data, a step at a time.
pub async fn expire_machine(
    store: &dyn Store,
    org: &OrgId,
    machine: &MachineId,
    expiry: Expiry,
) -> Result<Expired, StoreError> {
    let mut total = Expired::default();
    loop {
        let step = store.expire(org, machine, expiry, STEP_BUDGET).await?;
        total.observations += step.observations;
        total.derived += step.derived;
        if !step.more {
            return Ok(total);
        }
        // Let the appends waiting for this machine go first.
        tokio::task::yield_now().await;
    }
}
