//! Element names ⇄ MTConnect types: `PartCount` ⇄ `PART_COUNT`, with an extension prefix and a
//! representation suffix (`x:ToolOffsetDataSet` ⇄ `x:TOOL_OFFSET` + data set).

use super::Representation;

/// The type and representation an observation element named `local` (without prefix) stands
/// for, with `prefix` (an extension namespace's) kept in front of the type.
pub(super) fn kind_of_element(prefix: Option<&str>, local: &str) -> (String, Representation) {
    let (base, representation) = split_representation(local);
    let kind = upper_snake(base);
    match prefix {
        Some(prefix) => (format!("{prefix}:{kind}"), representation),
        None => (kind, representation),
    }
}

/// The element name (prefix included) of an observation of type `kind` in `representation`.
pub(super) fn element_of_kind(kind: &str, representation: Representation) -> String {
    let (prefix, base) = match kind.split_once(':') {
        Some((prefix, base)) => (Some(prefix), base),
        None => (None, kind),
    };
    let local = format!("{}{}", pascal(base), representation.element_suffix());
    match prefix {
        Some(prefix) => format!("{prefix}:{local}"),
        None => local,
    }
}

fn split_representation(local: &str) -> (&str, Representation) {
    for representation in [
        Representation::TimeSeries,
        Representation::DataSet,
        Representation::Table,
    ] {
        let suffix = representation.element_suffix();
        // A name that is only the suffix is a type of its own, not a representation.
        if let Some(base) = local.strip_suffix(suffix).filter(|base| !base.is_empty()) {
            return (base, representation);
        }
    }
    (local, Representation::Value)
}

/// `PartCount` → `PART_COUNT`, `PHValue` → `PH_VALUE`: a word starts at an upper-case letter
/// after a lower-case letter or digit, and at the last capital of a run of capitals followed by
/// a lower-case letter.
pub(super) fn upper_snake(pascal: &str) -> String {
    let chars: Vec<char> = pascal.chars().collect();
    let mut out = String::with_capacity(pascal.len() + 4);
    for (index, &c) in chars.iter().enumerate() {
        if index > 0 && c.is_ascii_uppercase() {
            let previous = chars[index - 1];
            let next_is_lower = chars.get(index + 1).is_some_and(char::is_ascii_lowercase);
            let starts_word = previous.is_ascii_lowercase()
                || previous.is_ascii_digit()
                || (previous.is_ascii_uppercase() && next_is_lower);
            if starts_word {
                out.push('_');
            }
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// `PART_COUNT` → `PartCount`.
pub(super) fn pascal(upper_snake: &str) -> String {
    let mut out = String::with_capacity(upper_snake.len());
    for word in upper_snake.split('_').filter(|word| !word.is_empty()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn element_names_become_upper_snake_types() {
        for (element, kind) in [
            ("PartCount", "PART_COUNT"),
            ("Execution", "EXECUTION"),
            ("PathFeedrateOverride", "PATH_FEEDRATE_OVERRIDE"),
            ("AssetChanged", "ASSET_CHANGED"),
            ("PHValue", "PH_VALUE"),
        ] {
            assert_eq!(upper_snake(element), kind);
        }
    }

    #[test]
    fn types_become_element_names() {
        assert_eq!(pascal("PART_COUNT"), "PartCount");
        assert_eq!(pascal("EXECUTION"), "Execution");
        assert_eq!(
            element_of_kind("x:PALLET_NUMBER", Representation::Value),
            "x:PalletNumber"
        );
        assert_eq!(
            element_of_kind("VARIABLE", Representation::DataSet),
            "VariableDataSet"
        );
    }

    #[test]
    fn representation_suffixes_are_split_off_and_prefixes_kept() {
        assert_eq!(
            kind_of_element(None, "VoltAmpereTimeSeries"),
            ("VOLT_AMPERE".to_owned(), Representation::TimeSeries)
        );
        assert_eq!(
            kind_of_element(None, "WorkOffsetTable"),
            ("WORK_OFFSET".to_owned(), Representation::Table)
        );
        assert_eq!(
            kind_of_element(Some("x"), "ToolGroup"),
            ("x:TOOL_GROUP".to_owned(), Representation::Value)
        );
        assert_eq!(
            kind_of_element(None, "Table"),
            ("TABLE".to_owned(), Representation::Value)
        );
    }
}
