//! Appending and reading observations, each against a baseline measured in the same run.
//!
//! - `append`: durable appends of batches of 1,000 and 10,000 observations to one machine, the
//!   way the server ingests a driver's polls; and the same into a temporary store, whose flushes
//!   go to memory-backed files and are never synced: the store's CPU cost alone.
//! - `baseline`: the same bytes the store encodes for those batches, made durable without the
//!   store: appended to a plain file and `fdatasync`ed (the disk's floor for any durable write),
//!   and inserted into sled as one value, flushed and `fdatasync`ed (sled's floor for one write).
//! - `read`: paging through a machine's 100,000 observations from random points, and reading its
//!   latest values.
//! - `8_machines_x_1000_observations`: eight machines appending a batch of 1,000 each at once,
//!   as a server ingesting several drivers does: the store's throughput when group commit shares
//!   the syncs.
//! - `32_writers_x_10_observations`: 32 concurrent writers with group commit, against the same
//!   writes each running its own flush.
//!
//! Every write is durable before it returns, so the numbers include the fsyncs. Everything lives
//! under cargo's target directory, on a real disk rather than a memory-backed temporary file.

use std::cell::Cell;
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::{Machine, MachineId, Observation, OrgId, Organization, PluginId, Value};
use chatter_store::{CommitMode, SledStore, Store};
use criterion::{BenchmarkGroup, Criterion, Throughput, measurement::WallTime};
use serde::Serialize;
use tempfile::TempDir;

const BATCHES: [usize; 2] = [1_000, 10_000];
const WRITERS: usize = 32;
const WRITER_BATCH: usize = 10;
const MACHINES: usize = 8;
/// Observations of the machine the read benchmarks page through.
const STORED: usize = 100_000;
const PAGES: [usize; 2] = [1_000, 10];
/// The plain-file baseline starts over once its file reaches this size, to bound disk use.
const FILE_LIMIT: u64 = 64 << 20;

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

/// Runs `iteration` as criterion's benchmark `name`, adding the time it took to `tally`.
fn bench(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    tally: &Tally,
    mut iteration: impl FnMut(u64),
) {
    group.bench_function(name, |b| {
        b.iter_custom(|iterations| {
            let started = Instant::now();
            for i in 0..iterations {
                iteration(i);
            }
            let elapsed = started.elapsed();
            tally.add(elapsed, iterations);
            elapsed
        });
    });
}

/// Where a fixture's store lives.
#[derive(Clone, Copy)]
enum Disk {
    /// Under cargo's target directory, synced.
    Real,
    /// Memory-backed temporary files, never synced.
    Temporary,
}

struct Fixture {
    store: Arc<SledStore>,
    org: OrgId,
    machines: Vec<MachineId>,
    // Dropped after the store, which must close before its directory goes.
    _dir: Option<TempDir>,
}

fn bench_dir() -> TempDir {
    tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory")
}

fn fixture(runtime: &tokio::runtime::Runtime, mode: CommitMode, machines: usize) -> Fixture {
    fixture_on(Disk::Real, runtime, mode, machines)
}

fn fixture_on(
    disk: Disk,
    runtime: &tokio::runtime::Runtime,
    mode: CommitMode,
    machines: usize,
) -> Fixture {
    let (store, dir) = match disk {
        Disk::Real => {
            let dir = bench_dir();
            let store = SledStore::open_with(dir.path(), mode).expect("a store");
            (store, Some(dir))
        }
        Disk::Temporary => (SledStore::temporary_with(mode).expect("a store"), None),
    };
    let store = Arc::new(store);
    let org = OrgId::new("bench").expect("a valid org id");
    let machines: Vec<_> = (0..machines)
        .map(|i| MachineId::new(format!("m{i}")).expect("a valid id"))
        .collect();
    runtime.block_on(async {
        let organization = Organization::new(org.clone(), "Bench");
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
        enabled: true,
        feed: Default::default(),
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
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

/// The store's chunk record, field for field, so that the baselines write as many bytes as the
/// store (less chunk headers' marks and flags, a few bytes a chunk): the data item as an index
/// into a list written once, the timestamp as an offset from the first.
#[derive(Serialize)]
struct Record<'a> {
    item: u32,
    timestamp: i64,
    value: RecordValue<'a>,
}

#[derive(Serialize)]
enum RecordValue<'a> {
    Sample(f64),
    Event(&'a str),
}

fn encoded(batch: &[Observation]) -> Vec<u8> {
    let mut items: Vec<&str> = Vec::new();
    let base = batch.first().map_or(0, |first| first.timestamp);
    let records = batch.iter().fold(Vec::new(), |bytes, observation| {
        let item = match items.iter().position(|&item| item == observation.data_item) {
            Some(index) => index,
            None => {
                items.push(&observation.data_item);
                items.len() - 1
            }
        };
        let value = match &observation.value {
            Value::Sample(number) => RecordValue::Sample(*number),
            Value::Event(text) => RecordValue::Event(text),
            other => unreachable!("the benchmark batch has no {other:?}"),
        };
        let record = Record {
            item: u32::try_from(item).expect("few data items"),
            timestamp: observation.timestamp - base,
            value,
        };
        postcard::to_extend(&record, bytes).expect("an encoded record")
    });
    let mut bytes = postcard::to_allocvec(&(base, &items)).expect("an encoded header");
    bytes.extend_from_slice(&records);
    bytes
}

/// Per batch size: durable, then in a temporary store.
fn append_batches(c: &mut Criterion, runtime: &tokio::runtime::Runtime) -> Vec<[Tally; 2]> {
    let mut group = c.benchmark_group("append");
    let tallies = BATCHES.map(|size| {
        let batch = observations(size);
        group.throughput(Throughput::Elements(size as u64));
        let disks = [(Disk::Real, ""), (Disk::Temporary, "_no_fsync")];
        disks.map(|(disk, suffix)| {
            let fixture = fixture_on(disk, runtime, CommitMode::Group, 1);
            let tally = Tally::default();
            bench(
                &mut group,
                &format!("batch_of_{size}{suffix}"),
                &tally,
                |_| {
                    let appended = fixture.store.append_observations(
                        &fixture.org,
                        &fixture.machines[0],
                        &batch,
                    );
                    runtime.block_on(appended).expect("an append");
                },
            );
            tally
        })
    });
    group.finish();
    tallies.into()
}

/// A file the baseline appends to and syncs, started over at [`FILE_LIMIT`].
struct SyncedFile {
    file: File,
    written: u64,
}

impl SyncedFile {
    fn create(dir: &Path) -> Self {
        let file = File::create(dir.join("baseline")).expect("a baseline file");
        SyncedFile { file, written: 0 }
    }

    fn append_durably(&mut self, bytes: &[u8]) {
        if self.written >= FILE_LIMIT {
            self.file.set_len(0).expect("a truncated file");
            self.written = 0;
        }
        self.file.write_all(bytes).expect("a write");
        self.file.sync_data().expect("an fdatasync");
        self.written += bytes.len() as u64;
    }
}

/// sled with nothing of the store: one insert, its flush, and the fdatasync the store adds.
struct RawSled {
    db: sled::Db,
    log: File,
}

impl RawSled {
    fn open(dir: &Path) -> Self {
        let db = sled::open(dir).expect("a sled database");
        let log = File::open(dir.join("db")).expect("sled's log file");
        RawSled { db, log }
    }

    fn insert_durably(&self, key: u64, bytes: &[u8]) {
        self.db.insert(key.to_be_bytes(), bytes).expect("an insert");
        self.db.flush().expect("a flush");
        self.log.sync_data().expect("an fdatasync");
    }
}

/// Per batch size: the plain file, then sled.
fn baselines(c: &mut Criterion) -> Vec<[Tally; 2]> {
    let mut group = c.benchmark_group("baseline");
    let tallies = BATCHES.map(|size| {
        let bytes = encoded(&observations(size));
        let tallies = [Tally::default(), Tally::default()];
        group.throughput(Throughput::Elements(size as u64));

        let dir = bench_dir();
        let mut file = SyncedFile::create(dir.path());
        let name = format!("file_fdatasync_{size}");
        bench(&mut group, &name, &tallies[0], |_| {
            file.append_durably(&bytes)
        });

        let dir = bench_dir();
        let sled = RawSled::open(dir.path());
        let mut key = 0;
        let name = format!("sled_one_value_{size}");
        bench(&mut group, &name, &tallies[1], |_| {
            key += 1;
            sled.insert_durably(key, &bytes);
        });
        tallies
    });
    group.finish();
    tallies.into()
}

/// Per page size: random pages; then the latest values.
fn reads(c: &mut Criterion, runtime: &tokio::runtime::Runtime) -> (Vec<Tally>, Tally) {
    let fixture = fixture(runtime, CommitMode::Group, 1);
    let (org, id) = (&fixture.org, &fixture.machines[0]);
    let batch = observations(BATCHES[1]);
    runtime.block_on(async {
        for _ in 0..STORED / batch.len() {
            let appended = fixture.store.append_observations(org, id, &batch).await;
            appended.expect("an append");
        }
    });
    let mut group = c.benchmark_group("read");
    let pages = PAGES.map(|limit| {
        let tally = Tally::default();
        group.throughput(Throughput::Elements(limit as u64));
        let last_start = (STORED - limit) as u64;
        bench(&mut group, &format!("page_of_{limit}"), &tally, |i| {
            // A fixed scatter over the whole sequence, the same in every run.
            let after = i.wrapping_mul(2_654_435_761) % last_start;
            let page = runtime.block_on(fixture.store.observations(org, id, after, limit));
            assert_eq!(page.expect("a page").len(), limit);
        });
        tally
    });
    let latest = Tally::default();
    group.throughput(Throughput::Elements(1));
    bench(&mut group, "latest_values", &latest, |_| {
        let values = runtime.block_on(fixture.store.latest_observations(org, id));
        assert_eq!(values.expect("latest values").len(), 3);
    });
    group.finish();
    (pages.into(), latest)
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

fn many_machines(c: &mut Criterion, runtime: &tokio::runtime::Runtime) -> Tally {
    let batch = Arc::new(observations(BATCHES[0]));
    let fixture = fixture(runtime, CommitMode::Group, MACHINES);
    let tally = Tally::default();
    let mut group = c.benchmark_group("8_machines_x_1000_observations");
    group.throughput(Throughput::Elements((MACHINES * batch.len()) as u64));
    bench(&mut group, "group_commit", &tally, |_| {
        runtime.block_on(concurrent_round(&fixture, &batch));
    });
    group.finish();
    tally
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
        bench(&mut group, name, tally, |_| {
            runtime.block_on(concurrent_round(&fixture, &batch));
        });
    }
    group.finish();
    tallies
}

/// Mean time per batch and per observation.
fn per_observation(tally: &Tally, size: usize) -> String {
    let Some(mean) = tally.mean() else {
        return "not run".into();
    };
    let each = mean / size as u32;
    let rate = size as f64 / mean.as_secs_f64();
    format!("{mean:>10.2?} per batch, {each:>9.2?} per observation ({rate:>9.0}/s)")
}

struct Results {
    appends: Vec<[Tally; 2]>,
    baselines: Vec<[Tally; 2]>,
    pages: Vec<Tally>,
    latest: Tally,
    machines: Tally,
    concurrent: [Tally; 2],
}

fn summary(results: &Results) {
    println!();
    println!("summary (means over criterion's warm-up and measurement):");
    println!("  append to one machine, group commit:");
    for (size, [durable, temporary]) in BATCHES.iter().zip(&results.appends) {
        println!(
            "    durable, batch of {size:>6}:  {}",
            per_observation(durable, *size)
        );
        println!(
            "    no fsync, batch of {size:>6}: {}",
            per_observation(temporary, *size)
        );
    }
    println!("  baseline, the same encoded bytes made durable without the store:");
    for (size, [file, sled]) in BATCHES.iter().zip(&results.baselines) {
        println!(
            "    file + fdatasync, {size:>6}:          {}",
            per_observation(file, *size)
        );
        println!(
            "    sled, one value + flush + fdatasync, {size:>6}: {}",
            per_observation(sled, *size)
        );
    }
    let durable = results.appends.iter().map(|[durable, _]| durable);
    for ((size, append), [file, _]) in BATCHES.iter().zip(durable).zip(&results.baselines) {
        if let (Some(append), Some(file)) = (append.mean(), file.mean()) {
            println!(
                "  batch of {size}: the store costs {:.1}x the plain file",
                append.as_secs_f64() / file.as_secs_f64()
            );
        }
    }
    println!("  reading a machine of {STORED} observations from random points:");
    for (limit, tally) in PAGES.iter().zip(&results.pages) {
        if let Some(mean) = tally.mean() {
            let each = mean / *limit as u32;
            println!(
                "    page of {limit:>5}: {mean:>10.2?} per page, {each:>9.2?} per observation"
            );
        }
    }
    if let Some(latest) = results.latest.mean() {
        println!("    latest values (3 data items): {latest:.2?}");
    }
    if let Some(round) = results.machines.mean() {
        let observations = MACHINES * BATCHES[0];
        println!(
            "  {MACHINES} machines x {} at once: {round:.2?} per round, {:.2?} per observation \
             ({:.0} observations/s)",
            BATCHES[0],
            round / observations as u32,
            observations as f64 / round.as_secs_f64()
        );
    }
    let [group, flush_each] = &results.concurrent;
    if let (Some(group), Some(flush_each)) = (group.mean(), flush_each.mean()) {
        println!(
            "  {WRITERS} writers x {WRITER_BATCH}: group commit {group:.2?} per round, \
             flush each write {flush_each:.2?} per round ({:.1}x)",
            flush_each.as_secs_f64() / group.as_secs_f64()
        );
    }
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
    let appends = append_batches(&mut criterion, &runtime);
    let baselines = baselines(&mut criterion);
    let (pages, latest) = reads(&mut criterion, &runtime);
    let machines = many_machines(&mut criterion, &runtime);
    let concurrent = concurrent_writers(&mut criterion, &runtime);
    criterion.final_summary();
    summary(&Results {
        appends,
        baselines,
        pages,
        latest,
        machines,
        concurrent,
    });
}
