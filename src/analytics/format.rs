//! KPIs and how their values read on pages and in CSV. The page and the CSV share these
//! functions, so they show the same numbers (the page only adds thousands separators).

use rust_decimal::{Decimal, RoundingStrategy};

use super::queries::Metrics;
use crate::types::{Currency, format_major};

/// The KPIs of the dashboard, in tile order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kpi {
    Spend,
    Impressions,
    Clicks,
    Conversions,
    Revenue,
    Ctr,
    Cpc,
    Cpm,
    Cpa,
    Roas,
    Cvr,
}

impl Kpi {
    pub const ALL: [Kpi; 11] = [
        Kpi::Spend,
        Kpi::Impressions,
        Kpi::Clicks,
        Kpi::Conversions,
        Kpi::Revenue,
        Kpi::Ctr,
        Kpi::Cpc,
        Kpi::Cpm,
        Kpi::Cpa,
        Kpi::Roas,
        Kpi::Cvr,
    ];

    /// The eight a table of many rows shows (a campaign's days, a report's campaigns): the
    /// money and counts, and the three ratios marketers act on.
    pub const TABLE: [Kpi; 8] = [
        Kpi::Spend,
        Kpi::Impressions,
        Kpi::Clicks,
        Kpi::Conversions,
        Kpi::Revenue,
        Kpi::Cpc,
        Kpi::Cpa,
        Kpi::Roas,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kpi::Spend => "spend",
            Kpi::Impressions => "impressions",
            Kpi::Clicks => "clicks",
            Kpi::Conversions => "conversions",
            Kpi::Revenue => "revenue",
            Kpi::Ctr => "ctr",
            Kpi::Cpc => "cpc",
            Kpi::Cpm => "cpm",
            Kpi::Cpa => "cpa",
            Kpi::Roas => "roas",
            Kpi::Cvr => "cvr",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kpi::Spend => "Spend",
            Kpi::Impressions => "Impressions",
            Kpi::Clicks => "Clicks",
            Kpi::Conversions => "Conversions",
            Kpi::Revenue => "Revenue",
            Kpi::Ctr => "CTR",
            Kpi::Cpc => "CPC",
            Kpi::Cpm => "CPM",
            Kpi::Cpa => "CPA",
            Kpi::Roas => "ROAS",
            Kpi::Cvr => "CVR",
        }
    }

    pub fn parse(s: &str) -> Option<Kpi> {
        Kpi::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Costs going down is good; spend itself is neither good nor bad.
    pub fn lower_is_better(self) -> bool {
        matches!(self, Kpi::Cpc | Kpi::Cpm | Kpi::Cpa)
    }

    pub fn neutral(self) -> bool {
        matches!(self, Kpi::Spend | Kpi::Impressions)
    }

    /// The exact value: money in micros, fractions as fractions.
    pub fn value(self, m: &Metrics) -> Option<Decimal> {
        match self {
            Kpi::Spend => Some(m.spend_micros.into()),
            Kpi::Impressions => Some(m.impressions.into()),
            Kpi::Clicks => Some(m.clicks.into()),
            Kpi::Conversions => Some(m.conversions),
            Kpi::Revenue => Some(m.revenue_micros.into()),
            Kpi::Ctr => m.ctr(),
            Kpi::Cpc => m.cpc_micros(),
            Kpi::Cpm => m.cpm_micros(),
            Kpi::Cpa => m.cpa_micros(),
            Kpi::Roas => m.roas(),
            Kpi::Cvr => m.cvr(),
        }
    }

    /// The value as the page shows it ("–" when undefined, e.g. CPC without clicks).
    pub fn display(self, m: &Metrics, currency: Currency, grouped: bool) -> String {
        let Some(v) = self.value(m) else {
            return "–".into();
        };
        match self {
            Kpi::Spend | Kpi::Revenue | Kpi::Cpc | Kpi::Cpm | Kpi::Cpa => {
                money(v, currency, grouped)
            }
            Kpi::Impressions | Kpi::Clicks => count(v, grouped),
            Kpi::Conversions => decimal(v, 2, grouped),
            Kpi::Ctr | Kpi::Cvr => format!("{}%", decimal(v * Decimal::ONE_HUNDRED, 2, false)),
            Kpi::Roas => decimal(v, 2, grouped),
        }
    }

    /// For drawing only (f64 never carries money anywhere else): major units for money.
    pub fn plot_value(self, m: &Metrics) -> f64 {
        use rust_decimal::prelude::ToPrimitive;
        let v = self.value(m).unwrap_or_default();
        let v = match self {
            Kpi::Spend | Kpi::Revenue | Kpi::Cpc | Kpi::Cpm | Kpi::Cpa => {
                v / Decimal::from(1_000_000)
            }
            Kpi::Ctr | Kpi::Cvr => v * Decimal::ONE_HUNDRED,
            _ => v,
        };
        v.to_f64().unwrap_or(0.0)
    }

    /// The unit shown beside the axis.
    pub fn unit(self, currency: Currency) -> String {
        match self {
            Kpi::Spend | Kpi::Revenue | Kpi::Cpc | Kpi::Cpm | Kpi::Cpa => {
                currency.as_str().to_string()
            }
            Kpi::Ctr | Kpi::Cvr => "%".into(),
            Kpi::Roas => "×".into(),
            _ => String::new(),
        }
    }
}

/// Percent change from `previous` to `current`, one decimal ("+12.3%"); None when there is no
/// previous value to compare with.
pub fn delta(kpi: Kpi, current: &Metrics, previous: &Metrics) -> Option<Delta> {
    let (c, p) = (kpi.value(current)?, kpi.value(previous)?);
    if p.is_zero() {
        return None;
    }
    let change = ((c - p) / p.abs() * Decimal::ONE_HUNDRED)
        .round_dp_with_strategy(1, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    let up = change.is_sign_positive() && !change.is_zero();
    let down = change.is_sign_negative() && !change.is_zero();
    let good = if kpi.neutral() || change.is_zero() {
        None
    } else {
        Some(up != kpi.lower_is_better())
    };
    Some(Delta {
        text: format!("{}{}%", if up { "+" } else { "" }, change),
        class: match good {
            None => "delta-flat",
            Some(true) => "delta-good",
            Some(false) => "delta-bad",
        },
        arrow: if up {
            "▲"
        } else if down {
            "▼"
        } else {
            "="
        },
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delta {
    pub text: String,
    pub class: &'static str,
    pub arrow: &'static str,
}

/// Micros (possibly fractional, e.g. a CPC) as an amount with the currency's decimals.
pub fn money(micros: Decimal, currency: Currency, grouped: bool) -> String {
    let whole = micros.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let as_i64 = i64::try_from(whole).unwrap_or(i64::MAX);
    // The currency is shown once per table row or tile, not in every cell.
    let full = format_major(as_i64, currency);
    let s = full
        .strip_suffix(currency.as_str())
        .map(str::trim_end)
        .unwrap_or(&full);
    if grouped {
        s.to_string()
    } else {
        s.replace(',', "")
    }
}

fn count(v: Decimal, grouped: bool) -> String {
    let s = v.round_dp(0).to_string();
    if grouped { group(&s) } else { s }
}

/// Rounded to `dp` places, trailing zeros kept off for whole numbers ("12", "12.5", "12.25").
fn decimal(v: Decimal, dp: u32, grouped: bool) -> String {
    let s = v
        .round_dp_with_strategy(dp, RoundingStrategy::MidpointAwayFromZero)
        .normalize()
        .to_string();
    if grouped { group(&s) } else { s }
}

fn group(s: &str) -> String {
    let (sign, rest) = match s.strip_prefix('-') {
        Some(r) => ("-", r),
        None => ("", s),
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{out}.{f}"),
        None => format!("{sign}{out}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m() -> Metrics {
        Metrics {
            impressions: 1_234_567,
            clicks: 2_000,
            spend_micros: 1_500_250_000,
            conversions: Decimal::new(125, 1),
            revenue_micros: 4_000_000_000,
        }
    }

    #[test]
    fn values_read_the_same_on_page_and_in_csv_except_separators() {
        let usd: Currency = "USD".parse().expect("usd");
        let jpy: Currency = "JPY".parse().expect("jpy");
        assert_eq!(Kpi::Spend.display(&m(), usd, true), "1,500.25");
        assert_eq!(Kpi::Spend.display(&m(), usd, false), "1500.25");
        assert_eq!(Kpi::Spend.display(&m(), jpy, false), "1500");
        assert_eq!(Kpi::Impressions.display(&m(), usd, true), "1,234,567");
        assert_eq!(Kpi::Ctr.display(&m(), usd, true), "0.16%");
        assert_eq!(Kpi::Cpc.display(&m(), usd, true), "0.75");
        assert_eq!(Kpi::Cpa.display(&m(), usd, true), "120.02");
        assert_eq!(Kpi::Roas.display(&m(), usd, true), "2.67");
        assert_eq!(Kpi::Cvr.display(&m(), usd, true), "0.63%");
        assert_eq!(Kpi::Conversions.display(&m(), usd, true), "12.5");
        assert_eq!(Kpi::Cpa.display(&Metrics::default(), usd, true), "–");
    }

    #[test]
    fn deltas_know_which_way_is_good() {
        let mut prev = m();
        prev.spend_micros = 1_000_000_000;
        let d = delta(Kpi::Cpc, &m(), &prev).expect("delta");
        assert_eq!(d.text, "+50%");
        assert_eq!(d.class, "delta-bad");
        let d = delta(Kpi::Roas, &m(), &prev).expect("delta");
        assert_eq!(d.class, "delta-bad");
        assert!(delta(Kpi::Spend, &m(), &Metrics::default()).is_none());
    }
}
