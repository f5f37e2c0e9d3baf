//! Date ranges for the dashboard: presets resolved against "today" in the organization's time
//! zone, custom ranges, and the previous period of equal length used for deltas.
//!
//! Metric dates are each ad account's local dates; the range selects those dates as they are,
//! so "yesterday" means the same calendar day for every account.

use chrono::{Datelike, Duration, NaiveDate};

/// The longest range the dashboard reads at once (two years, the longest backfill).
pub const MAX_DAYS: i64 = 731;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Today,
    Yesterday,
    Last7,
    Last14,
    Last30,
    Last90,
    ThisMonth,
    LastMonth,
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 9] = [
        Preset::Today,
        Preset::Yesterday,
        Preset::Last7,
        Preset::Last14,
        Preset::Last30,
        Preset::Last90,
        Preset::ThisMonth,
        Preset::LastMonth,
        Preset::Custom,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Preset::Today => "today",
            Preset::Yesterday => "yesterday",
            Preset::Last7 => "last_7",
            Preset::Last14 => "last_14",
            Preset::Last30 => "last_30",
            Preset::Last90 => "last_90",
            Preset::ThisMonth => "this_month",
            Preset::LastMonth => "last_month",
            Preset::Custom => "custom",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Preset::Today => "Today",
            Preset::Yesterday => "Yesterday",
            Preset::Last7 => "Last 7 days",
            Preset::Last14 => "Last 14 days",
            Preset::Last30 => "Last 30 days",
            Preset::Last90 => "Last 90 days",
            Preset::ThisMonth => "This month",
            Preset::LastMonth => "Last month",
            Preset::Custom => "Custom dates",
        }
    }

    pub fn parse(s: &str) -> Option<Preset> {
        Preset::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

/// An inclusive range of dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl DateRange {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// The period of equal length that ends the day before this one starts.
    pub fn previous(&self) -> DateRange {
        let to = self.from - Duration::days(1);
        DateRange {
            from: to - Duration::days(self.days() - 1),
            to,
        }
    }

    pub fn dates(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let from = self.from;
        (0..self.days()).map(move |i| from + Duration::days(i))
    }
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

/// The dates a preset covers, given today's date in the organization's time zone. The "last N
/// days" presets end yesterday: today is incomplete and would drag every average down.
pub fn resolve(preset: Preset, today: NaiveDate) -> Option<DateRange> {
    let yesterday = today - Duration::days(1);
    let last = |n: i64| DateRange {
        from: today - Duration::days(n),
        to: yesterday,
    };
    Some(match preset {
        Preset::Today => DateRange {
            from: today,
            to: today,
        },
        Preset::Yesterday => DateRange {
            from: yesterday,
            to: yesterday,
        },
        Preset::Last7 => last(7),
        Preset::Last14 => last(14),
        Preset::Last30 => last(30),
        Preset::Last90 => last(90),
        Preset::ThisMonth => DateRange {
            from: first_of_month(today),
            to: today,
        },
        Preset::LastMonth => {
            let end = first_of_month(today) - Duration::days(1);
            DateRange {
                from: first_of_month(end),
                to: end,
            }
        }
        Preset::Custom => return None,
    })
}

/// Why a custom range was refused, in words for the page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("Dates are written as YYYY-MM-DD.")]
    BadDate,
    #[error("The range ends before it starts.")]
    Reversed,
    #[error("Choose at most {MAX_DAYS} days.")]
    TooLong,
}

/// A custom range from the form's two date fields.
pub fn custom(from: &str, to: &str) -> Result<DateRange, RangeError> {
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    let (Some(from), Some(to)) = (parse(from), parse(to)) else {
        return Err(RangeError::BadDate);
    };
    if to < from {
        return Err(RangeError::Reversed);
    }
    let r = DateRange { from, to };
    if r.days() > MAX_DAYS {
        return Err(RangeError::TooLong);
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date")
    }

    #[test]
    fn presets_resolve_against_today() {
        let today = d("2026-03-15");
        let r = |p| resolve(p, today).expect("preset");
        assert_eq!(
            r(Preset::Today),
            DateRange {
                from: today,
                to: today
            }
        );
        assert_eq!(r(Preset::Yesterday).from, d("2026-03-14"));
        assert_eq!(
            r(Preset::Last7),
            DateRange {
                from: d("2026-03-08"),
                to: d("2026-03-14")
            }
        );
        assert_eq!(r(Preset::Last7).days(), 7);
        assert_eq!(r(Preset::Last30).days(), 30);
        assert_eq!(r(Preset::Last90).days(), 90);
        assert_eq!(
            r(Preset::ThisMonth),
            DateRange {
                from: d("2026-03-01"),
                to: today
            }
        );
        assert_eq!(
            r(Preset::LastMonth),
            DateRange {
                from: d("2026-02-01"),
                to: d("2026-02-28")
            }
        );
        assert_eq!(
            resolve(Preset::LastMonth, d("2026-01-10")),
            Some(DateRange {
                from: d("2025-12-01"),
                to: d("2025-12-31")
            })
        );
        assert_eq!(resolve(Preset::Custom, today), None);
    }

    #[test]
    fn previous_period_has_equal_length_and_ends_the_day_before() {
        let r = DateRange {
            from: d("2026-03-01"),
            to: d("2026-03-30"),
        };
        let p = r.previous();
        assert_eq!(
            p,
            DateRange {
                from: d("2026-01-30"),
                to: d("2026-02-28")
            }
        );
        assert_eq!(p.days(), r.days());
    }

    #[test]
    fn custom_ranges_are_checked() {
        assert_eq!(custom("2026-01-01", "2026-01-31").map(|r| r.days()), Ok(31));
        assert_eq!(
            custom("2026-01-31", "2026-01-01"),
            Err(RangeError::Reversed)
        );
        assert_eq!(custom("yesterday", "2026-01-01"), Err(RangeError::BadDate));
        assert_eq!(custom("2020-01-01", "2026-01-01"), Err(RangeError::TooLong));
    }
}
