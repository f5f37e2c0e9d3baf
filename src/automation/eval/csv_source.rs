//! Daily metrics from a CSV export, summed into window totals for `rules eval`.
//!
//! Header (any column order, extra columns ignored):
//! `platform,account_id,currency,campaign_id,campaign_name,status,daily_budget,date,impressions,clicks,spend,conversions,revenue`
//! and, since version 2, optionally
//! `level,ad_group_id,ad_group_name,ad_id,ad_name,time_zone,created_at,end_date,lifetime_budget,bid,all_clicks,purchases,purchase_value,leads,installs,registrations,paused_by_rule`.
//! One row per object per day. An object's name, status and budgets are read from its latest
//! row on or before its account's today; rows after it are ignored (they are in the future).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::str::FromStr;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::window::{Totals, WindowKey};
use super::{CampaignFacts, Clock, ObjectDetails, ParentFigures};
use crate::automation::language::ast::{CampaignStatus, Level};
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

/// Version 2 columns; each may be left out.
pub const OPTIONAL_COLUMNS: [&str; 17] = [
    "level",
    "ad_group_id",
    "ad_group_name",
    "ad_id",
    "ad_name",
    "time_zone",
    "created_at",
    "end_date",
    "lifetime_budget",
    "bid",
    "all_clicks",
    "purchases",
    "purchase_value",
    "leads",
    "installs",
    "registrations",
    "paused_by_rule",
];

/// When a `rules eval` runs: `--as-of D` is 12:00 on D in every account; `--now T` is the
/// instant T, so each account's today, hour and day of week are taken in its own time zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Date(NaiveDate),
    Now(DateTime<Utc>),
}

impl At {
    /// The date in UTC (for messages; accounts have their own).
    pub fn date(self) -> NaiveDate {
        match self {
            At::Date(d) => d,
            At::Now(t) => t.date_naive(),
        }
    }

    pub fn clock(self, tz: Tz) -> Clock {
        match self {
            At::Date(d) => Clock {
                today: d,
                hour: 12,
                weekday: d.weekday(),
            },
            At::Now(t) => {
                let local = t.with_timezone(&tz);
                Clock {
                    today: local.date_naive(),
                    hour: local.hour(),
                    weekday: local.weekday(),
                }
            }
        }
    }
}

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
    campaign_name: Option<String>,
    ad_group_name: Option<String>,
    status: CampaignStatus,
    budget: Option<Money>,
    lifetime_budget: Option<Money>,
    bid: Option<Money>,
    created_at: Option<DateTime<FixedOffset>>,
    end_date: Option<NaiveDate>,
    paused_by_rule: Option<String>,
    line: u64,
}

#[derive(Debug, Clone)]
struct ObjectDays {
    platform: Platform,
    account_id: String,
    currency: Currency,
    level: Level,
    campaign_id: String,
    ad_group_id: Option<String>,
    ad_id: Option<String>,
    days: BTreeMap<NaiveDate, DayRow>,
}

type AccountKey = (Platform, String);

/// Every object of a metrics CSV, in order of first appearance.
#[derive(Debug, Clone, Default)]
pub struct MetricsTable {
    objects: Vec<ObjectDays>,
    zones: HashMap<AccountKey, Tz>,
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
        let opt: HashMap<&'static str, usize> = OPTIONAL_COLUMNS
            .iter()
            .filter_map(|c| index.get(*c).map(|i| (*c, *i)))
            .collect();

        let mut placing = Placing::default();
        for record in rdr.records() {
            let record = record.map_err(|e| csv_error(&e, 0))?;
            let row = Record {
                line: record.position().map_or(0, |p| p.line()),
                record: &record,
                cols: &cols,
                opt: &opt,
            };
            let parsed = row.parse()?;
            placing.place(parsed).map_err(|message| row.err(message))?;
        }
        let mut table = placing.table;
        table.zones = placing
            .account_zone
            .into_iter()
            .map(|(k, (z, _))| (k, z))
            .collect();
        Ok(table)
    }

    fn zone(&self, platform: Platform, account: &str) -> Tz {
        self.zones
            .get(&(platform, account.to_string()))
            .copied()
            .unwrap_or(Tz::UTC)
    }

    /// Facts for every object with a row on or before its account's today, with the totals of
    /// `windows` for it, its parents and its account.
    pub fn facts(&self, at: At, windows: &BTreeSet<WindowKey>) -> Vec<CampaignFacts> {
        let seen = self.seen(at, windows);
        let figures = self.figures(&seen);
        self.objects
            .iter()
            .zip(&seen)
            .filter_map(|(o, s)| Some(self.object_facts(o, s.as_ref()?, &figures)))
            .collect()
    }

    /// Per object (in `objects` order): its clock, latest row and window totals, or `None`
    /// when it has no row up to its account's today.
    fn seen(&self, at: At, windows: &BTreeSet<WindowKey>) -> Vec<Option<Seen<'_>>> {
        self.objects
            .iter()
            .map(|o| {
                let clock = at.clock(self.zone(o.platform, &o.account_id));
                let (_, latest) = o.days.range(..=clock.today).next_back()?;
                let totals = windows
                    .iter()
                    .map(|w| {
                        let (start, end) = w.dates(clock.today);
                        let mut t = Totals::default();
                        for (_, row) in o.days.range(start..=end) {
                            t.add(&row.totals);
                        }
                        (*w, t)
                    })
                    .collect();
                Some(Seen {
                    clock,
                    latest,
                    totals,
                })
            })
            .collect()
    }

    /// Parents' own rows, and sums of children by level, in one pass.
    fn figures(&self, seen: &[Option<Seen<'_>>]) -> Figures {
        let mut f = Figures::default();
        for (o, s) in self.objects.iter().zip(seen) {
            let Some(s) = s else { continue };
            let zone = self.zone(o.platform, &o.account_id);
            let id = match o.level {
                Level::Ad => o.ad_id.clone().unwrap_or_default(),
                Level::AdGroup => o.ad_group_id.clone().unwrap_or_default(),
                _ => o.campaign_id.clone(),
            };
            f.own.insert(
                (o.platform, o.account_id.clone(), o.level, id),
                ParentFigures {
                    totals: s.totals.clone(),
                    daily_budget: s.latest.budget,
                    lifetime_budget: s.latest.lifetime_budget,
                    budget_remaining: None,
                    bid: s.latest.bid,
                    created: created_day(s.latest, zone),
                    end_date: s.latest.end_date,
                },
            );
            let add_to = |f: &mut ParentFigures| add_totals(&mut f.totals, &s.totals);
            // Keyed by the child's level: "the campaign's ad groups", "the campaign's ads".
            add_to(
                f.children
                    .entry((
                        o.platform,
                        o.account_id.clone(),
                        o.level,
                        format!("c:{}", o.campaign_id),
                    ))
                    .or_default(),
            );
            if o.level == Level::Ad {
                add_to(
                    f.children
                        .entry((
                            o.platform,
                            o.account_id.clone(),
                            o.level,
                            format!("g:{}", o.ad_group_id.clone().unwrap_or_default()),
                        ))
                        .or_default(),
                );
            }
            add_to(
                f.account
                    .entry((o.platform, o.account_id.clone(), o.level))
                    .or_default(),
            );
        }
        f
    }

    fn object_facts(&self, o: &ObjectDays, s: &Seen<'_>, figures: &Figures) -> CampaignFacts {
        let zone = self.zone(o.platform, &o.account_id);
        let latest = s.latest;
        CampaignFacts {
            platform: o.platform,
            account_id: o.account_id.clone(),
            currency: o.currency,
            campaign_id: o.campaign_id.clone(),
            name: latest.name.clone(),
            status: latest.status,
            daily_budget: latest.budget.unwrap_or(Money::new(0, o.currency)),
            totals: s.totals.clone(),
            details: ObjectDetails {
                level: Some(o.level),
                campaign_name: latest.campaign_name.clone(),
                ad_group_id: o.ad_group_id.clone(),
                ad_group_name: latest.ad_group_name.clone(),
                ad_id: o.ad_id.clone(),
                no_daily_budget: latest.budget.is_none(),
                lifetime_budget: latest.lifetime_budget,
                budget_remaining: None,
                bid: latest.bid,
                created: created_day(latest, zone),
                end_date: latest.end_date,
                paused_by_rule: latest.paused_by_rule.clone(),
                clock: Some(s.clock),
                campaign: if o.level > Level::Campaign {
                    figures.parent(o, Level::Campaign)
                } else {
                    None
                },
                ad_group: if o.level == Level::Ad {
                    figures.parent(o, Level::AdGroup)
                } else {
                    None
                },
                account: figures.account_of(o),
            },
        }
    }
}

/// What [`MetricsTable::facts`] knows of one object before building its facts.
struct Seen<'a> {
    clock: Clock,
    latest: &'a DayRow,
    totals: HashMap<WindowKey, Totals>,
}

type ObjectKey = (Platform, String, Level, String);

/// Figures of parents and accounts: their own rows, and their children's sums by level.
#[derive(Default)]
struct Figures {
    own: HashMap<ObjectKey, ParentFigures>,
    children: HashMap<ObjectKey, ParentFigures>,
    account: HashMap<(Platform, String, Level), ParentFigures>,
}

impl Figures {
    /// A parent's own row if it has one, else the sum of its children of the nearest level.
    fn parent(&self, o: &ObjectDays, level: Level) -> Option<Box<ParentFigures>> {
        let (id, key) = match level {
            Level::Campaign => (o.campaign_id.clone(), format!("c:{}", o.campaign_id)),
            _ => {
                let g = o.ad_group_id.clone().unwrap_or_default();
                (g.clone(), format!("g:{g}"))
            }
        };
        if let Some(f) = self.own.get(&(o.platform, o.account_id.clone(), level, id)) {
            return Some(Box::new(f.clone()));
        }
        let below: &[Level] = match level {
            Level::Campaign => &[Level::AdGroup, Level::Ad],
            _ => &[Level::Ad],
        };
        below.iter().find_map(|l| {
            self.children
                .get(&(o.platform, o.account_id.clone(), *l, key.clone()))
                .map(|f| Box::new(f.clone()))
        })
    }

    /// The account's figures from its highest level with rows.
    fn account_of(&self, o: &ObjectDays) -> Option<Box<ParentFigures>> {
        [Level::Campaign, Level::AdGroup, Level::Ad]
            .iter()
            .find_map(|l| self.account.get(&(o.platform, o.account_id.clone(), *l)))
            .map(|f| Box::new(f.clone()))
    }
}

/// One record of the CSV with the column positions to read it by.
struct Record<'r> {
    record: &'r csv::StringRecord,
    cols: &'r [usize],
    opt: &'r HashMap<&'static str, usize>,
    line: u64,
}

/// A row read and checked on its own, before it is placed among the others.
struct ParsedRow {
    platform: Platform,
    account_id: String,
    currency: Currency,
    campaign_id: String,
    level: Level,
    ad_group_id: Option<String>,
    ad_id: Option<String>,
    date: NaiveDate,
    zone: Option<Tz>,
    day: DayRow,
}

impl Record<'_> {
    fn field(&self, i: usize) -> &str {
        self.record.get(self.cols[i]).unwrap_or("")
    }

    fn extra(&self, name: &str) -> &str {
        self.opt
            .get(name)
            .and_then(|i| self.record.get(*i))
            .unwrap_or("")
    }

    fn text(&self, name: &str) -> Option<String> {
        Some(self.extra(name).to_string()).filter(|s| !s.is_empty())
    }

    fn err(&self, message: String) -> CsvError {
        CsvError {
            line: self.line,
            message,
        }
    }

    fn parse(&self) -> Result<ParsedRow, CsvError> {
        let err = |message: String| self.err(message);
        let platform = Platform::from_str(self.field(0)).map_err(|e| err(e.to_string()))?;
        let account_id = non_empty(self.field(1), "account_id").map_err(err)?;
        let currency = Currency::from_str(self.field(2)).map_err(|e| err(e.to_string()))?;
        let campaign_id = non_empty(self.field(3), "campaign_id").map_err(err)?;
        let level = self.level()?;
        let ad_group_id = self.text("ad_group_id");
        let ad_id = self.text("ad_id");
        if level != Level::Campaign && ad_group_id.is_none() {
            return Err(err(format!("an {} row needs ad_group_id", level.as_str())));
        }
        if level == Level::Ad && ad_id.is_none() {
            return Err(err("an ad row needs ad_id".to_string()));
        }
        // campaign_name names the row's campaign; below campaigns the object's own name is in
        // ad_group_name or ad_name.
        let campaign_name = Some(self.field(4).to_string()).filter(|s| !s.is_empty());
        let (name, ad_group_name) = match level {
            Level::Ad => (
                self.extra("ad_name").to_string(),
                self.text("ad_group_name"),
            ),
            Level::AdGroup => (
                self.extra("ad_group_name").to_string(),
                self.text("ad_group_name"),
            ),
            _ => (self.field(4).to_string(), None),
        };
        let status = self.status()?;
        let lifetime_budget = self.optional_money("lifetime_budget", currency)?;
        // Version 1 read a blank campaign budget as 0; below campaigns, and beside a lifetime
        // budget, a blank means the object has no daily budget.
        let budget = if self.field(6).is_empty()
            && (level != Level::Campaign || lifetime_budget.is_some())
        {
            None
        } else {
            Some(money(self.field(6), "daily_budget", currency).map_err(err)?)
        };
        let bid = self.optional_money("bid", currency)?;
        let date = NaiveDate::parse_from_str(self.field(7), "%Y-%m-%d").map_err(|_| {
            err(format!(
                "date \"{}\" is not a date such as 2026-03-31",
                self.field(7)
            ))
        })?;
        let (created_at, end_date) = self.lifetime_dates()?;
        let zone = self.zone()?;
        Ok(ParsedRow {
            platform,
            account_id,
            currency,
            campaign_id,
            level,
            ad_group_id,
            ad_id,
            date,
            zone,
            day: DayRow {
                totals: self.totals(currency)?,
                name,
                campaign_name,
                ad_group_name,
                status,
                budget,
                lifetime_budget,
                bid,
                created_at,
                end_date,
                paused_by_rule: self.text("paused_by_rule"),
                line: self.line,
            },
        })
    }

    fn level(&self) -> Result<Level, CsvError> {
        match self
            .extra("level")
            .to_ascii_lowercase()
            .replace(' ', "_")
            .as_str()
        {
            "" | "campaign" => Ok(Level::Campaign),
            "ad_group" | "ad_set" | "adgroup" | "adset" => Ok(Level::AdGroup),
            "ad" => Ok(Level::Ad),
            other => Err(self.err(format!("level \"{other}\" is not campaign, ad_group or ad"))),
        }
    }

    fn status(&self) -> Result<CampaignStatus, CsvError> {
        match self.field(5).to_ascii_lowercase().as_str() {
            "active" | "enabled" => Ok(CampaignStatus::Active),
            "paused" => Ok(CampaignStatus::Paused),
            "removed" | "deleted" | "archived" => Ok(CampaignStatus::Removed),
            other => Err(self.err(format!(
                "status \"{other}\" is not active, paused or removed"
            ))),
        }
    }

    fn optional_money(&self, name: &str, currency: Currency) -> Result<Option<Money>, CsvError> {
        match self.extra(name) {
            "" => Ok(None),
            s => money(s, name, currency).map(Some).map_err(|m| self.err(m)),
        }
    }

    /// `created_at` and `end_date`, each optional.
    fn lifetime_dates(
        &self,
    ) -> Result<(Option<DateTime<FixedOffset>>, Option<NaiveDate>), CsvError> {
        let created_at = match self.extra("created_at") {
            "" => None,
            s => Some(DateTime::parse_from_rfc3339(s).map_err(|_| {
                self.err(format!(
                    "created_at \"{s}\" is not an RFC 3339 time such as 2026-03-01T09:30:00Z"
                ))
            })?),
        };
        let end_date = match self.extra("end_date") {
            "" => None,
            s => Some(NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| {
                self.err(format!("end_date \"{s}\" is not a date such as 2026-03-31"))
            })?),
        };
        Ok((created_at, end_date))
    }

    fn zone(&self) -> Result<Option<Tz>, CsvError> {
        self.text("time_zone")
            .map(|zone| {
                zone.parse().map_err(|_| {
                    self.err(format!(
                        "time_zone \"{zone}\" is not an IANA time zone such as Europe/Berlin"
                    ))
                })
            })
            .transpose()
    }

    fn totals(&self, currency: Currency) -> Result<Totals, CsvError> {
        let err = |message: String| self.err(message);
        let (field, extra) = (|i| self.field(i), |n| self.extra(n));
        Ok(Totals {
            impressions: count(field(8), "impressions").map_err(err)?,
            clicks: count(field(9), "clicks").map_err(err)?,
            spend_micros: money(field(10), "spend", currency).map_err(err)?.micros,
            conversions: decimal(field(11), "conversions").map_err(err)?,
            revenue_micros: money(field(12), "revenue", currency).map_err(err)?.micros,
            all_clicks: match extra("all_clicks") {
                // Where a platform makes no difference, all clicks are the clicks.
                "" => count(field(9), "clicks").map_err(err)?,
                s => count(s, "all_clicks").map_err(err)?,
            },
            purchases: decimal(extra("purchases"), "purchases").map_err(err)?,
            purchase_value_micros: money(extra("purchase_value"), "purchase_value", currency)
                .map_err(err)?
                .micros,
            leads: decimal(extra("leads"), "leads").map_err(err)?,
            installs: decimal(extra("installs"), "installs").map_err(err)?,
            registrations: decimal(extra("registrations"), "registrations").map_err(err)?,
        })
    }
}

/// The table as it is built, with what later rows are checked against: each object's place,
/// and the currency and time zone each account had first (with the line that set it).
#[derive(Default)]
struct Placing {
    table: MetricsTable,
    by_key: HashMap<(Platform, String, Level, String), usize>,
    account_currency: HashMap<AccountKey, (Currency, u64)>,
    account_zone: HashMap<AccountKey, (Tz, u64)>,
}

impl Placing {
    fn place(&mut self, row: ParsedRow) -> Result<(), String> {
        let line = row.day.line;
        let account_id = row.account_id;
        let account_key = (row.platform, account_id.clone());
        let currency = row.currency;
        match self.account_currency.get(&account_key) {
            Some((c, first)) if *c != currency => {
                return Err(format!(
                    "account {account_id} is in {currency} here but in {c} on line {first}"
                ));
            }
            Some(_) => {}
            None => {
                self.account_currency
                    .insert(account_key.clone(), (currency, line));
            }
        }
        if let Some(tz) = row.zone {
            match self.account_zone.get(&account_key) {
                Some((z, first)) if *z != tz => {
                    return Err(format!(
                        "account {account_id} is in time zone {tz} here but {z} on line {first}"
                    ));
                }
                Some(_) => {}
                None => {
                    self.account_zone.insert(account_key.clone(), (tz, line));
                }
            }
        }
        let level = row.level;
        let object_id = match level {
            Level::Ad => row.ad_id.clone().unwrap_or_default(),
            Level::AdGroup => row.ad_group_id.clone().unwrap_or_default(),
            _ => row.campaign_id.clone(),
        };
        let key = (row.platform, account_id.clone(), level, object_id.clone());
        let objects = &mut self.table.objects;
        let idx = *self.by_key.entry(key).or_insert_with(|| {
            objects.push(ObjectDays {
                platform: row.platform,
                account_id,
                currency,
                level,
                campaign_id: row.campaign_id.clone(),
                ad_group_id: row.ad_group_id.clone().filter(|_| level != Level::Campaign),
                ad_id: row.ad_id.clone().filter(|_| level == Level::Ad),
                days: BTreeMap::new(),
            });
            objects.len() - 1
        });
        let days = &mut objects[idx].days;
        if let Some(prev) = days.get(&row.date) {
            let what = match level {
                Level::Ad => "ad",
                Level::AdGroup => "ad group",
                _ => "campaign",
            };
            return Err(format!(
                "{what} {object_id} already has a row for {} on line {}",
                row.date, prev.line
            ));
        }
        days.insert(row.date, row.day);
        Ok(())
    }
}

fn created_day(row: &DayRow, zone: Tz) -> Option<NaiveDate> {
    row.created_at.map(|t| t.with_timezone(&zone).date_naive())
}

fn add_totals(into: &mut HashMap<WindowKey, Totals>, from: &HashMap<WindowKey, Totals>) {
    for (k, t) in from {
        into.entry(*k).or_default().add(t);
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
        let facts = t.facts(At::Date(as_of), &BTreeSet::from([WindowKey::Lifetime]));
        assert_eq!(facts[0].status, CampaignStatus::Paused);
        assert_eq!(facts[0].daily_budget.micros, 70_000_000);
        assert_eq!(facts[0].totals[&WindowKey::Lifetime].clicks, 2);
    }
}
