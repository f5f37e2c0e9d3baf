//! When a report is due: a local send time in the organization's time zone, turned into a UTC
//! instant day by day, so daylight-saving changes keep "09:00" at nine on the wall clock.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Tz;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frequency {
    Daily,
    /// On this weekday (Monday = 1 ... Sunday = 7).
    Weekly(u32),
}

/// The first send instant strictly after `after`.
pub fn next_send_at(freq: Frequency, at: NaiveTime, tz: Tz, after: DateTime<Utc>) -> DateTime<Utc> {
    let start = after.with_timezone(&tz).date_naive();
    for offset in 0..15 {
        let day = start + Duration::days(offset);
        if let Frequency::Weekly(w) = freq {
            if day.weekday().number_from_monday() != w {
                continue;
            }
        }
        if let Some(instant) = local_instant(tz, day, at) {
            if instant > after {
                return instant;
            }
        }
    }
    // Unreachable for valid schedules (a weekday recurs within 7 days); a day later is safe.
    after + Duration::days(1)
}

/// The UTC instant of a wall-clock time: the earlier one when the clock falls back, and the
/// first valid minute after the gap when it springs forward.
fn local_instant(tz: Tz, day: NaiveDate, at: NaiveTime) -> Option<DateTime<Utc>> {
    let naive = day.and_time(at);
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, _) => Some(a.with_timezone(&Utc)),
        LocalResult::None => {
            (1..=180).find_map(
                |m| match tz.from_local_datetime(&(naive + Duration::minutes(m))) {
                    LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => {
                        Some(t.with_timezone(&Utc))
                    }
                    LocalResult::None => None,
                },
            )
        }
    }
}

pub fn weekday_name(w: u32) -> &'static str {
    match Weekday::try_from(w.saturating_sub(1) as u8) {
        Ok(Weekday::Mon) => "Monday",
        Ok(Weekday::Tue) => "Tuesday",
        Ok(Weekday::Wed) => "Wednesday",
        Ok(Weekday::Thu) => "Thursday",
        Ok(Weekday::Fri) => "Friday",
        Ok(Weekday::Sat) => "Saturday",
        _ => "Sunday",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    #[test]
    fn nine_in_berlin_stays_nine_across_the_dst_change() {
        let tz: Tz = "Europe/Berlin".parse().expect("tz");
        let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("time");
        // Summer time (UTC+2) ends on 2026-10-25.
        let before = next_send_at(Frequency::Daily, nine, tz, utc("2026-10-24T06:00:00Z"));
        assert_eq!(before, utc("2026-10-24T07:00:00Z"));
        let after = next_send_at(Frequency::Daily, nine, tz, before);
        assert_eq!(after, utc("2026-10-25T08:00:00Z"), "09:00 CET is 08:00 UTC");
        // Summer time starts on 2027-03-28.
        let spring = next_send_at(Frequency::Daily, nine, tz, utc("2027-03-27T08:30:00Z"));
        assert_eq!(
            spring,
            utc("2027-03-28T07:00:00Z"),
            "09:00 CEST is 07:00 UTC"
        );
    }

    #[test]
    fn a_time_inside_the_spring_gap_moves_to_the_first_valid_minute() {
        let tz: Tz = "Europe/Berlin".parse().expect("tz");
        let t = NaiveTime::from_hms_opt(2, 30, 0).expect("time");
        let at = next_send_at(Frequency::Daily, t, tz, utc("2027-03-27T12:00:00Z"));
        assert_eq!(at, utc("2027-03-28T01:00:00Z"), "03:00 CEST");
    }

    #[test]
    fn weekly_waits_for_its_weekday() {
        let tz: Tz = "America/New_York".parse().expect("tz");
        let t = NaiveTime::from_hms_opt(8, 0, 0).expect("time");
        // 2026-11-24 is a Tuesday; Monday is 2026-11-30.
        let at = next_send_at(Frequency::Weekly(1), t, tz, utc("2026-11-24T20:00:00Z"));
        assert_eq!(at, utc("2026-11-30T13:00:00Z"));
    }
}
