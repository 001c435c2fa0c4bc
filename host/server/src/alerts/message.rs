//! What an alert says: the one-line message the history and the webhook carry, the e-mail
//! (subject, text and HTML), and the webhook's JSON body.

use askama::Template;
use chatter_model::alert::{AlarmLevel, EventKind};
use chatter_model::{AlertEvent, AlertRule, Timestamp};
use jiff::tz::TimeZone;
use serde_json::json;

use super::engine::Cause;
use crate::mail::Email;
use crate::time;

/// What a message is about, beyond the event itself.
pub(crate) struct Context<'a> {
    /// The rule as it is now.
    pub(crate) rule: &'a AlertRule,
    /// The organization's name.
    pub(crate) org_name: &'a str,
    /// Its time zone, for the times shown.
    pub(crate) zone: &'a TimeZone,
    /// The site's address, without a trailing slash.
    pub(crate) public_url: &'a str,
}

/// `12 min`, `2 h 5 min`, `3 d 4 h`: how long a condition held, rounded down to the minute.
pub(crate) fn duration_text(nanos: Timestamp) -> String {
    let minutes = nanos.max(0) / (60 * time::SECOND);
    match minutes {
        0..60 => format!("{minutes} min"),
        60..2880 if minutes % 60 == 0 => format!("{} h", minutes / 60),
        60..2880 => format!("{} h {} min", minutes / 60, minutes % 60),
        _ if (minutes / 60) % 24 == 0 => format!("{} d", minutes / 1440),
        _ => format!("{} d {} h", minutes / 1440, (minutes / 60) % 24),
    }
}

/// The event in one line: "Mill 3 in alarm for 12 min".
pub(crate) fn line(
    machine: &str,
    kind: EventKind,
    cause: Cause,
    since: Option<Timestamp>,
    at: Timestamp,
) -> String {
    let held = duration_text(since.map_or(0, |since| at - since));
    match (kind, cause) {
        (_, Cause::Parts(parts)) => format!("{machine} made {parts} parts today"),
        (EventKind::Fired, Cause::Alarm(AlarmLevel::Fault)) => {
            format!("{machine} in alarm for {held}")
        }
        (EventKind::Fired, Cause::Alarm(AlarmLevel::Warning)) => {
            format!("{machine} with an active alarm for {held}")
        }
        (EventKind::Fired, Cause::Idle) => format!("{machine} idle during a shift for {held}"),
        (EventKind::Fired, Cause::Offline) => format!("{machine} offline for {held}"),
        (EventKind::Fired, Cause::Silent) => format!("{machine} silent for {held}"),
        (EventKind::Resolved, Cause::Alarm(AlarmLevel::Fault)) => {
            format!("{machine} out of alarm after {held}")
        }
        (EventKind::Resolved, Cause::Alarm(AlarmLevel::Warning)) => {
            format!("{machine} alarms cleared after {held}")
        }
        (EventKind::Resolved, Cause::Idle) => {
            format!("{machine} no longer idle during a shift, after {held}")
        }
        (EventKind::Resolved, Cause::Offline) => format!("{machine} back online after {held}"),
        (EventKind::Resolved, Cause::Silent) => format!("{machine} heard from again after {held}"),
    }
}

/// A time as people of the organization read it: `2016-05-10 11:08:21 UTC`.
pub(crate) fn local_time(at: Timestamp, zone: &TimeZone) -> String {
    time::to_zoned(at, zone).map_or_else(
        |_| time::format(at),
        |zoned| zoned.strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
    )
}

/// The link to the machine's page.
fn machine_link(context: &Context<'_>, event: &AlertEvent) -> String {
    format!("{}/machines/{}", context.public_url, event.machine)
}

/// The subject line: `[Chatter] Mill 3 in alarm for 12 min — rule "Long alarms"`.
pub(crate) fn subject(event: &AlertEvent) -> String {
    let resolved = match event.kind {
        EventKind::Fired => "",
        EventKind::Resolved => "Resolved: ",
    };
    format!(
        "[Chatter] {resolved}{} — rule \"{}\"",
        event.message, event.rule_name
    )
}

/// The facts an e-mail lists, as (label, value).
fn facts(context: &Context<'_>, event: &AlertEvent) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        (
            "Machine",
            format!("{} ({})", event.machine_name, event.machine),
        ),
        (
            "Rule",
            format!("{} — {}", event.rule_name, context.rule.condition),
        ),
    ];
    if let Some(since) = event.since {
        facts.push(("Since", local_time(since, context.zone)));
    }
    let when = match event.kind {
        EventKind::Fired => "Fired at",
        EventKind::Resolved => "Resolved at",
    };
    facts.push((when, local_time(event.at, context.zone)));
    if let Some(alarm) = &event.alarm {
        let words: Vec<&str> = [alarm.code.as_deref(), alarm.text.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let described = if words.is_empty() {
            "no code or text given".to_owned()
        } else {
            words.join(" ")
        };
        facts.push(("Alarm", format!("{described} ({})", alarm.level)));
    }
    facts
}

#[derive(Template)]
#[template(path = "alert_email.html")]
struct EmailHtml<'a> {
    heading: &'a str,
    resolved: bool,
    facts: &'a [(&'static str, String)],
    link: &'a str,
    alerts_link: &'a str,
    org_name: &'a str,
}

/// The e-mail of `event` to `to`.
pub(crate) fn email(context: &Context<'_>, event: &AlertEvent, to: &str) -> Email {
    let facts = facts(context, event);
    let link = machine_link(context, event);
    let alerts_link = format!("{}/alerts", context.public_url);
    let mut text = format!("{}.\n\n", event.message);
    for (label, value) in &facts {
        text.push_str(&format!("{label}: {value}\n"));
    }
    text.push_str(&format!("\nOpen the machine: {link}\n\n"));
    text.push_str(&format!(
        "You get this as a recipient of the rule in {}. Mute it for yourself, or change it: {alerts_link}\n\n— Chatter\n",
        context.org_name
    ));
    let html = EmailHtml {
        heading: &event.message,
        resolved: event.kind == EventKind::Resolved,
        facts: &facts,
        link: &link,
        alerts_link: &alerts_link,
        org_name: context.org_name,
    }
    .render()
    .unwrap_or_else(|error| {
        tracing::error!(%error, "rendering an alert e-mail failed; sending text only");
        String::new()
    });
    Email {
        to: to.to_owned(),
        subject: subject(event),
        text,
        html,
        attachments: Vec::new(),
    }
}

/// The webhook's JSON body.
pub(crate) fn webhook_body(context: &Context<'_>, event: &AlertEvent) -> Vec<u8> {
    let body = json!({
        "event": event.id,
        "kind": event.kind.as_str(),
        "organization": event.org,
        "rule": event.rule,
        "rule_name": event.rule_name,
        "condition": context.rule.condition,
        "machine": event.machine,
        "machine_name": event.machine_name,
        "at": time::format(event.at),
        "since": event.since.map(time::format),
        "message": event.message,
        "alarm": event.alarm,
        "resolves": event.resolves,
        "link": machine_link(context, event),
    });
    // A `Value` always serializes.
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Timestamp = 60 * time::SECOND;

    #[test]
    fn durations_read_like_a_person_would_say_them() {
        assert_eq!(duration_text(12 * MIN + 59 * time::SECOND), "12 min");
        assert_eq!(duration_text(60 * MIN), "1 h");
        assert_eq!(duration_text(125 * MIN), "2 h 5 min");
        assert_eq!(
            duration_text(3 * 1440 * MIN + 4 * 60 * MIN + 7 * MIN),
            "3 d 4 h"
        );
        assert_eq!(duration_text(2 * 1440 * MIN), "2 d");
        assert_eq!(duration_text(-5), "0 min");
    }

    #[test]
    fn lines_say_what_happened_and_for_how_long() {
        let fault = Cause::Alarm(AlarmLevel::Fault);
        assert_eq!(
            line("Mill 3", EventKind::Fired, fault, Some(0), 12 * MIN),
            "Mill 3 in alarm for 12 min"
        );
        assert_eq!(
            line(
                "Mill 3",
                EventKind::Resolved,
                Cause::Offline,
                Some(0),
                90 * MIN
            ),
            "Mill 3 back online after 1 h 30 min"
        );
        assert_eq!(
            line("Mill 3", EventKind::Fired, Cause::Parts(500), None, 0),
            "Mill 3 made 500 parts today"
        );
    }
}
