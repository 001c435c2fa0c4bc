//! Alert rules: a condition on the organization's machines — an alarm that lasts, idle time in
//! a shift, a machine offline, a day's part count reached — and who hears about it, by e-mail,
//! signed webhook or in the app; the events a rule fires and resolves, with how each delivery
//! went; and the mutes that silence a rule for everyone or for one member.
//!
//! The server evaluates rules as machine data arrives; this module holds the shapes it stores
//! and the checks a rule must pass on its own ([`AlertRule::validate`]). Whether its recipients
//! are members and its machines the organization's is for the server to check against the
//! store.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{MachineId, OrgId, Timestamp, UserId};

/// Shortest time a duration condition may ask for, in minutes.
pub const MIN_MINUTES: u32 = 1;
/// Longest: a week.
pub const MAX_MINUTES: u32 = 7 * 24 * 60;
/// Shortest webhook secret, in characters: enough that it cannot be guessed.
pub const MIN_SECRET_LEN: usize = 16;
/// Longest webhook secret accepted.
pub const MAX_SECRET_LEN: usize = 256;
/// Longest rule name, in characters.
pub const MAX_NAME_LEN: usize = 100;
/// Longest webhook URL.
pub const MAX_URL_LEN: usize = 2048;
/// Most recipients and machines a rule may name (each).
pub const MAX_LIST_LEN: usize = 200;
/// `muted_until_ms` of a rule muted until someone unmutes it.
pub const MUTED_FOR_GOOD: i64 = i64::MAX;

/// The least alarm level an [`Condition::InAlarm`] rule counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlarmLevel {
    /// Faults only: the machine's status is `alarm`.
    #[default]
    Fault,
    /// Warnings too: the machine is online and any alarm, warning or fault, is active.
    Warning,
}

/// What a rule watches for on each of its machines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Condition {
    /// In alarm for `minutes` without a break.
    InAlarm {
        /// How long.
        minutes: u32,
        /// Which alarms count (faults unless said otherwise).
        #[serde(default)]
        level: AlarmLevel,
    },
    /// Idle for `minutes` inside one of the organization's shifts; idle time outside shifts
    /// does not count, and the alert resolves when the shift ends. Never fires without shifts.
    IdleDuringShift {
        /// How long.
        minutes: u32,
    },
    /// Offline for `minutes`, or — for a machine read by a driver here — silent that long.
    Offline {
        /// How long.
        minutes: u32,
    },
    /// `parts` parts counted in the organization's current local day; fires once a day per
    /// machine and never resolves.
    PartCount {
        /// How many.
        parts: u64,
    },
}

impl Condition {
    /// How long the condition must hold before it fires, in nanoseconds; `None` for a count.
    pub fn duration(&self) -> Option<Timestamp> {
        let minutes = match self {
            Condition::InAlarm { minutes, .. }
            | Condition::IdleDuringShift { minutes }
            | Condition::Offline { minutes } => *minutes,
            Condition::PartCount { .. } => return None,
        };
        Some(i64::from(minutes) * 60 * 1_000_000_000)
    }

    /// Whether it fires once and never resolves (a count reached).
    pub fn is_milestone(&self) -> bool {
        matches!(self, Condition::PartCount { .. })
    }

    /// Its name in the API (`in_alarm`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Condition::InAlarm { .. } => "in_alarm",
            Condition::IdleDuringShift { .. } => "idle_during_shift",
            Condition::Offline { .. } => "offline",
            Condition::PartCount { .. } => "part_count",
        }
    }
}

impl fmt::Display for Condition {
    /// The condition in words: "in alarm (faults) for at least 10 min".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Condition::InAlarm {
                minutes,
                level: AlarmLevel::Fault,
            } => write!(f, "in alarm for at least {minutes} min"),
            Condition::InAlarm {
                minutes,
                level: AlarmLevel::Warning,
            } => write!(
                f,
                "with an active alarm or warning for at least {minutes} min"
            ),
            Condition::IdleDuringShift { minutes } => {
                write!(f, "idle for at least {minutes} min during a shift")
            }
            Condition::Offline { minutes } => {
                write!(f, "offline or silent for at least {minutes} min")
            }
            Condition::PartCount { parts } => write!(f, "{parts} parts made in a day"),
        }
    }
}

/// A webhook: where events are posted, and the secret they are signed with.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    /// An `http://` or `https://` URL.
    pub url: String,
    /// The HMAC-SHA256 key of the `X-Chatter-Signature` header.
    pub secret: String,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("url", &self.url)
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// Who hears about a rule's events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Channels {
    /// Members e-mailed, by id.
    pub email: Vec<UserId>,
    /// A webhook, if any.
    pub webhook: Option<Webhook>,
    /// Whether the alerts page and the navigation count show its open alerts.
    pub in_app: bool,
}

/// A rule of an organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    /// Unique within the organization.
    pub id: String,
    /// The organization.
    pub org: OrgId,
    /// What people call it.
    pub name: String,
    /// What it watches for.
    pub condition: Condition,
    /// The machines it watches; all of the organization's when empty.
    pub machines: Vec<MachineId>,
    /// Who hears about it.
    pub channels: Channels,
    /// Whether it is evaluated at all.
    pub enabled: bool,
    /// Until when it is muted for everyone, in milliseconds since the Unix epoch
    /// ([`MUTED_FOR_GOOD`]: until unmuted); events are still recorded, nothing is sent.
    pub muted_until_ms: Option<i64>,
    /// Who created it.
    pub created_by: UserId,
    /// When, in milliseconds since the Unix epoch.
    pub created_ms: i64,
}

impl AlertRule {
    /// Whether it watches `machine`.
    pub fn applies_to(&self, machine: &MachineId) -> bool {
        self.machines.is_empty() || self.machines.contains(machine)
    }

    /// Whether it is muted for everyone at `now_ms`.
    pub fn is_muted(&self, now_ms: i64) -> bool {
        self.muted_until_ms.is_some_and(|until| until > now_ms)
    }

    /// Checks what a rule must satisfy on its own: a name, a duration of 1 minute to a week, at
    /// least one part, at most [`MAX_LIST_LEN`] recipients and machines without repeats, and a
    /// webhook with an `http(s)` URL and a secret of at least [`MIN_SECRET_LEN`] characters.
    pub fn validate(&self) -> Result<(), RuleError> {
        let name = self.name.trim();
        if name.is_empty()
            || name.chars().count() > MAX_NAME_LEN
            || name.chars().any(char::is_control)
        {
            return Err(RuleError::new(
                "name",
                format!("give the rule a name of 1 to {MAX_NAME_LEN} characters"),
            ));
        }
        match self.condition {
            Condition::InAlarm { minutes, .. }
            | Condition::IdleDuringShift { minutes }
            | Condition::Offline { minutes } => {
                if !(MIN_MINUTES..=MAX_MINUTES).contains(&minutes) {
                    return Err(RuleError::new(
                        "condition.minutes",
                        format!(
                            "minutes must be {MIN_MINUTES} to {MAX_MINUTES} (a week), not {minutes}"
                        ),
                    ));
                }
            }
            Condition::PartCount { parts } => {
                if parts == 0 {
                    return Err(RuleError::new(
                        "condition.parts",
                        "parts must be at least 1",
                    ));
                }
            }
        }
        check_list("machines", &self.machines)?;
        check_list("channels.email", &self.channels.email)?;
        if let Some(webhook) = &self.channels.webhook {
            check_webhook(webhook)?;
        }
        Ok(())
    }
}

fn check_list<T: PartialEq + fmt::Display>(
    field: &'static str,
    list: &[T],
) -> Result<(), RuleError> {
    if list.len() > MAX_LIST_LEN {
        return Err(RuleError::new(
            field,
            format!("name at most {MAX_LIST_LEN}"),
        ));
    }
    for (index, item) in list.iter().enumerate() {
        if list[..index].contains(item) {
            return Err(RuleError::new(field, format!("`{item}` is named twice")));
        }
    }
    Ok(())
}

fn check_webhook(webhook: &Webhook) -> Result<(), RuleError> {
    let url = webhook.url.trim();
    let lower = url.to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"));
    let Some(rest) = rest else {
        return Err(RuleError::new(
            "channels.webhook.url",
            "the webhook URL must start with http:// or https://",
        ));
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.contains('@') || url.len() > MAX_URL_LEN {
        return Err(RuleError::new(
            "channels.webhook.url",
            format!(
                "the webhook URL needs a host, no user name or password, and at most {MAX_URL_LEN} characters"
            ),
        ));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RuleError::new(
            "channels.webhook.url",
            "the webhook URL may not contain spaces or control characters",
        ));
    }
    let length = webhook.secret.chars().count();
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&length) {
        return Err(RuleError::new(
            "channels.webhook.secret",
            format!(
                "the webhook secret must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} characters long"
            ),
        ));
    }
    Ok(())
}

/// Why a rule is not acceptable: the field at fault and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct RuleError {
    /// The field, as the API names it (`condition.minutes`, `channels.webhook.url`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl RuleError {
    /// An error about `field`.
    pub fn new(field: &'static str, message: impl Into<String>) -> Self {
        RuleError {
            field,
            message: message.into(),
        }
    }
}

/// Whether an event starts or ends an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// The condition held long enough (or the count was reached).
    Fired,
    /// The condition that fired no longer holds.
    Resolved,
}

impl EventKind {
    /// `fired` or `resolved`.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Fired => "fired",
            EventKind::Resolved => "resolved",
        }
    }
}

/// Where one delivery of an event went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// An e-mail to a member.
    Email {
        /// The member.
        user: UserId,
    },
    /// The rule's webhook.
    Webhook,
    /// The alerts page and the navigation count.
    InApp,
}

/// How a delivery stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum DeliveryState {
    /// Not done yet (being tried, or waiting to be retried).
    Pending,
    /// Accepted by the mail server or the webhook (a 2xx answer).
    Delivered,
    /// Given up.
    Failed {
        /// Why, in words.
        reason: String,
    },
}

/// One delivery of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    /// Where to.
    pub channel: DeliveryChannel,
    /// How it stands.
    #[serde(flatten)]
    pub state: DeliveryState,
    /// Attempts made so far.
    pub attempts: u32,
}

/// The alarm a machine was in when an alert fired, as its controller reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlarmNote {
    /// The controller's code, if any.
    pub code: Option<String>,
    /// Its text, if any.
    pub text: Option<String>,
    /// `warning` or `fault`.
    pub level: String,
}

/// A rule firing or resolving on a machine, with how it was delivered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// Unique within the organization; sorts by creation.
    pub id: String,
    /// The organization.
    pub org: OrgId,
    /// The rule.
    pub rule: String,
    /// The rule's name then (the rule may be renamed or deleted since).
    pub rule_name: String,
    /// The machine.
    pub machine: MachineId,
    /// The machine's name then.
    pub machine_name: String,
    /// Fired or resolved.
    pub kind: EventKind,
    /// When, in data time: nanoseconds since the Unix epoch, by the machine's clock (by the
    /// server's when a live machine's timer fired it).
    pub at: Timestamp,
    /// Since when the condition held, in the same time; `None` for a count.
    pub since: Option<Timestamp>,
    /// What happened, in words ("Mill 3 in alarm for 12 min").
    pub message: String,
    /// The alarm, for an alarm rule that fired.
    pub alarm: Option<AlarmNote>,
    /// For a resolved event, the fired event it ends.
    pub resolves: Option<String>,
    /// Whether the rule was muted: then nothing was sent.
    pub muted: bool,
    /// Its deliveries.
    pub deliveries: Vec<Delivery>,
    /// When the server recorded it, in milliseconds since the Unix epoch.
    pub created_ms: i64,
}

/// A member's mute of one rule: they get none of its e-mail, and its open alerts leave their
/// navigation count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserMute {
    /// The member.
    pub user: UserId,
    /// The rule.
    pub rule: String,
    /// Until when, in milliseconds since the Unix epoch; `None`: until they unmute it.
    pub until_ms: Option<i64>,
}

impl UserMute {
    /// Whether it still holds at `now_ms`.
    pub fn is_active(&self, now_ms: i64) -> bool {
        self.until_ms.is_none_or(|until| until > now_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(condition: Condition) -> AlertRule {
        AlertRule {
            id: "r1".into(),
            org: OrgId::new("acme").unwrap(),
            name: "Long alarms".into(),
            condition,
            machines: Vec::new(),
            channels: Channels::default(),
            enabled: true,
            muted_until_ms: None,
            created_by: UserId::new("u1").unwrap(),
            created_ms: 0,
        }
    }

    fn field(rule: &AlertRule) -> Option<&'static str> {
        rule.validate().err().map(|e| e.field)
    }

    #[test]
    fn a_condition_reads_from_tagged_json_with_faults_by_default() {
        let condition: Condition =
            serde_json::from_str(r#"{"kind":"in_alarm","minutes":12}"#).unwrap();
        assert_eq!(
            condition,
            Condition::InAlarm {
                minutes: 12,
                level: AlarmLevel::Fault
            }
        );
        assert_eq!(condition.to_string(), "in alarm for at least 12 min");
        assert!(serde_json::from_str::<Condition>(r#"{"kind":"in_alarm","minuets":1}"#).is_err());
        assert_eq!(condition.duration(), Some(720_000_000_000));
        assert_eq!(Condition::PartCount { parts: 3 }.duration(), None);
    }

    #[test]
    fn each_check_names_its_field() {
        let ok = rule(Condition::Offline { minutes: 10 });
        assert_eq!(field(&ok), None);
        let mut unnamed = ok.clone();
        unnamed.name = "  ".into();
        assert_eq!(field(&unnamed), Some("name"));
        for minutes in [0, MAX_MINUTES + 1] {
            let bad = rule(Condition::IdleDuringShift { minutes });
            assert_eq!(field(&bad), Some("condition.minutes"));
        }
        assert_eq!(
            field(&rule(Condition::Offline {
                minutes: MAX_MINUTES
            })),
            None
        );
        assert_eq!(
            field(&rule(Condition::PartCount { parts: 0 })),
            Some("condition.parts")
        );
        let mut twice = ok.clone();
        let user = UserId::new("u2").unwrap();
        twice.channels.email = vec![user.clone(), user];
        assert_eq!(field(&twice), Some("channels.email"));
        let mut hook = ok.clone();
        hook.channels.webhook = Some(Webhook {
            url: "ftp://example.com/hook".into(),
            secret: "0123456789abcdef".into(),
        });
        assert_eq!(field(&hook), Some("channels.webhook.url"));
        hook.channels.webhook = Some(Webhook {
            url: "https://user:pw@example.com/hook".into(),
            secret: "0123456789abcdef".into(),
        });
        assert_eq!(field(&hook), Some("channels.webhook.url"));
        hook.channels.webhook = Some(Webhook {
            url: "https://example.com/hook".into(),
            secret: "short".into(),
        });
        assert_eq!(field(&hook), Some("channels.webhook.secret"));
        hook.channels.webhook = Some(Webhook {
            url: "HTTPS://example.com/hook".into(),
            secret: "0123456789abcdef".into(),
        });
        assert_eq!(field(&hook), None);
    }

    #[test]
    fn mutes_end_when_they_say() {
        let mut muted = rule(Condition::Offline { minutes: 1 });
        assert!(!muted.is_muted(5));
        muted.muted_until_ms = Some(10);
        assert!(muted.is_muted(5) && !muted.is_muted(10));
        muted.muted_until_ms = Some(MUTED_FOR_GOOD);
        assert!(muted.is_muted(i64::MAX - 1));
        let mute = UserMute {
            user: UserId::new("u").unwrap(),
            rule: "r".into(),
            until_ms: None,
        };
        assert!(mute.is_active(i64::MAX - 1));
    }

    #[test]
    fn deliveries_serialize_flat_and_webhook_secrets_never_print() {
        let delivery = Delivery {
            channel: DeliveryChannel::Webhook,
            state: DeliveryState::Failed {
                reason: "500".into(),
            },
            attempts: 6,
        };
        let json = serde_json::to_value(&delivery).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"channel":{"kind":"webhook"},"state":"failed","reason":"500","attempts":6})
        );
        assert_eq!(serde_json::from_value::<Delivery>(json).unwrap(), delivery);
        let hook = Webhook {
            url: "https://example.com".into(),
            secret: "very secret value".into(),
        };
        assert!(!format!("{hook:?}").contains("very secret"));
    }
}
