//! What each role may do: the permission table, in one place. `docs/accounts.md` shows it, and a
//! test checks the two agree.

use chatter_model::Role;

/// Something a member may be allowed to do in their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// See machines, their live state, stored and derived data, installed plugins.
    ReadMachines,
    /// Add, change, start, stop and remove machines.
    OperateMachines,
    /// Connect, sync and disconnect third-party accounts (Autodesk), and link library
    /// programs to machines.
    ManageIntegrations,
    /// Run reports, and schedule them.
    RunReports,
    /// Create, change, mute for everyone and delete alert rules.
    ManageAlerts,
    /// Create and revoke the organization's device tokens (edge connectors).
    ManageDeviceTokens,
    /// Invite people, change members' roles (up to their own), remove members.
    ManageMembers,
    /// Read the organization's audit log.
    ReadAudit,
    /// Rename the organization, set its shifts, appoint owners, delete the organization.
    ManageOrganization,
}

impl Permission {
    /// Every permission, in the order of the documented table.
    pub const ALL: [Permission; 9] = [
        Permission::ReadMachines,
        Permission::OperateMachines,
        Permission::ManageIntegrations,
        Permission::RunReports,
        Permission::ManageAlerts,
        Permission::ManageDeviceTokens,
        Permission::ManageMembers,
        Permission::ReadAudit,
        Permission::ManageOrganization,
    ];

    /// The least powerful role that has this permission; every role above it has it too.
    pub fn least_role(self) -> Role {
        match self {
            Permission::ReadMachines => Role::Viewer,
            Permission::OperateMachines
            | Permission::ManageIntegrations
            | Permission::RunReports
            | Permission::ManageAlerts => Role::Member,
            Permission::ManageDeviceTokens | Permission::ManageMembers | Permission::ReadAudit => {
                Role::Admin
            }
            Permission::ManageOrganization => Role::Owner,
        }
    }

    /// Whether `role` has this permission.
    pub fn granted_to(self, role: Role) -> bool {
        role.includes(self.least_role())
    }

    /// How the documentation names it.
    pub fn describe(self) -> &'static str {
        match self {
            Permission::ReadMachines => "See machines, live state, machine data and plugins",
            Permission::OperateMachines => "Add, change, start, stop and remove machines",
            Permission::ManageIntegrations => {
                "Connect, sync and disconnect integrations (Autodesk); link programs to machines"
            }
            Permission::RunReports => "Run reports and schedule them",
            Permission::ManageAlerts => "Create, change, mute and delete alert rules",
            Permission::ManageDeviceTokens => "Create and revoke device tokens (edge connectors)",
            Permission::ManageMembers => {
                "Invite people, change roles up to their own, remove members"
            }
            Permission::ReadAudit => "Read the organization's audit log",
            Permission::ManageOrganization => {
                "Rename the organization, set its shifts, appoint owners, delete the organization"
            }
        }
    }
}

/// The permission table as Markdown, as `docs/accounts.md` shows it.
pub fn markdown_table() -> String {
    let mut table = String::from("| Permission | owner | admin | member | viewer |\n");
    table.push_str("|---|:-:|:-:|:-:|:-:|\n");
    for permission in Permission::ALL {
        table.push_str(&format!("| {} |", permission.describe()));
        for role in Role::ALL {
            table.push_str(if permission.granted_to(role) {
                " ✓ |"
            } else {
                " |"
            });
        }
        table.push('\n');
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn higher_roles_have_everything_lower_ones_have() {
        for permission in Permission::ALL {
            for (higher, lower) in Role::ALL.iter().zip(Role::ALL.iter().skip(1)) {
                if permission.granted_to(*lower) {
                    assert!(
                        permission.granted_to(*higher),
                        "{permission:?}: {higher} < {lower}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_documented_table_is_the_one_enforced() {
        let doc = include_str!("../../../../docs/accounts.md");
        assert!(
            doc.contains(&markdown_table()),
            "docs/accounts.md must contain the permission table exactly as:\n{}",
            markdown_table()
        );
    }
}
