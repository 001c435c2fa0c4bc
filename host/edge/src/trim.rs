//! Trimming the edge's outbox: observations go from the edge's store once central has them and
//! they are older than the edge's `[retention] raw-days`, never before. (The server's own
//! retention task, which counts only age, is kept off raw data on an edge.)

use std::sync::Arc;
use std::time::Duration;

use chatter_model::{MachineId, OrgId};
use chatter_store::{Expiry, Store};
use tokio::sync::watch;

use crate::forwarder::StatusHandle;

/// Nanoseconds in a day.
const DAY: i64 = 86_400 * 1_000_000_000;

/// Every `interval` until `stopped`, removes from each forwarded machine's local store the
/// observations older than `keep_days` that central has acknowledged.
pub async fn run(
    store: Arc<dyn Store>,
    org: OrgId,
    forwarders: Vec<StatusHandle>,
    keep_days: u32,
    interval: Duration,
    mut stopped: watch::Receiver<bool>,
) {
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = stopped.changed() => return,
        }
        let now = chatter_model::now_ms().saturating_mul(1_000_000);
        for forwarder in &forwarders {
            let status = forwarder.snapshot();
            let Some(forwarded) = status.forwarded else {
                continue;
            };
            let Ok(machine) = MachineId::new(status.machine.as_str()) else {
                continue;
            };
            let expiry = Expiry {
                raw_before: Some(now.saturating_sub(i64::from(keep_days) * DAY)),
                raw_through: Some(forwarded),
                derived_before: None,
            };
            let trimmed =
                chatter_server::retention::expire_machine(store.as_ref(), &org, &machine, expiry)
                    .await;
            match trimmed {
                Ok(expired) if expired.observations > 0 => tracing::info!(
                    %machine,
                    observations = expired.observations,
                    "removed forwarded observations past retention"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%machine, %error, "trimming the outbox failed"),
            }
        }
    }
}
