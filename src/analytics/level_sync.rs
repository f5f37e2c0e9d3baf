//! The ad-group and ad part of an account's sync: structure after the campaigns, and each
//! range's daily rows written in the same transaction as that range's campaign rows, so the
//! sync's progress (and a resume after an interruption) covers every level at once.

use std::collections::HashMap;

use uuid::Uuid;

use super::conversions::{ConversionSettings, derive};
use super::level_ingest::{self, LevelRow, Table};
use crate::campaigns::levels as structure;
use crate::db::Conn;
use crate::platforms::{Ad, AdGroup, LevelMetrics};
use crate::types::Money;

/// The account a sync writes for (defined with the tables it keys, in `campaigns::levels`).
pub use crate::campaigns::levels::AccountKey;

/// What a range's level reports hold, to be written with its campaign rows.
#[derive(Debug, Default)]
pub struct LevelChunk {
    pub ad_groups: Vec<LevelMetrics>,
    pub ads: Vec<LevelMetrics>,
}

impl LevelChunk {
    pub fn len(&self) -> usize {
        self.ad_groups.len() + self.ads.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Stores the account's listed ad groups and ads (the whole account: what is missing from
/// the listings is marked removed).
pub async fn store_structure(
    c: &mut Conn,
    account: AccountKey,
    campaigns: &HashMap<String, Uuid>,
    ad_groups: &[AdGroup],
    ads: &[Ad],
) -> diesel::QueryResult<()> {
    let groups = structure::upsert_ad_groups(c, account, campaigns, ad_groups, true).await?;
    structure::upsert_ads(c, account, campaigns, &groups, ads, true).await?;
    Ok(())
}

/// The account's ad groups by platform id, after adding those seen only in the reports.
async fn known_ad_groups(
    c: &mut Conn,
    account: AccountKey,
    campaigns: &HashMap<String, Uuid>,
    chunk: &LevelChunk,
) -> diesel::QueryResult<HashMap<String, Uuid>> {
    let AccountKey {
        org_id,
        account_id,
        platform,
        currency,
    } = account;
    let mut groups = structure::ad_group_ids(c, org_id, account_id).await?;
    let mut unseen: Vec<(String, Uuid, String)> = Vec::new();
    for m in &chunk.ad_groups {
        let Some(g) = m.ad_group_id.as_ref() else {
            continue;
        };
        if !groups.contains_key(g)
            && let Some(camp) = campaigns.get(&m.campaign_id)
            && !unseen.iter().any(|u| &u.0 == g)
        {
            unseen.push((g.clone(), *camp, m.name.clone()));
        }
    }
    for m in &chunk.ads {
        let Some(g) = m.ad_group_id.as_ref() else {
            continue;
        };
        if !groups.contains_key(g)
            && let Some(camp) = campaigns.get(&m.campaign_id)
            && !unseen.iter().any(|u| &u.0 == g)
        {
            unseen.push((g.clone(), *camp, String::new()));
        }
    }
    if !unseen.is_empty() {
        groups =
            structure::ensure_known_ad_groups(c, org_id, account_id, platform, currency, &unseen)
                .await?;
    }
    Ok(groups)
}

/// The account's ads by (ad group, platform id), after adding those seen only in the reports.
async fn known_ads(
    c: &mut Conn,
    account: AccountKey,
    campaigns: &HashMap<String, Uuid>,
    groups: &HashMap<String, Uuid>,
    chunk: &LevelChunk,
) -> diesel::QueryResult<HashMap<(Uuid, String), Uuid>> {
    let AccountKey {
        org_id,
        account_id,
        platform,
        ..
    } = account;
    let mut ads = structure::ad_ids(c, org_id, account_id).await?;
    let mut unseen_ads: Vec<(Uuid, Uuid, String, String)> = Vec::new();
    for m in &chunk.ads {
        let (Some(g), Some(a), Some(camp)) = (
            m.ad_group_id.as_ref().and_then(|g| groups.get(g)),
            m.ad_id.as_ref(),
            campaigns.get(&m.campaign_id),
        ) else {
            continue;
        };
        if !ads.contains_key(&(*g, a.clone())) && !unseen_ads.iter().any(|u| u.1 == *g && &u.2 == a)
        {
            unseen_ads.push((*camp, *g, a.clone(), m.name.clone()));
        }
    }
    if !unseen_ads.is_empty() {
        ads = structure::ensure_known_ads(c, org_id, account_id, platform, &unseen_ads).await?;
    }
    Ok(ads)
}

/// Writes a range's ad-group and ad rows (inside the tenant transaction of that range).
/// Objects seen only in the reports (deleted since) are added as removed first. Rows in
/// another currency than the account's are left out, as at campaign level. Returns how many
/// rows were new or changed.
pub async fn store_chunk(
    c: &mut Conn,
    account: AccountKey,
    settings: &ConversionSettings,
    campaigns: &HashMap<String, Uuid>,
    chunk: &LevelChunk,
) -> diesel::QueryResult<usize> {
    let AccountKey {
        account_id,
        platform,
        currency,
        ..
    } = account;
    if chunk.is_empty() {
        return Ok(0);
    }
    let groups = known_ad_groups(c, account, campaigns, chunk).await?;
    let ads = known_ads(c, account, campaigns, &groups, chunk).await?;
    let row = |m: &LevelMetrics, ad_id: Option<Uuid>| -> Option<LevelRow> {
        if m.spend.currency != currency || m.revenue.currency != currency {
            return None;
        }
        let d = derive(platform, &m.conversion_types, settings);
        let micros = |v| Money::from_major(v, currency).map(|x| x.micros);
        Some(LevelRow {
            account_id,
            campaign_id: *campaigns.get(&m.campaign_id)?,
            ad_group_id: *groups.get(m.ad_group_id.as_ref()?)?,
            ad_id,
            date: m.date,
            impressions: m.impressions,
            clicks: m.clicks,
            all_clicks: m.all_clicks,
            spend_micros: m.spend.micros,
            conversions: d.conversions,
            revenue_micros: micros(d.revenue).unwrap_or(m.revenue.micros),
            purchases: d.purchases,
            purchase_value_micros: d.purchase_value.and_then(micros),
            leads: d.leads,
            installs: d.installs,
            registrations: d.registrations,
            conversion_types: m.conversion_types.clone(),
        })
    };
    let group_rows: Vec<LevelRow> = chunk
        .ad_groups
        .iter()
        .filter_map(|m| row(m, None))
        .collect();
    let ad_rows: Vec<LevelRow> = chunk
        .ads
        .iter()
        .filter_map(|m| {
            let g = *groups.get(m.ad_group_id.as_ref()?)?;
            let a = *ads.get(&(g, m.ad_id.clone()?))?;
            row(m, Some(a))
        })
        .collect();
    let mut changed = level_ingest::upsert(c, Table::AdGroups, &group_rows).await?;
    changed += level_ingest::upsert(c, Table::Ads, &ad_rows).await?;
    Ok(changed)
}
