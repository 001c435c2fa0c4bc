//! The run's parameters, read from the request (the host validated them against the
//! manifest's `[config]` schema and filled in defaults) and checked for sense.

use chatter_sdk::Error;

/// Default of `utilization-target`, as in `plugin.toml`.
const DEFAULT_TARGET_PCT: f64 = 65.0;
/// Default of `long-idle-min`, as in `plugin.toml`.
const DEFAULT_LONG_IDLE_MIN: i64 = 30;
const NS_PER_MINUTE: i64 = 60_000_000_000;

/// What the recommendations compare against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Parameters {
    /// Utilization (percent) below which a machine's shift earns a recommendation.
    pub target_pct: f64,
    /// Minutes an idle stretch lasts at least to count as a long stop.
    pub long_idle_min: i64,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            target_pct: DEFAULT_TARGET_PCT,
            long_idle_min: DEFAULT_LONG_IDLE_MIN,
        }
    }
}

impl Parameters {
    /// The parameters of `request.parameters`; a key that is absent keeps its default (the
    /// host fills defaults in, but a plugin run by hand may get none).
    pub fn from_request(parameters: &[(String, String)]) -> Result<Self, Error> {
        let value = |key: &str| {
            parameters
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim())
        };
        let mut result = Parameters::default();
        if let Some(text) = value("utilization-target") {
            result.target_pct = text
                .parse::<f64>()
                .ok()
                .filter(|t| t.is_finite() && *t > 0.0 && *t <= 100.0)
                .ok_or_else(|| {
                    Error::invalid_config(format!(
                        "`utilization-target` = {text:?} is not a percentage above 0 and at \
                         most 100"
                    ))
                })?;
        }
        if let Some(text) = value("long-idle-min") {
            result.long_idle_min = text
                .parse::<i64>()
                .ok()
                // A week is plenty; the bound keeps the nanoseconds far from overflowing.
                .filter(|m| (1..=7 * 24 * 60).contains(m))
                .ok_or_else(|| {
                    Error::invalid_config(format!(
                        "`long-idle-min` = {text:?} is not a whole number of minutes from 1 to \
                         10080"
                    ))
                })?;
        }
        Ok(result)
    }

    /// The long-stop threshold in nanoseconds.
    pub fn long_idle_ns(&self) -> i64 {
        self.long_idle_min * NS_PER_MINUTE
    }
}

#[cfg(test)]
mod tests {
    use chatter_sdk::ErrorCode;

    use super::*;

    fn parameters(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn values_of_the_request_are_used() {
        let p = Parameters::from_request(&parameters(&[
            ("utilization-target", "72.5"),
            ("long-idle-min", "45"),
        ]))
        .unwrap();
        assert_eq!(p.target_pct, 72.5);
        assert_eq!(p.long_idle_min, 45);
        assert_eq!(p.long_idle_ns(), 45 * 60 * 1_000_000_000);
    }

    #[test]
    fn absent_values_take_the_manifest_defaults() {
        assert_eq!(
            Parameters::from_request(&[]).unwrap(),
            Parameters::default()
        );
        assert_eq!(Parameters::default().target_pct, 65.0);
        assert_eq!(Parameters::default().long_idle_min, 30);
    }

    #[test]
    fn nonsense_is_an_invalid_config_naming_the_key() {
        for (key, value) in [
            ("utilization-target", "0"),
            ("utilization-target", "120"),
            ("utilization-target", "high"),
            ("long-idle-min", "0"),
            ("long-idle-min", "2.5"),
        ] {
            let error = Parameters::from_request(&parameters(&[(key, value)])).unwrap_err();
            assert!(matches!(error.code, ErrorCode::InvalidConfig));
            assert!(error.message.contains(key), "{}", error.message);
        }
    }
}
