//! Units and the literal values Fusion writes: unit names, numbers, and template expressions
//! (`0.1mm`, `20.in/min`, `'from stock top'`).

use chatter_model::library::LengthUnit;

/// Millimeters in an inch.
const MM_PER_INCH: f64 = 25.4;
/// Meters in a foot.
const M_PER_FOOT: f64 = 0.3048;

/// A unit as Fusion names it in `unit` fields and attributes.
pub(crate) fn parse_unit(name: &str) -> Option<LengthUnit> {
    match name.trim() {
        "millimeters" | "millimeter" | "mm" => Some(LengthUnit::Millimeters),
        "inches" | "inch" | "in" => Some(LengthUnit::Inches),
        _ => None,
    }
}

/// `value` (a length, or a feed: length per minute) from unit `from` to unit `to`.
pub(crate) fn length(value: f64, from: LengthUnit, to: LengthUnit) -> f64 {
    match (from, to) {
        (LengthUnit::Inches, LengthUnit::Millimeters) => value * MM_PER_INCH,
        (LengthUnit::Millimeters, LengthUnit::Inches) => value / MM_PER_INCH,
        _ => value,
    }
}

/// A surface speed from `from`'s larger sibling per minute (m/min for millimeters, ft/min for
/// inches) to `to`'s.
pub(crate) fn surface_speed(value: f64, from: LengthUnit, to: LengthUnit) -> f64 {
    match (from, to) {
        (LengthUnit::Inches, LengthUnit::Millimeters) => value * M_PER_FOOT,
        (LengthUnit::Millimeters, LengthUnit::Inches) => value / M_PER_FOOT,
        _ => value,
    }
}

/// A finite number written in decimal: `12`, `12.`, `.5`, `-1.4605`, `1e-3`. Rejects `inf`,
/// `NaN` and anything else `f64::from_str` would accept beyond plain numbers.
pub(crate) fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    let first = text.chars().next()?;
    if !(first.is_ascii_digit() || matches!(first, '.' | '-' | '+')) {
        return None;
    }
    text.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// A literal of a template `<parameter expression=…>`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Literal {
    /// A bare number, in the template's unit when it is a measure.
    Number(f64),
    /// A quoted string, without its quotes.
    Text(String),
    /// `true` or `false`.
    Bool(bool),
    /// A length with its unit.
    Length(f64, LengthUnit),
    /// A feed (length per minute) with its unit.
    Feed(f64, LengthUnit),
}

/// The literal an expression is, or `None` for a formula (or a unit this crate does not know),
/// which is never evaluated.
pub(crate) fn literal(expression: &str) -> Option<Literal> {
    let text = expression.trim();
    match text {
        "true" => return Some(Literal::Bool(true)),
        "false" => return Some(Literal::Bool(false)),
        _ => {}
    }
    if let Some(inner) = text.strip_prefix('\'').and_then(|t| t.strip_suffix('\'')) {
        return (!inner.contains('\'')).then(|| Literal::Text(inner.to_owned()));
    }
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(text.len());
    let (digits, suffix) = text.split_at(split);
    let value = number(digits)?;
    let quantity = match suffix.trim() {
        "" => Literal::Number(value),
        "mm" => Literal::Length(value, LengthUnit::Millimeters),
        "cm" => Literal::Length(value * 10.0, LengthUnit::Millimeters),
        "m" => Literal::Length(value * 1000.0, LengthUnit::Millimeters),
        "in" => Literal::Length(value, LengthUnit::Inches),
        "ft" => Literal::Length(value * 12.0, LengthUnit::Inches),
        "mm/min" | "mmpm" => Literal::Feed(value, LengthUnit::Millimeters),
        "in/min" | "ipm" => Literal::Feed(value, LengthUnit::Inches),
        _ => return None,
    };
    Some(quantity)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_plain_decimals_only() {
        assert_eq!(number("10000."), Some(10000.0));
        assert_eq!(number(".5"), Some(0.5));
        assert_eq!(number("-1.4605"), Some(-1.4605));
        assert_eq!(number("inf"), None);
        assert_eq!(number("NaN"), None);
        assert_eq!(number("1e400"), None);
        assert_eq!(number(""), None);
    }

    #[test]
    fn expressions_are_literals_or_formulas() {
        assert_eq!(
            literal("0.1mm"),
            Some(Literal::Length(0.1, LengthUnit::Millimeters))
        );
        assert_eq!(
            literal("0.1 mm"),
            Some(Literal::Length(0.1, LengthUnit::Millimeters))
        );
        assert_eq!(
            literal("0.3795 in "),
            Some(Literal::Length(0.3795, LengthUnit::Inches))
        );
        assert_eq!(
            literal("12.in/min"),
            Some(Literal::Feed(12.0, LengthUnit::Inches))
        );
        assert_eq!(
            literal("1000mmpm"),
            Some(Literal::Feed(1000.0, LengthUnit::Millimeters))
        );
        assert_eq!(literal("10000."), Some(Literal::Number(10000.0)));
        assert_eq!(
            literal("'disabled'"),
            Some(Literal::Text("disabled".into()))
        );
        assert_eq!(literal("false"), Some(Literal::Bool(false)));
        assert_eq!(literal("tool_diameter * 0.5"), None);
        assert_eq!(literal("2 * tool_diameter"), None);
        assert_eq!(literal("'a' + 'b'"), None);
        assert_eq!(literal("3furlongs"), None);
    }

    #[test]
    fn conversions_round_trip() {
        let mm = length(20.0, LengthUnit::Inches, LengthUnit::Millimeters);
        assert!((mm - 508.0).abs() < 1e-9);
        let back = length(mm, LengthUnit::Millimeters, LengthUnit::Inches);
        assert!((back - 20.0).abs() < 1e-12);
        let ft = surface_speed(100.0, LengthUnit::Millimeters, LengthUnit::Inches);
        assert!((ft - 328.083_989_5).abs() < 1e-6);
    }
}
