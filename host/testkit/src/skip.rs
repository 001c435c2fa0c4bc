//! What a test does when a program it needs is not installed: skip with a printed reason, or,
//! where `CHATTER_REQUIRE_E2E=1` is set (as CI sets it), fail.

use std::io::Write as _;

/// The environment variable that turns a skip into a failure.
pub const REQUIRE_VAR: &str = "CHATTER_REQUIRE_E2E";

/// Whether the test `what` can run: runs `check` and returns true when it passes.
///
/// When it fails, prints to stderr (past the test harness's capture) which test is skipped and why and returns false, so the test
/// returns early:
///
/// ```no_run
/// use chatter_testkit::{skip, MailServer};
///
/// if !skip::available("sign-up mail", MailServer::is_available) {
///     return;
/// }
/// ```
///
/// # Panics
///
/// When the check fails and `CHATTER_REQUIRE_E2E=1` is set: a missing program then fails the
/// test instead of hiding it.
pub fn available(what: &str, check: impl FnOnce() -> Result<(), String>) -> bool {
    let Err(reason) = check() else {
        return true;
    };
    if required() {
        panic!("{what} cannot run: {reason} ({REQUIRE_VAR}=1 forbids skipping it)");
    }
    // Straight to the process's stderr: the test harness captures `eprintln!`, and shows it
    // only for failing tests.
    let _ = writeln!(std::io::stderr(), "skipping {what}: {reason}");
    false
}

/// Whether the test `what` has the recorded fixtures it reads: runs `check` and, when it
/// fails, prints which test is skipped and why and returns false. Unlike [`available`], this
/// never fails the test: the fixtures folder sits beside the project, and CI always has it.
pub fn fixtures(what: &str, check: impl FnOnce() -> Result<(), String>) -> bool {
    let Err(reason) = check() else {
        return true;
    };
    let _ = writeln!(std::io::stderr(), "skipping {what}: {reason}");
    false
}

/// Whether `CHATTER_REQUIRE_E2E=1` is set.
fn required() -> bool {
    std::env::var(REQUIRE_VAR).is_ok_and(|value| value == "1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_check_runs_the_test() {
        assert!(available("this test", || Ok(())));
    }

    #[test]
    fn a_failing_check_skips_or_fails_as_the_environment_says() {
        let outcome = std::panic::catch_unwind(|| {
            available("skip's own test (an expected skip)", || {
                Err("the tool is missing".to_owned())
            })
        });
        if required() {
            let panic = outcome.unwrap_err();
            let message = panic.downcast_ref::<String>().unwrap();
            assert!(message.contains("the tool is missing"), "{message}");
        } else {
            assert!(!outcome.unwrap());
        }
    }
}
