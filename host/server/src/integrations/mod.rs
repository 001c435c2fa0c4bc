//! Integrations: organizations' OAuth connections to third-party providers, owned entirely by
//! the host, and the syncs that run integration plugins against them.
//!
//! - [`provider`] is the operator's `[providers.NAME]` configuration;
//! - [`oauth`] runs the authorization-code flow with PKCE, refreshes and revokes;
//! - [`gateway`] carries a plugin's `authorized-http` requests, attaching the token only for
//!   the provider's API hosts;
//! - [`library`] validates what a plugin imports and stores it in the organization's library.
//!
//! A connection's tokens live only sealed in the store ([`crate::vault`]), bound to their
//! organization and connection; plugins never see them. Refreshes of one connection are
//! serialized and each new pair is stored before it is used, because providers such as Autodesk
//! rotate refresh tokens on every use and reject a reused one.

pub mod gateway;
pub mod library;
pub mod oauth;
pub mod provider;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chatter_model::{
    Account, Connection, ConnectionStatus, OrgId, PluginId, SyncFailure, SyncRecord, UserId,
};
use chatter_runtime::{Fault, InstanceContext, IntegrationInstance, PluginKind, Runtime};
use chatter_store::{Store, StoreError};
use reqwest::Url;

use crate::plugins::{self, PluginError};
use crate::vault::{Scope, Vault, VaultError};
use oauth::{TokenError, TokenSet};
use provider::Provider;

/// How long a user has to come back from the provider's consent page.
const AUTHORIZATION_TTL: Duration = Duration::from_secs(10 * 60);

/// Authorizations one browser session may have in progress; starting another drops the oldest.
const MAX_PENDING_PER_SESSION: usize = 5;

/// How long before its expiry an access token is refreshed.
const REFRESH_MARGIN_MS: i64 = 60_000;

/// How long one sync may run.
const SYNC_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// How long asking a plugin for its account may take.
const WHOAMI_TIMEOUT: Duration = Duration::from_secs(60);

/// Why an integration operation failed.
#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// No installed integration plugin has that id.
    #[error("no integration plugin `{0}` is installed")]
    UnknownPlugin(PluginId),
    /// The plugin names a provider the operator has not configured.
    #[error("the provider `{provider}` that `{plugin}` needs is not configured on this server")]
    ProviderNotConfigured {
        /// The plugin.
        plugin: PluginId,
        /// The provider it names.
        provider: String,
    },
    /// Connections need the vault, and it has no key.
    #[error(
        "this server has no vault key (`[vault]` in its configuration), so it cannot keep connections"
    )]
    NoVault,
    /// The callback could not finish a connection.
    #[error(transparent)]
    Callback(#[from] CallbackError),
    /// The organization has no connection with that id.
    #[error("no connection `{0}`")]
    NotFound(String),
    /// The connection cannot be used as it is.
    #[error("the connection is {0}: connect again")]
    NotConnected(&'static str),
    /// The provider refused or failed a token request.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// The plugin failed.
    #[error("the integration plugin {0}")]
    Plugin(#[from] Fault),
    /// The plugin could not be loaded.
    #[error(transparent)]
    Load(#[from] PluginError),
    /// Sealing or opening tokens failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the provider's redirect back could not complete a connection. Each says what happened in
/// words for the person who clicked.
#[derive(Debug, thiserror::Error)]
pub enum CallbackError {
    /// The user did not allow access at the provider.
    #[error("{provider} did not grant access{}: nothing was connected", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Denied {
        /// The provider's name for users.
        provider: String,
        /// What it said.
        description: Option<String>,
    },
    /// The provider reported another error.
    #[error("{provider} reported `{error}`{}: nothing was connected", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Provider {
        /// The provider's name for users.
        provider: String,
        /// The OAuth error code.
        error: String,
        /// What it said.
        description: Option<String>,
    },
    /// The `state` is not one this server issued, was used already, or belongs to another
    /// session.
    #[error(
        "this sign-in response does not match a connection you started here (it may have been used already): start again from Integrations"
    )]
    UnknownState,
    /// The user took too long at the provider.
    #[error("the connection was started more than 10 minutes ago: start again from Integrations")]
    Expired,
    /// The redirect has neither a code nor an error.
    #[error("the provider's response has no authorization code")]
    MissingCode,
    /// The code could not be exchanged (expired or used, most often).
    #[error("the authorization could not be completed: {0}. Start again from Integrations")]
    Exchange(TokenError),
}

/// What the provider's redirect carries back.
#[derive(Debug, Default, serde::Deserialize)]
pub struct CallbackParams {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` the flow started with.
    pub state: Option<String>,
    /// The OAuth error, when the user refused or the provider failed.
    pub error: Option<String>,
    /// The provider's explanation of the error.
    pub error_description: Option<String>,
}

/// An integration plugin users can connect, with its provider.
#[derive(Debug, Clone)]
pub struct Connector {
    /// The plugin.
    pub plugin: PluginId,
    /// Its description.
    pub description: String,
    /// The provider's configuration name.
    pub provider: String,
    /// The provider's name for users; none when the operator has not configured it.
    pub display_name: Option<String>,
    /// The scopes a connection asks for.
    pub scopes: Vec<String>,
}

/// An authorization in progress, between the redirect to the provider and its callback.
struct Pending {
    org: OrgId,
    user: UserId,
    session: String,
    plugin: PluginId,
    provider: String,
    verifier: String,
    scopes: Vec<String>,
    started: Instant,
}

/// The integrations of every organization on this server.
pub struct Integrations {
    providers: BTreeMap<String, Arc<Provider>>,
    vault: Option<Arc<Vault>>,
    runtime: Arc<Runtime>,
    store: Arc<dyn Store>,
    redirect: Url,
    pending: Mutex<HashMap<String, Pending>>,
    refreshing: KeyedLocks,
    syncing: KeyedLocks,
}

/// One async lock per connection, made on first use.
#[derive(Default)]
struct KeyedLocks(Mutex<HashMap<ConnectionKey, Arc<tokio::sync::Mutex<()>>>>);

/// An organization and one of its connections' ids.
type ConnectionKey = (OrgId, String);

impl KeyedLocks {
    fn of(&self, org: &OrgId, connection: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        locks
            .entry((org.clone(), connection.to_owned()))
            .or_default()
            .clone()
    }
}

impl Integrations {
    /// The integrations of a server reached at `public_url`.
    pub fn new(
        providers: Vec<Provider>,
        vault: Option<Vault>,
        runtime: Arc<Runtime>,
        store: Arc<dyn Store>,
        public_url: &str,
    ) -> anyhow::Result<Self> {
        let redirect = Url::parse(&format!("{public_url}{CALLBACK_PATH}"))?;
        Ok(Integrations {
            providers: providers
                .into_iter()
                .map(|p| (p.name.clone(), Arc::new(p)))
                .collect(),
            vault: vault.map(Arc::new),
            runtime,
            store,
            redirect,
            pending: Mutex::default(),
            refreshing: KeyedLocks::default(),
            syncing: KeyedLocks::default(),
        })
    }

    /// Reseals every connection's tokens still sealed with a previous vault key, so that after
    /// one start with a new key the previous keys are no longer needed. Returns how many.
    pub async fn reseal_all(&self) -> Result<usize, IntegrationError> {
        let Some(vault) = &self.vault else {
            return Ok(0);
        };
        let mut resealed = 0;
        for org in self.store.organizations().await? {
            for listed in self.store.connections(&org.id).await? {
                let lock = self.refreshing.of(&org.id, &listed.id);
                let _serialized = lock.lock().await;
                // Read again under the lock: a refresh may have just replaced the tokens.
                let mut connection = self.connection(&org.id, &listed.id).await?;
                let Some(sealed) = &connection.tokens else {
                    continue;
                };
                if vault.is_current(sealed) {
                    continue;
                }
                connection.tokens = Some(vault.reseal(scope_of(&connection), sealed)?);
                self.store.put_connection(&connection).await?;
                resealed += 1;
            }
        }
        Ok(resealed)
    }

    /// The origins of the providers' consent pages, which the Connect forms lead to.
    pub fn authorize_origins(&self) -> Vec<String> {
        self.providers
            .values()
            .map(|p| p.authorize_url.origin().ascii_serialization())
            .collect()
    }

    /// The installed integration plugins, with their providers.
    pub async fn connectors(&self) -> Result<Vec<Connector>, IntegrationError> {
        let mut connectors = Vec::new();
        for install in self.store.plugins().await? {
            if install.kind != PluginKind::Integration.as_str() {
                continue;
            }
            let label = std::path::PathBuf::from(format!("<installed>/{}/plugin.toml", install.id));
            let manifest = chatter_runtime::Manifest::parse(&install.manifest_toml, &label)
                .map_err(PluginError::from)?;
            let Some((provider, scopes)) = manifest.provider() else {
                continue;
            };
            let configured = self.providers.get(provider);
            connectors.push(Connector {
                plugin: install.id.clone(),
                description: install.description.clone(),
                provider: provider.to_owned(),
                display_name: configured.map(|p| p.display_name.clone()),
                scopes: match configured {
                    Some(p) => p.scopes_with(&scopes),
                    None => scopes.iter().map(|s| (*s).to_owned()).collect(),
                },
            });
        }
        Ok(connectors)
    }

    fn connector(
        &self,
        connectors: &[Connector],
        plugin: &PluginId,
    ) -> Result<(Connector, Arc<Provider>), IntegrationError> {
        let connector = connectors
            .iter()
            .find(|c| &c.plugin == plugin)
            .cloned()
            .ok_or_else(|| IntegrationError::UnknownPlugin(plugin.clone()))?;
        let provider = self
            .providers
            .get(&connector.provider)
            .cloned()
            .ok_or_else(|| IntegrationError::ProviderNotConfigured {
                plugin: plugin.clone(),
                provider: connector.provider.clone(),
            })?;
        Ok((connector, provider))
    }

    fn vault(&self) -> Result<&Vault, IntegrationError> {
        self.vault.as_deref().ok_or(IntegrationError::NoVault)
    }

    /// Starts connecting `plugin` for `user` of `org`, signed in with the session whose hash is
    /// `session`: returns the provider's authorization URL to send the browser to.
    pub async fn begin(
        &self,
        org: &OrgId,
        user: &UserId,
        session: &str,
        plugin: &PluginId,
    ) -> Result<Url, IntegrationError> {
        self.vault()?;
        let (connector, provider) = self.connector(&self.connectors().await?, plugin)?;
        let authorization = oauth::authorize(&provider, &self.redirect, &connector.scopes);
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pending.retain(|_, p| p.started.elapsed() < AUTHORIZATION_TTL);
        // A session has a few flows open at most (tabs); more is someone filling memory.
        let mut of_session: Vec<(Instant, String)> = pending
            .iter()
            .filter(|(_, p)| p.session == session)
            .map(|(state, p)| (p.started, state.clone()))
            .collect();
        of_session.sort();
        for (_, state) in of_session.iter().rev().skip(MAX_PENDING_PER_SESSION - 1) {
            pending.remove(state);
        }
        pending.insert(
            authorization.state,
            Pending {
                org: org.clone(),
                user: user.clone(),
                session: session.to_owned(),
                plugin: plugin.clone(),
                provider: provider.name.clone(),
                verifier: authorization.verifier,
                scopes: connector.scopes,
                started: Instant::now(),
            },
        );
        Ok(authorization.url)
    }

    /// Finishes a connection from the provider's redirect back, for the browser session whose
    /// hash is `session`. The `state` is single-use: a replayed callback is refused.
    #[tracing::instrument(name = "integrations.callback", skip_all)]
    pub async fn complete(
        self: &Arc<Self>,
        session: &str,
        params: CallbackParams,
    ) -> Result<Connection, IntegrationError> {
        let pending = {
            let mut pending = self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let state = params.state.as_deref().unwrap_or_default();
            // Removed whether it matches the session or not: a state seen by another session has
            // leaked, and must not be tried again.
            match pending.remove(state) {
                Some(found) if found.session == session => found,
                _ => return Err(CallbackError::UnknownState.into()),
            }
        };
        let provider = self
            .providers
            .get(&pending.provider)
            .cloned()
            .ok_or_else(|| IntegrationError::ProviderNotConfigured {
                plugin: pending.plugin.clone(),
                provider: pending.provider.clone(),
            })?;
        if let Some(error) = params.error {
            let description = params.error_description;
            return Err(if error == "access_denied" {
                CallbackError::Denied {
                    provider: provider.display_name.clone(),
                    description,
                }
            } else {
                CallbackError::Provider {
                    provider: provider.display_name.clone(),
                    error,
                    description,
                }
            }
            .into());
        }
        if pending.started.elapsed() >= AUTHORIZATION_TTL {
            return Err(CallbackError::Expired.into());
        }
        let code = params.code.ok_or(CallbackError::MissingCode)?;
        let tokens = oauth::exchange(
            &provider,
            &self.redirect,
            code,
            pending.verifier,
            &pending.scopes,
        )
        .await
        .map_err(CallbackError::Exchange)?;
        let mut connection = Connection {
            id: new_connection_id()?,
            org: pending.org.clone(),
            provider: provider.name.clone(),
            plugin: pending.plugin.clone(),
            account: None,
            scopes: tokens.scopes.clone(),
            status: ConnectionStatus::Connected,
            created_by: pending.user.clone(),
            created_at_ms: chatter_model::now_ms(),
            last_sync: None,
            tokens: None,
        };
        self.seal_into(&mut connection, &tokens)?;
        self.store.put_connection(&connection).await?;
        tracing::info!(org = %connection.org, connection = %connection.id, provider = %provider.name, "connected");
        // The account's name, for the connection's page. A plugin that cannot tell keeps the
        // connection; the next sync asks again.
        match self.identify(&connection).await {
            Ok(account) => {
                connection.account = Some(account);
                self.store.put_connection(&connection).await?;
            }
            Err(error) => {
                tracing::warn!(connection = %connection.id, %error, "could not identify the connected account")
            }
        }
        self.merge_into_earlier(connection, &tokens).await
    }

    /// When the organization already has a connection to the same account (one that needs
    /// re-authorization, most often), connecting again revives that one rather than adding a
    /// second: it keeps its id, its history and the versions it imported. Its old tokens, if
    /// any still work, are revoked.
    async fn merge_into_earlier(
        &self,
        connection: Connection,
        tokens: &TokenSet,
    ) -> Result<Connection, IntegrationError> {
        let Some(account) = &connection.account else {
            return Ok(connection);
        };
        let earlier = self
            .store
            .connections(&connection.org)
            .await?
            .into_iter()
            .find(|c| {
                c.id != connection.id
                    && c.plugin == connection.plugin
                    && c.provider == connection.provider
                    && c.account.as_ref().is_some_and(|a| a.id == account.id)
            });
        let Some(earlier) = earlier else {
            return Ok(connection);
        };
        if earlier.tokens.is_some() {
            self.disconnect(&earlier.org, &earlier.id).await?;
        }
        let lock = self.refreshing.of(&earlier.org, &earlier.id);
        let _serialized = lock.lock().await;
        let mut revived = self.connection(&earlier.org, &earlier.id).await?;
        revived.account = connection.account.clone();
        revived.scopes = connection.scopes.clone();
        revived.status = ConnectionStatus::Connected;
        revived.created_by = connection.created_by.clone();
        self.seal_into(&mut revived, tokens)?;
        self.store.put_connection(&revived).await?;
        self.store
            .remove_connection(&connection.org, &connection.id)
            .await?;
        tracing::info!(connection = %revived.id, "connected again");
        Ok(revived)
    }

    /// The organization's connection `id`.
    pub async fn connection(&self, org: &OrgId, id: &str) -> Result<Connection, IntegrationError> {
        self.store
            .connection(org, id)
            .await?
            .ok_or_else(|| IntegrationError::NotFound(id.to_owned()))
    }

    fn seal_into(
        &self,
        connection: &mut Connection,
        tokens: &TokenSet,
    ) -> Result<(), IntegrationError> {
        let json = serde_json::to_vec(tokens)
            .map_err(|e| VaultError::Malformed(format!("the tokens do not encode: {e}")))?;
        let sealed = self.vault()?.seal(scope_of(connection), &json)?;
        connection.tokens = Some(sealed);
        Ok(())
    }

    fn open_tokens(&self, connection: &Connection) -> Result<TokenSet, IntegrationError> {
        let Some(sealed) = &connection.tokens else {
            return Err(IntegrationError::NotConnected(status_words(
                &connection.status,
            )));
        };
        let json = self.vault()?.open(scope_of(connection), sealed)?;
        serde_json::from_slice(&json)
            .map_err(|_| VaultError::Malformed("the sealed tokens do not decode".into()).into())
    }

    /// A usable access token of the connection: the stored one, or a refreshed one when it
    /// expires within a minute or when `rejected` (the token a provider just refused) is still
    /// the current one. Refreshes of one connection happen one at a time, and the new pair is
    /// stored before it is returned.
    pub(crate) async fn access_token(
        &self,
        org: &OrgId,
        id: &str,
        rejected: Option<&str>,
    ) -> Result<String, IntegrationError> {
        let lock = self.refreshing.of(org, id);
        let _serialized = lock.lock().await;
        // Read under the lock: another task may have just refreshed.
        let mut connection = self.connection(org, id).await?;
        if connection.status != ConnectionStatus::Connected {
            return Err(IntegrationError::NotConnected(status_words(
                &connection.status,
            )));
        }
        let tokens = self.open_tokens(&connection)?;
        let fresh = tokens
            .expires_at_ms
            .is_none_or(|at| at - REFRESH_MARGIN_MS > chatter_model::now_ms());
        let refused = rejected == Some(tokens.access_token.as_str());
        if fresh && !refused {
            return Ok(tokens.access_token);
        }
        let provider = self.provider_of(&connection)?;
        match oauth::refresh(&provider, &self.redirect, &tokens).await {
            Ok(renewed) => {
                self.seal_into(&mut connection, &renewed)?;
                self.store.put_connection(&connection).await?;
                tracing::info!(org = %org, connection = id, "refreshed the connection's tokens");
                Ok(renewed.access_token)
            }
            Err(TokenError::Rejected {
                display_name,
                error,
                description,
            }) => {
                let reason = format!(
                    "{display_name} refused to renew access ({error}{})",
                    description
                        .as_deref()
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                );
                tracing::warn!(org = %org, connection = id, %reason, "the connection needs re-authorization");
                connection.status = ConnectionStatus::NeedsReauthorization { reason };
                connection.tokens = None;
                self.store.put_connection(&connection).await?;
                Err(IntegrationError::NotConnected(
                    "waiting for re-authorization",
                ))
            }
            Err(unavailable) => Err(unavailable.into()),
        }
    }

    fn provider_of(&self, connection: &Connection) -> Result<Arc<Provider>, IntegrationError> {
        self.providers
            .get(&connection.provider)
            .cloned()
            .ok_or_else(|| IntegrationError::ProviderNotConfigured {
                plugin: connection.plugin.clone(),
                provider: connection.provider.clone(),
            })
    }

    async fn instance(
        self: &Arc<Self>,
        connection: &Connection,
    ) -> Result<IntegrationInstance, IntegrationError> {
        let plugin =
            plugins::load_installed(self.store.as_ref(), &self.runtime, &connection.plugin).await?;
        let provider = self.provider_of(connection)?;
        let mut settings = BTreeMap::new();
        for (key, value) in &provider.plugin_settings {
            if plugin.manifest.config.contains_key(key) {
                settings.insert(key.clone(), value.clone());
            }
        }
        let config = plugin.manifest.resolve_config(&settings).map_err(|e| {
            IntegrationError::Plugin(Fault::Instantiate {
                message: e.to_string(),
            })
        })?;
        let mut context = InstanceContext::for_org(connection.org.clone());
        context.config = config;
        // Installing a plugin is the operator's approval of the capabilities it asks for.
        context.grants = plugin.manifest.capabilities.keys().copied().collect();
        context.gateway = Some(Arc::new(gateway::ConnectionGateway::new(
            self.clone(),
            provider,
            connection,
        )));
        context.library = Some(Arc::new(library::ConnectionLibrary::new(
            self.store.clone(),
            connection,
        )));
        Ok(IntegrationInstance::start(&self.runtime, plugin, context).await?)
    }

    async fn identify(
        self: &Arc<Self>,
        connection: &Connection,
    ) -> Result<Account, IntegrationError> {
        let mut instance = self.instance(connection).await?;
        Ok(instance.whoami(WHOAMI_TIMEOUT).await?)
    }

    /// Runs a sync of the connection now (after the one in progress, if any) and records it.
    #[tracing::instrument(name = "integrations.sync", skip(self), fields(org = %org, connection = id))]
    pub async fn sync(
        self: &Arc<Self>,
        org: &OrgId,
        id: &str,
    ) -> Result<SyncRecord, IntegrationError> {
        let lock = self.syncing.of(org, id);
        let _one_at_a_time = lock.lock().await;
        let connection = self.connection(org, id).await?;
        if connection.status != ConnectionStatus::Connected {
            return Err(IntegrationError::NotConnected(status_words(
                &connection.status,
            )));
        }
        let started_at_ms = chatter_model::now_ms();
        let outcome = self.run_sync(&connection).await;
        // Re-read: the sync may have refreshed the tokens or marked the connection.
        let mut connection = self.connection(org, id).await?;
        let mut record = SyncRecord {
            started_at_ms,
            finished_at_ms: chatter_model::now_ms(),
            imported: 0,
            skipped: 0,
            failures: Vec::new(),
            error: None,
        };
        match &outcome {
            Ok((account, done)) => {
                connection.account = Some(account.clone());
                record.imported = done.imported;
                record.skipped = done.skipped;
                record.failures = done
                    .failures
                    .iter()
                    .map(|(item, message)| SyncFailure {
                        item: item.clone(),
                        message: message.clone(),
                    })
                    .collect();
            }
            Err(error) => record.error = Some(error.to_string()),
        }
        connection.last_sync = Some(record.clone());
        self.store.put_connection(&connection).await?;
        tracing::info!(
            imported = record.imported,
            skipped = record.skipped,
            failures = record.failures.len(),
            failed = record.error.is_some(),
            "sync finished"
        );
        outcome.map(|_| record)
    }

    async fn run_sync(
        self: &Arc<Self>,
        connection: &Connection,
    ) -> Result<(Account, chatter_runtime::SyncOutcome), IntegrationError> {
        let mut instance = self.instance(connection).await?;
        let account = instance.whoami(WHOAMI_TIMEOUT).await?;
        // Everything, every time: the library's version ids make it cheap and catch items whose
        // modification time went backwards (restored versions).
        let outcome = instance.sync(None, SYNC_TIMEOUT).await?;
        Ok((account, outcome))
    }

    /// Disconnects: revokes the tokens at the provider (best effort: the tokens are dropped
    /// either way) and keeps the record, marked, so the library still names its source.
    #[tracing::instrument(name = "integrations.disconnect", skip(self), fields(org = %org, connection = id))]
    pub async fn disconnect(&self, org: &OrgId, id: &str) -> Result<Connection, IntegrationError> {
        let lock = self.refreshing.of(org, id);
        let _serialized = lock.lock().await;
        let mut connection = self.connection(org, id).await?;
        if let (Ok(tokens), Ok(provider)) =
            (self.open_tokens(&connection), self.provider_of(&connection))
        {
            // The refresh token first: revoking it ends the whole grant at most providers.
            if let Some(refresh) = &tokens.refresh_token
                && let Err(error) = oauth::revoke(&provider, refresh, "refresh_token").await
            {
                tracing::warn!(%error, "revoking the refresh token failed");
            }
            if let Err(error) = oauth::revoke(&provider, &tokens.access_token, "access_token").await
            {
                tracing::warn!(%error, "revoking the access token failed");
            }
        }
        connection.tokens = None;
        connection.status = ConnectionStatus::Disconnected {
            at_ms: chatter_model::now_ms(),
        };
        self.store.put_connection(&connection).await?;
        Ok(connection)
    }

    /// Syncs every working connection of every organization, one after the other, every
    /// `interval`, until the task is dropped. A failed sync is recorded on its connection.
    pub async fn sync_periodically(self: Arc<Self>, interval: Duration) {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // The first tick is immediate; a restart should not sync everything at once.
        ticks.tick().await;
        loop {
            ticks.tick().await;
            if let Err(error) = self.sync_all().await {
                tracing::warn!(%error, "periodic sync could not list the connections");
            }
        }
    }

    async fn sync_all(self: &Arc<Self>) -> Result<(), IntegrationError> {
        for org in self.store.organizations().await? {
            for connection in self.store.connections(&org.id).await? {
                if connection.status != ConnectionStatus::Connected {
                    continue;
                }
                if let Err(error) = self.sync(&org.id, &connection.id).await {
                    tracing::warn!(org = %org.id, connection = %connection.id, %error, "periodic sync failed");
                }
            }
        }
        Ok(())
    }

    /// Disconnects every live connection of `org`: the organization is going away.
    pub async fn disconnect_org(&self, org: &OrgId) -> Result<usize, IntegrationError> {
        let mut count = 0;
        for connection in self.store.connections(org).await? {
            if connection.tokens.is_some() {
                self.disconnect(org, &connection.id).await?;
                count += 1;
            }
        }
        Ok(count)
    }

    /// Disconnects every connection `user` made in `orgs`: their account is going away.
    pub async fn disconnect_all_of(
        &self,
        user: &UserId,
        orgs: &[OrgId],
    ) -> Result<usize, IntegrationError> {
        let mut count = 0;
        for org in orgs {
            for connection in self.store.connections(org).await? {
                if &connection.created_by == user && connection.tokens.is_some() {
                    self.disconnect(org, &connection.id).await?;
                    count += 1;
                }
            }
        }
        Ok(count)
    }
}

/// Where providers send the browser back.
pub const CALLBACK_PATH: &str = "/integrations/callback";

fn scope_of(connection: &Connection) -> Scope<'_> {
    Scope {
        org: &connection.org,
        connection: &connection.id,
    }
}

fn new_connection_id() -> Result<String, IntegrationError> {
    Ok(crate::auth::secret::random_hex::<8>().map_err(VaultError::Random)?)
}

/// How a connection that cannot be used is described to users.
fn status_words(status: &ConnectionStatus) -> &'static str {
    match status {
        ConnectionStatus::Connected => "connected",
        ConnectionStatus::NeedsReauthorization { .. } => "waiting for re-authorization",
        ConnectionStatus::Disconnected { .. } => "disconnected",
    }
}
