//! `chatter user add`, `chatter token create` and `chatter audit verify`: what an operator does
//! to accounts from the command line, with the server stopped (they open its store).

use std::io::Read as _;

use anyhow::Context as _;
use chatter_model::{OrgId, Organization, Role};
use chatter_server::ServerConfig;
use chatter_server::accounts::operator::{self, AuditVerdict};
use chatter_store::Store;
use clap::{Args, Subcommand};

use super::plugin::DataArgs;

/// `chatter user …`
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user with a confirmed address to an organization (or reset an existing user's
    /// password and role there).
    Add {
        /// Their e-mail address.
        #[arg(long)]
        email: String,
        /// Their name.
        #[arg(long)]
        name: String,
        #[command(flatten)]
        membership: MembershipArgs,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `chatter token …`
#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a personal API token for a user, for scripts; prints it once.
    Create {
        /// The user's e-mail address.
        #[arg(long)]
        email: String,
        /// What the token is for.
        #[arg(long, default_value = "command line")]
        name: String,
        #[command(flatten)]
        membership: MembershipArgs,
        #[command(flatten)]
        data: DataArgs,
    },
}

/// `chatter audit …`
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain: finds an edited, removed or reordered record.
    Verify {
        #[command(flatten)]
        data: DataArgs,
    },
}

/// Which organization, and which role there.
#[derive(Debug, Args)]
pub struct MembershipArgs {
    /// The organization (default: the configuration's `[server] organization`).
    #[arg(long)]
    org: Option<OrgId>,
    /// owner, admin, member or viewer.
    #[arg(long, default_value = "owner")]
    role: Role,
}

impl MembershipArgs {
    fn org(&self, config: &ServerConfig) -> OrgId {
        self.org
            .clone()
            .unwrap_or_else(|| config.server.organization.clone())
    }
}

pub fn run_user(command: UserCommand) -> anyhow::Result<()> {
    let UserCommand::Add {
        email,
        name,
        membership,
        password_stdin,
        data,
    } = command;
    let config = data.server_config()?;
    let (password, generated) = if password_stdin {
        let mut password = String::new();
        std::io::stdin()
            .read_to_string(&mut password)
            .context("reading the password from standard input")?;
        (password.trim_end_matches(['\r', '\n']).to_owned(), false)
    } else {
        (generate_password()?, true)
    };
    let org = membership.org(&config);
    super::tokio_runtime()?.block_on(async {
        let store = super::serve::open_store(&config)?;
        ensure_configured_org(&config, store.as_ref(), &org).await?;
        let user = operator::add_user(
            store.as_ref(),
            &email,
            &name,
            &password,
            &org,
            membership.role,
        )
        .await?;
        println!(
            "{} ({}) is {} of `{org}`",
            user.email, user.id, membership.role
        );
        if generated {
            println!("password: {password}");
        }
        Ok(())
    })
}

pub fn run_token(command: TokenCommand) -> anyhow::Result<()> {
    let TokenCommand::Create {
        email,
        name,
        membership,
        data,
    } = command;
    let config = data.server_config()?;
    let org = membership.org(&config);
    super::tokio_runtime()?.block_on(async {
        let store = super::serve::open_store(&config)?;
        let token =
            operator::create_token(store.as_ref(), &email, &org, membership.role, &name).await?;
        println!("{token}");
        Ok(())
    })
}

pub fn run_audit(command: AuditCommand) -> anyhow::Result<()> {
    let AuditCommand::Verify { data } = command;
    let config = data.server_config()?;
    super::tokio_runtime()?.block_on(async {
        let store = super::serve::open_store(&config)?;
        let verdict = operator::verify_audit(store.as_ref(), |checked| {
            eprint!("\rchecked {checked} records");
        })
        .await?;
        eprintln!();
        match verdict {
            AuditVerdict::Intact { records, head } => {
                println!("audit log intact: {records} records; last hash {head}");
                Ok(())
            }
            AuditVerdict::Broken(broken) => anyhow::bail!("audit log is broken: {broken}"),
        }
    })
}

/// Creates the configuration's organization if the server has not run yet, so its first owner
/// can be added before the first start.
pub(super) async fn ensure_configured_org(
    config: &ServerConfig,
    store: &dyn Store,
    org: &OrgId,
) -> anyhow::Result<()> {
    if org == &config.server.organization && store.organization(org).await?.is_none() {
        let mut created = Organization::new(org.clone(), &config.server.organization_name);
        created.time_zone = config.server.time_zone.clone();
        created.retention = config.retention.retention();
        store.put_organization(&created).await?;
    }
    Ok(())
}

/// 20 random characters from an alphabet without look-alikes.
pub(super) fn generate_password() -> anyhow::Result<String> {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut bytes = [0u8; 20];
    getrandom::fill(&mut bytes).map_err(|error| anyhow::anyhow!("random source: {error}"))?;
    Ok(bytes
        .iter()
        .map(|byte| char::from(ALPHABET[usize::from(*byte) % ALPHABET.len()]))
        .collect())
}
