//! MTConnect event types whose values come from a controlled vocabulary of upper-case words
//! (`ACTIVE`, `AUTOMATIC`, `OPEN`): adapters and agents that write `Active` mean `ACTIVE`, so
//! every driver normalizes them the same way.

use std::borrow::Cow;

/// The event types with a controlled vocabulary, sorted.
pub const CONTROLLED_TYPES: [&str; 36] = [
    "ACTUATOR_STATE",
    "AVAILABILITY",
    "AXIS_COUPLING",
    "AXIS_INTERLOCK",
    "AXIS_STATE",
    "BATTERY_STATE",
    "CHARACTERISTIC_STATUS",
    "CHUCK_INTERLOCK",
    "CHUCK_STATE",
    "COMPOSITION_STATE",
    "CONNECTION_STATUS",
    "CONTROLLER_MODE",
    "CONTROLLER_MODE_OVERRIDE",
    "DIRECTION",
    "DOOR_STATE",
    "EMERGENCY_STOP",
    "END_OF_BAR",
    "EQUIPMENT_MODE",
    "EXECUTION",
    "FUNCTIONAL_MODE",
    "INTERFACE_STATE",
    "LOCK_STATE",
    "OPERATING_MODE",
    "PALLET_STATE",
    "PART_DETECT",
    "PART_PROCESSING_STATE",
    "PART_STATUS",
    "PATH_MODE",
    "POWER_STATE",
    "POWER_STATUS",
    "PROGRAM_EDIT",
    "PROGRAM_LOCATION_TYPE",
    "ROTARY_MODE",
    "SPINDLE_INTERLOCK",
    "VALVE_STATE",
    "WAIT_STATE",
];

/// Whether values of the data item type `kind` are a controlled vocabulary.
pub fn is_controlled(kind: &str) -> bool {
    CONTROLLED_TYPES.binary_search(&kind).is_ok()
}

/// `value` as an observation of type `kind` should read: trimmed and upper-cased for a
/// controlled vocabulary, as written otherwise.
pub fn normalize<'a>(kind: &str, value: &'a str) -> Cow<'a, str> {
    if !is_controlled(kind) {
        return Cow::Borrowed(value);
    }
    let trimmed = value.trim();
    if trimmed.bytes().any(|b| b.is_ascii_lowercase()) {
        Cow::Owned(trimmed.to_ascii_uppercase())
    } else {
        Cow::Borrowed(trimmed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_sorted_for_binary_search() {
        assert!(CONTROLLED_TYPES.windows(2).all(|pair| pair[0] < pair[1]));
    }

    #[test]
    fn controlled_values_are_upper_cased_and_free_text_is_kept() {
        assert_eq!(normalize("EXECUTION", " Active "), "ACTIVE");
        assert_eq!(normalize("CONTROLLER_MODE", "AUTOMATIC"), "AUTOMATIC");
        assert_eq!(normalize("PROGRAM", "o1234 Bracket"), "o1234 Bracket");
    }
}
