//! The [`Integration`] trait, [`export_integration!`](crate::export_integration), and the host
//! interfaces an integration uses: [`http`] to its provider and [`artifacts`] to store imports.

use crate::{Error, Timestamp};

pub use crate::bindings::integration::exports::chatter::plugin::integration_sync::{
    Account, SyncSummary,
};

/// An imported file (tool library, CAM template, NC program, …).
pub use crate::bindings::integration::chatter::plugin::artifacts::Artifact;

/// HTTP to the integration's provider; the host attaches the credential.
pub mod http {
    pub use crate::bindings::integration::chatter::plugin::authorized_http::{
        Method, Request, Response, send,
    };
}

/// The organization's library, where imported artifacts go.
pub mod artifacts {
    pub use crate::bindings::integration::chatter::plugin::artifacts::{contains, put};
}

/// A third-party integration: imports what the connected account has into the organization.
pub trait Integration: 'static {
    /// Who the connected account is.
    fn whoami() -> Result<Account, Error>;

    /// Imports what changed since `since` (everything when `None`). Must be idempotent: the host
    /// retries a failed sync.
    fn sync(since: Option<Timestamp>) -> Result<SyncSummary, Error>;
}

/// Exports a type implementing [`Integration`] as the plugin's integration.
#[macro_export]
macro_rules! export_integration {
    ($integration:ty) => {
        #[doc(hidden)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        struct __ChatterIntegrationExport;

        impl $crate::bindings::integration::exports::chatter::plugin::integration_sync::Guest
            for __ChatterIntegrationExport
        {
            fn whoami() -> ::core::result::Result<$crate::Account, $crate::Error> {
                <$integration as $crate::Integration>::whoami()
            }

            fn sync(
                since: ::core::option::Option<$crate::Timestamp>,
            ) -> ::core::result::Result<$crate::SyncSummary, $crate::Error> {
                <$integration as $crate::Integration>::sync(since)
            }
        }

        // Natively (unit tests), keep the plugin's code reachable so it is checked like in a
        // component instead of being reported as dead.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __chatter_native_anchor() {
            let _ = <$integration as $crate::Integration>::whoami;
            let _ = <$integration as $crate::Integration>::sync;
        }

        // Exports exist only in a component: natively, their names (with `:` and `@`) are not
        // valid symbols, and native unit tests of a plugin need none.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            $crate::bindings::integration::export_integration_world!(
                __ChatterIntegrationExport with_types_in $crate::bindings::integration
            );
        };
    };
}
