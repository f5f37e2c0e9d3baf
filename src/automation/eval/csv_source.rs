//! Daily metrics from a CSV export, summed into window totals for `rules eval`.
//!
//! Header (any column order, extra columns ignored):
//! `platform,account_id,currency,campaign_id,campaign_name,status,daily_budget,date,impressions,clicks,spend,conversions,revenue`
//! One row per campaign per day. A campaign's name, status and budget are read from its latest
//! row on or before the as-of date; rows after it are ignored (they are in the future).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::CampaignFacts;
use super::window::{Totals, WindowKey};
use crate::automation::language::ast::CampaignStatus;
use crate::types::{Currency, Money, Platform};

pub const COLUMNS: [&str; 13] = [
    "platform",
    "account_id",
    "currency",
    "campaign_id",
    "campaign_name",
    "status",
    "daily_budget",
    "date",
    "impressions",
    "clicks",
    "spend",
    "conversions",
    "revenue",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct CsvError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    pub message: String,
}

#[derive(Debug, Clone)]
struct DayRow {
    totals: Totals,
    name: String,
    status: CampaignStatus,
    budget: Money,
    line: u64,
}

#[derive(Debug, Clone)]
struct CampaignDays {
    platform: Platform,
    account_id: String,
    currency: Currency,
    campaign_id: String,
    days: BTreeMap<NaiveDate, DayRow>,
}

/// Every campaign of a metrics CSV, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct MetricsTable {
    campaigns: Vec<CampaignDays>,
}

impl MetricsTable {
    pub fn read(reader: impl Read) -> Result<MetricsTable, CsvError> {
        let mut rdr = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(reader);
        let headers = rdr.headers().map_err(|e| csv_error(&e, 1))?.clone();
        let mut index = HashMap::new();
        for (i, h) in headers.iter().enumerate() {
            index.insert(h.to_ascii_lowercase(), i);
        }
        let missing: Vec<&str> = COLUMNS
            .iter()
            .copied()
            .filter(|c| !index.contains_key(*c))
            .collect();
        if !missing.is_empty() {
            return Err(CsvError {
                line: 1,
                message: format!(
                    "the header lacks {}; expected {}",
                    missing.join(", "),
                    COLUMNS.join(",")
                ),
            });
        }
        let col = |name: &str| index.get(name).copied().unwrap_or(0);
        let cols: Vec<usize> = COLUMNS.iter().map(|c| col(c)).collect();

        let mut table = MetricsTable::default();
        let mut by_key: HashMap<(Platform, String, String), usize> = HashMap::new();
        let mut account_currency: HashMap<(Platform, String), (Currency, u64)> = HashMap::new();
        for record in rdr.records() {
            let record = record.map_err(|e| csv_error(&e, 0))?;
            let line = record.position().map_or(0, |p| p.line());
            let field = |i: usize| record.get(cols[i]).unwrap_or("");
            let err = |message: String| CsvError { line, message };

            let platform = Platform::from_str(field(0)).map_err(|e| err(e.to_string()))?;
            let account_id = non_empty(field(1), "account_id").map_err(err)?;
            let currency = Currency::from_str(field(2)).map_err(|e| err(e.to_string()))?;
            let campaign_id = non_empty(field(3), "campaign_id").map_err(err)?;
            let name = field(4).to_string();
            let status = match field(5).to_ascii_lowercase().as_str() {
                "active" | "enabled" => CampaignStatus::Active,
                "paused" => CampaignStatus::Paused,
                other => {
                    return Err(err(format!("status \"{other}\" is not active or paused")));
                }
            };
            let budget = money(field(6), "daily_budget", currency).map_err(err)?;
            let date = NaiveDate::parse_from_str(field(7), "%Y-%m-%d").map_err(|_| {
                err(format!(
                    "date \"{}\" is not a date such as 2026-03-31",
                    field(7)
                ))
            })?;
            let totals = Totals {
                impressions: count(field(8), "impressions").map_err(err)?,
                clicks: count(field(9), "clicks").map_err(err)?,
                spend_micros: money(field(10), "spend", currency).map_err(err)?.micros,
                conversions: decimal(field(11), "conversions").map_err(err)?,
                revenue_micros: money(field(12), "revenue", currency).map_err(err)?.micros,
            };

            let account_key = (platform, account_id.clone());
            match account_currency.get(&account_key) {
                Some((c, first)) if *c != currency => {
                    return Err(err(format!(
                        "account {account_id} is in {currency} here but in {c} on line {first}"
                    )));
                }
                Some(_) => {}
                None => {
                    account_currency.insert(account_key, (currency, line));
                }
            }
            let key = (platform, account_id.clone(), campaign_id.clone());
            let idx = *by_key.entry(key).or_insert_with(|| {
                table.campaigns.push(CampaignDays {
                    platform,
                    account_id,
                    currency,
                    campaign_id: campaign_id.clone(),
                    days: BTreeMap::new(),
                });
                table.campaigns.len() - 1
            });
            let days = &mut table.campaigns[idx].days;
            if let Some(prev) = days.get(&date) {
                return Err(err(format!(
                    "campaign {campaign_id} already has a row for {date} on line {}",
                    prev.line
                )));
            }
            days.insert(
                date,
                DayRow {
                    totals,
                    name,
                    status,
                    budget,
                    line,
                },
            );
        }
        Ok(table)
    }

    /// Facts for every campaign with a row on or before `as_of`, with the totals of `windows`.
    pub fn facts(&self, as_of: NaiveDate, windows: &BTreeSet<WindowKey>) -> Vec<CampaignFacts> {
        self.campaigns
            .iter()
            .filter_map(|c| {
                let (_, latest) = c.days.range(..=as_of).next_back()?;
                let totals = windows
                    .iter()
                    .map(|w| {
                        let (start, end) = w.dates(as_of);
                        let mut t = Totals::default();
                        for (_, row) in c.days.range(start..=end) {
                            t.add(&row.totals);
                        }
                        (*w, t)
                    })
                    .collect();
                Some(CampaignFacts {
                    platform: c.platform,
                    account_id: c.account_id.clone(),
                    currency: c.currency,
                    campaign_id: c.campaign_id.clone(),
                    name: latest.name.clone(),
                    status: latest.status,
                    daily_budget: latest.budget,
                    totals,
                })
            })
            .collect()
    }
}

fn csv_error(e: &csv::Error, fallback_line: u64) -> CsvError {
    let line = e.position().map_or(fallback_line, |p| p.line());
    let message = match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("this row has {len} fields, the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "this row is not valid UTF-8".to_string(),
        _ => e.to_string(),
    };
    CsvError { line, message }
}

fn non_empty(s: &str, column: &str) -> Result<String, String> {
    if s.is_empty() {
        Err(format!("{column} is empty"))
    } else {
        Ok(s.to_string())
    }
}

/// Metric cells may be empty (exports leave blanks for no delivery); that counts as 0.
fn decimal(s: &str, column: &str) -> Result<Decimal, String> {
    if s.is_empty() {
        return Ok(Decimal::ZERO);
    }
    match Decimal::from_str(s) {
        Ok(d) if d >= Decimal::ZERO => Ok(d),
        Ok(_) => Err(format!("{column} \"{s}\" is negative")),
        Err(_) => Err(format!("{column} \"{s}\" is not a number")),
    }
}

fn count(s: &str, column: &str) -> Result<i64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    s.parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)
        .ok_or_else(|| format!("{column} \"{s}\" is not a whole number of 0 or more"))
}

fn money(s: &str, column: &str, currency: Currency) -> Result<Money, String> {
    let d = decimal(s, column)?;
    Money::from_major(d, currency).ok_or_else(|| format!("{column} \"{s}\" is too large"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "platform,account_id,currency,campaign_id,campaign_name,status,daily_budget,date,impressions,clicks,spend,conversions,revenue\n";

    fn read(body: &str) -> Result<MetricsTable, CsvError> {
        MetricsTable::read(format!("{HEADER}{body}").as_bytes())
    }

    #[test]
    fn a_bad_number_names_its_line_and_column() {
        let e = read(
            "google,1,USD,c1,A,active,50,2026-03-01,100,10,5.5,1,20\n\
             google,1,USD,c1,A,active,50,2026-03-02,100,ten,5.5,1,20\n",
        )
        .expect_err("bad clicks");
        assert_eq!(e.line, 3);
        assert_eq!(
            e.to_string(),
            "line 3: clicks \"ten\" is not a whole number of 0 or more"
        );
    }

    #[test]
    fn a_short_row_and_a_bad_date_are_reported_with_their_line() {
        let e = read("google,1,USD,c1,A,active,50,2026-03-01,100\n").expect_err("short");
        assert_eq!(e.line, 2);
        assert!(
            e.message.contains("9 fields, the header has 13"),
            "{}",
            e.message
        );
        let e = read("google,1,USD,c1,A,active,50,03/01/2026,100,10,5,1,20\n").expect_err("date");
        assert!(e.message.contains("not a date"), "{}", e.message);
    }

    #[test]
    fn a_missing_column_is_named() {
        let e = MetricsTable::read("platform,account_id\n".as_bytes()).expect_err("header");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("currency, campaign_id"), "{}", e.message);
    }

    #[test]
    fn one_account_in_two_currencies_is_rejected() {
        let e = read(
            "google,1,USD,c1,A,active,50,2026-03-01,1,1,1,1,1\n\
             google,1,EUR,c2,B,active,50,2026-03-01,1,1,1,1,1\n",
        )
        .expect_err("currencies");
        assert_eq!(e.line, 3);
        assert!(
            e.message.contains("in EUR here but in USD on line 2"),
            "{}",
            e.message
        );
    }

    #[test]
    fn budget_and_status_come_from_the_latest_row_up_to_as_of() {
        let t = read(
            "meta,9,EUR,c1,A,active,50,2026-03-01,1,1,1,1,1\n\
             meta,9,EUR,c1,A,paused,70,2026-03-02,1,1,1,1,1\n\
             meta,9,EUR,c1,A,active,90,2026-03-05,1,1,1,1,1\n",
        )
        .expect("table");
        let as_of = NaiveDate::from_ymd_opt(2026, 3, 3).expect("date");
        let facts = t.facts(as_of, &BTreeSet::from([WindowKey::Lifetime]));
        assert_eq!(facts[0].status, CampaignStatus::Paused);
        assert_eq!(facts[0].daily_budget.micros, 70_000_000);
        assert_eq!(facts[0].totals[&WindowKey::Lifetime].clicks, 2);
    }
}
