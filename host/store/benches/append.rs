//! Appending observations: the cost per observation in batches of 1,000, and 32 concurrent writers
//! with group commit against the same writes each running its own flush.
//!
//! Every append is durable before it returns, so these numbers include the fsyncs. The stores live
//! under cargo's target directory, on a real disk rather than a memory-backed temporary file.

use std::cell::Cell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::{Machine, MachineId, Observation, OrgId, Organization, PluginId, Value};
use chatter_store::{CommitMode, SledStore, Store};
use criterion::{Criterion, Throughput};
use tempfile::TempDir;

const BATCH: usize = 1_000;
const WRITERS: usize = 32;
const WRITER_BATCH: usize = 10;

/// Total time and iterations measured by criterion, to compare benchmarks of the same run.
#[derive(Default)]
struct Tally(Cell<(Duration, u64)>);

impl Tally {
    fn add(&self, elapsed: Duration, iterations: u64) {
        let (total, count) = self.0.get();
        self.0.set((total + elapsed, count + iterations));
    }

    /// Mean time of one iteration.
    fn mean(&self) -> Option<Duration> {
        let (total, count) = self.0.get();
        u32::try_from(count)
            .ok()
            .filter(|&n| n > 0)
            .map(|n| total / n)
    }
}

struct Fixture {
    store: Arc<SledStore>,
    org: OrgId,
    machines: Vec<MachineId>,
    // Dropped after the store, which must close before its directory goes.
    _dir: TempDir,
}

fn fixture(runtime: &tokio::runtime::Runtime, mode: CommitMode, machines: usize) -> Fixture {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory");
    let store = Arc::new(SledStore::open_with(dir.path(), mode).expect("a store"));
    let org = OrgId::new("bench").expect("a valid org id");
    let machines: Vec<_> = (0..machines)
        .map(|i| MachineId::new(format!("m{i}")).expect("a valid id"))
        .collect();
    runtime.block_on(async {
        let organization = Organization {
            id: org.clone(),
            name: "Bench".into(),
        };
        store
            .put_organization(&organization)
            .await
            .expect("an organization");
        for id in &machines {
            store
                .put_machine(&machine(&org, id))
                .await
                .expect("a machine");
        }
    });
    Fixture {
        store,
        org,
        machines,
        _dir: dir,
    }
}

fn machine(org: &OrgId, id: &MachineId) -> Machine {
    Machine {
        org: org.clone(),
        id: id.clone(),
        name: id.to_string(),
        driver: PluginId::new("simulator").expect("a valid plugin id"),
        config: Default::default(),
        endpoints: Vec::new(),
        poll_interval_ms: 1000,
    }
}

/// A realistic mix: spindle load samples, an execution event, a position sample.
fn observations(n: usize) -> Vec<Observation> {
    (0..n)
        .map(|i| {
            let timestamp = 1_700_000_000_000_000_000 + i as i64 * 1_000_000;
            let (data_item, value) = match i % 3 {
                0 => ("spindle_load", Value::Sample(i as f64 * 0.01)),
                1 => ("execution", Value::Event("ACTIVE".into())),
                _ => ("x_position", Value::Sample(-120.5 + i as f64)),
            };
            Observation {
                data_item: data_item.into(),
                timestamp,
                value,
            }
        })
        .collect()
}

fn append_batches(c: &mut Criterion, runtime: &tokio::runtime::Runtime) -> Tally {
    let fixture = fixture(runtime, CommitMode::Group, 1);
    let batch = observations(BATCH);
    let tally = Tally::default();
    let mut group = c.benchmark_group("append");
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("batch_of_1000", |b| {
        b.iter_custom(|iterations| {
            let started = Instant::now();
            for _ in 0..iterations {
                let appended =
                    fixture
                        .store
                        .append_observations(&fixture.org, &fixture.machines[0], &batch);
                runtime.block_on(appended).expect("an append");
            }
            let elapsed = started.elapsed();
            tally.add(elapsed, iterations);
            elapsed
        });
    });
    group.finish();
    tally
}

/// One round: every writer appends one batch to its own machine, all at once.
async fn concurrent_round(fixture: &Fixture, batch: &Arc<Vec<Observation>>) {
    let writers: Vec<_> = fixture
        .machines
        .iter()
        .map(|machine| {
            let (store, org, machine) = (
                Arc::clone(&fixture.store),
                fixture.org.clone(),
                machine.clone(),
            );
            let batch = Arc::clone(batch);
            tokio::spawn(async move { store.append_observations(&org, &machine, &batch).await })
        })
        .collect();
    for writer in writers {
        writer.await.expect("a writer task").expect("an append");
    }
}

fn concurrent_writers(c: &mut Criterion, runtime: &tokio::runtime::Runtime) -> [Tally; 2] {
    let batch = Arc::new(observations(WRITER_BATCH));
    let tallies = [Tally::default(), Tally::default()];
    let modes = [
        (CommitMode::Group, "group_commit"),
        (CommitMode::FlushEachWrite, "flush_each_write"),
    ];
    let mut group = c.benchmark_group("32_writers_x_10_observations");
    group.throughput(Throughput::Elements((WRITERS * WRITER_BATCH) as u64));
    for ((mode, name), tally) in modes.into_iter().zip(&tallies) {
        let fixture = fixture(runtime, mode, WRITERS);
        group.bench_function(name, |b| {
            b.iter_custom(|iterations| {
                let started = Instant::now();
                for _ in 0..iterations {
                    runtime.block_on(concurrent_round(&fixture, &batch));
                }
                let elapsed = started.elapsed();
                tally.add(elapsed, iterations);
                elapsed
            });
        });
    }
    group.finish();
    tallies
}

fn summary(batches: &Tally, [group, flush_each]: &[Tally; 2]) {
    let (Some(batch), Some(group), Some(flush_each)) =
        (batches.mean(), group.mean(), flush_each.mean())
    else {
        return;
    };
    let per_observation = batch / BATCH as u32;
    let appends = (WRITERS as f64) / group.as_secs_f64();
    let appends_flushing = (WRITERS as f64) / flush_each.as_secs_f64();
    println!();
    println!("summary (means over criterion's warm-up and measurement):");
    println!("  batch of {BATCH}: {batch:.2?} per batch, {per_observation:.2?} per observation");
    println!(
        "  {WRITERS} writers x {WRITER_BATCH}: group commit {group:.2?} per round ({appends:.0} appends/s), \
         flush each write {flush_each:.2?} per round ({appends_flushing:.0} appends/s)"
    );
    println!(
        "  group commit is {:.1}x the throughput of one flush per write",
        flush_each.as_secs_f64() / group.as_secs_f64()
    );
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .configure_from_args();
    let batches = append_batches(&mut criterion, &runtime);
    let concurrent = concurrent_writers(&mut criterion, &runtime);
    criterion.final_summary();
    summary(&batches, &concurrent);
}
