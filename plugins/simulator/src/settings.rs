//! The driver's configuration, validated: the values of the manifest's `[config]` keys, checked
//! for what their TOML type cannot say.

use chatter_sdk::Error;

/// Simulated time runs this many times faster than real time unless configured: one real second
/// is one simulated minute, so a demo machine changes state every few seconds.
pub const DEFAULT_SPEED: f64 = 60.0;
/// Observations per poll unless configured.
pub const DEFAULT_MAX_BATCH: usize = 10_000;
/// The largest `max-batch` accepted. A batch of 100,000 moves about 3 MB across the boundary and
/// needs about 25 MB of guest memory, within the host's default per-call cap (4 MiB) and memory
/// cap (64 MiB); larger batches would only make the host stop the instance.
pub const LARGEST_MAX_BATCH: usize = 100_000;

/// How the simulator runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Which machine: the whole simulation is a function of it.
    pub seed: u64,
    /// How many times faster than real time the simulated clock runs.
    pub speed: f64,
    /// Simulated start, ns since the Unix epoch; `None`: when the driver opens.
    pub start: Option<i64>,
    /// Most observations one poll returns.
    pub max_batch: usize,
}

impl Settings {
    /// Validates the configured values (`None`: unset), applying the defaults.
    pub fn new(
        seed: Option<i64>,
        speed: Option<f64>,
        start: Option<i64>,
        max_batch: Option<i64>,
    ) -> Result<Self, Error> {
        Ok(Settings {
            // Every integer names a machine, negative ones included.
            seed: seed.unwrap_or(1) as u64,
            speed: check_speed(speed.unwrap_or(DEFAULT_SPEED))?,
            start,
            max_batch: max_batch.map_or(Ok(DEFAULT_MAX_BATCH), check_max_batch)?,
        })
    }
}

fn check_speed(speed: f64) -> Result<f64, Error> {
    if speed.is_finite() && speed > 0.0 {
        Ok(speed)
    } else {
        Err(Error::invalid_config(format!(
            "config `speed` = {speed} must be a positive number (how many times faster than real \
             time the simulated clock runs)"
        )))
    }
}

fn check_max_batch(max_batch: i64) -> Result<usize, Error> {
    match usize::try_from(max_batch) {
        Ok(n) if (1..=LARGEST_MAX_BATCH).contains(&n) => Ok(n),
        _ => Err(Error::invalid_config(format!(
            "config `max-batch` = {max_batch} must be between 1 and {LARGEST_MAX_BATCH}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use chatter_sdk::ErrorCode;

    use super::*;

    #[test]
    fn unset_keys_take_the_documented_defaults() {
        let settings = Settings::new(None, None, None, None).expect("defaults are valid");
        assert_eq!(
            settings,
            Settings {
                seed: 1,
                speed: 60.0,
                start: None,
                max_batch: 10_000
            }
        );
    }

    #[test]
    fn any_integer_is_a_seed() {
        let settings = Settings::new(Some(-1), None, Some(0), None).expect("valid");
        assert_eq!(settings.seed, u64::MAX);
        assert_eq!(settings.start, Some(0));
    }

    #[test]
    fn a_speed_that_is_not_positive_is_rejected_naming_the_key() {
        for speed in [0.0, -2.0, f64::NAN, f64::INFINITY] {
            let error = Settings::new(None, Some(speed), None, None).expect_err("invalid");
            assert_eq!(error.code, ErrorCode::InvalidConfig);
            assert!(error.message.contains("`speed`"), "{}", error.message);
        }
    }

    #[test]
    fn an_empty_or_huge_batch_is_rejected_naming_the_key() {
        for max_batch in [0, -5, 100_001] {
            let error = Settings::new(None, None, None, Some(max_batch)).expect_err("invalid");
            assert_eq!(error.code, ErrorCode::InvalidConfig);
            assert!(error.message.contains("`max-batch`"), "{}", error.message);
        }
        assert!(Settings::new(None, None, None, Some(1)).is_ok());
    }
}
