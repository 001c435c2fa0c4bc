//! Which data item is which signal: resolved once per declaration into a map, so that the
//! per-observation cost is one hash lookup (plus, for ids nobody declared, a handful of
//! length-checked comparisons against the fallback names — no allocation either way).

use std::collections::HashMap;

use chatter_model::{DataItem, SignalMapping};

/// A data item whose value the deriver reads (conditions are recognized by value instead).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// AVAILABILITY.
    Availability,
    /// EXECUTION.
    Execution,
    /// CONTROLLER_MODE.
    ControllerMode,
    /// PART_COUNT.
    PartCount,
    /// PROGRAM.
    Program,
}

impl Signal {
    /// Every signal, in the order mapping overrides are resolved when names collide.
    const ALL: [Signal; 5] = [
        Signal::Availability,
        Signal::Execution,
        Signal::ControllerMode,
        Signal::PartCount,
        Signal::Program,
    ];

    /// The MTConnect type of items that are this signal.
    fn kind(self) -> &'static str {
        match self {
            Signal::Availability => "AVAILABILITY",
            Signal::Execution => "EXECUTION",
            Signal::ControllerMode => "CONTROLLER_MODE",
            Signal::PartCount => "PART_COUNT",
            Signal::Program => "PROGRAM",
        }
    }

    /// Ids controllers and adapters commonly use for this signal when they declare no types.
    fn fallback_names(self) -> &'static [&'static str] {
        match self {
            Signal::Availability => &["avail", "availability"],
            Signal::Execution => &[
                "execution",
                "exec",
                "pexecution",
                "Program_Status",
                "Execution",
            ],
            Signal::ControllerMode => &["mode", "controllermode", "controller_mode", "pmode"],
            Signal::PartCount => &["partcount", "part_count", "PartCountAct", "pcount"],
            Signal::Program => &[
                "program",
                "pprogram",
                "Program_Name_Running",
                "program_name",
            ],
        }
    }

    /// The ids or controller names the mapping lists for this signal.
    fn overrides(self, mapping: &SignalMapping) -> &[String] {
        match self {
            Signal::Availability => &mapping.availability,
            Signal::Execution => &mapping.execution,
            Signal::ControllerMode => &mapping.controller_mode,
            Signal::PartCount => &mapping.part_count,
            Signal::Program => &mapping.program,
        }
    }
}

/// What the resolver knows about an id it has a map entry for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Entry {
    /// The id is this signal.
    Is(Signal),
    /// The id was declared with a known type that is no signal (or a signal whose mapping
    /// overrides the type): the fallback names must not claim it.
    Not,
}

/// Maps data item ids to signals, following the rules in the crate documentation.
#[derive(Debug, Clone, Default)]
pub(crate) struct Resolver {
    /// Ids resolved by mapping overrides or declared types, and declared ids that are no signal.
    known: HashMap<String, Entry>,
    /// Fallback names of the signals the mapping leaves empty, compared case-insensitively.
    fallbacks: Vec<(&'static str, Signal)>,
}

impl Resolver {
    /// Resolves `items` under `mapping`.
    pub(crate) fn new(items: &[DataItem], mapping: &SignalMapping) -> Self {
        let mut known = HashMap::new();
        // Declared items with a known type are authoritative about what they are not; entries
        // below overwrite these for the items that are a signal.
        for item in items.iter().filter(|item| is_known_kind(&item.kind)) {
            known.insert(item.id.clone(), Entry::Not);
        }
        // Declared types, for signals the mapping leaves empty: the first item of the type,
        // which is the machine's main path (a lathe's second path, a subprogram, is also
        // EXECUTION or PROGRAM, but says less about the machine).
        for signal in Signal::ALL {
            if !signal.overrides(mapping).is_empty() {
                continue;
            }
            if let Some(item) = items.iter().find(|item| item.kind == signal.kind()) {
                known.insert(item.id.clone(), Entry::Is(signal));
            }
        }
        // Mapping overrides win over everything; on a name listed for two signals, the first
        // signal in `Signal::ALL` wins (hence the reverse order of insertion).
        for signal in Signal::ALL.into_iter().rev() {
            for name in signal.overrides(mapping) {
                known.insert(name.clone(), Entry::Is(signal));
                let named = items.iter().filter(|item| item.name.as_ref() == Some(name));
                for item in named {
                    known.insert(item.id.clone(), Entry::Is(signal));
                }
            }
        }
        let fallbacks = Signal::ALL
            .into_iter()
            .filter(|signal| signal.overrides(mapping).is_empty())
            .flat_map(|signal| signal.fallback_names().iter().map(move |&n| (n, signal)))
            .collect();
        Resolver { known, fallbacks }
    }

    /// The signal the data item `id` is, if any.
    #[inline]
    pub(crate) fn get(&self, id: &str) -> Option<Signal> {
        match self.known.get(id) {
            Some(Entry::Is(signal)) => Some(*signal),
            Some(Entry::Not) => None,
            None => self.fallback(id),
        }
    }

    /// The signal whose fallback name `id` is, ignoring ASCII case.
    fn fallback(&self, id: &str) -> Option<Signal> {
        self.fallbacks
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(id))
            .map(|&(_, signal)| signal)
    }
}

/// Whether a declared type says what an item is: anything but an empty or `UNKNOWN` type.
fn is_known_kind(kind: &str) -> bool {
    let kind = kind.trim();
    !kind.is_empty() && !kind.eq_ignore_ascii_case("UNKNOWN")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatter_model::Category;

    fn item(id: &str, kind: &str, name: Option<&str>) -> DataItem {
        DataItem {
            id: id.into(),
            category: Category::Event,
            kind: kind.into(),
            units: None,
            name: name.map(Into::into),
        }
    }

    #[test]
    fn declared_types_resolve_and_other_types_do_not() {
        let items = [
            item("x1", "EXECUTION", None),
            item("x2", "AVAILABILITY", None),
            item("s", "ROTARY_VELOCITY", None),
        ];
        let resolver = Resolver::new(&items, &SignalMapping::default());
        assert_eq!(resolver.get("x1"), Some(Signal::Execution));
        assert_eq!(resolver.get("x2"), Some(Signal::Availability));
        assert_eq!(resolver.get("s"), None);
        assert_eq!(resolver.get("nope"), None);
    }

    #[test]
    fn fallback_names_match_case_insensitively_unless_declared_otherwise() {
        let items = [item("mode", "PATH_MODE", None), item("pcount", "", None)];
        let resolver = Resolver::new(&items, &SignalMapping::default());
        assert_eq!(resolver.get("EXEC"), Some(Signal::Execution));
        assert_eq!(resolver.get("program_status"), Some(Signal::Execution));
        assert_eq!(resolver.get("Avail"), Some(Signal::Availability));
        assert_eq!(resolver.get("partcountact"), Some(Signal::PartCount));
        assert_eq!(resolver.get("PROGRAM_NAME"), Some(Signal::Program));
        // Declared as something else: not the controller mode.
        assert_eq!(resolver.get("mode"), None);
        // Declared without a type: the fallback still applies.
        assert_eq!(resolver.get("pcount"), Some(Signal::PartCount));
        assert_eq!(resolver.get("exec2"), None);
    }

    #[test]
    fn mapping_overrides_types_and_disables_that_signals_fallbacks() {
        let items = [
            item("x1", "EXECUTION", None),
            item("p7", "", Some("PrgStatus")),
            item("m", "CONTROLLER_MODE", None),
        ];
        let mapping = SignalMapping {
            execution: vec!["PrgStatus".into(), "raw_exec".into()],
            ..SignalMapping::default()
        };
        let resolver = Resolver::new(&items, &mapping);
        assert_eq!(resolver.get("p7"), Some(Signal::Execution), "by name");
        assert_eq!(resolver.get("PrgStatus"), Some(Signal::Execution), "by id");
        assert_eq!(resolver.get("raw_exec"), Some(Signal::Execution));
        assert_eq!(resolver.get("x1"), None, "the mapping replaces the type");
        assert_eq!(resolver.get("execution"), None, "and the fallback names");
        assert_eq!(resolver.get("m"), Some(Signal::ControllerMode));
        assert_eq!(resolver.get("avail"), Some(Signal::Availability));
    }

    #[test]
    fn an_override_can_claim_an_item_declared_as_another_signal() {
        let items = [item("exec", "EXECUTION", None)];
        let mapping = SignalMapping {
            program: vec!["exec".into()],
            ..SignalMapping::default()
        };
        let resolver = Resolver::new(&items, &mapping);
        assert_eq!(resolver.get("exec"), Some(Signal::Program));
    }
}
