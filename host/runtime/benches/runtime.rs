//! The plugin runtime's costs, each against its baseline measured in the same run.
//!
//! | group | measures | target |
//! |---|---|---|
//! | `load` | `Runtime::load` compiling the component vs taking it from a warm artifact cache | cached ≥ 100× faster |
//! | `instantiate` | `DriverInstance::start` (store + instantiate from the pre-instantiated component, pooling allocator); start + open + poll + drop for context | start ≤ 12 µs median |
//! | `host_to_guest` | `poll()` of the `bench-driver` guest in mode `empty`, vs a native function returning an empty `Vec` | ≤ 250 ns per call |
//! | `guest_to_host` | a poll making 1,000 `config.get` host calls vs an empty poll: (difference) / 1,000 | ≤ 150 ns per call |
//! | `batch` | a `simulator` poll returning 1,000 observations, vs `bench-driver` returning 1,000 trivial ones (the boundary alone) | ≤ 100 ns per observation |
//!
//! The plugin loaded and instantiated is the `simulator` (falling back to `hello-driver`, said
//! on the output, if the simulator does not load). `Runtime::new` and `PluginPackage::read`
//! (file read + SHA-256, measured apart) stay outside the timed loops.
//!
//! To tell the runtime's own costs from wasmtime's, the groups also measure the same
//! `bench-driver` component instantiated straight on wasmtime (`raw-sync`, `raw-async`): same
//! engine, a linker with only `config.get` (every other import traps), called with
//! `TypedFunc::call` (no fiber) or `call_async` (a fiber per call, as the runtime must: its
//! linkers hold async host functions, which makes every store async). Also measured for the
//! diagnosis: building the empty `WasiCtx` every store holds, the `tokio::time::timeout` put
//! around every call, and two other host calls (`clock`: `wasi:clocks/monotonic-clock.now`, the
//! crossing alone; `log`: `log.write` of an empty trace message).
//!
//! **Clock.** Other builds often share this machine's two cores, so criterion is given the CPU
//! time of the benchmark thread (`CLOCK_THREAD_CPUTIME_ID`: user + system, preemption excluded)
//! rather than wall time; only `load/compile`, which compiles on a thread pool, reports wall
//! time. Each group ends with lines starting with `=>`: the median of both clocks and the ratio
//! or difference against its baseline, with MET/MISSED against the target (judged on CPU time).
//!
//! Calls are async, so they run on a tokio current-thread runtime; every sample's iterations run
//! inside one `block_on` (`iter_custom`).
//!
//! Run: `cargo bench -p chatter-runtime --bench runtime` (a filter such as `-- batch` works).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::hint::black_box;
use std::ops::AddAssign;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chatter_model::{Machine, MachineId, Observation, OrgId, PluginId};
use chatter_runtime::bindings::driver::chatter::plugin::types as wit;
use chatter_runtime::bindings::driver::exports::chatter::plugin::machine_driver as wit_driver;
use chatter_runtime::{
    DriverInstance, Fault, InstanceContext, LoadedPlugin, PluginPackage, Runtime, RuntimeConfig,
};
use criterion::{Criterion, SamplingMode, Throughput};
use rustix::time::ClockId;
use wasmtime::component::{Component, InstancePre, Linker, TypedFunc};
use wasmtime::{Store, StoreContextMut};
use wasmtime_wasi::WasiCtx;

/// Observations per batch in `batch`, and host calls per poll in `guest_to_host`.
const N: u64 = 1_000;
/// Measurement samples of the µs- and ns-scale benchmarks.
const SAMPLES: usize = 30;
/// Measurement samples of `load/compile` (~0.1–1 s each).
const COMPILE_SAMPLES: usize = 10;

fn main() {
    let mut criterion = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    // The production configuration: a pool for 10,000 instances. Only one pool that size per
    // process: it holds 20,000 memory mappings (a guard page per fiber stack) before anything
    // runs, of the 65,530 Linux allows (see the density benchmark).
    let runtime = Runtime::new(RuntimeConfig::default()).expect("a runtime");
    let primary = Primary::choose(&runtime);
    let bench_driver = BenchDriver::load(&runtime);
    let overhead = Stopwatch::overhead();
    println!(
        "=> reading the thread CPU clock costs {} (a system call); a stopwatch start + stop adds \
         {} CPU, subtracted from per-iteration timings; clock resolution {}",
        human(clock_read_cost()),
        human(overhead.cpu.as_nanos() as f64),
        human(cpu_resolution())
    );

    load(&mut criterion, &primary);
    instantiate(
        &mut criterion,
        &tokio,
        &runtime,
        &primary,
        &bench_driver,
        overhead,
    );
    host_to_guest(&mut criterion, &tokio, &runtime, &bench_driver);
    guest_to_host(&mut criterion, &tokio, &runtime, &bench_driver);
    batch(&mut criterion, &tokio, &runtime, &primary, &bench_driver);

    criterion.final_summary();
}

// ---------------------------------------------------------------------------------------------
// Groups

fn load(criterion: &mut Criterion, primary: &Primary) {
    let package = &primary.package;
    // Small pools: the pool size does not change what loading costs, and every pool costs
    // memory mappings.
    let small = |cache_dir| RuntimeConfig {
        max_instances: 16,
        cache_dir,
        ..RuntimeConfig::default()
    };
    let compiling = Runtime::new(small(None)).expect("a runtime");
    let cache_dir =
        tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).expect("a temporary directory");
    let cached = Runtime::new(small(Some(cache_dir.path().to_owned()))).expect("a runtime");
    let warming = cached.load(package).expect("the plugin loads");
    assert!(!warming.from_cache, "the cache folder starts empty");
    assert!(
        cached.load(package).expect("the plugin loads").from_cache,
        "the cache is warm"
    );

    let mut group = criterion.benchmark_group("load");
    // Compiling uses wasmtime's thread pool: report wall time, and the whole process's CPU time.
    let compile = Samples::new(Clock::Process, Report::Wall);
    let from_cache = Samples::thread();
    let read = Samples::thread();
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(COMPILE_SAMPLES)
        .measurement_time(Duration::from_secs(4));
    group.bench_function(format!("compile/{}", primary.name), |b| {
        b.iter_custom(|iters| {
            compile.time(iters, || {
                let plugin = compiling.load(package).expect("the plugin loads");
                debug_assert!(!plugin.from_cache);
                black_box(plugin);
            })
        });
    });
    group.sampling_mode(SamplingMode::Auto).sample_size(SAMPLES);
    group.bench_function(format!("cached/{}", primary.name), |b| {
        b.iter_custom(|iters| {
            from_cache.time(iters, || {
                let plugin = cached.load(package).expect("the plugin loads");
                assert!(plugin.from_cache);
                black_box(plugin);
            })
        });
    });
    // Not part of `load`, but part of every start from disk: read the file, hash it.
    let wasm_path = package.wasm_path.clone();
    let manifest_path = Path::new(primary.manifest_path);
    group.bench_function(format!("read-package/{}", primary.name), |b| {
        b.iter_custom(|iters| {
            read.time(iters, || {
                let package = PluginPackage::read(&wasm_path, Some(manifest_path));
                black_box(package.expect("the package reads"));
            })
        });
    });
    group.finish();

    let compile = compile.median(COMPILE_SAMPLES);
    let from_cache = from_cache.median(SAMPLES);
    conclude("load: compile, no cache (CPU = all threads)", compile, None);
    conclude("load: from the warm cache", from_cache, None);
    conclude(
        "read-package: file read + SHA-256 (outside `load`)",
        read.median(SAMPLES),
        None,
    );
    if let (Some(compile), Some(from_cache)) = (compile, from_cache) {
        let wall = compile.wall / from_cache.wall;
        let cpu = compile.cpu / from_cache.cpu;
        verdict(
            &format!("a cached load is {wall:.0}x faster than compiling ({cpu:.0}x in CPU time)"),
            wall >= 100.0 && cpu >= 100.0,
            "target >= 100x",
        );
    }
}

fn instantiate(
    criterion: &mut Criterion,
    tokio: &Tokio,
    runtime: &Runtime,
    primary: &Primary,
    bench_driver: &BenchDriver,
    overhead: Spent,
) {
    let plugin = primary.load(runtime);
    let machine = machine(&primary.name);
    let context = context_for(&plugin, &machine, &[]);
    let minimal = &bench_driver.plugin;
    let minimal_context = context_for(minimal, &machine, &[("mode", "empty")]);

    let mut group = criterion.benchmark_group("instantiate");
    group.sample_size(SAMPLES);
    let start = Samples::thread();
    let start_minimal = Samples::thread();
    let lifecycle = Samples::thread();
    let raw_sync = Samples::thread();
    let raw_async = Samples::thread();
    let wasi = Samples::thread();
    for (name, plugin, context, samples) in [
        (primary.name.as_str(), &plugin, &context, &start),
        ("bench-driver", minimal, &minimal_context, &start_minimal),
    ] {
        group.bench_function(format!("start/{name}"), |b| {
            b.iter_custom(|iters| {
                tokio.block_on(async {
                    let mut spent = Spent::default();
                    for _ in 0..iters {
                        let (plugin, context) = (plugin.clone(), context.clone());
                        let watch = Stopwatch::start(Clock::Thread);
                        let instance = DriverInstance::start(runtime, plugin, context).await;
                        spent += watch.stop().less(overhead);
                        // Dropping (and resetting the pool's slot) is in the lifecycle below.
                        drop(black_box(instance.expect("the instance starts")));
                    }
                    samples.record(spent, iters)
                })
            });
        });
    }
    group.bench_function(format!("start+open+poll+drop/{}", primary.name), |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let watch = Stopwatch::start(Clock::Thread);
                for _ in 0..iters {
                    let (plugin, context) = (plugin.clone(), context.clone());
                    let mut instance = DriverInstance::start(runtime, plugin, context)
                        .await
                        .expect("starts");
                    black_box(instance.open(&machine).await.expect("opens"));
                    black_box(instance.poll().await.expect("polls"));
                    drop(instance);
                }
                lifecycle.record(watch.stop(), iters)
            })
        });
    });
    // What the runtime's start is made of, for the same component straight on wasmtime.
    let pre = &bench_driver.raw_pre;
    group.bench_function("raw-sync/instantiate/bench-driver", |b| {
        b.iter_custom(|iters| {
            let mut spent = Spent::default();
            for _ in 0..iters {
                let watch = Stopwatch::start(Clock::Thread);
                let mut store = raw_store(pre.engine(), &[]);
                let instance = pre.instantiate(&mut store).expect("instantiates");
                spent += watch.stop().less(overhead);
                drop(black_box((instance, store)));
            }
            raw_sync.record(spent, iters)
        });
    });
    group.bench_function("raw-async/instantiate/bench-driver", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let mut spent = Spent::default();
                for _ in 0..iters {
                    let watch = Stopwatch::start(Clock::Thread);
                    let mut store = raw_store(pre.engine(), &[]);
                    let instance = pre
                        .instantiate_async(&mut store)
                        .await
                        .expect("instantiates");
                    spent += watch.stop().less(overhead);
                    drop(black_box((instance, store)));
                }
                raw_async.record(spent, iters)
            })
        });
    });
    group.bench_function("wasi-ctx/build+drop", |b| {
        b.iter_custom(|iters| wasi.time(iters, || drop(black_box(WasiCtx::builder().build()))));
    });
    group.finish();

    let start = start.median(SAMPLES);
    conclude(
        &format!("start {} (store + instantiate)", primary.name),
        start,
        None,
    );
    conclude(
        "start bench-driver (store + instantiate)",
        start_minimal.median(SAMPLES),
        None,
    );
    let lifecycle = lifecycle.median(SAMPLES);
    conclude(
        &format!("start + open + poll + drop {}", primary.name),
        lifecycle,
        None,
    );
    conclude(
        "wasmtime alone: new store + InstancePre::instantiate",
        raw_sync.median(SAMPLES),
        None,
    );
    conclude(
        "wasmtime alone: new store + InstancePre::instantiate_async (on a fiber)",
        raw_async.median(SAMPLES),
        None,
    );
    conclude(
        "the empty WasiCtx each store holds: build + drop",
        wasi.median(SAMPLES),
        None,
    );
    if let Some(start) = start {
        verdict(
            &format!("DriverInstance::start median {}", human(start.cpu)),
            start.cpu <= 12_000.0,
            "target <= 12 µs",
        );
    }
}

fn host_to_guest(
    criterion: &mut Criterion,
    tokio: &Tokio,
    runtime: &Runtime,
    bench_driver: &BenchDriver,
) {
    let mut empty = tokio.block_on(open(runtime, &bench_driver.plugin, &[("mode", "empty")]));
    let mut raw = bench_driver.raw(&[("mode", "empty")]);

    let mut group = criterion.benchmark_group("host_to_guest");
    group.sample_size(SAMPLES);
    let native = Samples::thread();
    let timeout = Samples::thread();
    let wasm = Samples::thread();
    let raw_sync = Samples::thread();
    let raw_async = Samples::thread();
    group.bench_function("native/empty-vec", |b| {
        b.iter_custom(|iters| {
            let watch = Stopwatch::start(Clock::Thread);
            let mut polls = 0;
            for _ in 0..iters {
                black_box(native_poll(black_box(&mut polls)).expect("native poll"));
            }
            native.record(watch.stop(), iters)
        });
    });
    // The wall-clock backstop the runtime puts around every call, around a ready future.
    group.bench_function("native/tokio-timeout-ready", |b| {
        b.iter_custom(|iters| {
            tokio.block_on(async {
                let watch = Stopwatch::start(Clock::Thread);
                for _ in 0..iters {
                    let ready = std::future::ready(black_box(1u8));
                    let outcome = tokio::time::timeout(Duration::from_secs(5), ready).await;
                    black_box(outcome.expect("ready in time"));
                }
                timeout.record(watch.stop(), iters)
            })
        });
    });
    group.bench_function("runtime/poll-empty", |b| {
        b.iter_custom(|iters| poll_n(tokio, &mut empty, iters, 0, &wasm));
    });
    group.bench_function("raw-sync/poll-empty", |b| {
        b.iter_custom(|iters| raw.poll_sync_n(iters, 0, &raw_sync));
    });
    group.bench_function("raw-async/poll-empty", |b| {
        b.iter_custom(|iters| raw.poll_async_n(tokio, iters, 0, &raw_async));
    });
    group.finish();

    let native = native.median(SAMPLES);
    let timeout = timeout.median(SAMPLES);
    let wasm = wasm.median(SAMPLES);
    let raw_sync = raw_sync.median(SAMPLES);
    let raw_async = raw_async.median(SAMPLES);
    conclude("native function returning an empty Vec", native, None);
    conclude("tokio::time::timeout around a ready future", timeout, None);
    conclude(
        "DriverInstance::poll of bench-driver `empty` (host→guest call)",
        wasm,
        None,
    );
    conclude("wasmtime alone, TypedFunc::call (no fiber)", raw_sync, None);
    conclude(
        "wasmtime alone, TypedFunc::call_async (a fiber per call)",
        raw_async,
        None,
    );
    if let (Some(wasm), Some(raw_sync), Some(raw_async)) = (wasm, raw_sync, raw_async) {
        println!(
            "=> of the runtime's poll: wasmtime's call {}, the fiber {}, the runtime around it {} \
             (of which the tokio timeout {})",
            human(raw_sync.cpu),
            human(raw_async.cpu - raw_sync.cpu),
            human(wasm.cpu - raw_async.cpu),
            timeout.map_or_else(|| "?".into(), |t| human(t.cpu)),
        );
    }
    if let Some(wasm) = wasm {
        let native = native.map_or(f64::NAN, |n| n.cpu);
        verdict(
            &format!(
                "host→guest call {} ({:.0}x the native call)",
                human(wasm.cpu),
                wasm.cpu / native
            ),
            wasm.cpu <= 250.0,
            "target <= 250 ns",
        );
    }
}

fn guest_to_host(
    criterion: &mut Criterion,
    tokio: &Tokio,
    runtime: &Runtime,
    bench_driver: &BenchDriver,
) {
    let calls = N.to_string();
    let plugin = &bench_driver.plugin;
    let config = |call| {
        [
            ("mode", "host-calls"),
            ("calls", calls.as_str()),
            ("call", call),
        ]
    };
    let mut empty = tokio.block_on(open(runtime, plugin, &[("mode", "empty")]));
    let mut raw_empty = bench_driver.raw(&[("mode", "empty")]);
    let mut raw_calling = bench_driver.raw(&config("config-get"));

    let mut group = criterion.benchmark_group("guest_to_host");
    group.sample_size(SAMPLES);
    let baseline = Samples::thread();
    let raw_baseline = Samples::thread();
    let raw_with_calls = Samples::thread();
    group.bench_function("runtime/poll-empty", |b| {
        b.iter_custom(|iters| poll_n(tokio, &mut empty, iters, 0, &baseline));
    });
    // config-get is the one the target is about; clock is the crossing alone.
    let kinds = ["config-get", "clock", "log"];
    let with_calls: Vec<Samples> = kinds.iter().map(|_| Samples::thread()).collect();
    for (call, samples) in kinds.into_iter().zip(&with_calls) {
        let mut calling = tokio.block_on(open(runtime, plugin, &config(call)));
        group.bench_function(format!("runtime/poll-{N}-{call}"), |b| {
            b.iter_custom(|iters| poll_n(tokio, &mut calling, iters, 0, samples));
        });
    }
    group.bench_function("raw-sync/poll-empty", |b| {
        b.iter_custom(|iters| raw_empty.poll_sync_n(iters, 0, &raw_baseline));
    });
    group.bench_function(format!("raw-sync/poll-{N}-config-get"), |b| {
        b.iter_custom(|iters| raw_calling.poll_sync_n(iters, 0, &raw_with_calls));
    });
    group.finish();

    let per_call = |empty: Option<Median>, calling: Option<Median>| {
        let (empty, calling) = (empty?, calling?);
        Some((
            (calling.cpu - empty.cpu) / N as f64,
            (calling.wall - empty.wall) / N as f64,
        ))
    };
    let baseline = baseline.median(SAMPLES);
    conclude("runtime: empty poll", baseline, None);
    let mut target = None;
    for (call, samples) in kinds.into_iter().zip(&with_calls) {
        let with_calls = samples.median(SAMPLES);
        conclude(
            &format!("runtime: poll making {N} {call} calls"),
            with_calls,
            None,
        );
        if let Some((cpu, wall)) = per_call(baseline, with_calls) {
            println!(
                "=> runtime: one {call} call {} (wall {})",
                human(cpu),
                human(wall)
            );
            if call == "config-get" {
                target = Some((cpu, wall));
            }
        }
    }
    let (raw_baseline, raw_with_calls) =
        (raw_baseline.median(SAMPLES), raw_with_calls.median(SAMPLES));
    conclude("wasmtime alone: empty poll", raw_baseline, None);
    conclude(
        &format!("wasmtime alone: poll making {N} config-get calls"),
        raw_with_calls,
        None,
    );
    if let Some((cpu, wall)) = per_call(raw_baseline, raw_with_calls) {
        println!(
            "=> wasmtime alone (plain linker, same lookup, no fiber): one config-get call {} \
             (wall {})",
            human(cpu),
            human(wall)
        );
    }
    if let Some((cpu, wall)) = target {
        verdict(
            &format!(
                "guest→host call (config-get) {} (wall {}): (poll with calls − empty poll) / {N}",
                human(cpu),
                human(wall)
            ),
            cpu <= 150.0,
            "target <= 150 ns",
        );
    }
}

fn batch(
    criterion: &mut Criterion,
    tokio: &Tokio,
    runtime: &Runtime,
    primary: &Primary,
    bench_driver: &BenchDriver,
) {
    let size = N.to_string();
    let expected = usize::try_from(N).expect("fits");
    let config = [("mode", "batch"), ("batch", size.as_str())];
    let mut trivial = tokio.block_on(open(runtime, &bench_driver.plugin, &config));
    assert_eq!(
        tokio.block_on(trivial.poll()).expect("polls").len(),
        expected
    );
    let mut raw = bench_driver.raw(&config);

    // A simulated clock a billion times faster than real time (one real ms is ~11 simulated
    // days) always has more than `max-batch` observations due: every poll returns a full batch.
    let mut simulator = if primary.name == "simulator" {
        let plugin = primary.load(runtime);
        let config = [
            ("seed", "7"),
            ("speed", "1000000000"),
            ("max-batch", size.as_str()),
        ];
        let mut instance = tokio.block_on(open(runtime, &plugin, &config));
        std::thread::sleep(Duration::from_millis(5));
        for _ in 0..3 {
            let batch = tokio.block_on(instance.poll()).expect("polls");
            assert_eq!(
                batch.len(),
                expected,
                "the simulator must return full batches"
            );
        }
        Some(instance)
    } else {
        println!("=> batch: the simulator is unavailable; only bench-driver `batch` is measured");
        None
    };

    let mut group = criterion.benchmark_group("batch");
    group
        .sample_size(SAMPLES)
        .throughput(Throughput::Elements(N));
    let sim = Samples::thread();
    let boundary = Samples::thread();
    let raw_boundary = Samples::thread();
    if let Some(simulator) = simulator.as_mut() {
        group.bench_function(format!("runtime/simulator-{N}"), |b| {
            b.iter_custom(|iters| poll_n(tokio, simulator, iters, expected, &sim));
        });
    }
    group.bench_function(format!("runtime/bench-driver-{N}"), |b| {
        b.iter_custom(|iters| poll_n(tokio, &mut trivial, iters, expected, &boundary));
    });
    group.bench_function(format!("raw-sync/bench-driver-{N}"), |b| {
        b.iter_custom(|iters| raw.poll_sync_n(iters, expected, &raw_boundary));
    });
    group.finish();

    let per = |poll: Option<Median>| poll.map(|m| m.cpu / N as f64);
    let (sim, boundary) = (sim.median(SAMPLES), boundary.median(SAMPLES));
    let raw_boundary = raw_boundary.median(SAMPLES);
    conclude(
        &format!("runtime: simulator poll of {N} observations"),
        sim,
        Some(N),
    );
    conclude(
        &format!("runtime: bench-driver poll of {N} trivial observations"),
        boundary,
        Some(N),
    );
    conclude(
        &format!("wasmtime alone: bench-driver poll of {N}"),
        raw_boundary,
        Some(N),
    );
    if let (Some(sim), Some(boundary)) = (per(sim), per(boundary)) {
        println!(
            "=> per observation: the boundary (bench-driver) {}, the simulation itself {}",
            human(boundary),
            human(sim - boundary)
        );
    }
    if let (Some(boundary), Some(raw)) = (per(boundary), per(raw_boundary)) {
        println!(
            "=> per observation of bench-driver: wasmtime (guest work + lifting) {}, the runtime's \
             conversion to model::Observation and checks {}",
            human(raw),
            human(boundary - raw)
        );
    }
    let measured = per(sim).or(per(boundary));
    if let Some(each) = measured {
        let what = if sim.is_some() {
            "simulator"
        } else {
            "bench-driver (no simulator)"
        };
        verdict(
            &format!("{what}: {} per observation", human(each)),
            each <= 100.0,
            "target <= 100 ns",
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

type Tokio = tokio::runtime::Runtime;

/// The plugin the load and instantiate benchmarks use: the simulator if it loads.
struct Primary {
    name: String,
    package: PluginPackage,
    manifest_path: &'static str,
}

impl Primary {
    fn choose(runtime: &Runtime) -> Self {
        for name in ["simulator", "hello-driver"] {
            let guest = chatter_guest_builds::guest(name);
            let loaded = PluginPackage::read(guest.wasm_path(), Some(guest.manifest_path()))
                .map_err(|e| e.to_string())
                .and_then(|package| match runtime.load(&package) {
                    Ok(_) => Ok(package),
                    Err(error) => Err(error.to_string()),
                });
            match loaded {
                Ok(package) => {
                    println!(
                        "=> plugin for load/instantiate/batch: {name} ({} bytes)",
                        package.wasm.len()
                    );
                    let name = name.to_owned();
                    return Primary {
                        name,
                        package,
                        manifest_path: guest.manifest,
                    };
                }
                Err(error) => println!("=> {name} does not load, falling back: {error}"),
            }
        }
        panic!("neither the simulator nor hello-driver loads");
    }

    fn load(&self, runtime: &Runtime) -> Arc<LoadedPlugin> {
        Arc::new(runtime.load(&self.package).expect("the plugin loads"))
    }
}

/// The benchmark guest, loaded by the runtime and pre-instantiated for raw wasmtime use.
struct BenchDriver {
    plugin: Arc<LoadedPlugin>,
    raw_pre: InstancePre<RawState>,
}

impl BenchDriver {
    fn load(runtime: &Runtime) -> Self {
        let guest = chatter_guest_builds::guest("bench-driver");
        let package = PluginPackage::read(guest.wasm_path(), Some(guest.manifest_path()))
            .expect("bench-driver was built by chatter-guest-builds");
        let plugin = Arc::new(runtime.load(&package).expect("bench-driver loads"));
        let component = Component::new(runtime.engine(), &package.wasm).expect("it compiles");
        let mut linker = Linker::<RawState>::new(runtime.engine());
        linker
            .instance("chatter:plugin/config@0.1.0")
            .and_then(|mut instance| {
                instance.func_wrap(
                    "get",
                    |store: StoreContextMut<'_, RawState>, (key,): (String,)| {
                        Ok((store.data().config.get(&key).cloned(),))
                    },
                )
            })
            .expect("config.get is linked");
        linker
            .define_unknown_imports_as_traps(&component)
            .expect("the rest traps");
        let raw_pre = linker
            .instantiate_pre(&component)
            .expect("pre-instantiates");
        BenchDriver { plugin, raw_pre }
    }

    /// An opened instance straight on wasmtime, configured with `config`.
    fn raw(&self, config: &[(&str, &str)]) -> RawDriver {
        RawDriver::open(&self.raw_pre, config)
    }
}

/// What a raw store holds: the configuration `config.get` reads.
struct RawState {
    config: BTreeMap<String, String>,
}

/// A store for a raw instance, configured with `config`.
fn raw_store(engine: &wasmtime::Engine, config: &[(&str, &str)]) -> Store<RawState> {
    let config = config
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut store = Store::new(engine, RawState { config });
    // The engine interrupts on epochs (the runtime's ticker advances them): never here.
    store.set_epoch_deadline(1 << 40);
    store
}

/// `bench-driver` instantiated straight on wasmtime: a linker with only `config.get` (the same
/// lookup as the runtime's), every other import a trap. No async host function is linked, so
/// the store may be called synchronously.
struct RawDriver {
    store: Store<RawState>,
    poll: TypedFunc<(), (Result<Vec<wit::Observation>, wit::Error>,)>,
}

impl RawDriver {
    fn open(pre: &InstancePre<RawState>, config: &[(&str, &str)]) -> Self {
        let mut store = raw_store(pre.engine(), config);
        let instance = pre.instantiate(&mut store).expect("instantiates");
        let interface = instance
            .get_export_index(&mut store, None, "chatter:plugin/machine-driver@0.1.0")
            .expect("exports machine-driver");
        let export = |store: &mut Store<RawState>, name: &str| {
            instance
                .get_export_index(&mut *store, Some(&interface), name)
                .expect("exported")
        };
        let (open_export, poll_export) = (export(&mut store, "open"), export(&mut store, "poll"));
        type Open = (wit_driver::Machine,);
        type Opened = (Result<wit_driver::DeviceModel, wit::Error>,);
        let open = instance
            .get_typed_func::<Open, Opened>(&mut store, open_export)
            .expect("open has the WIT signature");
        let poll = instance
            .get_typed_func(&mut store, poll_export)
            .expect("poll has its type");
        let machine = wit_driver::Machine {
            id: "m1".into(),
            name: "Raw".into(),
            endpoints: Vec::new(),
        };
        let (opened,) = open
            .call(&mut store, (machine,))
            .expect("open does not trap");
        opened.expect("open succeeds");
        RawDriver { store, poll }
    }

    fn poll_sync_n(&mut self, iters: u64, expected: usize, samples: &Samples) -> Duration {
        let watch = Stopwatch::start(Clock::Thread);
        for _ in 0..iters {
            let (batch,) = self
                .poll
                .call(&mut self.store, ())
                .expect("poll does not trap");
            let batch = batch.expect("poll succeeds");
            assert_eq!(batch.len(), expected);
            black_box(batch);
        }
        samples.record(watch.stop(), iters)
    }

    fn poll_async_n(
        &mut self,
        tokio: &Tokio,
        iters: u64,
        expected: usize,
        samples: &Samples,
    ) -> Duration {
        tokio.block_on(async {
            let watch = Stopwatch::start(Clock::Thread);
            for _ in 0..iters {
                let call = self.poll.call_async(&mut self.store, ()).await;
                let batch = call.expect("poll does not trap").0.expect("poll succeeds");
                assert_eq!(batch.len(), expected);
                black_box(batch);
            }
            samples.record(watch.stop(), iters)
        })
    }
}

fn machine(driver: &str) -> Machine {
    Machine {
        org: OrgId::new("bench").expect("a valid id"),
        id: MachineId::new("m1").expect("a valid id"),
        name: "Bench machine".into(),
        driver: PluginId::new(driver).expect("a valid id"),
        config: BTreeMap::new(),
        endpoints: Vec::new(),
        poll_interval_ms: 1_000,
        enabled: true,
        feed: Default::default(),
        signals: Default::default(),
        group: None,
        daily_part_goal: None,
    }
}

/// The context of `machine` for `plugin` with `config`, everything the manifest asks granted.
fn context_for(
    plugin: &LoadedPlugin,
    machine: &Machine,
    config: &[(&str, &str)],
) -> InstanceContext {
    let given = config
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut context = InstanceContext::for_machine(machine.org.clone(), machine.id.clone());
    context.config = plugin
        .manifest
        .resolve_config(&given)
        .expect("the config fits the schema");
    context.grants = plugin
        .manifest
        .capabilities
        .keys()
        .copied()
        .collect::<BTreeSet<_>>();
    context
}

/// A started and opened instance of `plugin`.
async fn open(
    runtime: &Runtime,
    plugin: &Arc<LoadedPlugin>,
    config: &[(&str, &str)],
) -> DriverInstance {
    let machine = machine(plugin.id().as_str());
    let context = context_for(plugin, &machine, config);
    let mut instance = DriverInstance::start(runtime, plugin.clone(), context)
        .await
        .expect("the instance starts");
    instance.open(&machine).await.expect("the instance opens");
    instance
}

/// Polls `iters` times in one `block_on`; checks each batch has `expected` observations.
fn poll_n(
    tokio: &Tokio,
    instance: &mut DriverInstance,
    iters: u64,
    expected: usize,
    samples: &Samples,
) -> Duration {
    tokio.block_on(async {
        let watch = Stopwatch::start(Clock::Thread);
        for _ in 0..iters {
            let batch = instance.poll().await.expect("the poll succeeds");
            assert_eq!(batch.len(), expected);
            black_box(batch);
        }
        samples.record(watch.stop(), iters)
    })
}

/// The native baseline of a poll: a plain function call returning an empty list.
#[inline(never)]
fn native_poll(polls: &mut u64) -> Result<Vec<Observation>, Fault> {
    *polls += 1;
    Ok(Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Measuring

/// Which CPU clock a measurement reads.
#[derive(Debug, Clone, Copy)]
enum Clock {
    /// This thread only: everything a benchmark here does runs on it.
    Thread,
    /// Every thread of the process (compilation uses a thread pool).
    Process,
}

fn cpu_now(clock: Clock) -> Duration {
    let id = match clock {
        Clock::Thread => ClockId::ThreadCPUTime,
        Clock::Process => ClockId::ProcessCPUTime,
    };
    let now = rustix::time::clock_gettime(id);
    Duration::new(
        u64::try_from(now.tv_sec).unwrap_or(0),
        u32::try_from(now.tv_nsec).unwrap_or(0),
    )
}

/// The cost of one thread-CPU clock read (a system call), in ns.
fn clock_read_cost() -> f64 {
    const READS: u32 = 10_000;
    let started = Instant::now();
    for _ in 0..READS {
        black_box(cpu_now(Clock::Thread));
    }
    started.elapsed().as_nanos() as f64 / f64::from(READS)
}

/// The smallest step of the thread CPU clock, in ns.
fn cpu_resolution() -> f64 {
    let resolution = rustix::time::clock_getres(ClockId::ThreadCPUTime);
    resolution.tv_sec as f64 * 1e9 + resolution.tv_nsec as f64
}

/// Wall and CPU time spent.
#[derive(Debug, Clone, Copy, Default)]
struct Spent {
    wall: Duration,
    cpu: Duration,
}

impl Spent {
    /// This time less a measuring overhead.
    fn less(self, overhead: Spent) -> Spent {
        Spent {
            wall: self.wall.saturating_sub(overhead.wall),
            cpu: self.cpu.saturating_sub(overhead.cpu),
        }
    }
}

impl AddAssign for Spent {
    fn add_assign(&mut self, other: Spent) {
        self.wall += other.wall;
        self.cpu += other.cpu;
    }
}

struct Stopwatch {
    clock: Clock,
    wall: Instant,
    cpu: Duration,
}

impl Stopwatch {
    /// What an empty start + stop measures on the thread CPU clock: the cost of the clock reads
    /// that falls inside the measured interval.
    fn overhead() -> Spent {
        const ROUNDS: u32 = 2_000;
        let mut total = Spent::default();
        for _ in 0..ROUNDS {
            total += Stopwatch::start(Clock::Thread).stop();
        }
        Spent {
            wall: total.wall / ROUNDS,
            cpu: total.cpu / ROUNDS,
        }
    }

    fn start(clock: Clock) -> Self {
        let cpu = cpu_now(clock);
        Stopwatch {
            clock,
            wall: Instant::now(),
            cpu,
        }
    }

    fn stop(&self) -> Spent {
        let wall = self.wall.elapsed();
        Spent {
            wall,
            cpu: cpu_now(self.clock).saturating_sub(self.cpu),
        }
    }
}

/// Which clock criterion is given.
#[derive(Debug, Clone, Copy)]
enum Report {
    Wall,
    Cpu,
}

/// The per-iteration times of each measurement sample of one benchmark, recorded from inside
/// `iter_custom`. Criterion calls the routine during warm-up first, then exactly `sample_size`
/// times: the last `sample_size` entries are the measurement.
struct Samples {
    clock: Clock,
    report: Report,
    /// (wall ns, CPU ns) per iteration, one entry per call of the routine.
    per_iteration: RefCell<Vec<(f64, f64)>>,
}

/// Medians of a benchmark's samples, in ns per iteration.
#[derive(Debug, Clone, Copy)]
struct Median {
    wall: f64,
    cpu: f64,
}

impl Samples {
    fn new(clock: Clock, report: Report) -> Self {
        Samples {
            clock,
            report,
            per_iteration: RefCell::default(),
        }
    }

    /// Measured on this thread's CPU clock, which criterion is given.
    fn thread() -> Self {
        Samples::new(Clock::Thread, Report::Cpu)
    }

    /// Records a sample; returns the time criterion is given.
    fn record(&self, spent: Spent, iters: u64) -> Duration {
        let n = iters.max(1) as f64;
        let entry = (
            spent.wall.as_nanos() as f64 / n,
            spent.cpu.as_nanos() as f64 / n,
        );
        self.per_iteration.borrow_mut().push(entry);
        match self.report {
            Report::Wall => spent.wall,
            Report::Cpu => spent.cpu,
        }
    }

    /// Times `iters` runs of `routine` as one sample.
    fn time(&self, iters: u64, mut routine: impl FnMut()) -> Duration {
        let watch = Stopwatch::start(self.clock);
        for _ in 0..iters {
            routine();
        }
        self.record(watch.stop(), iters)
    }

    /// Medians of the last `sample_size` samples (the measurement); `None` when the benchmark
    /// did not run (filtered out).
    fn median(&self, sample_size: usize) -> Option<Median> {
        let all = self.per_iteration.borrow();
        let measured = &all[all.len() - sample_size.min(all.len())..];
        let wall: Vec<f64> = measured.iter().map(|s| s.0).collect();
        let cpu: Vec<f64> = measured.iter().map(|s| s.1).collect();
        Some(Median {
            wall: median(wall)?,
            cpu: median(cpu)?,
        })
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    values.sort_by(f64::total_cmp);
    let middle = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[middle]),
        _ => Some((values[middle - 1] + values[middle]) / 2.0),
    }
}

fn conclude(what: &str, median: Option<Median>, elements: Option<u64>) {
    let Some(Median { wall, cpu }) = median else {
        return;
    };
    let each = match elements {
        Some(n) => format!(", {} per element", human(cpu / n as f64)),
        None => String::new(),
    };
    println!(
        "=> {what}: median {} CPU{each} (wall {})",
        human(cpu),
        human(wall)
    );
}

fn verdict(what: &str, met: bool, target: &str) {
    println!(
        "=> {what}: {} ({target})",
        if met { "MET" } else { "MISSED" }
    );
}

fn human(ns: f64) -> String {
    if ns.abs() >= 1e9 {
        format!("{:.2} s", ns / 1e9)
    } else if ns.abs() >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns.abs() >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.1} ns")
    }
}
