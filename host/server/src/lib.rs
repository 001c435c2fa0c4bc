//! Chatter's server: runs the drivers of every machine, keeps each machine's live state, and
//! serves the HTTP API and the live status page.
//!
//! - [`fleet`] supervises one driver instance per machine and turns its batches into stored,
//!   sequenced observations and live updates;
//! - [`live`] holds each machine's latest values, derived status and driver health, and
//!   broadcasts changes;
//! - [`api`] is the axum router: thin handlers over the two above;
//! - [`floor`] builds what the dashboard's and TV mode's machine tiles show;
//! - [`plugins`] installs, lists and removes plugins (shared with the CLI);
//! - [`setup`] adds, changes, disables, enables, removes and tests machines (shared by the API
//!   and the web pages);
//! - [`alerts`] evaluates the organizations' alert rules as machine data arrives and delivers
//!   their events by e-mail, signed webhook and in the app;
//! - [`shifts`] lays an organization's shift schedule on the calendar of its time zone, and
//!   replaces the schedule;
//! - [`config`] is the server's configuration file;
//! - [`vault`] seals third-party credentials at rest, bound to their organization and
//!   connection (the integrations' OAuth connections are its users).

pub mod accounts;
pub mod alerts;
pub mod api;
pub mod app;
pub mod auth;
pub mod config;
mod error;
pub mod fleet;
pub mod floor;
pub mod ingest;
pub mod integrations;
pub mod live;
pub mod mail;
pub mod plugins;
pub mod reports;
pub mod retention;
pub mod routes;
pub mod setup;
pub mod shifts;
pub mod time;
pub mod tls;
mod ui;
pub mod vault;

pub use config::ServerConfig;
pub use error::ApiError;
pub use fleet::Fleet;
pub use ingest::Ingest;
pub use live::{LiveEvent, LiveState, MachineLive};
pub use routes::router;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chatter_model::{Machine, Organization};
use chatter_runtime::Runtime;
use chatter_store::Store;
use tokio::net::TcpListener;

/// Serves on `listener` until `shutdown` completes: creates the configured organization and
/// machines if needed, starts every machine's driver, and answers HTTP (or HTTPS with `[tls]`).
pub async fn serve(
    config: &ServerConfig,
    runtime: Arc<Runtime>,
    store: Arc<dyn Store>,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use anyhow::Context as _;

    // A bad certificate is reported before anything starts.
    let tls = match &config.tls {
        Some(files) => Some(tls::load_config(&files.cert, &files.key)?),
        None => None,
    };
    let org = config.server.organization.clone();
    put_organization(config, store.as_ref()).await?;
    for section in &config.machines {
        // A machine stopped through the API stays stopped across restarts.
        let enabled = store
            .machine(&org, &section.id)
            .await?
            .is_none_or(|saved| saved.enabled);
        let machine = Machine {
            org: org.clone(),
            id: section.id.clone(),
            name: section.name.clone(),
            driver: section.driver.clone(),
            config: section.config.clone(),
            endpoints: section.endpoints.clone(),
            poll_interval_ms: section.poll_interval_ms,
            enabled,
            feed: section.feed,
            signals: section.signals.clone(),
            group: section.group.clone(),
            daily_part_goal: section.daily_part_goal,
        };
        store
            .put_machine(&machine)
            .await
            .with_context(|| format!("saving machine `{}`", machine.id))?;
    }

    let integrations = Arc::new(integrations_of(config, runtime.clone(), store.clone())?);
    let resealed = integrations
        .reseal_all()
        .await
        .context("resealing connections with the current vault key")?;
    if resealed > 0 {
        tracing::info!(
            resealed,
            "connections resealed with the current vault key; previous keys are no longer needed"
        );
    }
    let reports = Arc::new(reports::Reports::new(
        store.clone(),
        runtime.clone(),
        Duration::from_secs(config.reports.timeout_s.max(1)),
        reports::schedules::RetryPolicy {
            attempts: config.reports.attempts.max(1),
            delay: Duration::from_secs(config.reports.retry_delay_s),
        },
    ));
    let live = LiveState::default();
    let ingest = Arc::new(Ingest::new(store.clone(), live.clone()));
    let fleet = Arc::new(Fleet::new(
        runtime,
        ingest.clone(),
        live.clone(),
        config.network_policy(),
        config.supervision_policy(),
    ));
    let failures = fleet.start_all().await?;
    if !failures.is_empty() {
        tracing::warn!(
            count = failures.len(),
            "some machines have no running driver; see errors above"
        );
    }
    let retention = tokio::spawn(retention::run(
        store.clone(),
        Duration::from_secs(config.retention.interval_s.max(1)),
    ));
    let periodic_sync = (config.integrations.sync_interval_min > 0).then(|| {
        let every = Duration::from_secs(config.integrations.sync_interval_min.saturating_mul(60));
        tokio::spawn(integrations.clone().sync_periodically(every))
    });
    let app = app_state(
        config,
        store,
        live,
        fleet.clone(),
        ingest.clone(),
        integrations,
        reports,
    )
    .await?;
    let scheduler = tokio::spawn(app.reports.clone().run_schedules(app.clone()));
    let stopping = app.stopping.clone();
    let alerts = app.alerts.clone();
    let shutdown = async move {
        shutdown.await;
        stopping.cancel();
    };
    let served = match tls {
        Some(tls) => tls::serve_tls(listener, router(app), tls, shutdown)
            .await
            .context("HTTPS server failed"),
        None => axum::serve(
            listener,
            router(app).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("HTTP server failed"),
    };
    retention.abort();
    scheduler.abort();
    alerts.stop();
    if let Some(task) = periodic_sync {
        task.abort();
    }
    fleet.stop_all().await;
    ingest
        .close_all()
        .await
        .context("saving derived data at shutdown")?;
    served
}

/// The integrations the configuration describes: its providers, sealed with its vault key.
fn integrations_of(
    config: &ServerConfig,
    runtime: Arc<Runtime>,
    store: Arc<dyn Store>,
) -> anyhow::Result<integrations::Integrations> {
    let mut providers = Vec::new();
    for (name, section) in &config.providers {
        if !chatter_runtime::manifest::is_provider_name(name) {
            anyhow::bail!(
                "`[providers.{name}]`: a provider's name is lower-case letters, digits and `-`"
            );
        }
        providers.push(integrations::provider::Provider::from_section(
            name, section,
        )?);
    }
    let vault = vault::Vault::load(&config.vault)?;
    if vault.is_none() && !providers.is_empty() {
        anyhow::bail!(
            "OAuth providers are configured but `[vault]` names no key to seal their tokens with: \
             set `key-file` (create one with `chatter vault new-key`) or `key-env`"
        );
    }
    integrations::Integrations::new(providers, vault, runtime, store, &config.public_url())
}

/// What the request handlers share.
async fn app_state(
    config: &ServerConfig,
    store: Arc<dyn Store>,
    live: LiveState,
    fleet: Arc<Fleet>,
    ingest: Arc<Ingest>,
    integrations: Arc<integrations::Integrations>,
    reports: Arc<reports::Reports>,
) -> anyhow::Result<app::AppState> {
    let public_url = config.public_url();
    let limits = &config.ingest;
    let concurrency = std::thread::available_parallelism().map_or(2, usize::from);
    let mailer = Arc::new(mail::Mailer::new(
        config.email.smtp_url.as_deref(),
        &config.email.from,
    )?);
    let alerts = alerts::Alerts::start(
        store.clone(),
        live.clone(),
        mailer.clone(),
        alerts::AlertSettings::from_config(config),
    )
    .await?;
    Ok(app::AppState {
        web: Arc::new(app::WebSettings {
            secure: public_url.starts_with("https://"),
            public_url,
            secret: store.server_secret().await?,
        }),
        data: auth::StoreAccess::new(store),
        live,
        fleet,
        ingest,
        rate_limiter: Arc::new(api::RateLimiter::new(
            limits.rate_per_token,
            limits.burst_per_token,
        )),
        passwords: auth::password::PasswordHasher::new(concurrency)?,
        sign_in_limiter: Arc::default(),
        mailer,
        stopping: tokio_util::sync::CancellationToken::new(),
        integrations,
        reports,
        alerts,
    })
}

/// Creates the configured organization, or updates its time zone and retention from the
/// configuration, which is the authority on them until accounts exist; its saved name and shift
/// schedule are kept.
async fn put_organization(config: &ServerConfig, store: &dyn Store) -> anyhow::Result<()> {
    let section = &config.server;
    if !time::is_known_zone(&section.time_zone) {
        anyhow::bail!(
            "[server] time-zone: `{}` is not an IANA time zone (like `Europe/Berlin` or `America/Chicago`)",
            section.time_zone
        );
    }
    let mut org = Organization::new(section.organization.clone(), &section.organization_name);
    if let Some(saved) = store.organization(&section.organization).await? {
        org.name = saved.name;
        org.shifts = saved.shifts;
    }
    org.time_zone = section.time_zone.clone();
    org.retention = config.retention.retention();
    store.put_organization(&org).await?;
    Ok(())
}
