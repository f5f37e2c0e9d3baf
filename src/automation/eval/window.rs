//! Metric windows as date ranges, and the base totals a caller supplies per window.
//!
//! The evaluator never reads metric rows itself: the server sums each window for every campaign
//! in one SQL query per rule (`SUM(..) FILTER (WHERE date BETWEEN start AND end)` per
//! [`WindowKey`] from [`Rule::required_windows`]), the CLI sums CSV rows. Dates are the ad
//! account's local dates; `as_of` is the account's today.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{Datelike, Days, NaiveDate};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::automation::language::ast::{Metric, MetricRef, Rule, Window};

/// A window of days relative to `as_of` (today).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowKey {
    /// One day, `k` days before today: 0 is today, 1 yesterday (used by `on each of`).
    Day(u32),
    /// The N complete days before today.
    Last(u32),
    /// The N days before the last N days.
    Previous(u32),
    /// The 1st of today's month through today.
    ThisMonth,
    /// Every day through today.
    Lifetime,
}

impl WindowKey {
    pub const TODAY: WindowKey = WindowKey::Day(0);

    /// The key for a metric's written window (none means today).
    pub fn of(window: Option<&Window>) -> WindowKey {
        match window {
            None | Some(Window::Today) => WindowKey::Day(0),
            Some(Window::Yesterday) => WindowKey::Day(1),
            Some(Window::Last(d)) => WindowKey::Last(d.n),
            Some(Window::Previous(d)) => WindowKey::Previous(d.n),
            Some(Window::ThisMonth) => WindowKey::ThisMonth,
            Some(Window::Lifetime) => WindowKey::Lifetime,
        }
    }

    /// First and last day, both included. Lifetime starts at `NaiveDate::MIN`.
    pub fn dates(self, as_of: NaiveDate) -> (NaiveDate, NaiveDate) {
        let back = |n: u32| {
            as_of
                .checked_sub_days(Days::new(u64::from(n)))
                .unwrap_or(NaiveDate::MIN)
        };
        match self {
            WindowKey::Day(k) => (back(k), back(k)),
            WindowKey::Last(n) => (back(n), back(1)),
            WindowKey::Previous(n) => (back(n.saturating_mul(2)), back(n.saturating_add(1))),
            WindowKey::ThisMonth => (as_of.with_day(1).unwrap_or(as_of), as_of),
            WindowKey::Lifetime => (NaiveDate::MIN, as_of),
        }
    }

    pub fn contains(self, as_of: NaiveDate, date: NaiveDate) -> bool {
        let (start, end) = self.dates(as_of);
        start <= date && date <= end
    }
}

impl fmt::Display for WindowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WindowKey::Day(0) => f.write_str("today"),
            WindowKey::Day(1) => f.write_str("yesterday"),
            WindowKey::Day(k) => write!(f, "{k} days ago"),
            WindowKey::Last(n) => write!(f, "in last {n} days"),
            WindowKey::Previous(n) => write!(f, "in previous {n} days"),
            WindowKey::ThisMonth => f.write_str("this month"),
            WindowKey::Lifetime => f.write_str("lifetime"),
        }
    }
}

/// Sums of the base metrics over one window. Money is in micros of the account's currency;
/// conversions may be fractional (attribution models split them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub impressions: i64,
    pub clicks: i64,
    pub spend_micros: i64,
    pub conversions: Decimal,
    pub revenue_micros: i64,
    // Version 2 (read from CSV; the live store does not hold them yet).
    pub all_clicks: i64,
    pub purchases: Decimal,
    pub purchase_value_micros: i64,
    pub leads: Decimal,
    pub installs: Decimal,
    pub registrations: Decimal,
}

impl Totals {
    pub fn add(&mut self, other: &Totals) {
        self.impressions = self.impressions.saturating_add(other.impressions);
        self.clicks = self.clicks.saturating_add(other.clicks);
        self.spend_micros = self.spend_micros.saturating_add(other.spend_micros);
        self.conversions = self
            .conversions
            .checked_add(other.conversions)
            .unwrap_or(Decimal::MAX);
        self.revenue_micros = self.revenue_micros.saturating_add(other.revenue_micros);
        self.all_clicks = self.all_clicks.saturating_add(other.all_clicks);
        self.purchase_value_micros = self
            .purchase_value_micros
            .saturating_add(other.purchase_value_micros);
        for (a, b) in [
            (&mut self.purchases, other.purchases),
            (&mut self.leads, other.leads),
            (&mut self.installs, other.installs),
            (&mut self.registrations, other.registrations),
        ] {
            *a = a.checked_add(b).unwrap_or(Decimal::MAX);
        }
    }
}

impl Rule {
    /// Every window whose totals evaluating this rule reads (today is always included: a
    /// metric without a window means today).
    pub fn required_windows(&self) -> BTreeSet<WindowKey> {
        let mut out = BTreeSet::new();
        let mut add = |m: &MetricRef, each: Option<u32>| {
            if m.metric == Metric::BudgetRemaining {
                out.insert(WindowKey::Lifetime);
            } else if m.metric.takes_no_window() {
            } else if let Some(n) = each {
                out.extend((1..=n).map(WindowKey::Day));
            } else {
                out.insert(WindowKey::of(m.window.as_ref()));
            }
        };
        for cmp in self.comparisons() {
            for m in cmp.metrics() {
                add(m, cmp.each_days.map(|d| d.n));
            }
        }
        for e in self.action_exprs() {
            e.visit_metrics(&mut |m| add(m, None));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn last_n_days_are_the_complete_days_before_today() {
        let as_of = d("2026-03-10");
        assert_eq!(
            WindowKey::Last(3).dates(as_of),
            (d("2026-03-07"), d("2026-03-09"))
        );
        assert!(!WindowKey::Last(3).contains(as_of, as_of));
    }

    #[test]
    fn previous_n_days_are_the_n_days_before_the_last_n() {
        let as_of = d("2026-03-10");
        assert_eq!(
            WindowKey::Previous(7).dates(as_of),
            (d("2026-02-24"), d("2026-03-02"))
        );
        assert_eq!(WindowKey::Last(7).dates(as_of).0, d("2026-03-03"));
    }

    #[test]
    fn this_month_runs_from_the_first_through_today() {
        assert_eq!(
            WindowKey::ThisMonth.dates(d("2026-03-10")),
            (d("2026-03-01"), d("2026-03-10"))
        );
        assert_eq!(
            WindowKey::ThisMonth.dates(d("2026-03-01")),
            (d("2026-03-01"), d("2026-03-01"))
        );
    }

    #[test]
    fn single_days_count_back_from_today() {
        let as_of = d("2026-01-01");
        assert_eq!(WindowKey::Day(0).dates(as_of), (as_of, as_of));
        assert_eq!(
            WindowKey::Day(1).dates(as_of),
            (d("2025-12-31"), d("2025-12-31"))
        );
        assert!(WindowKey::Lifetime.contains(as_of, d("2001-05-05")));
        assert!(!WindowKey::Lifetime.contains(as_of, d("2026-01-02")));
    }
}
