//! `chatter demo`: a demo shop of simulated machines on an embedded store, so a newcomer sees
//! live machines in the browser at once.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context as _;
use chatter_model::{MachineId, OrgId, PluginId, Shift, ShiftTime, Weekday};
use chatter_server::ServerConfig;
use chatter_server::config::{MachineSection, ServerSection};

use clap::Args;

/// Arguments of `chatter demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Keep the demo's data in this folder (default: a temporary folder removed on exit).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Number of simulated machines.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    machines: u32,
    /// Seed of the first machine's simulation (machine N uses seed + N - 1).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The demo's machine models, each with the cell it stands in.
const MODELS: [(&str, &str); 6] = [
    ("Haas VF-2", MILLING),
    ("Okuma MULTUS U3000", TURNING),
    ("Mazak QTN 300", TURNING),
    ("Hurco VMX24", MILLING),
    ("DMG Mori NLX 2500", TURNING),
    ("Haas ST-20", TURNING),
];
const MILLING: &str = "Milling cell";
const TURNING: &str = "Turning cell";
/// Every demo machine's daily goal: about what a simulated machine makes in a day at 60x.
const DEMO_DAILY_GOAL: u64 = 400;

pub fn run(args: DemoArgs) -> anyhow::Result<()> {
    let temporary = match &args.data {
        Some(_) => None,
        None => Some(tempfile::tempdir().context("cannot create a temporary data folder")?),
    };
    let data_dir = args
        .data
        .clone()
        .or_else(|| temporary.as_ref().map(|t| t.path().to_owned()))
        .unwrap_or_default();
    let config = demo_config(&args, data_dir)?;
    let tokio = super::tokio_runtime()?;
    let served = tokio.block_on(async {
        let store = super::serve::open_store(&config)?;
        super::serve::install_bundled(&config, &store).await?;
        let password = add_demo_user(&config, store.as_ref()).await?;
        add_demo_shifts(&config, store.as_ref()).await?;
        super::serve::serve_store(config, store, Some((DEMO_EMAIL, &password))).await
    });
    // Stop every task (and with them the store) before removing its folder.
    drop(tokio);
    if let Some(folder) = temporary {
        remove_temporary(folder);
    }
    served
}

/// The demo user's address.
const DEMO_EMAIL: &str = "demo@chatter.localhost";

/// Makes the demo user the owner of the demo shop, with a new password each run; returns it.
async fn add_demo_user(
    config: &ServerConfig,
    store: &dyn chatter_store::Store,
) -> anyhow::Result<String> {
    let org = &config.server.organization;
    super::accounts::ensure_configured_org(config, store, org).await?;
    let password = super::accounts::generate_password()?;
    chatter_server::accounts::operator::add_user(
        store,
        DEMO_EMAIL,
        "Demo user",
        &password,
        org,
        chatter_model::Role::Owner,
    )
    .await?;
    Ok(password)
}

/// Gives the demo shop two shifts on weekdays, so that its reports come per shift; a schedule
/// changed in an earlier run of the same data folder is kept.
async fn add_demo_shifts(
    config: &ServerConfig,
    store: &dyn chatter_store::Store,
) -> anyhow::Result<()> {
    let Some(mut org) = store.organization(&config.server.organization).await? else {
        return Ok(());
    };
    if !org.shifts.is_empty() {
        return Ok(());
    }
    let at = |hour| ShiftTime::new(hour, 0).context("a whole hour is a time of day");
    let weekdays = Weekday::ALL[..5].to_vec();
    org.shifts = vec![
        Shift {
            name: "First".into(),
            days: weekdays.clone(),
            start: at(6)?,
            end: at(14)?,
        },
        Shift {
            name: "Second".into(),
            days: weekdays,
            start: at(14)?,
            end: at(22)?,
        },
    ];
    store.put_organization(&org).await?;
    Ok(())
}

/// Removes the demo's temporary data. The store's background threads may still be finishing a
/// write for a moment after it is dropped, so one failed attempt is retried.
fn remove_temporary(folder: tempfile::TempDir) {
    let path = folder.path().to_owned();
    if folder.close().is_ok() {
        return;
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    if let Err(error) = std::fs::remove_dir_all(&path) {
        eprintln!(
            "warning: could not remove the demo's data at {}: {error}",
            path.display()
        );
    }
}

fn demo_config(args: &DemoArgs, data_dir: PathBuf) -> anyhow::Result<ServerConfig> {
    let machines = (1..=args.machines)
        .map(|n| {
            let (model, cell) = MODELS[(n as usize - 1) % MODELS.len()];
            Ok(MachineSection {
                id: MachineId::new(format!("machine-{n}"))?,
                name: format!("{model} #{n}"),
                driver: PluginId::new("simulator")?,
                poll_interval_ms: 1_000,
                config: BTreeMap::from([(
                    "seed".to_owned(),
                    (args.seed + u64::from(n) - 1).to_string(),
                )]),
                endpoints: Vec::new(),
                feed: Default::default(),
                signals: Default::default(),
                group: Some(cell.to_owned()),
                daily_part_goal: Some(DEMO_DAILY_GOAL),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut config = ServerConfig {
        server: ServerSection {
            addr: args.addr,
            data_dir,
            organization: OrgId::new("demo")?,
            organization_name: "Demo shop".into(),
            ..ServerSection::default()
        },
        machines,
        ..ServerConfig::default()
    };
    config.runtime.max_instances = args.machines.max(16);
    // A demo runs on one computer: machines replayed there (`chatter replay`) must be reachable.
    config.network.allow_loopback = true;
    // Recordings replayed into the demo are years old: keep them.
    config.retention.raw_days = 0;
    config.retention.derived_days = 0;
    Ok(config)
}
