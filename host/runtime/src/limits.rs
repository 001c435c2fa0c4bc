//! Per-instance limits: what a plugin asked for in its manifest, capped by what the operator
//! allows, and the [`ResourceLimiter`] that enforces the memory cap and remembers hitting it.

use std::time::Duration;

use wasmtime::ResourceLimiter;

use crate::manifest::RequestedLimits;

/// The limits an instance runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveLimits {
    /// Linear memory cap, in bytes.
    pub memory_bytes: usize,
    /// Wall-clock deadline of one call.
    pub call_timeout: Duration,
    /// Instruction budget of one call, when the engine meters fuel.
    pub fuel: Option<u64>,
    /// Cap on the bytes moved by one call across the boundary.
    pub host_call_bytes: usize,
    /// Cap on the bytes of an instance's private state.
    pub state_bytes: usize,
}

impl EffectiveLimits {
    /// The limits of a plugin asking for `requested`, within `ceiling` (the operator's maximum,
    /// which also supplies the defaults).
    pub fn resolve(requested: &RequestedLimits, ceiling: &EffectiveLimits) -> Self {
        let mib = |m: u32| {
            usize::try_from(m)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 20)
        };
        let kib = |k: u32| {
            usize::try_from(k)
                .unwrap_or(usize::MAX)
                .saturating_mul(1 << 10)
        };
        EffectiveLimits {
            memory_bytes: requested
                .memory_mib
                .map_or(ceiling.memory_bytes, mib)
                .min(ceiling.memory_bytes),
            call_timeout: requested
                .call_timeout_ms
                .map_or(ceiling.call_timeout, |ms| Duration::from_millis(ms.into()))
                .min(ceiling.call_timeout),
            fuel: match (requested.fuel, ceiling.fuel) {
                (Some(asked), Some(max)) => Some(asked.min(max)),
                (asked, max) => asked.or(max),
            },
            host_call_bytes: requested
                .host_call_kib
                .map_or(ceiling.host_call_bytes, kib)
                .min(ceiling.host_call_bytes),
            state_bytes: ceiling.state_bytes,
        }
    }
}

impl Default for EffectiveLimits {
    fn default() -> Self {
        EffectiveLimits {
            memory_bytes: 64 << 20,
            call_timeout: Duration::from_secs(5),
            fuel: None,
            host_call_bytes: 4 << 20,
            state_bytes: 1 << 20,
        }
    }
}

/// Enforces the memory cap and records that it was hit: a Rust guest turns a failed
/// `memory.grow` into an `unreachable` trap that would otherwise look like a bug in the plugin.
#[derive(Debug)]
pub(crate) struct MemoryLimiter {
    cap: usize,
    hit: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(cap: usize) -> Self {
        MemoryLimiter { cap, hit: false }
    }

    /// Whether a growth was refused since the last call to `reset`.
    pub(crate) fn was_hit(&self) -> bool {
        self.hit
    }

    pub(crate) fn reset(&mut self) {
        self.hit = false;
    }

    pub(crate) fn cap(&self) -> usize {
        self.cap
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = desired <= self.cap;
        self.hit |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        // Tables hold function references; 100k entries is far beyond any real plugin.
        Ok(desired <= 100_000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_capped_by_the_ceiling() {
        let ceiling = EffectiveLimits::default();
        let asked = RequestedLimits {
            memory_mib: Some(1024),
            call_timeout_ms: Some(100),
            fuel: Some(5),
            host_call_kib: None,
        };
        let limits = EffectiveLimits::resolve(&asked, &ceiling);
        assert_eq!(limits.memory_bytes, ceiling.memory_bytes);
        assert_eq!(limits.call_timeout, Duration::from_millis(100));
        assert_eq!(limits.fuel, Some(5));
        assert_eq!(limits.host_call_bytes, ceiling.host_call_bytes);
    }

    #[test]
    fn the_limiter_remembers_a_refused_growth() {
        let mut limiter = MemoryLimiter::new(1 << 20);
        assert!(limiter.memory_growing(0, 1 << 20, None).unwrap_or(false));
        assert!(!limiter.was_hit());
        assert!(!limiter.memory_growing(0, 2 << 20, None).unwrap_or(true));
        assert!(limiter.was_hit());
        limiter.reset();
        assert!(!limiter.was_hit());
    }
}
