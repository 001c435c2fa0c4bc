//! A report as one self-contained HTML5 document.
//!
//! The host shows a report in a sandboxed iframe under a strict content security policy and
//! offers it for download, so the document carries everything it needs: styles in one inline
//! `<style>` element, figures as inline SVG, no script, no external font, image or stylesheet,
//! and no `style` attributes. It reads well on screen and on paper: system fonts, tables with
//! right-aligned tabular numbers, sections that avoid breaking across pages.
//!
//! A [`Page`] has a heading (title, organization, period, time zone), optional notes (e.g. that
//! data was cut at a limit), the recommendations of the run, [`Section`]s in order and a footer
//! naming the plugin that generated it. Text is escaped by the page; only
//! [`Section::html`] takes markup.

use std::fmt::Write as _;

use chatter_sdk::Day;
use chatter_sdk::output::{Recommendation, Severity};

use crate::html::Escape;
use crate::schedule::Schedule;

/// The page's style sheet: system fonts, compact tables, severity badges, print rules.
const STYLE: &str = "\
:root{color-scheme:light;--fg:#111827;--muted:#4b5563;--line:#d1d5db;--head:#f3f4f6}
*{box-sizing:border-box}
body{margin:0 auto;max-width:72rem;padding:1.5rem;color:var(--fg);background:#fff;\
font:14px/1.45 system-ui,-apple-system,\"Segoe UI\",Roboto,\"Helvetica Neue\",Arial,sans-serif}
h1{font-size:1.6rem;margin:0 0 .25rem}
h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.2rem}
.facts{margin:0;color:var(--muted)}
.facts span+span::before{content:\" · \"}
.note{margin:.75rem 0 0;padding:.4rem .6rem;border-left:3px solid #f59e0b;background:#fffbeb}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{padding:.3rem .5rem;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:var(--head);font-weight:600}
.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.recs{list-style:none;padding:0;margin:.5rem 0}
.recs>li{margin:0 0 .6rem}
.evidence{margin:.2rem 0 0 5.5rem;padding:0;list-style:none;color:var(--muted);font-size:.92em}
.evidence li{display:inline}
.evidence li+li::before{content:\" · \"}
.badge{display:inline-block;min-width:4.8rem;margin-right:.6rem;padding:0 .4rem;border:1px solid;\
border-radius:.25rem;font-size:.8em;font-weight:600;text-align:center;text-transform:uppercase}
.badge-info{color:#1e40af;border-color:#93c5fd;background:#eff6ff}
.badge-warning{color:#92400e;border-color:#fcd34d;background:#fffbeb}
.badge-critical{color:#991b1b;border-color:#fca5a5;background:#fef2f2}
.timeline{display:block;margin:.5rem 0 .25rem}
.chart{display:block;margin:.5rem 0 1rem}
.legend{display:flex;flex-wrap:wrap;gap:.25rem 1rem;list-style:none;padding:0;margin:0 0 .5rem;\
color:var(--muted);font-size:.9em}
.legend svg{margin-right:.3rem;vertical-align:-1px}
footer{margin-top:2rem;padding-top:.5rem;border-top:1px solid var(--line);color:var(--muted);\
font-size:.85em}
@media print{body{max-width:none;padding:0;font-size:11px}section{break-inside:avoid-page}\
h2{break-after:avoid}tr{break-inside:avoid}\
.badge,.note,th{print-color-adjust:exact;-webkit-print-color-adjust:exact}}
";

/// A report page being put together; [`Page::render`] writes the document.
#[derive(Debug, Clone, Default)]
pub struct Page {
    title: String,
    facts: Vec<(String, String)>,
    notes: Vec<String>,
    recommendations: Option<Vec<Recommendation>>,
    sections: Vec<Section>,
    generator: Option<String>,
}

impl Page {
    /// A page titled `title` (the heading and the document's `<title>`).
    pub fn new(title: impl Into<String>) -> Self {
        Page {
            title: title.into(),
            ..Page::default()
        }
    }

    /// Names the organization in the heading.
    pub fn organization(self, name: impl Into<String>) -> Self {
        self.fact("Organization", name)
    }

    /// States the period in the heading by its first and last local dates (`2025-03-03 –
    /// 2025-03-09`, or one date when they are the same).
    pub fn period(self, first_day: &str, last_day: &str) -> Self {
        if first_day == last_day {
            self.fact("Period", first_day)
        } else {
            self.fact("Period", format!("{first_day} – {last_day}"))
        }
    }

    /// States the period in the heading by the first and last of the request's local `days`;
    /// says nothing when there are none, as no date can be named.
    pub fn days(self, days: &[Day]) -> Self {
        match (days.first(), days.last()) {
            (Some(first), Some(last)) => self.period(&first.date, &last.date),
            _ => self,
        }
    }

    /// Names the time zone the dates and shifts are in.
    pub fn time_zone(self, zone: impl Into<String>) -> Self {
        self.fact("Time zone", zone)
    }

    /// Adds `label: value` to the line under the title.
    pub fn fact(mut self, label: impl Into<String>, value: impl Into<String>) -> Self {
        self.facts.push((label.into(), value.into()));
        self
    }

    /// Adds a remark the reader must see before the figures, e.g. that data was cut at a limit.
    pub fn note(mut self, text: impl Into<String>) -> Self {
        self.notes.push(text.into());
        self
    }

    /// Adds each of `notes`, in order (see [`Page::note`]).
    pub fn notes(self, notes: impl IntoIterator<Item = String>) -> Self {
        notes.into_iter().fold(self, Page::note)
    }

    /// Lists `recommendations` (in the order given) in a section of their own, before the other
    /// sections; an empty list says that nothing stood out.
    pub fn recommendations(mut self, recommendations: &[Recommendation]) -> Self {
        self.recommendations = Some(recommendations.to_vec());
        self
    }

    /// Appends a section.
    pub fn section(mut self, section: Section) -> Self {
        self.sections.push(section);
        self
    }

    /// Names the plugin and version in the footer: "generated by utilization 0.1.0".
    pub fn generated_by(mut self, plugin: &str, version: &str) -> Self {
        self.generator = Some(format!("{plugin} {version}"));
        self
    }

    /// The note that only the first `listed` recommendations are on the page when `omitted`
    /// more were left out (a run caps them so the important ones are read); `None` when none
    /// were.
    pub fn omitted_note(listed: usize, omitted: usize) -> Option<String> {
        (omitted > 0).then(|| {
            format!(
                "Only the first {listed} recommendations are listed; {omitted} more were left out."
            )
        })
    }

    /// The complete HTML5 document.
    pub fn render(&self) -> String {
        let mut html = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <title>{title}</title>\n<style>\n{STYLE}</style>\n</head>\n<body>\n<header>\n\
             <h1>{title}</h1>\n",
            title = Escape(&self.title)
        );
        self.render_header(&mut html);
        html.push_str("</header>\n<main>\n");
        if let Some(recommendations) = &self.recommendations {
            render_recommendations(&mut html, recommendations);
        }
        for section in &self.sections {
            section.render(&mut html);
        }
        html.push_str("</main>\n");
        if let Some(generator) = &self.generator {
            let _ = writeln!(html, "<footer>generated by {}</footer>", Escape(generator));
        }
        html.push_str("</body>\n</html>\n");
        html
    }

    fn render_header(&self, html: &mut String) {
        if !self.facts.is_empty() {
            html.push_str("<p class=\"facts\">");
            for (label, value) in &self.facts {
                let _ = write!(html, "<span>{}: {}</span>", Escape(label), Escape(value));
            }
            html.push_str("</p>\n");
        }
        for note in &self.notes {
            let _ = writeln!(html, "<p class=\"note\">{}</p>", Escape(note));
        }
    }
}

/// The heading readers scan for: severity in words, so it survives printing in black and white.
fn severity_label(severity: Severity) -> (&'static str, &'static str) {
    match severity {
        Severity::Info => ("info", "Info"),
        Severity::Warning => ("warning", "Warning"),
        Severity::Critical => ("critical", "Critical"),
    }
}

fn render_recommendations(html: &mut String, recommendations: &[Recommendation]) {
    html.push_str("<section class=\"recommendations\">\n<h2>Recommendations</h2>\n");
    if recommendations.is_empty() {
        html.push_str("<p>Nothing stood out: no recommendation.</p>\n");
    } else {
        html.push_str("<ul class=\"recs\">\n");
        for recommendation in recommendations {
            let (class, label) = severity_label(recommendation.severity);
            let _ = write!(
                html,
                "<li><span class=\"badge badge-{class}\">{label}</span>{}",
                Escape(&recommendation.text)
            );
            if !recommendation.evidence.is_empty() {
                html.push_str("<ul class=\"evidence\">");
                for evidence in &recommendation.evidence {
                    let _ = write!(
                        html,
                        "<li>{}: {}</li>",
                        Escape(&evidence.label),
                        Escape(&evidence.value)
                    );
                }
                html.push_str("</ul>");
            }
            html.push_str("</li>\n");
        }
        html.push_str("</ul>\n");
    }
    html.push_str("</section>\n");
}

/// A titled part of a page: paragraphs, tables and figures in the order added.
#[derive(Debug, Clone, Default)]
pub struct Section {
    heading: String,
    body: String,
}

impl Section {
    /// An empty section under `heading`.
    pub fn new(heading: impl Into<String>) -> Self {
        Section {
            heading: heading.into(),
            body: String::new(),
        }
    }

    /// Appends a paragraph of text.
    pub fn paragraph(mut self, text: &str) -> Self {
        let _ = writeln!(self.body, "<p>{}</p>", Escape(text));
        self
    }

    /// Appends markup as it is, e.g. a [`state_timeline`](crate::state_timeline) and its
    /// [`legend`](crate::legend). The caller answers for escaping what it put in; no script or
    /// `style` attribute, which the page's security policy blocks.
    pub fn html(mut self, markup: &str) -> Self {
        self.body.push_str(markup);
        self.body.push('\n');
        self
    }

    /// Appends a table.
    pub fn table(mut self, table: &Table) -> Self {
        table.render(&mut self.body);
        self
    }

    fn render(&self, html: &mut String) {
        let _ = write!(
            html,
            "<section>\n<h2>{}</h2>\n{}</section>\n",
            Escape(&self.heading),
            self.body
        );
    }
}

/// A table of text cells under column headings; numeric columns are right-aligned with tabular
/// figures so that digits line up.
///
/// ```
/// use chatter_report_kit::Table;
///
/// let mut table = Table::new().column("Shift").numeric("Parts");
/// table.row(["First", "120"]);
/// let mut html = String::new();
/// table.render(&mut html);
/// assert!(html.contains("<td class=\"num\">120</td>"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Table {
    columns: Vec<(String, bool)>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table without columns.
    pub fn new() -> Self {
        Table::default()
    }

    /// Adds a text column, left-aligned.
    pub fn column(mut self, heading: impl Into<String>) -> Self {
        self.columns.push((heading.into(), false));
        self
    }

    /// Adds a numeric column, right-aligned.
    pub fn numeric(mut self, heading: impl Into<String>) -> Self {
        self.columns.push((heading.into(), true));
        self
    }

    /// Appends a row of cells, one per column in order; missing cells are left empty, extra
    /// ones ignored.
    pub fn row<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut row: Vec<String> = cells
            .into_iter()
            .take(self.columns.len())
            .map(Into::into)
            .collect();
        row.resize(self.columns.len(), String::new());
        self.rows.push(row);
    }

    /// A row per shift of `schedule` from `per_shift` (in the order of [`Schedule::shifts`]),
    /// then an "All shifts" row from `overall`; each made by `row` from the row's name.
    pub fn shift_rows<T>(
        &mut self,
        schedule: &Schedule,
        per_shift: &[T],
        overall: &T,
        row: impl Fn(&str, &T) -> Vec<String>,
    ) {
        for (shift, figures) in schedule.shifts.iter().zip(per_shift) {
            self.row(row(&shift.name, figures));
        }
        // Without a schedule the one pseudo-shift is the whole: no second row saying the same.
        if !schedule.is_pseudo() {
            self.row(row("All shifts", overall));
        }
    }

    /// Number of rows so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether the table has no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Appends the table's markup to `html`.
    pub fn render(&self, html: &mut String) {
        html.push_str("<table>\n<thead><tr>");
        for (heading, numeric) in &self.columns {
            let class = if *numeric { " class=\"num\"" } else { "" };
            let _ = write!(html, "<th{class}>{}</th>", Escape(heading));
        }
        html.push_str("</tr></thead>\n<tbody>\n");
        for row in &self.rows {
            html.push_str("<tr>");
            for (cell, (_, numeric)) in row.iter().zip(&self.columns) {
                let class = if *numeric { " class=\"num\"" } else { "" };
                let _ = write!(html, "<td{class}>{}</td>", Escape(cell));
            }
            html.push_str("</tr>\n");
        }
        html.push_str("</tbody>\n</table>\n");
    }
}

#[cfg(test)]
mod tests {
    use chatter_sdk::output::Evidence;

    use super::*;

    fn recommendation(severity: Severity, text: &str) -> Recommendation {
        Recommendation {
            severity,
            machine: None,
            text: text.to_owned(),
            evidence: vec![Evidence::new("idle on Second shift", "2.4 h")],
        }
    }

    #[test]
    fn the_document_is_self_contained() {
        let html = Page::new("Utilization")
            .section(Section::new("Fleet").paragraph("x"))
            .render();
        assert!(html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.contains("<style>"));
        for forbidden in [
            "<script", "<link", "src=", "href=", "url(", "@import", "style=\"",
        ] {
            assert!(!html.contains(forbidden), "contains {forbidden}");
        }
        assert!(html.ends_with("</html>\n"));
    }

    #[test]
    fn the_heading_has_organization_period_and_time_zone() {
        let html = Page::new("Utilization <week>")
            .organization("Smith & Sons")
            .period("2025-03-03", "2025-03-09")
            .time_zone("America/Chicago")
            .note("Alarms of Mill 3 were cut at the host's limit.")
            .generated_by("utilization", "0.1.0")
            .render();
        assert!(html.contains("<title>Utilization &lt;week&gt;</title>"));
        assert!(html.contains(
            "<p class=\"facts\"><span>Organization: Smith &amp; Sons</span>\
             <span>Period: 2025-03-03 – 2025-03-09</span>\
             <span>Time zone: America/Chicago</span></p>"
        ));
        assert!(
            html.contains(
                "<p class=\"note\">Alarms of Mill 3 were cut at the host&#39;s limit.</p>"
            )
        );
        assert!(html.contains("<footer>generated by utilization 0.1.0</footer>"));
        let one_day = Page::new("t").period("2025-03-03", "2025-03-03").render();
        assert!(one_day.contains("<span>Period: 2025-03-03</span>"));
    }

    #[test]
    fn the_period_is_that_of_the_first_and_last_day() {
        let day = |date: &str| Day {
            date: date.to_owned(),
            range: chatter_sdk::TimeRange { start: 0, end: 1 },
        };
        let days = [day("2025-03-03"), day("2025-03-04"), day("2025-03-05")];
        let html = Page::new("t").days(&days).render();
        assert!(html.contains("<span>Period: 2025-03-03 – 2025-03-05</span>"));
        let none = Page::new("t").days(&[]).render();
        assert!(!none.contains("Period"));
    }

    #[test]
    fn notes_are_added_in_order_and_omitted_recommendations_are_said() {
        let notes = ["first".to_owned(), "second".to_owned()];
        let html = Page::new("t").notes(notes).render();
        let first = html.find("<p class=\"note\">first</p>");
        let second = html.find("<p class=\"note\">second</p>");
        assert!(first.is_some() && first < second);
        assert_eq!(Page::omitted_note(10, 0), None);
        assert_eq!(
            Page::omitted_note(10, 3).as_deref(),
            Some("Only the first 10 recommendations are listed; 3 more were left out.")
        );
    }

    #[test]
    fn shift_rows_end_with_all_shifts_unless_there_is_no_schedule() {
        let hour = 3_600_000_000_000;
        let period = chatter_sdk::TimeRange {
            start: 0,
            end: 24 * hour,
        };
        let shift = |name: &str, start: i64| chatter_sdk::ShiftPeriod {
            shift: name.to_owned(),
            date: "2025-03-03".to_owned(),
            range: chatter_sdk::TimeRange {
                start: start * hour,
                end: (start + 8) * hour,
            },
        };
        let row = |name: &str, n: &u32| vec![name.to_owned(), n.to_string()];
        let schedule = Schedule::new(period, &[shift("First", 6), shift("Second", 14)], None);
        let mut table = Table::new().column("Shift").numeric("n");
        table.shift_rows(&schedule, &[1, 2], &3, row);
        let mut html = String::new();
        table.render(&mut html);
        assert_eq!(table.len(), 3);
        assert!(html.contains("<td>Second</td><td class=\"num\">2</td></tr>"));
        assert!(html.contains("<td>All shifts</td><td class=\"num\">3</td></tr>"));

        let all_day = Schedule::new(period, &[], None);
        let mut table = Table::new().column("Shift").numeric("n");
        table.shift_rows(&all_day, &[3], &3, row);
        assert_eq!(table.len(), 1);
    }

    #[test]
    fn recommendations_carry_a_severity_badge_and_their_evidence() {
        let html = Page::new("t")
            .recommendations(&[
                recommendation(Severity::Critical, "Mill 3 ran 20 % <of> the time"),
                recommendation(Severity::Info, "Mill 1 ran best"),
            ])
            .render();
        assert!(html.contains(
            "<li><span class=\"badge badge-critical\">Critical</span>Mill 3 ran 20 % &lt;of&gt; \
             the time<ul class=\"evidence\"><li>idle on Second shift: 2.4 h</li></ul></li>"
        ));
        assert!(html.contains("<span class=\"badge badge-info\">Info</span>Mill 1 ran best"));
        let none = Page::new("t").recommendations(&[]).render();
        assert!(none.contains("Nothing stood out"));
        assert!(!Page::new("t").render().contains("Recommendations"));
    }

    #[test]
    fn tables_align_numbers_right_and_escape_cells() {
        let mut table = Table::new().column("Machine").numeric("Parts");
        table.row(["<Mill>", "12"]);
        table.row(["short"]);
        assert_eq!(table.len(), 2);
        let html = Page::new("t")
            .section(Section::new("Fleet").table(&table))
            .render();
        assert!(
            html.contains("<thead><tr><th>Machine</th><th class=\"num\">Parts</th></tr></thead>")
        );
        assert!(html.contains("<tr><td>&lt;Mill&gt;</td><td class=\"num\">12</td></tr>"));
        assert!(html.contains("<tr><td>short</td><td class=\"num\"></td></tr>"));
    }

    #[test]
    fn sections_keep_markup_given_as_html_and_escape_paragraphs() {
        let html = Page::new("t")
            .section(
                Section::new("Mill <3>")
                    .paragraph("a < b")
                    .html("<svg></svg>"),
            )
            .render();
        assert!(html.contains(
            "<section>\n<h2>Mill &lt;3&gt;</h2>\n<p>a &lt; b</p>\n<svg></svg>\n</section>"
        ));
    }
}
