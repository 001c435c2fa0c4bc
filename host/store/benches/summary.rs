//! The organization summary: time per state, parts, cycles and alarms of 100 machines over a
//! month, from the hourly and daily roll-ups, against summing the stored intervals themselves
//! (the baseline, measured in the same run on the same data). Then the store is grown to three
//! months to show how both grow with the data held and the range asked.
//!
//! The data is a realistic shop (`chatter_testkit::sample`): each machine changes state every
//! 30 s to 20 min, with cycles, parts and alarms.
//!
//! `cargo bench -p chatter-store --bench summary`

#![allow(clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use chatter_model::{Machine, OrgId, Organization, Totals};
use chatter_store::{DerivedRecords, SledStore, Store};
use chatter_testkit::sample::{Random, edge_machine, machine_day};

const MACHINES: usize = 100;
const MINUTE: i64 = 60_000_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
/// 2026-11-29T00:00:00Z, the end of the data.
const END: i64 = 20_421 * DAY;
const RUNS: usize = 9;

fn machine(org: &OrgId, n: usize) -> Machine {
    edge_machine(org, &format!("m{n:03}"), &format!("Machine {n}"))
}

/// Days of data the benchmark ends up holding, ending at `END`.
const TOTAL_DAYS: i64 = 90;

/// Stores days `from_day..until_day` (of `TOTAL_DAYS`) of every machine.
async fn fill(store: &SledStore, org: &OrgId, from_day: i64, until_day: i64) -> usize {
    let mut intervals = 0;
    for n in 0..MACHINES {
        let id = machine(org, n).id;
        let mut random = Random::new(n as u64 * 7_919 + from_day as u64);
        let mut counter = from_day as u64 * 1_000;
        for d in from_day..until_day {
            let records = machine_day(&mut random, END - (TOTAL_DAYS - d) * DAY, &mut counter);
            intervals += records.intervals.len();
            let derived = DerivedRecords {
                intervals: &records.intervals,
                parts: &records.parts,
                cycles: &records.cycles,
                alarms: &records.alarms,
                snapshot: b"{}",
            };
            let t = Instant::now();
            store.put_derived(org, &id, derived).await.unwrap();
            if std::env::var_os("SUMMARY_TRACE").is_some() {
                eprintln!(
                    "machine {n} day {d}: {} intervals in {:?}",
                    records.intervals.len(),
                    t.elapsed()
                );
            }
        }
    }
    intervals
}

/// Every machine's totals over `[from, to)` from the roll-ups.
async fn summary(store: &SledStore, org: &OrgId, from: i64, to: i64) -> Totals {
    let mut all = Totals::default();
    for n in 0..MACHINES {
        all.merge(
            &store
                .totals(org, &machine(org, n).id, from, to)
                .await
                .unwrap(),
        );
    }
    all
}

/// The same from the intervals, cycles, parts and alarms themselves.
async fn summary_by_scanning(store: &SledStore, org: &OrgId, from: i64, to: i64) -> Totals {
    let mut all = Totals::default();
    for n in 0..MACHINES {
        let id = machine(org, n).id;
        for interval in store.intervals(org, &id, from, to).await.unwrap() {
            let overlap = interval.end.min(to) - interval.start.max(from);
            all.add_time(interval.status, overlap);
        }
        for part in store.parts(org, &id, from, to, usize::MAX).await.unwrap() {
            all.parts += part.parts;
        }
        for cycle in store.cycles(org, &id, from, to, usize::MAX).await.unwrap() {
            all.cycles += 1;
            all.cycle_time += cycle.duration();
        }
        all.alarms += store
            .alarms(org, &id, from, to, usize::MAX)
            .await
            .unwrap()
            .len() as u64;
    }
    all
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

async fn time<F: std::future::Future<Output = Totals>>(
    mut run: impl FnMut() -> F,
) -> (Duration, Totals) {
    let mut samples = Vec::new();
    let mut result = Totals::default();
    for _ in 0..RUNS {
        let started = Instant::now();
        result = run().await;
        samples.push(started.elapsed());
    }
    (median(samples), result)
}

async fn compare(store: &SledStore, org: &OrgId, label: &str, from: i64, to: i64) {
    let (fast, rolled) = time(|| summary(store, org, from, to)).await;
    let (slow, scanned) = time(|| summary_by_scanning(store, org, from, to)).await;
    assert_eq!(rolled, scanned, "the roll-ups must agree with the records");
    println!(
        "{label:<44} roll-ups {:>9.2} ms   scanning {:>9.2} ms   {:>6.1}x faster",
        fast.as_secs_f64() * 1e3,
        slow.as_secs_f64() * 1e3,
        slow.as_secs_f64() / fast.as_secs_f64()
    );
}

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("summary-bench")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SledStore::open(dir.path()).unwrap();
        let org = OrgId::new("shop").unwrap();
        store
            .put_organization(&Organization::new(org.clone(), "Shop"))
            .await
            .unwrap();
        for n in 0..MACHINES {
            store.put_machine(&machine(&org, n)).await.unwrap();
        }
        let started = Instant::now();
        let stored = fill(&store, &org, 60, 90).await;
        println!(
            "stored 30 days x {MACHINES} machines: {stored} intervals in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        // A shop in Chicago: its days start at 06:00 UTC; and a range starting mid-hour.
        let chicago = END - 30 * DAY + 6 * HOUR;
        compare(
            &store,
            &org,
            "30 days, Chicago days (30 days stored)",
            chicago - DAY,
            END - DAY + 6 * HOUR,
        )
        .await;
        compare(
            &store,
            &org,
            "30 days, ragged ends (30 days stored)",
            END - 30 * DAY + 17 * MINUTE + 3,
            END - 41 * MINUTE,
        )
        .await;
        compare(&store, &org, "1 day (30 days stored)", END - DAY, END).await;

        let started = Instant::now();
        let more = fill(&store, &org, 0, 60).await;
        println!(
            "stored 60 more days: {more} intervals in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        compare(
            &store,
            &org,
            "30 days, ragged ends (90 days stored)",
            END - 30 * DAY + 17 * MINUTE + 3,
            END - 41 * MINUTE,
        )
        .await;
        compare(
            &store,
            &org,
            "90 days, ragged ends (90 days stored)",
            END - 90 * DAY + 17 * MINUTE + 3,
            END - 41 * MINUTE,
        )
        .await;
    });
}
