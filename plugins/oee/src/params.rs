//! The run's parameters: ideal cycle times per program and scrap per machine, read from the
//! request (the host checked their types against the manifest and filled in defaults) and
//! checked for sense here.
//!
//! Both lists are `NAME=VALUE` pairs separated by commas or semicolons, with spaces anywhere
//! between (`O1000=240, O2000=95.5`). An error names the parameter and the pair that is wrong,
//! so the supervisor can fix it from the message alone; the run then fails before any output.

use chatter_sdk::Error;

const NS_PER_SECOND: f64 = 1e9;
/// The longest ideal cycle time accepted, in seconds: a week. Longer is a typo, and the bound
/// keeps ideal time × parts far from overflowing nanoseconds.
const MAX_IDEAL_S: f64 = 7.0 * 24.0 * 3600.0;

/// What the run measures performance and quality against.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parameters {
    /// Ideal time per part, in nanoseconds, per program, in the order given.
    pub ideal: Vec<(String, i64)>,
    /// Ideal time per part of every other program, in nanoseconds.
    pub default_ideal: Option<i64>,
    /// Scrapped parts of the period, per machine (id or display name), in the order given.
    pub scrap: Vec<(String, u64)>,
}

impl Parameters {
    /// The parameters of `request.parameters`; a key that is absent or empty means none given.
    pub fn from_request(parameters: &[(String, String)]) -> Result<Self, Error> {
        let value = |key: &str| {
            parameters
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.trim())
                .filter(|v| !v.is_empty())
        };
        let mut result = Parameters::default();
        if let Some(text) = value("ideal-cycle-s") {
            result.ideal = ideal_times(text)?;
        }
        if let Some(text) = value("default-ideal-cycle-s") {
            result.default_ideal = Some(ideal_ns(text).map_err(|problem| {
                Error::invalid_config(format!("`default-ideal-cycle-s`: `{text}` — {problem}"))
            })?);
        }
        if let Some(text) = value("scrap") {
            result.scrap = scrap_counts(text)?;
        }
        Ok(result)
    }

    /// The ideal time per part of `program`: its own (names compared without regard to case),
    /// else the default; `None` when neither is set.
    pub fn ideal_for(&self, program: Option<&str>) -> Option<i64> {
        program
            .and_then(|program| {
                self.ideal
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(program.trim()))
                    .map(|(_, ns)| *ns)
            })
            .or(self.default_ideal)
    }

    /// The scrap of the machine with `id` and display `name`: given by id, else by name
    /// (without regard to case); `None` when not recorded.
    pub fn scrap_for(&self, id: &str, name: &str) -> Option<u64> {
        let by = |matches: &dyn Fn(&str) -> bool| {
            self.scrap
                .iter()
                .find(|(key, _)| matches(key))
                .map(|(_, count)| *count)
        };
        by(&|key| key == id).or_else(|| by(&|key| key.eq_ignore_ascii_case(name.trim())))
    }

    /// The keys of `scrap` that name none of `machines` (id and display name each): given for a
    /// machine outside this run, or misspelt.
    pub fn unmatched_scrap<'a>(&'a self, machines: &[(&str, &str)]) -> Vec<&'a str> {
        self.scrap
            .iter()
            .map(|(key, _)| key.as_str())
            .filter(|key| {
                !machines
                    .iter()
                    .any(|(id, name)| key == id || key.eq_ignore_ascii_case(name.trim()))
            })
            .collect()
    }
}

/// `ideal-cycle-s`: `PROGRAM=SECONDS` pairs.
fn ideal_times(text: &str) -> Result<Vec<(String, i64)>, Error> {
    let mut ideal: Vec<(String, i64)> = Vec::new();
    for (pair, name, value) in pairs(text, "ideal-cycle-s", "PROGRAM=SECONDS", "O1000=240")? {
        let fail = |problem: String| {
            Error::invalid_config(format!("`ideal-cycle-s`: `{pair}` — {problem}"))
        };
        if name.is_empty() {
            return Err(fail("the program is missing".to_owned()));
        }
        if ideal
            .iter()
            .any(|(known, _)| known.eq_ignore_ascii_case(name))
        {
            return Err(fail(format!("{name} is given twice")));
        }
        ideal.push((name.to_owned(), ideal_ns(value).map_err(fail)?));
    }
    Ok(ideal)
}

/// Seconds as nanoseconds per part: a positive number of at most [`MAX_IDEAL_S`].
fn ideal_ns(text: &str) -> Result<i64, String> {
    let seconds = text
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s > 0.0)
        .ok_or_else(|| "seconds must be a positive number".to_owned())?;
    if seconds > MAX_IDEAL_S {
        return Err(format!("seconds must be at most {MAX_IDEAL_S} (a week)"));
    }
    let ns = (seconds * NS_PER_SECOND).round() as i64;
    // A positive number too small for a nanosecond is no time at all.
    if ns > 0 {
        Ok(ns)
    } else {
        Err("seconds must be a positive number".to_owned())
    }
}

/// `scrap`: `MACHINE=COUNT` pairs.
fn scrap_counts(text: &str) -> Result<Vec<(String, u64)>, Error> {
    let mut scrap: Vec<(String, u64)> = Vec::new();
    for (pair, name, value) in pairs(text, "scrap", "MACHINE=COUNT", "mill-1=3")? {
        let fail =
            |problem: String| Error::invalid_config(format!("`scrap`: `{pair}` — {problem}"));
        if name.is_empty() {
            return Err(fail("the machine is missing".to_owned()));
        }
        if scrap
            .iter()
            .any(|(known, _)| known.eq_ignore_ascii_case(name))
        {
            return Err(fail(format!("{name} is given twice")));
        }
        let count = value
            .parse::<u64>()
            .map_err(|_| fail("the count must be a whole number of 0 or more".to_owned()))?;
        scrap.push((name.to_owned(), count));
    }
    Ok(scrap)
}

/// The `NAME=VALUE` pairs of `text` as (pair, name, value), trimmed; empty entries (a trailing
/// comma) are skipped. `key`, `form` and `example` word the error for an entry without `=`.
fn pairs<'a>(
    text: &'a str,
    key: &str,
    form: &str,
    example: &str,
) -> Result<Vec<(&'a str, &'a str, &'a str)>, Error> {
    text.split([',', ';'])
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .map(|pair| match pair.split_once('=') {
            Some((name, value)) => Ok((pair, name.trim(), value.trim())),
            None => Err(Error::invalid_config(format!(
                "`{key}`: `{pair}` — write {form}, e.g. `{example}`"
            ))),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use chatter_sdk::ErrorCode;

    use super::*;

    const S: i64 = 1_000_000_000;

    fn parameters(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn error(key: &str, value: &str) -> String {
        let error = Parameters::from_request(&parameters(&[(key, value)])).unwrap_err();
        assert!(matches!(error.code, ErrorCode::InvalidConfig));
        error.message
    }

    #[test]
    fn pairs_are_read_with_commas_or_semicolons_and_spaces() {
        let p = Parameters::from_request(&parameters(&[
            ("ideal-cycle-s", " O1000=240, O2000 = 95.5;O3000=1 ,"),
            ("default-ideal-cycle-s", "60"),
            ("scrap", "mill-1=3; Lathe 2 = 0"),
        ]))
        .unwrap();
        assert_eq!(
            p.ideal,
            [
                ("O1000".to_owned(), 240 * S),
                ("O2000".to_owned(), 95_500_000_000),
                ("O3000".to_owned(), S),
            ]
        );
        assert_eq!(p.default_ideal, Some(60 * S));
        assert_eq!(
            p.scrap,
            [("mill-1".to_owned(), 3), ("Lathe 2".to_owned(), 0)]
        );
    }

    #[test]
    fn absent_or_empty_parameters_give_nothing() {
        assert_eq!(
            Parameters::from_request(&[]).unwrap(),
            Parameters::default()
        );
        let p = Parameters::from_request(&parameters(&[
            ("ideal-cycle-s", ""),
            ("scrap", " "),
            ("default-ideal-cycle-s", ""),
        ]))
        .unwrap();
        assert_eq!(p, Parameters::default());
    }

    #[test]
    fn programs_take_their_own_ideal_else_the_default() {
        let mut p =
            Parameters::from_request(&parameters(&[("ideal-cycle-s", "O1000=240")])).unwrap();
        assert_eq!(p.ideal_for(Some("o1000")), Some(240 * S));
        assert_eq!(p.ideal_for(Some("O2000")), None);
        assert_eq!(p.ideal_for(None), None);
        p.default_ideal = Some(60 * S);
        assert_eq!(p.ideal_for(Some("O2000")), Some(60 * S));
        assert_eq!(p.ideal_for(None), Some(60 * S));
        assert_eq!(p.ideal_for(Some(" O1000 ")), Some(240 * S));
    }

    #[test]
    fn scrap_is_found_by_id_then_by_name() {
        let p =
            Parameters::from_request(&parameters(&[("scrap", "mill-1=3, lathe 2=1, mill-9=4")]))
                .unwrap();
        assert_eq!(p.scrap_for("mill-1", "Mill 1"), Some(3));
        assert_eq!(p.scrap_for("l2", "Lathe 2"), Some(1));
        assert_eq!(p.scrap_for("m3", "Mill 3"), None);
        assert_eq!(
            p.unmatched_scrap(&[("mill-1", "Mill 1"), ("l2", "Lathe 2")]),
            ["mill-9"]
        );
    }

    #[test]
    fn errors_name_the_parameter_and_the_bad_pair() {
        assert_eq!(
            error("ideal-cycle-s", "O1000=abc"),
            "`ideal-cycle-s`: `O1000=abc` — seconds must be a positive number"
        );
        assert_eq!(
            error("ideal-cycle-s", "O1000=240, O2000=-5"),
            "`ideal-cycle-s`: `O2000=-5` — seconds must be a positive number"
        );
        assert_eq!(
            error("ideal-cycle-s", "O1000=0"),
            "`ideal-cycle-s`: `O1000=0` — seconds must be a positive number"
        );
        assert_eq!(
            error("ideal-cycle-s", "O1000=inf"),
            "`ideal-cycle-s`: `O1000=inf` — seconds must be a positive number"
        );
        assert_eq!(
            error("ideal-cycle-s", "O1000=1e-12"),
            "`ideal-cycle-s`: `O1000=1e-12` — seconds must be a positive number"
        );
        assert_eq!(
            error("ideal-cycle-s", "O1000=700000"),
            "`ideal-cycle-s`: `O1000=700000` — seconds must be at most 604800 (a week)"
        );
        assert_eq!(
            error("ideal-cycle-s", "O1000 240"),
            "`ideal-cycle-s`: `O1000 240` — write PROGRAM=SECONDS, e.g. `O1000=240`"
        );
        assert_eq!(
            error("ideal-cycle-s", "=240"),
            "`ideal-cycle-s`: `=240` — the program is missing"
        );
        assert_eq!(
            error("ideal-cycle-s", "O1000=240; o1000=250"),
            "`ideal-cycle-s`: `o1000=250` — o1000 is given twice"
        );
        assert_eq!(
            error("default-ideal-cycle-s", "abc"),
            "`default-ideal-cycle-s`: `abc` — seconds must be a positive number"
        );
        assert_eq!(
            error("scrap", "mill-1=x"),
            "`scrap`: `mill-1=x` — the count must be a whole number of 0 or more"
        );
        assert_eq!(
            error("scrap", "mill-1=-1"),
            "`scrap`: `mill-1=-1` — the count must be a whole number of 0 or more"
        );
        assert_eq!(
            error("scrap", "mill-1"),
            "`scrap`: `mill-1` — write MACHINE=COUNT, e.g. `mill-1=3`"
        );
        assert_eq!(
            error("scrap", " = 3"),
            "`scrap`: `= 3` — the machine is missing"
        );
        assert_eq!(
            error("scrap", "mill-1=1, MILL-1=2"),
            "`scrap`: `MILL-1=2` — MILL-1 is given twice"
        );
    }
}
