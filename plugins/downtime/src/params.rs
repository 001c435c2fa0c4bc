//! The run's parameters, read from the request (the host validated them against the
//! manifest's `[config]` schema and filled in defaults) and checked for sense.

use chatter_sdk::Error;

/// Default of `microstop-s`, as in `plugin.toml`.
const DEFAULT_MICROSTOP_S: i64 = 120;
/// Default of `top`, as in `plugin.toml`.
const DEFAULT_TOP: usize = 10;
const NS_PER_SECOND: i64 = 1_000_000_000;

/// What the stops are sorted into, and how much is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parameters {
    /// A stop shorter than this many seconds is a microstop.
    pub microstop_s: i64,
    /// How many longest stops and top alarms are listed.
    pub top: usize,
}

impl Default for Parameters {
    fn default() -> Self {
        Parameters {
            microstop_s: DEFAULT_MICROSTOP_S,
            top: DEFAULT_TOP,
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
        if let Some(text) = value("microstop-s") {
            result.microstop_s = text
                .parse::<i64>()
                .ok()
                // An hour is no longer a microstop; the bound also keeps nanoseconds small.
                .filter(|s| (1..=3600).contains(s))
                .ok_or_else(|| {
                    Error::invalid_config(format!(
                        "`microstop-s` = {text:?} is not a whole number of seconds from 1 to 3600"
                    ))
                })?;
        }
        if let Some(text) = value("top") {
            result.top = text
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=100).contains(n))
                .ok_or_else(|| {
                    Error::invalid_config(format!(
                        "`top` = {text:?} is not a whole number from 1 to 100"
                    ))
                })?;
        }
        Ok(result)
    }

    /// The microstop threshold in nanoseconds.
    pub fn microstop_ns(&self) -> i64 {
        self.microstop_s * NS_PER_SECOND
    }

    /// The threshold as a sentence says it: "2 min", "90 s" — exact, never rounded, since it
    /// follows "under".
    pub fn microstop_text(&self) -> String {
        if self.microstop_s % 60 == 0 {
            format!("{} min", self.microstop_s / 60)
        } else {
            format!("{} s", self.microstop_s)
        }
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
        let p =
            Parameters::from_request(&parameters(&[("microstop-s", "90"), ("top", "5")])).unwrap();
        assert_eq!(p.microstop_s, 90);
        assert_eq!(p.top, 5);
        assert_eq!(p.microstop_ns(), 90 * 1_000_000_000);
        assert_eq!(p.microstop_text(), "90 s");
        assert_eq!(Parameters::default().microstop_text(), "2 min");
    }

    #[test]
    fn absent_values_take_the_manifest_defaults() {
        assert_eq!(
            Parameters::from_request(&[]).unwrap(),
            Parameters::default()
        );
        assert_eq!(Parameters::default().microstop_s, 120);
        assert_eq!(Parameters::default().top, 10);
    }

    #[test]
    fn nonsense_is_an_invalid_config_naming_the_key_and_the_value() {
        for (key, value) in [
            ("microstop-s", "0"),
            ("microstop-s", "3601"),
            ("microstop-s", "1.5"),
            ("top", "0"),
            ("top", "101"),
            ("top", "many"),
        ] {
            let error = Parameters::from_request(&parameters(&[(key, value)])).unwrap_err();
            assert!(matches!(error.code, ErrorCode::InvalidConfig));
            assert!(
                error.message.contains(&format!("`{key}` = \"{value}\"")),
                "{}",
                error.message
            );
        }
    }
}
