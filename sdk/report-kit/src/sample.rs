//! A made-up request for report plugins' unit tests: consecutive days from 2025-03-03 (time 0
//! is its local midnight) with shifts First 06:00–14:00 and Second 14:00–22:00 every day, in
//! `America/Chicago`, for the organization "Acme Machining".

use chatter_sdk::{Day, ReportRequest, ShiftPeriod, TimeRange};

/// Nanoseconds in a minute.
pub const MINUTE: i64 = 60_000_000_000;
/// Nanoseconds in a day.
pub const DAY: i64 = 1440 * MINUTE;

const DATES: [&str; 7] = [
    "2025-03-03",
    "2025-03-04",
    "2025-03-05",
    "2025-03-06",
    "2025-03-07",
    "2025-03-08",
    "2025-03-09",
];

/// The request for `days` days (at most 7) of `machines` with `parameters`.
///
/// # Panics
///
/// With more than 7 days: it is for tests.
pub fn request(days: usize, machines: &[&str], parameters: &[(&str, &str)]) -> ReportRequest {
    let dates = &DATES[..days];
    let day = |d: usize| d as i64 * DAY;
    let shifts = dates
        .iter()
        .enumerate()
        .flat_map(|(d, date)| {
            [("First", 360, 840), ("Second", 840, 1320)].map(|(name, from, to)| ShiftPeriod {
                shift: name.to_owned(),
                date: (*date).to_owned(),
                range: TimeRange {
                    start: day(d) + from * MINUTE,
                    end: day(d) + to * MINUTE,
                },
            })
        })
        .collect();
    ReportRequest {
        organization: "Acme Machining".to_owned(),
        machines: machines.iter().map(|m| (*m).to_owned()).collect(),
        period: TimeRange {
            start: 0,
            end: day(days),
        },
        time_zone: "America/Chicago".to_owned(),
        days: dates
            .iter()
            .enumerate()
            .map(|(d, date)| Day {
                date: (*date).to_owned(),
                range: TimeRange {
                    start: day(d),
                    end: day(d + 1),
                },
            })
            .collect(),
        shifts,
        parameters: parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_shifts_follow_each_other() {
        let request = request(2, &["m1"], &[("top", "3")]);
        assert_eq!(request.days.len(), 2);
        assert_eq!(request.days[1].range.start, DAY);
        assert_eq!(request.period.end, 2 * DAY);
        let shifts: Vec<(&str, &str, i64)> = request
            .shifts
            .iter()
            .map(|s| (s.shift.as_str(), s.date.as_str(), s.range.start / MINUTE))
            .collect();
        assert_eq!(
            shifts,
            [
                ("First", "2025-03-03", 360),
                ("Second", "2025-03-03", 840),
                ("First", "2025-03-04", 1440 + 360),
                ("Second", "2025-03-04", 1440 + 840),
            ]
        );
        assert_eq!(request.parameters, [("top".to_owned(), "3".to_owned())]);
    }
}
