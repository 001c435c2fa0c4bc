//! The driver: each poll asks the control its questions over one kept-open connection and
//! reports what changed.

use std::collections::HashSet;

use chatter_haas_mdc::{Reply, Request};
use chatter_sdk::{DataItem, Driver, Error, Machine, Observation, config, log};

use crate::host::ComponentHost;
use crate::items::{self, Reading, Reported, Tracker};
use crate::session::{BAD_REPLIES, Host, Lost, RECONNECTS, Session};
use crate::settings::Settings;

/// A Haas machine read over MDC, through `H` (the host in a component, a fake in tests).
pub struct HaasMdc<H: Host> {
    host: H,
    settings: Settings,
    address: String,
    ids: Vec<String>,
    session: Option<Session<H::Connection>>,
    tracker: Tracker,
    connected_before: bool,
    refusals_logged: HashSet<Request>,
}

impl<H: Host> HaasMdc<H> {
    /// A driver for the MDC port at `address` (`host:port`, for messages) configured by
    /// `settings`. It connects at the first poll.
    pub fn new(settings: Settings, address: String, host: H) -> Self {
        let ids = items::data_items(&settings.macros)
            .into_iter()
            .map(|item| item.id)
            .collect();
        HaasMdc {
            host,
            settings,
            address,
            ids,
            session: None,
            tracker: Tracker::default(),
            connected_before: false,
            refusals_logged: HashSet::new(),
        }
    }

    /// The data items the machine reports.
    pub fn data_items(&self) -> Vec<DataItem> {
        items::data_items(&self.settings.macros)
    }

    /// What changed since the previous poll. Connects first when not connected; a lost
    /// connection makes every data item unavailable and is reopened at the next poll.
    pub fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        let mut session = match self.session.take() {
            Some(session) => session,
            None => self.connect()?,
        };
        let readings = self.read_machine(&mut session);
        let now = self.host.now();
        match readings {
            Ok(readings) => {
                self.session = Some(session);
                Ok(self.tracker.changes(readings, now))
            }
            Err(lost) => {
                self.host.warn(&format!(
                    "lost the Haas MDC connection to {}: {lost}; reconnecting at the next poll",
                    self.address
                ));
                Ok(self.tracker.all_unavailable(&self.ids, now))
            }
        }
    }

    /// The host the driver runs with.
    pub fn host(&self) -> &H {
        &self.host
    }

    fn connect(&mut self) -> Result<Session<H::Connection>, Error> {
        let connection = self
            .host
            .connect(&self.settings.endpoint, self.settings.timeout_ms)
            .map_err(|error| {
                Error::unreachable(format!(
                    "cannot connect to the Haas MDC port at {} (endpoint `{}`): {}",
                    self.address, self.settings.endpoint, error.message
                ))
            })?;
        if self.connected_before {
            self.host.count(RECONNECTS, 1);
        }
        self.connected_before = true;
        // A new connection starts a new story: report every value again.
        self.tracker.forget();
        Ok(Session::new(connection))
    }

    fn read_machine(&mut self, session: &mut Session<H::Connection>) -> Result<Vec<Reading>, Lost> {
        let timeout = self.settings.timeout_ms;
        let serial = if session.serial_read {
            None
        } else {
            Some(session.ask_first(&mut self.host, Request::SerialNumber, timeout)?)
        };
        // Data items in their declared order: the control answers, so it is available.
        let mut readings = vec![(
            items::AVAILABILITY.into(),
            Reported::Event("AVAILABLE".into()),
        )];
        if let Some(reply) = serial {
            // A busy control said nothing: ask again at the next poll.
            session.serial_read = reply != Reply::Busy;
            readings.extend(self.readings(Request::SerialNumber, reply));
        }
        let mut requests = vec![Request::Mode, Request::ProgramStatus];
        requests.extend(
            self.settings
                .macros
                .iter()
                .map(|m| Request::Macro(m.variable)),
        );
        for request in requests {
            let reply = session.ask(&mut self.host, request, timeout)?;
            readings.extend(self.readings(request, reply));
        }
        Ok(readings)
    }

    /// What `reply`, the answer to `request`, says about the data items.
    fn readings(&mut self, request: Request, reply: Reply) -> Vec<Reading> {
        match (request, reply) {
            (_, refusal @ (Reply::Unknown | Reply::InvalidNumber)) => {
                self.refused(request, &refusal);
                self.ids_answering(request)
                    .into_iter()
                    .map(|id| (id, Reported::Unavailable))
                    .collect()
            }
            (Request::ProgramStatus, Reply::Busy) => items::busy(),
            (_, Reply::SerialNumber(serial)) => {
                vec![(items::SERIAL.into(), Reported::Event(serial))]
            }
            (_, Reply::Mode(mode)) => vec![(
                items::CONTROLLER_MODE.into(),
                Reported::Event(items::controller_mode(&mode)),
            )],
            (_, Reply::ProgramStatus(status)) => items::program_status(&status),
            (Request::Macro(_), Reply::Macro(value)) => self
                .ids_answering(request)
                .iter()
                .map(|id| items::macro_value(id, &value))
                .collect(),
            // `STATUS, BUSY` to another question tells nothing new; the session returns no other
            // replies.
            _ => Vec::new(),
        }
    }

    /// The data items whose value answers `request`.
    fn ids_answering(&self, request: Request) -> Vec<String> {
        let fixed: &[&str] = match request {
            Request::SerialNumber => &[items::SERIAL],
            Request::Mode => &[items::CONTROLLER_MODE],
            Request::ProgramStatus => &[
                items::EXECUTION,
                items::PROGRAM,
                items::PART_COUNT,
                items::SYSTEM,
            ],
            Request::Macro(variable) => {
                return self
                    .settings
                    .macros
                    .iter()
                    .filter(|m| m.variable == variable)
                    .map(|m| m.id.clone())
                    .collect();
            }
            Request::SoftwareVersion | Request::Model => &[],
        };
        fixed.iter().map(|id| (*id).to_owned()).collect()
    }

    fn refused(&mut self, request: Request, refusal: &Reply) {
        self.host.count(BAD_REPLIES, 1);
        // Once per request and instance: a wrong macro number would otherwise fill the log.
        if self.refusals_logged.insert(request) {
            self.host.warn(&format!(
                "the control at {} answers {request} with `{refusal}`; its data items are \
                 unavailable",
                self.address
            ));
        }
    }
}

impl Driver for HaasMdc<ComponentHost> {
    fn open(machine: &Machine) -> Result<Self, Error> {
        let settings = Settings::new(
            config::get("endpoint"),
            config::get("macros"),
            config::parse("timeout-ms")?,
        )?;
        let address = settings.address_in(&machine.endpoints)?;
        log::info(&format!(
            "reading Haas machine `{}` over MDC at {address}, {} macro variable(s)",
            machine.id,
            settings.macros.len()
        ));
        Ok(HaasMdc::new(settings, address, ComponentHost))
    }

    fn data_items(&self) -> Vec<DataItem> {
        HaasMdc::data_items(self)
    }

    fn poll(&mut self) -> Result<Vec<Observation>, Error> {
        HaasMdc::poll(self)
    }
}

chatter_sdk::export_driver!(HaasMdc<ComponentHost>);
