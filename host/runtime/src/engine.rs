//! The one [`wasmtime::Engine`] of a process, its epoch ticker, and the linkers of the three
//! plugin kinds, bundled as a [`Runtime`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::component::Linker;
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::cache::ArtifactCache;
use crate::capabilities::linker_for;
use crate::host_state::HostState;
use crate::limits::EffectiveLimits;
use crate::manifest::PluginKind;

/// How the runtime is sized and what it allows at most.
#[derive(Debug, Clone)]
pub struct RuntimeConfig {
    /// Live instances the pooling allocator reserves room for. Each live instance costs ~4
    /// memory mappings and its reserved fiber stack 2 more; Linux allows 65,530 per process, so
    /// ~11,000 is the ceiling of one runtime per process.
    pub max_instances: u32,
    /// The most any plugin may have, and what a plugin gets when its manifest asks for nothing.
    pub limits: EffectiveLimits,
    /// How often the epoch advances: the granularity of call deadlines and of the yields that
    /// let other tasks run while a plugin computes.
    pub epoch_tick: Duration,
    /// Meter fuel so plugins' `fuel` limits apply. Costs ~25 % on tight loops.
    pub fuel_metering: bool,
    /// Where compiled components are cached; `None` compiles on every load.
    pub cache_dir: Option<PathBuf>,
    /// Use the pooling allocator (fast instantiation); off only for tools that load one plugin.
    pub pooling: bool,
}

impl Default for RuntimeConfig {
    fn default() -> Self {
        RuntimeConfig {
            max_instances: 10_000,
            limits: EffectiveLimits::default(),
            epoch_tick: Duration::from_millis(10),
            fuel_metering: false,
            cache_dir: None,
            pooling: true,
        }
    }
}

/// Why the runtime could not start.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// wasmtime refused the configuration.
    #[error("cannot configure the WebAssembly engine: {0:#}")]
    Engine(wasmtime::Error),
    /// The artifact cache folder is unusable.
    #[error("cannot use the compiled-plugin cache at {path}: {source}")]
    Cache {
        /// The folder.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The plugin runtime of a process: one engine, a linker per kind, the artifact cache.
pub struct Runtime {
    pub(crate) engine: Engine,
    pub(crate) config: RuntimeConfig,
    pub(crate) cache: Option<ArtifactCache>,
    linkers: Linkers,
    _ticker: EpochTicker,
}

struct Linkers {
    driver: Linker<HostState>,
    integration: Linker<HostState>,
    report: Linker<HostState>,
}

impl Runtime {
    /// Builds the engine and linkers, and starts the epoch ticker.
    pub fn new(config: RuntimeConfig) -> Result<Self, RuntimeError> {
        let engine = Engine::new(&engine_config(&config)).map_err(RuntimeError::Engine)?;
        let cache =
            match &config.cache_dir {
                Some(path) => Some(ArtifactCache::open(path, &engine).map_err(|source| {
                    RuntimeError::Cache {
                        path: path.clone(),
                        source,
                    }
                })?),
                None => None,
            };
        let linkers = Linkers {
            driver: linker_for(&engine, PluginKind::Driver).map_err(RuntimeError::Engine)?,
            integration: linker_for(&engine, PluginKind::Integration)
                .map_err(RuntimeError::Engine)?,
            report: linker_for(&engine, PluginKind::Report).map_err(RuntimeError::Engine)?,
        };
        let ticker = EpochTicker::start(engine.clone(), config.epoch_tick);
        Ok(Runtime {
            engine,
            config,
            cache,
            linkers,
            _ticker: ticker,
        })
    }

    /// The engine, for tools that need it (benchmarks, inspection).
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The runtime's configuration.
    pub fn config(&self) -> &RuntimeConfig {
        &self.config
    }

    pub(crate) fn linker(&self, kind: PluginKind) -> &Linker<HostState> {
        match kind {
            PluginKind::Driver => &self.linkers.driver,
            PluginKind::Integration => &self.linkers.integration,
            PluginKind::Report => &self.linkers.report,
        }
    }
}

fn engine_config(config: &RuntimeConfig) -> Config {
    let mut wasm = Config::new();
    wasm.wasm_component_model(true)
        // Async component calls are not used; without them a call costs ~3.5x less.
        .concurrency_support(false)
        .epoch_interruption(true)
        .consume_fuel(config.fuel_metering)
        .max_wasm_stack(512 << 10)
        .async_stack_size(1 << 20);
    if config.pooling {
        wasm.allocation_strategy(InstanceAllocationStrategy::Pooling(pool_config(config)));
    }
    // Every memory gets exactly its cap as reservation (no 4 GiB reservations): 10,000
    // instances must fit in the address space and the process's mapping budget.
    let memory_bytes = round_to_wasm_pages(config.limits.memory_bytes);
    wasm.memory_reservation(memory_bytes as u64)
        .memory_guard_size(0)
        .memory_reservation_for_growth(0);
    wasm
}

fn pool_config(config: &RuntimeConfig) -> PoolingAllocationConfig {
    let instances = config.max_instances;
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(instances)
        // A std guest is a main module plus small shim modules that hold its import table.
        .total_core_instances(instances.saturating_mul(4))
        .total_memories(instances)
        .total_tables(instances.saturating_mul(3))
        .total_stacks(instances)
        .max_memories_per_component(1)
        .max_memory_size(round_to_wasm_pages(config.limits.memory_bytes))
        // Keep the first pages of a freed slot mapped instead of wiping them: the next
        // instance in the slot starts ~2x faster (measured: 13.7 -> 6.6 us), for at most this
        // much resident memory per idle warm slot.
        .linear_memory_keep_resident(KEEP_RESIDENT)
        .table_keep_resident(KEEP_RESIDENT);
    pool
}

/// Bytes of a freed memory or table slot kept resident for the next instance.
const KEEP_RESIDENT: usize = 256 << 10;

fn round_to_wasm_pages(bytes: usize) -> usize {
    const PAGE: usize = 64 << 10;
    bytes.div_ceil(PAGE).max(1) * PAGE
}

/// Advances the engine's epoch on a fixed period; stops when dropped.
struct EpochTicker {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl EpochTicker {
    fn start(engine: Engine, period: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("chatter-epoch".into())
            .spawn(move || {
                while !stopping.load(Ordering::Relaxed) {
                    std::thread::sleep(period);
                    engine.increment_epoch();
                }
            })
            .ok();
        EpochTicker { stop, thread }
    }
}

impl Drop for EpochTicker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
