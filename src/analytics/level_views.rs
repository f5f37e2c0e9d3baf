//! The dashboard's table below the campaigns, ready to show: the switch between campaigns, ad
//! groups (Meta: ad sets) and ads, the sortable head, rows that link down to each object's
//! page, totals per currency against the previous period, and the CSV of every row.

use super::format::{Delta, Kpi, delta};
use super::level_table::{LevelPage, LevelRow};
use super::queries::{Sort, SortKey};
use super::routes::ColumnHead;
use super::views::{DashParams, spreadsheet_text};
use crate::platforms::Level;
use crate::types::Platform;

/// One choice of the level switch above the table.
pub struct LevelTab {
    pub label: &'static str,
    pub href: String,
    pub hx: String,
    pub current: bool,
}

/// Campaigns, ad groups / ad sets, ads: each keeps the range, filters and sort, from page 1.
pub fn tabs(p: &DashParams) -> Vec<LevelTab> {
    [Level::Campaign, Level::AdGroup, Level::Ad]
        .into_iter()
        .map(|level| {
            let qs = p.at_level(level).query_string(p.sort, 1);
            LevelTab {
                label: match level {
                    Level::Campaign => "Campaigns",
                    Level::AdGroup => "Ad groups / ad sets",
                    Level::Ad => "Ads",
                },
                href: format!("/dashboard?{qs}#campaigns"),
                hx: format!("/dashboard/table?{qs}"),
                current: p.level == level,
            }
        })
        .collect()
}

/// The table's heading for `level`.
pub fn heading(level: Level) -> &'static str {
    match level {
        Level::Campaign => "By campaign",
        Level::AdGroup => "By ad group (ad set on Meta)",
        Level::Ad => "By ad",
    }
}

/// What a row at the ad-group level is called on its platform.
pub fn group_word(platform: Platform) -> &'static str {
    match platform {
        Platform::Meta => "ad set",
        _ => "ad group",
    }
}

pub struct LevelRowView {
    pub href: String,
    pub name: String,
    /// "ad set", "ad group" or "ad".
    pub word: &'static str,
    /// An ad's ad group: its link, name and what it is called.
    pub group: Option<(String, String, &'static str)>,
    pub campaign_href: String,
    pub campaign_name: String,
    pub platform: &'static str,
    pub account: String,
    pub status: String,
    pub currency: String,
    pub cells: Vec<String>,
    pub previous_spend: String,
    pub spend_delta: Option<Delta>,
    /// Spend in the range after none in the previous period.
    pub new_spend: bool,
}

pub struct LevelTotalView {
    pub currency: String,
    pub objects: i64,
    pub cells: Vec<String>,
    pub previous_spend: String,
    pub spend_delta: Option<Delta>,
}

pub struct DashLevelTable {
    pub is_ad: bool,
    /// "ad groups and ad sets" or "ads", for sentences.
    pub noun: &'static str,
    pub columns: Vec<ColumnHead>,
    pub rows: Vec<LevelRowView>,
    pub totals: Vec<LevelTotalView>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub first_row: i64,
    pub last_row: i64,
    pub prev: Option<(String, String)>,
    pub next: Option<(String, String)>,
    pub csv_href: String,
}

fn head(p: &DashParams, label: &'static str, key: Option<SortKey>, num: bool) -> ColumnHead {
    let Some(key) = key else {
        return ColumnHead {
            label,
            num,
            href: String::new(),
            hx: String::new(),
            aria_sort: "none",
            arrow: "",
        };
    };
    let active = p.sort.key == key;
    let next = Sort {
        key,
        desc: if active {
            !p.sort.desc
        } else {
            key.default_desc()
        },
    };
    let qs = p.query_string(next, 1);
    ColumnHead {
        label,
        num,
        href: format!("/dashboard?{qs}#campaigns"),
        hx: format!("/dashboard/table?{qs}"),
        aria_sort: match (active, p.sort.desc) {
            (false, _) => "none",
            (true, true) => "descending",
            (true, false) => "ascending",
        },
        arrow: match (active, p.sort.desc) {
            (false, _) => "",
            (true, true) => "▼",
            (true, false) => "▲",
        },
    }
}

fn columns(p: &DashParams) -> Vec<ColumnHead> {
    let mut cols = Vec::new();
    if p.level == Level::Ad {
        cols.push(head(p, "Ad", Some(SortKey::Name), false));
        cols.push(head(p, "Ad group / ad set", None, false));
    } else {
        cols.push(head(p, "Ad group / ad set", Some(SortKey::Name), false));
    }
    cols.push(head(p, "Campaign", None, false));
    cols.push(head(p, "Platform", Some(SortKey::Platform), false));
    cols.push(head(p, "Account", Some(SortKey::Account), false));
    cols.push(head(p, "Status", Some(SortKey::Status), false));
    cols.push(head(p, "Currency", Some(SortKey::Currency), false));
    for k in Kpi::ALL {
        cols.push(head(p, k.label(), SortKey::parse(k.as_str()), true));
    }
    cols
}

fn row_view(p: &DashParams, r: &LevelRow) -> LevelRowView {
    let range = p.range_qs();
    let word = if p.level == Level::Ad {
        "ad"
    } else {
        group_word(r.platform)
    };
    let path = if p.level == Level::Ad {
        "ads"
    } else {
        "ad-groups"
    };
    LevelRowView {
        href: format!("/{path}/{}?{range}", r.id),
        name: r.name.clone(),
        word,
        group: r.group.as_ref().map(|(id, name)| {
            (
                format!("/ad-groups/{id}?{range}"),
                name.clone(),
                group_word(r.platform),
            )
        }),
        campaign_href: format!("/campaigns/{}?{range}", r.campaign_id),
        campaign_name: r.campaign_name.clone(),
        platform: r.platform.label(),
        account: r.account_name.clone(),
        status: r.status.clone(),
        currency: r.currency.as_str().to_string(),
        cells: Kpi::ALL
            .iter()
            .map(|k| k.display(&r.metrics, r.currency, true))
            .collect(),
        previous_spend: Kpi::Spend.display(&r.previous, r.currency, true),
        spend_delta: delta(Kpi::Spend, &r.metrics, &r.previous),
        new_spend: r.previous.spend_micros == 0 && r.metrics.spend_micros > 0,
    }
}

/// The table for `p.level` (ad group or ad) from one page of rows.
pub fn table(p: &DashParams, page: &LevelPage) -> DashLevelTable {
    let pages = ((page.total + p.per - 1) / p.per).max(1);
    let link = |n: i64| {
        let qs = p.query_string(p.sort, n);
        (
            format!("/dashboard?{qs}#campaigns"),
            format!("/dashboard/table?{qs}"),
        )
    };
    let first_row = if page.total == 0 {
        0
    } else {
        (p.page - 1) * p.per + 1
    };
    DashLevelTable {
        is_ad: p.level == Level::Ad,
        noun: if p.level == Level::Ad {
            "ads"
        } else {
            "ad groups and ad sets"
        },
        columns: columns(p),
        rows: page.rows.iter().map(|r| row_view(p, r)).collect(),
        totals: page
            .totals
            .iter()
            .filter(|t| t.objects > 0)
            .map(|t| LevelTotalView {
                currency: t.currency.as_str().to_string(),
                objects: t.objects,
                cells: Kpi::ALL
                    .iter()
                    .map(|k| k.display(&t.current, t.currency, true))
                    .collect(),
                previous_spend: Kpi::Spend.display(&t.previous, t.currency, true),
                spend_delta: delta(Kpi::Spend, &t.current, &t.previous),
            })
            .collect(),
        total: page.total,
        page: p.page,
        pages,
        first_row,
        last_row: (first_row + page.rows.len() as i64 - 1).max(0),
        prev: (p.page > 1).then(|| link(p.page - 1)),
        next: (p.page < pages).then(|| link(p.page + 1)),
        csv_href: format!(
            "/dashboard/campaigns.csv?{}",
            p.query_string(p.sort, p.page)
        ),
    }
}

/// The CSV of every row of the level table, with the same sort and numbers as the page (no
/// thousands separators), the previous period's spend beside the range's.
pub fn csv(level: Level, rows: &[LevelRow]) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = vec!["Level", "ID", "Name"];
    if level == Level::Ad {
        header.extend(["Ad group ID", "Ad group / ad set"]);
    }
    header.extend([
        "Campaign ID",
        "Campaign",
        "Platform",
        "Account",
        "Status",
        "Currency",
    ]);
    header.extend(Kpi::ALL.iter().map(|k| k.label()));
    header.push("Spend (previous period)");
    w.write_record(&header)?;
    for r in rows {
        let word = if level == Level::Ad {
            "ad"
        } else {
            group_word(r.platform)
        };
        let mut rec = vec![
            word.to_string(),
            r.id.to_string(),
            spreadsheet_text(&r.name),
        ];
        if level == Level::Ad {
            let (gid, gname) = r
                .group
                .as_ref()
                .map(|(id, n)| (id.to_string(), spreadsheet_text(n)))
                .unwrap_or_default();
            rec.extend([gid, gname]);
        }
        rec.extend([
            r.campaign_id.to_string(),
            spreadsheet_text(&r.campaign_name),
            r.platform.label().to_string(),
            spreadsheet_text(&r.account_name),
            spreadsheet_text(&r.status),
            r.currency.as_str().to_string(),
        ]);
        rec.extend(
            Kpi::ALL
                .iter()
                .map(|k| k.display(&r.metrics, r.currency, false)),
        );
        rec.push(Kpi::Spend.display(&r.previous, r.currency, false));
        w.write_record(&rec)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}
