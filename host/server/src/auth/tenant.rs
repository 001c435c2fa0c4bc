//! One organization's data, reachable only through a [`Tenant`], which only the credential
//! checks in [`super`] hand out. Handlers never see the store itself nor choose an
//! organization: they get a `Tenant` for the caller's organization and every read and write
//! through it is bound to that organization, so a forgotten check cannot leak another's data.

use std::sync::Arc;

use chatter_model::{
    Alarm, Cycle, DataItem, DeviceToken, Interval, Machine, MachineId, Membership, OrgId,
    Organization, PartCount, Role, StoredObservation, Timestamp, Totals, UserId,
};
use chatter_store::{Accounts, Store, StoreError};

use super::Permission;

/// The store, as handlers may use it: account records directly, organization data only through
/// a [`Tenant`].
#[derive(Clone)]
pub struct StoreAccess {
    store: Arc<dyn Store>,
}

impl StoreAccess {
    /// Wraps the store.
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Users, memberships, sessions, tokens, invitations and the audit log.
    pub fn accounts(&self) -> &dyn Accounts {
        self.store.as_ref()
    }

    /// The organizations `user` belongs to, with their membership, sorted by organization id.
    pub async fn organizations_of(
        &self,
        user: &UserId,
    ) -> Result<Vec<(Membership, Organization)>, StoreError> {
        let mut found = Vec::new();
        for membership in self.store.memberships_of(user).await? {
            if let Some(org) = self.store.organization(&membership.org).await? {
                found.push((membership, org));
            }
        }
        Ok(found)
    }

    /// Creates an organization with `owner` as its owner.
    pub async fn create_organization(
        &self,
        org: &Organization,
        owner: &UserId,
    ) -> Result<(), StoreError> {
        self.store.put_organization(org).await?;
        self.store
            .put_membership(&Membership {
                org: org.id.clone(),
                user: owner.clone(),
                role: Role::Owner,
                joined_at_ms: chatter_model::now_ms(),
            })
            .await
    }

    /// The plugins installed for the whole installation.
    pub async fn plugins(&self) -> Result<Vec<chatter_store::PluginInstall>, StoreError> {
        self.store.plugins().await
    }

    /// Whether an organization with this id exists (to pick a free id for a new one).
    pub async fn organization_exists(&self, org: &OrgId) -> Result<bool, StoreError> {
        Ok(self.store.organization(org).await?.is_some())
    }

    pub(super) async fn device_token(&self, hash: &str) -> Result<Option<DeviceToken>, StoreError> {
        self.store.device_token(hash).await
    }

    /// The organization's data as the server's own `service` reads it, when no request is
    /// being answered: with a viewer's permissions, so it can change nothing by mistake.
    pub fn for_service(&self, org: OrgId, service: &'static str) -> Tenant {
        self.tenant(org, Role::Viewer, Actor::Service { name: service })
    }

    pub(super) fn tenant(&self, org: OrgId, role: Role, actor: Actor) -> Tenant {
        Tenant {
            org,
            role,
            actor,
            store: self.store.clone(),
        }
    }
}

/// Who is acting through a [`Tenant`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// A signed-in user, in the browser or with a personal API token (its public id).
    User {
        /// Who.
        user: UserId,
        /// The public id of the API token used, if one was.
        token: Option<String>,
    },
    /// An edge connector or a wall display, with a device token (its public id).
    Device {
        /// The token's public id.
        token: String,
    },
    /// The server itself, working for the organization on its own (a scheduled report).
    Service {
        /// What is working.
        name: &'static str,
    },
}

/// The caller's access to one organization: its id, the caller's role there, and its data.
#[derive(Clone)]
pub struct Tenant {
    org: OrgId,
    role: Role,
    actor: Actor,
    store: Arc<dyn Store>,
}

impl Tenant {
    /// The organization.
    pub fn org(&self) -> &OrgId {
        &self.org
    }

    /// The caller's role in it (for a personal API token, the lesser of the token's and its
    /// user's).
    pub fn role(&self) -> Role {
        self.role
    }

    /// Who is acting.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    /// The acting user, unless an edge connector is acting.
    pub fn user(&self) -> Option<&UserId> {
        match &self.actor {
            Actor::User { user, .. } => Some(user),
            Actor::Device { .. } | Actor::Service { .. } => None,
        }
    }

    /// Whether the caller has `permission` here.
    pub fn can(&self, permission: Permission) -> bool {
        permission.granted_to(self.role)
    }

    /// The organization's data.
    pub fn store(&self) -> OrgStore<'_> {
        OrgStore {
            store: self.store.as_ref(),
            org: &self.org,
        }
    }
}

/// The store, bound to one organization: every method reads or writes only its data.
#[derive(Clone, Copy)]
pub struct OrgStore<'a> {
    store: &'a dyn Store,
    org: &'a OrgId,
}

impl OrgStore<'_> {
    /// The organization's connections to third-party providers.
    pub async fn connections(&self) -> Result<Vec<chatter_model::Connection>, StoreError> {
        self.store.connections(self.org).await
    }

    /// The organization's library.
    pub async fn library_entries(&self) -> Result<Vec<chatter_model::LibraryEntry>, StoreError> {
        self.store.library_entries(self.org).await
    }

    /// One entry of the organization's library.
    pub async fn library_entry(
        &self,
        id: &str,
    ) -> Result<Option<chatter_model::LibraryEntry>, StoreError> {
        self.store.library_entry(self.org, id).await
    }

    /// The organization's `limit` most recent report runs, newest first.
    pub async fn report_runs(
        &self,
        limit: usize,
    ) -> Result<Vec<chatter_model::ReportRun>, StoreError> {
        self.store.report_runs(self.org, limit).await
    }

    /// One report run of the organization.
    pub async fn report_run(
        &self,
        id: &str,
    ) -> Result<Option<chatter_model::ReportRun>, StoreError> {
        self.store.report_run(self.org, id).await
    }

    /// The organization's report schedules.
    pub async fn report_schedules(&self) -> Result<Vec<chatter_model::ReportSchedule>, StoreError> {
        self.store.report_schedules(self.org).await
    }

    /// One report schedule of the organization.
    pub async fn report_schedule(
        &self,
        id: &str,
    ) -> Result<Option<chatter_model::ReportSchedule>, StoreError> {
        self.store.report_schedule(self.org, id).await
    }

    /// Stores a report schedule of the organization (one of another is refused).
    pub async fn put_report_schedule(
        &self,
        schedule: &chatter_model::ReportSchedule,
    ) -> Result<(), StoreError> {
        if &schedule.org != self.org {
            return Err(StoreError::UnknownOrganization(schedule.org.clone()));
        }
        self.store.put_report_schedule(schedule).await
    }

    /// Removes the organization's report schedule `id`; returns whether it was there.
    pub async fn remove_report_schedule(&self, id: &str) -> Result<bool, StoreError> {
        self.store.remove_report_schedule(self.org, id).await
    }

    /// A document of one of the organization's report runs.
    pub async fn report_document(
        &self,
        run: &str,
        name: &str,
    ) -> Result<Option<chatter_model::Document>, StoreError> {
        self.store.report_document(self.org, run, name).await
    }

    /// Points the library entry `id` (an NC program) at `machine`, which must be one of the
    /// organization's; returns the entry, or none when the organization has no such entry.
    pub async fn link_program(
        &self,
        id: &str,
        machine: Option<MachineId>,
    ) -> Result<Option<chatter_model::LibraryEntry>, StoreError> {
        let Some(mut entry) = self.store.library_entry(self.org, id).await? else {
            return Ok(None);
        };
        entry.machine = machine;
        self.store.put_library_entry(&entry).await?;
        Ok(Some(entry))
    }

    /// The organization's record.
    pub async fn organization(&self) -> Result<Option<Organization>, StoreError> {
        self.store.organization(self.org).await
    }

    /// Replaces the organization's shift schedule (checked by the caller); false when the
    /// organization's record is gone.
    pub async fn put_shifts(&self, shifts: Vec<chatter_model::Shift>) -> Result<bool, StoreError> {
        let Some(mut org) = self.store.organization(self.org).await? else {
            return Ok(false);
        };
        org.shifts = shifts;
        self.store.put_organization(&org).await?;
        Ok(true)
    }

    /// Deletes the organization with all its data (see [`Store::remove_organization`]).
    pub async fn remove_organization(&self) -> Result<bool, StoreError> {
        self.store.remove_organization(self.org).await
    }

    /// The organization's members.
    pub async fn members(&self) -> Result<Vec<Membership>, StoreError> {
        self.store.members(self.org).await
    }

    /// A member's membership.
    pub async fn membership(&self, user: &UserId) -> Result<Option<Membership>, StoreError> {
        self.store.membership(self.org, user).await
    }

    /// Makes `user` a member with `role` (or changes their role).
    pub async fn put_member(&self, user: &UserId, role: Role) -> Result<(), StoreError> {
        let joined_at_ms = match self.membership(user).await? {
            Some(existing) => existing.joined_at_ms,
            None => chatter_model::now_ms(),
        };
        self.store
            .put_membership(&Membership {
                org: self.org.clone(),
                user: user.clone(),
                role,
                joined_at_ms,
            })
            .await
    }

    /// Removes a member and their API tokens for the organization.
    pub async fn remove_member(&self, user: &UserId) -> Result<bool, StoreError> {
        self.store.remove_membership(self.org, user).await
    }

    /// The organization's invitations with their hashes, newest first.
    pub async fn invitations(
        &self,
    ) -> Result<Vec<(String, chatter_model::Invitation)>, StoreError> {
        self.store.invitations(self.org).await
    }

    /// Stores an invitation to the organization.
    pub async fn put_invitation(
        &self,
        hash: &str,
        mut invitation: chatter_model::Invitation,
    ) -> Result<(), StoreError> {
        invitation.org = self.org.clone();
        self.store.put_invitation(hash, &invitation).await
    }

    /// The organization's audit records below `before`, newest first.
    pub async fn audit_records_back(
        &self,
        before: u64,
        limit: usize,
    ) -> Result<Vec<chatter_model::audit::AuditRecord>, StoreError> {
        let filter = chatter_store::AuditFilter::Org(self.org.clone());
        self.store.audit_records_back(&filter, before, limit).await
    }

    /// A machine of the organization.
    pub async fn machine(&self, machine: &MachineId) -> Result<Option<Machine>, StoreError> {
        self.store.machine(self.org, machine).await
    }

    /// The organization's machines.
    pub async fn machines(&self) -> Result<Vec<Machine>, StoreError> {
        self.store.machines(self.org).await
    }

    /// Creates or replaces a machine of the organization (whatever `machine.org` said).
    pub async fn put_machine(&self, mut machine: Machine) -> Result<Machine, StoreError> {
        machine.org = self.org.clone();
        self.store.put_machine(&machine).await?;
        Ok(machine)
    }

    /// Removes a machine with its data.
    pub async fn remove_machine(&self, machine: &MachineId) -> Result<bool, StoreError> {
        self.store.remove_machine(self.org, machine).await
    }

    /// The data items a machine declared.
    pub async fn data_items(&self, machine: &MachineId) -> Result<Vec<DataItem>, StoreError> {
        self.store.data_items(self.org, machine).await
    }

    /// A page of a machine's observations after a sequence number.
    pub async fn observations(
        &self,
        machine: &MachineId,
        after_sequence: u64,
        limit: usize,
    ) -> Result<Vec<StoredObservation>, StoreError> {
        self.store
            .observations(self.org, machine, after_sequence, limit)
            .await
    }

    /// The stream a machine was last forwarded from, and how far.
    pub async fn last_forwarded(
        &self,
        machine: &MachineId,
    ) -> Result<Option<(String, u64)>, StoreError> {
        self.store.last_forwarded(self.org, machine).await
    }

    /// A machine's closed state intervals overlapping `[from, to)`.
    pub async fn intervals(
        &self,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<Interval>, StoreError> {
        self.store.intervals(self.org, machine, from, to).await
    }

    /// A machine's totals over `[from, to)`.
    pub async fn totals(
        &self,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Totals, StoreError> {
        self.store.totals(self.org, machine, from, to).await
    }

    /// A machine's part counts in `[from, to)`.
    pub async fn parts(
        &self,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<PartCount>, StoreError> {
        self.store.parts(self.org, machine, from, to, limit).await
    }

    /// A machine's cycles that ended in `[from, to)`.
    pub async fn cycles(
        &self,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Cycle>, StoreError> {
        self.store.cycles(self.org, machine, from, to, limit).await
    }

    /// A machine's cleared alarms raised in `[from, to)`.
    pub async fn alarms(
        &self,
        machine: &MachineId,
        from: Timestamp,
        to: Timestamp,
        limit: usize,
    ) -> Result<Vec<Alarm>, StoreError> {
        self.store.alarms(self.org, machine, from, to, limit).await
    }

    /// The organization's device tokens with their hashes.
    pub async fn device_tokens(&self) -> Result<Vec<(String, DeviceToken)>, StoreError> {
        self.store.device_tokens(self.org).await
    }

    /// Stores one of the organization's device tokens (whatever `token.org` said).
    pub async fn put_device_token(
        &self,
        hash: &str,
        mut token: DeviceToken,
    ) -> Result<(), StoreError> {
        token.org = self.org.clone();
        self.store.put_device_token(hash, &token).await
    }
}
