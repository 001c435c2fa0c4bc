//! One instance of an integration plugin working for one organization's connection: who the
//! connected account is, and a sync that imports into the organization's library.

use std::sync::Arc;
use std::time::Duration;

use chatter_model::Account;

use wasmtime::Store;

use crate::bindings::integration::Integration;
use crate::engine::Runtime;
use crate::fault::Fault;
use crate::host_state::{HostState, InstanceContext};
use crate::instance::{arm_with, code_name, finish, instantiate_for_org};
use crate::package::{KindPre, LoadedPlugin};

/// What a sync did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncOutcome {
    /// Artifacts stored.
    pub imported: u32,
    /// Items already in the library.
    pub skipped: u32,
    /// Items that failed, each with the plugin's reason.
    pub failures: Vec<(String, String)>,
}

/// A live integration instance. Its calls get their own deadline: a sync walks a provider's
/// whole tree over the network, which no per-call driver timeout fits.
pub struct IntegrationInstance {
    store: Store<HostState>,
    bindings: Integration,
    meter_fuel: bool,
}

impl IntegrationInstance {
    /// Instantiates `plugin` for the organization and connection in `context`.
    pub async fn start(
        runtime: &Runtime,
        plugin: Arc<LoadedPlugin>,
        context: InstanceContext,
    ) -> Result<Self, Fault> {
        let KindPre::Integration(pre) = &plugin.pre else {
            return Err(Fault::Instantiate {
                message: format!("`{}` is not an integration", plugin.id()),
            });
        };
        tracing::debug!(plugin = %plugin.id(), org = %context.org, config = ?context.config, "starting an integration instance");
        let (mut store, instance, meter_fuel) =
            instantiate_for_org(runtime, &plugin, pre, context).await?;
        let bindings = Integration::new(&mut store, &instance).map_err(|e| Fault::Instantiate {
            message: e.to_string(),
        })?;
        Ok(IntegrationInstance {
            store,
            bindings,
            meter_fuel,
        })
    }

    /// Asks the plugin who the connected account is.
    #[tracing::instrument(name = "plugin.whoami", level = "debug", skip_all)]
    pub async fn whoami(&mut self, timeout: Duration) -> Result<Account, Fault> {
        arm_with(&mut self.store, self.meter_fuel, timeout);
        let sync = self.bindings.chatter_plugin_integration_sync();
        let outcome = sync.call_whoami(&mut self.store).await;
        let account = finish(&self.store, outcome)?;
        Ok(Account {
            id: account.id,
            name: account.name,
        })
    }

    /// Runs one sync: imports what changed at the provider since `since` (ns since the epoch).
    #[tracing::instrument(name = "plugin.sync", level = "debug", skip_all)]
    pub async fn sync(
        &mut self,
        since: Option<i64>,
        timeout: Duration,
    ) -> Result<SyncOutcome, Fault> {
        arm_with(&mut self.store, self.meter_fuel, timeout);
        let sync = self.bindings.chatter_plugin_integration_sync();
        let outcome = sync.call_sync(&mut self.store, since).await;
        let summary = finish(&self.store, outcome)?;
        Ok(SyncOutcome {
            imported: summary.imported,
            skipped: summary.skipped,
            failures: summary
                .failures
                .into_iter()
                .map(|(item, error)| {
                    (
                        item,
                        format!("{}: {}", code_name(error.code), error.message),
                    )
                })
                .collect(),
        })
    }
}
