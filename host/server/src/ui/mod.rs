//! The web UI: server-rendered pages for signing up and in, accounts, organizations and their
//! members, the audit log, the live dashboard of the current organization's machines, and
//! each machine's page.
//!
//! Pages are askama templates (`templates/`) drawn inside one frame (`base.html`); every
//! operation is one of [`crate::accounts`]'s, so the pages and the JSON API behave alike. Who may
//! open each page is declared once, in [`routes`], and checked by the access middleware before
//! a handler runs — including the CSRF token of a signed-in browser's form. Forms shown before
//! sign-in are protected by a double-submit cookie instead ([`cookies`]).
//!
//! - [`frame`]: the frame's context (navigation, organization switcher, notices, field errors);
//! - [`page`]: rendering, error pages and the small view helpers pages share;
//! - [`cookies`]: the session cookie, the pre-sign-in form cookie, and safe redirects;
//! - one module per area: [`sign`], [`invitations`], [`unsubscribe`], [`dashboard`],
//!   [`machine`] (a machine's day), [`setup`] (adding, editing, testing, disabling and deleting
//!   machines), [`tv`] (TV mode and wall displays), [`members`], [`audit`], [`account`],
//!   [`deletion`], [`organization`] (with [`shift_lines`], how its page writes shifts),
//!   [`integrations`] (connecting Autodesk and kin), [`library`] (what they imported),
//!   [`reports`] (running reports and their archive), [`alerts`] (alert rules, mutes and their
//!   history), and [`assets`] for the stylesheet and the
//!   pages' scripts;
//! - [`floor_view`] and [`floor_feed`]: the machine tiles the dashboard and TV mode draw, and
//!   the data that keeps them live.

mod account;
mod alerts;
mod assets;
mod audit;
mod cookies;
mod dashboard;
mod deletion;
mod floor_feed;
mod floor_view;
mod frame;
mod integrations;
mod invitations;
mod library;
mod machine;
mod members;
mod organization;
mod page;
mod reports;
mod setup;
mod shift_lines;
mod sign;
mod tv;
mod unsubscribe;

use axum::http::Method;

use crate::auth::{Access, Permission};
use crate::routes::{Route, route};

pub(crate) use tv::CONNECT_PATH as DISPLAY_CONNECT_PATH;

/// Every route of the web UI with who may open it.
pub(crate) fn routes() -> Vec<Route> {
    use Access::{Display, Org, Public, SignedIn};
    use Method as M;
    let read = Org(Permission::ReadMachines);
    let manage_members = Org(Permission::ManageMembers);
    let manage_devices = Org(Permission::ManageDeviceTokens);
    let operate = Org(Permission::OperateMachines);
    let integrate = Org(Permission::ManageIntegrations);
    vec![
        // Assets, compiled into the binary.
        route(M::GET, "/assets/app.css", Public, assets::stylesheet),
        route(
            M::GET,
            "/assets/dashboard.js",
            Public,
            assets::dashboard_script,
        ),
        route(M::GET, "/assets/setup.js", Public, assets::setup_script),
        route(M::GET, "/assets/machine.js", Public, assets::machine_script),
        // Before sign-in.
        route(M::GET, "/sign-up", Public, sign::sign_up_page),
        route(M::POST, "/sign-up", Public, sign::sign_up),
        route(M::GET, "/sign-in", Public, sign::sign_in_page),
        route(M::POST, "/sign-in", Public, sign::sign_in),
        route(M::POST, "/sign-out", SignedIn, sign::sign_out),
        route(M::GET, "/verify", Public, sign::verify),
        route(M::GET, "/forgot", Public, sign::forgot_page),
        route(M::POST, "/forgot", Public, sign::forgot),
        route(M::GET, "/reset", Public, sign::reset_page),
        route(M::POST, "/reset", Public, sign::reset),
        route(M::GET, "/invitations/accept", Public, invitations::show),
        route(
            M::POST,
            "/invitations/accept",
            SignedIn,
            invitations::accept,
        ),
        route(M::GET, "/unsubscribe", Public, unsubscribe::show),
        route(M::POST, "/unsubscribe", Public, unsubscribe::confirm),
        // The dashboard and organizations.
        route(M::GET, "/", SignedIn, dashboard::show),
        // Floor screens: the dashboard's and TV mode's live data, and wall displays.
        route(M::GET, "/floor/tiles", Display, floor_feed::tiles),
        route(M::GET, "/floor/events", Display, floor_feed::events),
        route(M::GET, "/tv", Display, tv::show),
        route(M::GET, "/tv/connect", Public, tv::connect_page),
        route(M::POST, "/tv/connect", Public, tv::connect),
        route(M::GET, "/displays", manage_devices, tv::displays),
        route(M::POST, "/displays", manage_devices, tv::create_display),
        route(
            M::POST,
            "/displays/{id}/revoke",
            manage_devices,
            tv::revoke_display,
        ),
        route(
            M::POST,
            "/organizations",
            SignedIn,
            dashboard::create_organization,
        ),
        route(M::POST, "/org/switch", SignedIn, dashboard::switch),
        // Machine setup.
        route(M::GET, "/machines/new", operate, setup::new_page),
        route(M::POST, "/machines", operate, setup::create),
        route(M::POST, "/machines/test", operate, setup::test),
        route(M::GET, "/machines/{id}/edit", operate, setup::edit_page),
        route(M::POST, "/machines/{id}", operate, setup::save),
        route(M::POST, "/machines/{id}/disable", operate, setup::disable),
        route(M::POST, "/machines/{id}/enable", operate, setup::enable),
        route(M::GET, "/machines/{id}/delete", operate, setup::delete_page),
        route(M::POST, "/machines/{id}/delete", operate, setup::delete),
        // A machine.
        route(M::GET, "/machines/{id}", read, machine::show),
        route(M::GET, "/integrations", read, integrations::show),
        route(
            M::POST,
            "/integrations/{plugin}/connect",
            integrate,
            integrations::connect,
        ),
        route(
            M::GET,
            crate::integrations::CALLBACK_PATH,
            SignedIn,
            integrations::callback,
        ),
        route(
            M::POST,
            "/integrations/connections/{id}/sync",
            integrate,
            integrations::sync_now,
        ),
        route(
            M::POST,
            "/integrations/connections/{id}/disconnect",
            integrate,
            integrations::disconnect,
        ),
        route(M::GET, "/library", read, library::show),
        route(M::GET, "/library/{id}", read, library::entry),
        route(
            M::POST,
            "/library/{id}/machine",
            integrate,
            library::link_machine,
        ),
        route(M::GET, "/reports", read, reports::show),
        route(
            M::POST,
            "/reports/run",
            Org(Permission::RunReports),
            reports::run,
        ),
        route(M::GET, "/reports/runs/{id}", read, reports::show_run),
        route(
            M::POST,
            "/reports/schedules",
            Org(Permission::RunReports),
            reports::create_schedule,
        ),
        route(
            M::POST,
            "/reports/schedules/{id}/delete",
            Org(Permission::RunReports),
            reports::delete_schedule,
        ),
        route(
            M::POST,
            "/reports/schedules/{id}/run",
            Org(Permission::RunReports),
            reports::run_schedule,
        ),
        route(
            M::GET,
            "/reports/runs/{id}/view/{name}",
            read,
            reports::view_document,
        ),
        route(M::GET, "/alerts", read, alerts::show),
        route(
            M::POST,
            "/alerts/rules",
            Org(Permission::ManageAlerts),
            alerts::create,
        ),
        route(
            M::POST,
            "/alerts/rules/{id}/delete",
            Org(Permission::ManageAlerts),
            alerts::delete,
        ),
        route(
            M::POST,
            "/alerts/rules/{id}/mute",
            read,
            alerts::mute_for_me,
        ),
        route(
            M::POST,
            "/alerts/rules/{id}/unmute",
            read,
            alerts::unmute_for_me,
        ),
        route(
            M::POST,
            "/alerts/rules/{id}/mute-rule",
            Org(Permission::ManageAlerts),
            alerts::mute_rule,
        ),
        route(
            M::POST,
            "/alerts/rules/{id}/unmute-rule",
            Org(Permission::ManageAlerts),
            alerts::unmute_rule,
        ),
        route(M::GET, "/organization", read, organization::show),
        route(
            M::POST,
            "/organization/shifts",
            Org(Permission::ManageOrganization),
            organization::save_shifts,
        ),
        route(
            M::POST,
            "/organization/delete",
            Org(Permission::ManageOrganization),
            organization::delete,
        ),
        // Members.
        route(M::GET, "/members", read, members::show),
        route(M::POST, "/members/invite", manage_members, members::invite),
        route(
            M::POST,
            "/members/{user}/role",
            manage_members,
            members::change_role,
        ),
        route(
            M::POST,
            "/members/{user}/remove",
            manage_members,
            members::remove,
        ),
        route(
            M::POST,
            "/invitations/{id}/revoke",
            manage_members,
            members::revoke_invitation,
        ),
        // The audit log.
        route(M::GET, "/audit", Org(Permission::ReadAudit), audit::show),
        // The account.
        route(M::GET, "/account", SignedIn, account::show),
        route(M::POST, "/account/profile", SignedIn, account::profile),
        route(M::POST, "/account/password", SignedIn, account::password),
        route(
            M::POST,
            "/account/sessions/revoke",
            SignedIn,
            account::sign_out_everywhere,
        ),
        route(M::POST, "/account/tokens", SignedIn, account::create_token),
        route(
            M::POST,
            "/account/tokens/{id}/revoke",
            SignedIn,
            account::revoke_token,
        ),
        route(M::POST, "/account/export", SignedIn, account::export),
        route(M::POST, "/account/marketing", SignedIn, account::marketing),
        route(M::GET, "/account/delete", SignedIn, deletion::show),
        route(M::POST, "/account/delete", SignedIn, deletion::delete),
    ]
}

/// The page a browser gets when the access check refuses a page or a form: what was refused
/// and what to do, in the site's frame rather than as JSON. `code` is the API's error code.
pub(crate) fn refusal(code: &str, message: &str) -> page::Message {
    let heading = match code {
        "csrf_failed" => "This form has expired",
        "no_organization" => "You are not in an organization",
        _ => "You cannot do this here",
    };
    let mut sentence = message.to_owned();
    if let Some(first) = sentence.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    page::Message::new("refused", heading, axum::http::StatusCode::FORBIDDEN)
        .text(&format!("{sentence}."))
        .link("/", "Go to the dashboard")
}
