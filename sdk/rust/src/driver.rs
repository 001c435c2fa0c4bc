//! The [`Driver`] trait and [`export_driver!`](crate::export_driver).

use std::any::Any;
use std::cell::RefCell;

use crate::bindings::driver::exports::chatter::plugin::machine_driver::DeviceModel;
use crate::{DataItem, Error, ErrorCode, Observation};

/// The machine a driver instance serves: id, name and reachable endpoints.
pub use crate::bindings::driver::exports::chatter::plugin::machine_driver::Machine;

/// A machine driver: reads one machine and reports what it does.
///
/// The host creates one instance of the plugin per machine, calls [`open`](Driver::open) once,
/// then [`poll`](Driver::poll) on the machine's schedule. When a call fails or traps the host
/// drops the instance and later starts a fresh one, which is opened again: keep whatever must
/// survive (a sequence number, a checkpoint) in [`state`](crate::state).
pub trait Driver: Sized + 'static {
    /// Prepares to read `machine`: read the configuration, restore saved state, connect.
    fn open(machine: &Machine) -> Result<Self, Error>;

    /// The data items the machine reports, declared once after `open`.
    fn data_items(&self) -> Vec<DataItem>;

    /// Everything observed since the previous poll, oldest first. Return an empty list when
    /// nothing changed; return an error when the machine cannot be read.
    fn poll(&mut self) -> Result<Vec<Observation>, Error>;
}

thread_local! {
    // A component instance is single-threaded and serves one machine: one driver value.
    static INSTANCE: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

#[doc(hidden)]
pub fn __open<D: Driver>(machine: Machine) -> Result<DeviceModel, Error> {
    let driver = D::open(&machine)?;
    let data_items = driver.data_items();
    INSTANCE.with_borrow_mut(|slot| *slot = Some(Box::new(driver)));
    Ok(DeviceModel { data_items })
}

#[doc(hidden)]
pub fn __poll<D: Driver>() -> Result<Vec<Observation>, Error> {
    INSTANCE.with_borrow_mut(
        |slot| match slot.as_mut().and_then(|d| d.downcast_mut::<D>()) {
            Some(driver) => driver.poll(),
            None => Err(Error::new(
                ErrorCode::Internal,
                "poll was called before open",
            )),
        },
    )
}

/// Exports a type implementing [`Driver`] as the plugin's driver.
///
/// ```ignore
/// chatter_sdk::export_driver!(MyDriver);
/// ```
#[macro_export]
macro_rules! export_driver {
    ($driver:ty) => {
        #[doc(hidden)]
        #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
        struct __ChatterDriverExport;

        impl $crate::bindings::driver::exports::chatter::plugin::machine_driver::Guest
            for __ChatterDriverExport
        {
            fn open(
                machine: $crate::Machine,
            ) -> ::core::result::Result<
                $crate::bindings::driver::exports::chatter::plugin::machine_driver::DeviceModel,
                $crate::Error,
            > {
                $crate::__driver_open::<$driver>(machine)
            }

            fn poll() -> ::core::result::Result<::std::vec::Vec<$crate::Observation>, $crate::Error>
            {
                $crate::__driver_poll::<$driver>()
            }
        }

        // Natively (unit tests), keep the plugin's code reachable so it is checked like in a
        // component instead of being reported as dead.
        #[cfg(not(target_arch = "wasm32"))]
        #[doc(hidden)]
        pub fn __chatter_native_anchor() {
            let _ = $crate::__driver_open::<$driver>;
            let _ = $crate::__driver_poll::<$driver>;
        }

        // Exports exist only in a component: natively, their names (with `:` and `@`) are not
        // valid symbols, and native unit tests of a plugin need none.
        #[cfg(target_arch = "wasm32")]
        const _: () = {
            $crate::bindings::driver::export_driver_world!(
                __ChatterDriverExport with_types_in $crate::bindings::driver
            );
        };
    };
}
