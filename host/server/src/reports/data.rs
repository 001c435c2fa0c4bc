//! The machine data a report run reads: one organization's derived data, through its
//! [`Tenant`], for the machines of the run only.
//!
//! Timelines and totals are the ones the API and pages show (stored intervals, those not
//! stored yet and the state a machine is in now; time without data counts as offline), so a
//! report agrees with the machine page.

use async_trait::async_trait;
use chatter_model::{Interval, MachineId, Timestamp, Totals};
use chatter_runtime::capabilities::machine_data::{
    EventKinds, Events, MachineData, Observations, RunMachine,
};

use crate::api::data::{
    Window, machine_alarms, machine_cycles, machine_timeline, machine_totals, now,
};
use crate::app::AppState;
use crate::auth::Tenant;

/// Most stored observations one `observations` call looks through for matches.
const OBSERVATION_SCAN: usize = 50_000;

/// A run's view of its organization's machine data.
pub(crate) struct TenantMachineData {
    app: AppState,
    tenant: Tenant,
    machines: Vec<RunMachine>,
    zone: jiff::tz::TimeZone,
    zone_name: String,
}

impl TenantMachineData {
    /// The data of `machines` (of the tenant's organization, checked by the caller), with days
    /// in the organization's zone `zone_name`.
    pub(crate) fn new(
        app: AppState,
        tenant: Tenant,
        machines: Vec<RunMachine>,
        zone_name: String,
    ) -> Self {
        TenantMachineData {
            app,
            tenant,
            machines,
            zone: crate::time::zone(&zone_name),
            zone_name,
        }
    }

    fn window(&self, from: Timestamp, to: Timestamp) -> Window {
        Window {
            from,
            to,
            now: now(),
            zone: self.zone.clone(),
            zone_name: self.zone_name.clone(),
        }
    }
}

fn failed(what: &str, machine: &MachineId, error: impl std::fmt::Display) -> String {
    format!("reading the {what} of machine `{machine}` failed: {error}")
}

#[async_trait]
impl MachineData for TenantMachineData {
    fn machines(&self) -> &[RunMachine] {
        &self.machines
    }

    async fn timeline(
        &self,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<(Vec<Interval>, Totals), String> {
        let window = self.window(from, to);
        let timeline = machine_timeline(&self.app, &self.tenant, machine, &window)
            .await
            .map_err(|e| failed("timeline", machine, e))?;
        let intervals = timeline
            .stretches
            .iter()
            .map(|stretch| Interval {
                status: stretch.status,
                start: stretch.start,
                end: stretch.end,
            })
            .collect();
        Ok((intervals, timeline.totals))
    }

    async fn totals(
        &self,
        machine: &MachineId,
        ranges: &[(Timestamp, Timestamp)],
    ) -> Result<Vec<Totals>, String> {
        let current = self
            .app
            .ingest
            .current(self.tenant.org(), machine)
            .await
            .map_err(|e| failed("current state", machine, e))?;
        let now = now();
        let mut all = Vec::with_capacity(ranges.len());
        for &(from, to) in ranges {
            let end = to.min(now);
            let totals = machine_totals(&self.tenant, machine, &current, from, end)
                .await
                .map_err(|e| failed("totals", machine, e))?;
            all.push(totals);
        }
        Ok(all)
    }

    async fn events(
        &self,
        machine: &MachineId,
        (from, to): (Timestamp, Timestamp),
        kinds: EventKinds,
        limit: usize,
    ) -> Result<Events, String> {
        // With what the machine has not stored yet: the cycle that just ended, active alarms.
        let current = self
            .app
            .ingest
            .current(self.tenant.org(), machine)
            .await
            .map_err(|e| failed("current state", machine, e))?;
        let window = self.window(from, to);
        let mut events = Events::default();
        if kinds.cycles {
            events.cycles = machine_cycles(&self.tenant, machine, &current, &window, limit)
                .await
                .map_err(|e| failed("cycles", machine, e))?;
        }
        if kinds.parts {
            events.parts = (self.tenant.store().parts(machine, from, to, limit).await)
                .map_err(|e| failed("part counts", machine, e))?;
        }
        if kinds.alarms {
            events.alarms = machine_alarms(&self.tenant, machine, &current, &window, limit)
                .await
                .map_err(|e| failed("alarms", machine, e))?;
        }
        Ok(events)
    }

    async fn observations(
        &self,
        machine: &MachineId,
        items: &[String],
        from: Timestamp,
        to: Timestamp,
        after: u64,
        limit: usize,
    ) -> Result<Observations, String> {
        let store = self.tenant.store();
        let mut page = Observations::default();
        let mut cursor = after;
        let mut scanned = 0;
        while scanned < OBSERVATION_SCAN {
            let batch = store
                .observations(machine, cursor, limit.min(OBSERVATION_SCAN - scanned))
                .await
                .map_err(|e| failed("observations", machine, e))?;
            let Some(last) = batch.last() else {
                return Ok(page);
            };
            cursor = last.sequence;
            scanned += batch.len();
            for stored in batch {
                let observation = &stored.observation;
                let in_range = (from..to).contains(&observation.timestamp);
                let wanted = items.is_empty() || items.contains(&observation.data_item);
                if in_range && wanted {
                    page.observations.push(stored);
                    if page.observations.len() == limit {
                        page.next = Some(cursor_of(&page));
                        return Ok(page);
                    }
                }
            }
        }
        page.next = Some(cursor);
        Ok(page)
    }
}

fn cursor_of(page: &Observations) -> u64 {
    page.observations.last().map_or(0, |stored| stored.sequence)
}
