//! E-mailing a scheduled run to its recipients: a short HTML and text body (the outcome, the
//! recommendations, a link to the run) with every document attached. Each recipient gets a
//! message of their own, so nobody sees who else receives the report.

use std::fmt::Write as _;

use chatter_model::{ReportRun, ReportSchedule, RunStatus};

use super::ReportError;
use crate::accounts::messages::escape;
use crate::app::AppState;
use crate::auth::Tenant;
use crate::mail::{Attachment, Email};
use crate::time;

/// Sends `run` of `schedule` to those of its recipients who are still members.
pub(super) async fn send(
    app: &AppState,
    tenant: &Tenant,
    schedule: &ReportSchedule,
    run: &ReportRun,
) -> Result<(), ReportError> {
    let mut attachments = Vec::with_capacity(run.documents.len());
    for info in &run.documents {
        if let Some(document) = tenant.store().report_document(&run.id, &info.name).await? {
            attachments.push(Attachment {
                name: document.name,
                media_type: document.media_type,
                content: document.content,
            });
        }
    }
    let zone = time::zone(
        &tenant
            .store()
            .organization()
            .await?
            .map_or_else(|| "UTC".to_owned(), |org| org.time_zone),
    );
    let message = Message::new(app, schedule, run, &zone);
    for user in &schedule.recipients {
        // Someone who left the organization no longer receives its reports.
        if tenant.store().membership(user).await?.is_none() {
            continue;
        }
        let Some(account) = app.data.accounts().user(user).await? else {
            continue;
        };
        app.mailer.send_later(Email {
            to: account.email,
            subject: message.subject.clone(),
            text: message.text.clone(),
            html: message.html.clone(),
            attachments: attachments.clone(),
        });
    }
    Ok(())
}

/// What every recipient of one run reads.
struct Message {
    subject: String,
    text: String,
    html: String,
}

impl Message {
    fn new(
        app: &AppState,
        schedule: &ReportSchedule,
        run: &ReportRun,
        zone: &jiff::tz::TimeZone,
    ) -> Self {
        let period = period_text(run, zone);
        let link = format!("{}/reports/runs/{}", app.web.public_url, run.id);
        let (subject, outcome) = match &run.status {
            RunStatus::Failed { message, .. } => (
                format!("{} failed: {period}", schedule.name),
                format!(
                    "The report did not finish after {} attempts: {message}",
                    run.attempts
                ),
            ),
            _ => (
                format!("{}: {period}", schedule.name),
                format!(
                    "The report for {period} is attached ({} documents).",
                    run.documents.len()
                ),
            ),
        };
        let mut text = format!("{outcome}\n\n");
        let mut html = format!(
            "<h1>{}</h1><p>{}</p>",
            escape(&schedule.name),
            escape(&outcome)
        );
        if !run.recommendations.is_empty() {
            text.push_str("Recommendations:\n");
            html.push_str("<h2>Recommendations</h2><ul>");
            for recommendation in &run.recommendations {
                let severity = recommendation.severity.as_str();
                let _ = writeln!(text, "- [{severity}] {}", recommendation.text);
                let _ = write!(
                    html,
                    "<li><strong>{severity}</strong> {}</li>",
                    escape(&recommendation.text)
                );
            }
            text.push('\n');
            html.push_str("</ul>");
        }
        let _ = writeln!(text, "See the report in Chatter: {link}");
        let _ = write!(
            html,
            "<p><a href=\"{}\">See the report in Chatter</a></p>",
            escape(&link)
        );
        Message {
            subject,
            text,
            html,
        }
    }
}

/// The period as its local dates: `2016-05-10`, or `2016-05-09 – 2016-05-15`.
fn period_text(run: &ReportRun, zone: &jiff::tz::TimeZone) -> String {
    let date = |at| time::to_zoned(at, zone).map_or_else(|_| "?".into(), |z| z.date().to_string());
    let (first, last) = (date(run.period.0), date(run.period.1 - 1));
    if first == last {
        first
    } else {
        format!("{first} – {last}")
    }
}
