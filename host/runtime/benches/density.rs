//! Instance density: how much memory 10,000 live driver instances cost one process, how many
//! memory mappings they hold, and how long starting them takes.
//!
//! Starts a [`Runtime`] with the default configuration (a pool for 10,000 instances), loads the
//! `simulator` (or `hello-driver` when the simulator does not load, said on the output), then
//! starts 10,000 instances, opens and polls each once and keeps them all alive. Prints VmRSS
//! (from `/proc/self/status`) before and after, in total and per instance, the number of memory
//! mappings (Linux allows `vm.max_map_count`, 65,530 by default, per process) by kind, and the
//! time to start them all.
//!
//! RSS counts a page once per mapping that maps it, so the pages of a component's memory image,
//! which every instance maps copy-on-write, count once per instance; PSS (from
//! `/proc/self/smaps_rollup`) shares them out and is closer to the memory actually used.
//!
//! Target: ≤ 1 GiB of RSS for 10,000 live instances (≤ ~105 KiB each).
//!
//! `CHATTER_DENSITY_INSTANCES=n` changes the count (the pool grows to fit when n > 10,000).
//! A plain `main`, not criterion: it measures once. Run:
//! `cargo bench -p chatter-runtime --bench density`.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::{Machine, MachineId, OrgId, PluginId};
use chatter_runtime::{
    DriverInstance, InstanceContext, LoadedPlugin, PluginPackage, Runtime, RuntimeConfig,
};
use rustix::time::ClockId;

const DEFAULT_INSTANCES: usize = 10_000;
const TARGET_BYTES: f64 = (1u64 << 30) as f64;

fn main() {
    let count = match std::env::var("CHATTER_DENSITY_INSTANCES") {
        Ok(text) => text.trim().parse::<usize>().unwrap_or_else(|_| {
            eprintln!("CHATTER_DENSITY_INSTANCES={text:?} is not a count of instances");
            std::process::exit(2)
        }),
        Err(_) => DEFAULT_INSTANCES,
    };
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");

    let mut config = RuntimeConfig::default();
    config.max_instances = config
        .max_instances
        .max(u32::try_from(count).unwrap_or(u32::MAX));
    println!(
        "density: {count} instances, pool for {} (vm.max_map_count {})",
        config.max_instances,
        max_map_count()
    );
    let before_runtime = Memory::now();
    let runtime = match Runtime::new(config) {
        Ok(runtime) => runtime,
        Err(error) => fail(&format!("Runtime::new failed: {error}"), &before_runtime),
    };
    let (name, plugin) = load(&runtime);
    let with_runtime = Memory::now();
    println!(
        "runtime + {name} loaded: {}",
        with_runtime.describe_since(&before_runtime, 1)
    );

    // One instance started, used and dropped first, so one-time host allocations (tokio's
    // timer, lazily built tables) are not counted as the cost of the instances.
    tokio.block_on(async {
        let (machine, context) = fixture(&plugin, &name, usize::MAX);
        let mut instance = DriverInstance::start(&runtime, plugin.clone(), context)
            .await
            .expect("a first instance starts");
        instance.open(&machine).await.expect("opens");
        instance.poll().await.expect("polls");
    });

    let before = Memory::now();
    let kinds_before = mapping_kinds();
    let mut instances = Vec::with_capacity(count);
    let mut starting = Duration::ZERO;
    let mut observations = 0usize;
    let cpu_before = thread_cpu();
    let started_all = Instant::now();
    tokio.block_on(async {
        for i in 0..count {
            let (machine, context) = fixture(&plugin, &name, i);
            let started = Instant::now();
            let instance = DriverInstance::start(&runtime, plugin.clone(), context).await;
            starting += started.elapsed();
            let failed =
                |what: &str, fault| format!("instance {i} of {count} did not {what}: {fault}");
            let mut instance = match instance {
                Ok(instance) => instance,
                Err(fault) => fail(&failed("start", fault), &before),
            };
            if let Err(fault) = instance.open(&machine).await {
                fail(&failed("open", fault), &before);
            }
            match instance.poll().await {
                Ok(batch) => observations += batch.len(),
                Err(fault) => fail(&failed("poll", fault), &before),
            }
            instances.push(instance);
        }
    });
    let elapsed = started_all.elapsed();
    let cpu = thread_cpu().saturating_sub(cpu_before);
    let after = Memory::now();

    let per = |bytes: u64| bytes as f64 / 1024.0 / count.max(1) as f64;
    println!(
        "{count} live instances of {name}: {}",
        after.describe_since(&before, count)
    );
    let pss = after.pss_bytes.saturating_sub(before.pss_bytes);
    println!(
        "PSS {:.1} -> {:.1} MiB (+{:.1} MiB, {:.1} KiB per instance)",
        mib(before.pss_bytes),
        mib(after.pss_bytes),
        mib(pss),
        per(pss)
    );
    println!("mappings added, by permissions and backing:");
    for (kind, n) in mapping_kinds() {
        let added = n.saturating_sub(kinds_before.get(&kind).copied().unwrap_or(0));
        if added > 0 {
            let each = added as f64 / count.max(1) as f64;
            println!("  {added:>7}  {kind} ({each:.2} per instance)");
        }
    }
    let each = |d: Duration| d.as_secs_f64() * 1e6 / count.max(1) as f64;
    println!(
        "time: {elapsed:.2?} wall ({cpu:.2?} CPU of this thread) to start + open + poll all \
         ({:.1} µs each); DriverInstance::start alone {starting:.2?} wall ({:.1} µs each); \
         {observations} observations",
        each(elapsed),
        each(starting),
    );
    let grown = after.rss_bytes.saturating_sub(before.rss_bytes);
    let scaled = grown as f64 * DEFAULT_INSTANCES as f64 / count.max(1) as f64;
    println!(
        "=> RSS for {DEFAULT_INSTANCES} instances{}: {:.0} MiB ({:.1} KiB each): {} (target <= \
         1 GiB); headroom left under vm.max_map_count: {} mappings",
        if count == DEFAULT_INSTANCES {
            ""
        } else {
            " (scaled)"
        },
        scaled / f64::from(1 << 20),
        per(grown),
        if scaled <= TARGET_BYTES {
            "MET"
        } else {
            "MISSED"
        },
        max_map_count().parse::<i64>().map_or_else(
            |_| "?".to_owned(),
            |max| (max - i64::try_from(after.mappings).unwrap_or(i64::MAX)).to_string()
        ),
    );
    drop(instances);
}

/// The simulator if it loads, else hello-driver.
fn load(runtime: &Runtime) -> (String, Arc<LoadedPlugin>) {
    for name in ["simulator", "hello-driver"] {
        let guest = chatter_guest_builds::guest(name);
        let loaded = PluginPackage::read(guest.wasm_path(), Some(Path::new(guest.manifest)))
            .map_err(|e| e.to_string())
            .and_then(|package| runtime.load(&package).map_err(|e| e.to_string()));
        match loaded {
            Ok(plugin) => return (name.to_owned(), Arc::new(plugin)),
            Err(error) => println!("{name} does not load, falling back: {error}"),
        }
    }
    panic!("neither the simulator nor hello-driver loads");
}

/// Machine `i` and its instance context; each simulated machine gets its own seed.
fn fixture(plugin: &LoadedPlugin, driver: &str, i: usize) -> (Machine, InstanceContext) {
    let org = OrgId::new("density").expect("a valid id");
    let machine = Machine {
        org: org.clone(),
        id: MachineId::new(format!("m{i}")).expect("a valid id"),
        name: format!("Machine {i}"),
        driver: PluginId::new(driver).expect("a valid id"),
        config: BTreeMap::new(),
        endpoints: Vec::new(),
        poll_interval_ms: 1_000,
        enabled: true,
        feed: Default::default(),
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
    };
    let mut given = BTreeMap::new();
    if plugin.manifest.config.contains_key("seed") {
        given.insert("seed".to_owned(), (i % 1_000_000).to_string());
    }
    let mut context = InstanceContext::for_machine(org, machine.id.clone());
    context.config = plugin
        .manifest
        .resolve_config(&given)
        .expect("the config fits the schema");
    context.grants = plugin.manifest.capabilities.keys().copied().collect();
    (machine, context)
}

/// What `/proc/self` says about the process's memory.
struct Memory {
    rss_bytes: u64,
    anon_bytes: u64,
    file_bytes: u64,
    pss_bytes: u64,
    virtual_bytes: u64,
    mappings: usize,
}

impl Memory {
    fn now() -> Self {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let rollup = std::fs::read_to_string("/proc/self/smaps_rollup").unwrap_or_default();
        let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        Memory {
            rss_bytes: kib_field(&status, "VmRSS"),
            anon_bytes: kib_field(&status, "RssAnon"),
            file_bytes: kib_field(&status, "RssFile") + kib_field(&status, "RssShmem"),
            pss_bytes: kib_field(&rollup, "Pss"),
            virtual_bytes: kib_field(&status, "VmSize"),
            mappings: maps.lines().count(),
        }
    }

    fn describe_since(&self, before: &Memory, per: usize) -> String {
        let grown = |a: u64, b: u64| a.saturating_sub(b);
        let rss = grown(self.rss_bytes, before.rss_bytes);
        let each = if per > 1 {
            format!(", {:.1} KiB per instance", rss as f64 / 1024.0 / per as f64)
        } else {
            String::new()
        };
        format!(
            "VmRSS {:.1} -> {:.1} MiB (+{:.1} MiB{each}; anon +{:.1} MiB, file/shmem +{:.1} MiB), \
             VmSize {:.1} GiB, mappings {} -> {}",
            mib(before.rss_bytes),
            mib(self.rss_bytes),
            mib(rss),
            mib(grown(self.anon_bytes, before.anon_bytes)),
            mib(grown(self.file_bytes, before.file_bytes)),
            self.virtual_bytes as f64 / f64::from(1 << 30),
            before.mappings,
            self.mappings,
        )
    }
}

/// A `Name:   123 kB` field of a /proc file, in bytes (0 when absent).
fn kib_field(text: &str, name: &str) -> u64 {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|rest| {
            rest.trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kib| kib * 1024)
}

/// The process's mappings counted by permissions and backing (anonymous, memfd, file, …).
fn mapping_kinds() -> BTreeMap<String, usize> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut kinds = BTreeMap::new();
    for line in maps.lines() {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let perms = fields.get(1).copied().unwrap_or("?");
        let backing = match fields.get(5) {
            None => "anonymous",
            Some(path) if path.starts_with("/memfd:") => "memfd (a memory image)",
            Some(path) if path.starts_with('[') => path,
            Some(_) => "file",
        };
        *kinds.entry(format!("{perms} {backing}")).or_insert(0) += 1;
    }
    kinds
}

/// Reports a failed run with the state of the process at that point, and exits.
fn fail(what: &str, before: &Memory) -> ! {
    let now = Memory::now();
    eprintln!("density FAILED: {what}");
    eprintln!("at that point: {}", now.describe_since(before, 1));
    eprintln!("mappings by kind:");
    for (kind, n) in mapping_kinds() {
        eprintln!("  {n:>7}  {kind}");
    }
    std::process::exit(1)
}

fn max_map_count() -> String {
    std::fs::read_to_string("/proc/sys/vm/max_map_count")
        .map_or_else(|_| "?".into(), |s| s.trim().to_owned())
}

fn thread_cpu() -> Duration {
    let now = rustix::time::clock_gettime(ClockId::ThreadCPUTime);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / f64::from(1 << 20)
}
