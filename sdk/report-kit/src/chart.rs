//! A horizontal bar chart as inline SVG: one labelled bar per row, its figure written after it,
//! for comparisons a table makes hard to see (time lost per alarm, the factors of OEE).
//!
//! Like the [timeline](crate::timeline), the chart is [`WIDTH`] units of a `viewBox` scaled to
//! its container, colors are `fill` attributes (they print, and the page's security policy
//! needs no style), and each bar has a tooltip. A bar without a value (a figure that is unknown)
//! draws no bar, only its text, so nothing is drawn that was not measured.
//!
//! ```
//! use chatter_report_kit::chart::{Bar, bar_chart};
//!
//! let svg = bar_chart(
//!     "Time lost per alarm",
//!     &[
//!         Bar::new("1010 spindle overload", Some(2.4), "2.4 h"),
//!         Bar::new("2001 door open", Some(0.6), "36 min"),
//!     ],
//!     2.4,
//! );
//! assert!(svg.contains("<title>1010 spindle overload: 2.4 h</title>"));
//! ```

use std::fmt::Write as _;

use crate::html::Escape;

/// Width of the chart in `viewBox` units, which are pixels at its natural size.
pub const WIDTH: u32 = 1000;
/// The color of a bar unless it is given one.
pub const BAR_COLOR: &str = "#2563eb";
/// Height of one row (bar and gap).
const ROW: u32 = 24;
/// Height of a bar.
const BAR: u32 = 16;
/// Room for the labels, left of the bars.
const LABEL_WIDTH: u32 = 260;
/// Room for the figures, right of the longest bar.
const TEXT_WIDTH: u32 = 160;
const TRACK_COLOR: &str = "#f3f4f6";
const TEXT_COLOR: &str = "#374151";
const MUTED_COLOR: &str = "#6b7280";
const FONT_SIZE: f64 = 12.0;

/// One row of a [`bar_chart`].
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// What the bar is, left of it.
    pub label: String,
    /// Its length in the chart's unit; `None` when unknown (no bar is drawn).
    pub value: Option<f64>,
    /// The figure written after it, e.g. `2.4 h` or `unknown`.
    pub text: String,
    /// Its fill color.
    pub color: &'static str,
}

impl Bar {
    /// A bar of [`BAR_COLOR`].
    pub fn new(label: impl Into<String>, value: Option<f64>, text: impl Into<String>) -> Self {
        Bar {
            label: label.into(),
            value,
            text: text.into(),
            color: BAR_COLOR,
        }
    }

    /// The bar in `color` (a CSS color such as `#16a34a`).
    pub fn color(mut self, color: &'static str) -> Self {
        self.color = color;
        self
    }
}

/// `bars` as an SVG chart, one row each in the order given, scaled so that `max` fills the
/// width (longer values are cut at it). `label` names the figure for screen readers. Without
/// bars there is nothing to draw: the empty string.
pub fn bar_chart(label: &str, bars: &[Bar], max: f64) -> String {
    if bars.is_empty() {
        return String::new();
    }
    let height = ROW * bars.len() as u32;
    let mut svg = format!(
        "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} \
         {height}\" width=\"100%\" role=\"img\" aria-label=\"{}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"{FONT_SIZE}\">",
        Escape(label)
    );
    let plot = f64::from(WIDTH - LABEL_WIDTH - TEXT_WIDTH);
    for (row, bar) in bars.iter().enumerate() {
        let top = ROW * row as u32 + (ROW - BAR) / 2;
        let baseline = f64::from(top) + f64::from(BAR) / 2.0 + FONT_SIZE * 0.35;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{baseline:.1}\" text-anchor=\"end\" fill=\"{TEXT_COLOR}\">\
             <title>{}</title>{}</text>",
            LABEL_WIDTH - 8,
            Escape(&bar.label),
            Escape(&shortened(&bar.label, label_chars()))
        );
        let _ = write!(
            svg,
            "<rect x=\"{LABEL_WIDTH}\" y=\"{top}\" width=\"{plot}\" height=\"{BAR}\" \
             fill=\"{TRACK_COLOR}\"/>"
        );
        let length = bar.value.map_or(0.0, |value| plot * fraction(value, max));
        if length > 0.0 {
            let _ = write!(
                svg,
                "<rect x=\"{LABEL_WIDTH}\" y=\"{top}\" width=\"{length:.1}\" height=\"{BAR}\" \
                 fill=\"{}\"><title>{}: {}</title></rect>",
                bar.color,
                Escape(&bar.label),
                Escape(&bar.text)
            );
        }
        let text_color = if bar.value.is_some() {
            TEXT_COLOR
        } else {
            MUTED_COLOR
        };
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{baseline:.1}\" fill=\"{text_color}\">{}</text>",
            f64::from(LABEL_WIDTH) + plot + 8.0,
            Escape(&bar.text)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// `value` as a share of `max`, within 0 and 1; 0 when `max` is not a positive number.
fn fraction(value: f64, max: f64) -> f64 {
    if max > 0.0 && max.is_finite() && value.is_finite() {
        (value / max).clamp(0.0, 1.0)
    } else {
        0.0
    }
}

/// How many characters of a label fit left of the bars: proportional fonts average ~0.6 em.
fn label_chars() -> usize {
    (f64::from(LABEL_WIDTH - 16) / (FONT_SIZE * 0.6)) as usize
}

/// `text` cut to `max` characters with an ellipsis; the tooltip keeps the whole of it.
fn shortened(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let kept: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{}…", kept.trim_end())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(haystack: &str, needle: &str) -> usize {
        haystack.matches(needle).count()
    }

    #[test]
    fn bars_are_scaled_to_the_maximum_and_carry_their_figures() {
        let svg = bar_chart(
            "Lost",
            &[
                Bar::new("1010", Some(4.0), "4.0 h"),
                Bar::new("2001", Some(1.0), "1.0 h").color("#dc2626"),
            ],
            4.0,
        );
        // 1000 − 260 − 160 = 580 units for the longest bar.
        assert!(svg.contains(
            "<rect x=\"260\" y=\"4\" width=\"580.0\" height=\"16\" fill=\"#2563eb\">\
             <title>1010: 4.0 h</title></rect>"
        ));
        assert!(
            svg.contains(
                "<rect x=\"260\" y=\"28\" width=\"145.0\" height=\"16\" fill=\"#dc2626\">"
            )
        );
        assert!(svg.contains(">4.0 h</text>"));
        assert!(svg.contains("viewBox=\"0 0 1000 48\""));
        assert!(svg.contains("aria-label=\"Lost\""));
        // Two tracks and two bars.
        assert_eq!(count(&svg, "<rect"), 4);
    }

    #[test]
    fn an_unknown_value_draws_no_bar_and_values_past_the_maximum_are_cut() {
        let svg = bar_chart(
            "OEE",
            &[
                Bar::new("Performance", None, "unknown"),
                Bar::new("Availability", Some(1.5), "150 %"),
                Bar::new("Quality", Some(0.0), "0 %"),
            ],
            1.0,
        );
        // Three tracks, one bar.
        assert_eq!(count(&svg, "<rect"), 4);
        assert!(svg.contains("fill=\"#6b7280\">unknown</text>"));
        assert!(svg.contains("width=\"580.0\" height=\"16\" fill=\"#2563eb\""));
        assert_eq!(
            count(
                &bar_chart("x", &[Bar::new("a", Some(1.0), "")], 0.0),
                "<rect"
            ),
            1
        );
    }

    #[test]
    fn labels_are_escaped_and_long_ones_shortened_with_the_whole_in_the_tooltip() {
        let long = "9999 <Spindle> overload on the main spindle while cutting";
        let svg = bar_chart("a & b", &[Bar::new(long, Some(1.0), "1 h")], 1.0);
        assert!(svg.contains("aria-label=\"a &amp; b\""));
        assert!(svg.contains(
            "<title>9999 &lt;Spindle&gt; overload on the main spindle while cutting</title>"
        ));
        assert!(svg.contains("9999 &lt;Spindle&gt; overload on the m…</text>"));
        assert!(!svg.contains("<Spindle>"));
    }

    #[test]
    fn no_bars_draw_nothing() {
        assert_eq!(bar_chart("x", &[], 1.0), "");
    }
}
