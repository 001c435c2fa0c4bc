//! The part counter: rises are parts; drops are rollovers or resets.

use chatter_model::Value;
use serde::{Deserialize, Serialize};

/// The last numeric value of the part counter: the baseline the next value is compared with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct Counter {
    /// `None` until the first numeric value.
    last: Option<u64>,
}

impl Counter {
    /// Takes in a part count observation; returns the parts it counts and the counter's new
    /// value, when it counts any.
    pub(crate) fn observe(&mut self, value: &Value, rollover: Option<u64>) -> Option<(u64, u64)> {
        let counter = parse(value)?;
        let previous = self.last.replace(counter)?;
        let parts = parts_between(previous, counter, rollover);
        (parts > 0).then_some((parts, counter))
    }
}

/// Parts counted when the counter goes from `a` to `b`.
///
/// A drop is a rollover when the counter wraps (`rollover` is `Some(max)`) and `a` was in the
/// upper half of its range (`a >= max / 2`): the counter went `a → max → 0 → b`. Any other
/// drop is a reset to 0 followed by `b` parts.
pub(crate) fn parts_between(a: u64, b: u64, rollover: Option<u64>) -> u64 {
    if b >= a {
        return b - a;
    }
    match rollover {
        Some(max) if a >= max / 2 => max.saturating_sub(a).saturating_add(b).saturating_add(1),
        _ => b,
    }
}

/// The counter's value: a non-negative finite number (rounded), from a sample or event text.
fn parse(value: &Value) -> Option<u64> {
    let number = match value {
        Value::Sample(number) => *number,
        Value::Event(text) => text.trim().parse::<f64>().ok()?,
        Value::Condition(_) | Value::Unavailable => return None,
    };
    let rounded = number.round();
    // `u64::MAX as f64` rounds up to 2^64, which is out of range: compare strictly.
    (rounded.is_finite() && rounded >= 0.0 && rounded < u64::MAX as f64).then_some(rounded as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_value_is_the_baseline_and_rises_count() {
        let mut counter = Counter::default();
        assert_eq!(counter.observe(&Value::Sample(41.0), None), None);
        assert_eq!(
            counter.observe(&Value::Event(" 43 ".into()), None),
            Some((2, 43))
        );
        assert_eq!(counter.observe(&Value::Sample(43.0), None), None);
    }

    #[test]
    fn junk_and_unavailable_keep_the_baseline() {
        let mut counter = Counter::default();
        counter.observe(&Value::Sample(5.0), None);
        for junk in [
            Value::Unavailable,
            Value::Event("n/a".into()),
            Value::Sample(-1.0),
            Value::Sample(f64::NAN),
        ] {
            assert_eq!(counter.observe(&junk, None), None);
        }
        assert_eq!(counter.observe(&Value::Sample(6.0), None), Some((1, 6)));
    }

    #[test]
    fn drops_are_rollovers_near_the_top_and_resets_otherwise() {
        assert_eq!(parts_between(9998, 1, Some(9999)), 3, "9999, 0, 1");
        assert_eq!(parts_between(9999, 0, Some(9999)), 1);
        assert_eq!(parts_between(100, 3, Some(9999)), 3, "reset");
        assert_eq!(parts_between(9998, 1, None), 1, "reset without rollover");
        assert_eq!(parts_between(5, 0, None), 0);
    }
}
