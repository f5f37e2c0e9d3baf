//! What every analytics-style page shares (the dashboard, a campaign's page, reports): the
//! query string of ranges, filters and sorting, today in the organization's time zone, and the
//! KPI tiles and pickers. Pages of other modules take these from here, not from a route file.

use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use uuid::Uuid;

use super::format::{Delta, Kpi, delta};
use super::queries::{self, Filters, Sort, SortKey};
use super::range::{self, DateRange, Preset};
use crate::platforms::Level;
use crate::types::Platform;
use crate::web::context::Viewer;

pub const DEFAULT_PER_PAGE: i64 = 50;
pub const MAX_PER_PAGE: i64 = 500;

/// The query string of every dashboard link. Unknown or malformed values fall back to the
/// defaults rather than failing the page.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DashQuery {
    pub range: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub platform: Option<String>,
    pub account: Option<String>,
    pub status: Option<String>,
    pub q: Option<String>,
    pub sort: Option<String>,
    pub dir: Option<String>,
    pub page: Option<String>,
    pub per: Option<String>,
    pub kpi1: Option<String>,
    pub kpi2: Option<String>,
    /// The preset the form showed when it was drawn: a different `range` means the person
    /// picked a preset, so the From/To the form also sends (the old dates) do not count.
    pub range_was: Option<String>,
    /// The dashboard table's level: campaign (default), ad_group or ad.
    pub level: Option<String>,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// At most `n` characters of what a visitor typed, for quoting it back.
fn clip(s: &str, n: usize) -> String {
    match s.char_indices().nth(n) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// What the query string asks for, checked.
#[derive(Debug, Clone)]
pub struct DashParams {
    pub preset: Preset,
    pub range: DateRange,
    pub range_error: Option<String>,
    pub from_text: String,
    pub to_text: String,
    pub filters: Filters,
    pub search_text: String,
    pub sort: Sort,
    pub page: i64,
    pub per: i64,
    pub kpi_a: Kpi,
    pub kpi_b: Kpi,
    /// What the dashboard's table lists (campaigns, ad groups or ads).
    pub level: Level,
}

impl DashParams {
    pub fn parse(q: &DashQuery, today: NaiveDate) -> DashParams {
        let fallback = Preset::Last30;
        let asked = non_empty(&q.range);
        let mut preset = asked.and_then(Preset::parse).unwrap_or(fallback);
        // An old bookmark or a hand-edited link names a range we don't have: say so rather
        // than show another period as if it were the one asked for.
        let mut range_error = asked
            .filter(|a| Preset::parse(a).is_none())
            .map(|a| format!("There is no date range called “{}”.", clip(a, 40)));
        // The form always sends the dates it shows; dates changed by hand without also
        // choosing "Custom dates" still mean those dates. A newly chosen preset wins over the
        // dates it was drawn with.
        let preset_just_chosen = non_empty(&q.range_was).is_some_and(|was| Some(was) != asked);
        if let (Some(from), Some(to)) = (non_empty(&q.from), non_empty(&q.to))
            && preset != Preset::Custom
            && !preset_just_chosen
            && let Ok(typed) = range::custom(from, to)
            && range::resolve(preset, today) != Some(typed)
        {
            preset = Preset::Custom;
        }
        let range = match range::resolve(preset, today) {
            Some(r) => r,
            None => match range::custom(
                non_empty(&q.from).unwrap_or(""),
                non_empty(&q.to).unwrap_or(""),
            ) {
                Ok(r) => r,
                Err(e) => {
                    range_error = Some(e.to_string());
                    preset = fallback;
                    range::resolve(fallback, today).unwrap_or(DateRange {
                        from: today,
                        to: today,
                    })
                }
            },
        };
        let filters = Filters {
            platform: non_empty(&q.platform).and_then(|p| p.parse::<Platform>().ok()),
            account_id: non_empty(&q.account).and_then(|a| a.parse::<Uuid>().ok()),
            status: non_empty(&q.status)
                .filter(|s| matches!(*s, "active" | "paused" | "removed"))
                .map(str::to_string),
            search: non_empty(&q.q).map(|s| s.chars().take(200).collect()),
            campaign_id: None,
        };
        let key = non_empty(&q.sort).and_then(SortKey::parse);
        let sort = match key {
            Some(key) => Sort {
                key,
                desc: match non_empty(&q.dir) {
                    Some("asc") => false,
                    Some("desc") => true,
                    _ => key.default_desc(),
                },
            },
            None => Sort::default(),
        };
        let page = non_empty(&q.page)
            .and_then(|p| p.parse::<i64>().ok())
            .filter(|p| *p >= 1)
            .unwrap_or(1);
        let per = non_empty(&q.per)
            .and_then(|p| p.parse::<i64>().ok())
            .map(|p| p.clamp(1, MAX_PER_PAGE))
            .unwrap_or(DEFAULT_PER_PAGE);
        let kpi_a = non_empty(&q.kpi1)
            .and_then(Kpi::parse)
            .unwrap_or(Kpi::Spend);
        let kpi_b = non_empty(&q.kpi2)
            .and_then(Kpi::parse)
            .unwrap_or(Kpi::Conversions);
        DashParams {
            preset,
            range,
            range_error,
            from_text: range.from.to_string(),
            to_text: range.to.to_string(),
            search_text: filters.search.clone().unwrap_or_default(),
            filters,
            sort,
            page,
            per,
            kpi_a,
            kpi_b,
            level: non_empty(&q.level)
                .and_then(|l| l.parse::<Level>().ok())
                .unwrap_or(Level::Campaign),
        }
    }

    /// The query string for these parameters, with the sort and page replaced.
    pub fn query_string(&self, sort: Sort, page: i64) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("range", self.preset.as_str());
        if self.preset == Preset::Custom {
            s.append_pair("from", &self.from_text);
            s.append_pair("to", &self.to_text);
        }
        if let Some(p) = self.filters.platform {
            s.append_pair("platform", p.as_str());
        }
        if let Some(a) = self.filters.account_id {
            s.append_pair("account", &a.to_string());
        }
        if let Some(st) = &self.filters.status {
            s.append_pair("status", st);
        }
        if let Some(q) = &self.filters.search {
            s.append_pair("q", q);
        }
        s.append_pair("sort", sort.key.as_str());
        s.append_pair("dir", if sort.desc { "desc" } else { "asc" });
        if page > 1 {
            s.append_pair("page", &page.to_string());
        }
        if self.per != DEFAULT_PER_PAGE {
            s.append_pair("per", &self.per.to_string());
        }
        s.append_pair("kpi1", self.kpi_a.as_str());
        s.append_pair("kpi2", self.kpi_b.as_str());
        if self.level != Level::Campaign {
            s.append_pair("level", self.level.as_str());
        }
        s.finish()
    }

    /// Only the date range, for links to another page that should show the same period
    /// (drilling down from a table, breadcrumbs back up).
    pub fn range_qs(&self) -> String {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        s.append_pair("range", self.preset.as_str());
        if self.preset == Preset::Custom {
            s.append_pair("from", &self.from_text);
            s.append_pair("to", &self.to_text);
        }
        s.finish()
    }

    /// These parameters showing the table at `level`, from its first page.
    pub fn at_level(&self, level: Level) -> DashParams {
        DashParams {
            level,
            page: 1,
            ..self.clone()
        }
    }

    pub(super) fn current_qs(&self) -> String {
        self.query_string(self.sort, self.page)
    }
}

/// Today in the organization's time zone.
pub fn org_today(v: &Viewer) -> NaiveDate {
    Utc::now().with_timezone(&v.tz()).date_naive()
}

pub struct TileView {
    pub label: &'static str,
    pub value: String,
    pub previous: String,
    pub delta: Option<Delta>,
}

pub struct CurrencyTiles {
    pub currency: String,
    pub tiles: Vec<TileView>,
}

/// KPI tiles per currency, each against the previous period.
pub fn tiles(totals: &[queries::CurrencyTotals]) -> Vec<CurrencyTiles> {
    totals
        .iter()
        .map(|t| CurrencyTiles {
            currency: t.currency.as_str().to_string(),
            tiles: Kpi::ALL
                .iter()
                .map(|k| TileView {
                    label: k.label(),
                    value: k.display(&t.current, t.currency, true),
                    previous: k.display(&t.previous, t.currency, true),
                    delta: delta(*k, &t.current, &t.previous),
                })
                .collect(),
        })
        .collect()
}

pub struct PresetOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

pub struct KpiOption {
    pub value: &'static str,
    pub label: &'static str,
    pub selected_a: bool,
    pub selected_b: bool,
}

pub fn preset_options(current: Preset) -> Vec<PresetOption> {
    Preset::ALL
        .iter()
        .map(|p| PresetOption {
            value: p.as_str(),
            label: p.label(),
            selected: *p == current,
        })
        .collect()
}

pub fn kpi_options(a: Kpi, b: Kpi) -> Vec<KpiOption> {
    Kpi::ALL
        .iter()
        .map(|k| KpiOption {
            value: k.as_str(),
            label: k.label(),
            selected_a: *k == a,
            selected_b: *k == b,
        })
        .collect()
}

/// A text cell a spreadsheet will not read as a formula. Names come from the platforms (anyone
/// with access to the ad account can type them), so `=HYPERLINK(...)` must arrive as text: a
/// leading `= + - @`, tab or carriage return gets a `'` in front (OWASP's CSV-injection advice).
/// Number cells are written by us and left alone so they stay numbers.
pub fn spreadsheet_text(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}
