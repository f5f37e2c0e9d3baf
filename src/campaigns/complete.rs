//! The part of a create beyond the campaign: what the form asked for (stored with the push as
//! its spec), the objects the platform made (recorded as steps as soon as their ids are
//! known), and bringing the new ad groups and ads into adpilot at once so the status page can
//! link to them.
//!
//! Google Search is complete: budget, campaign, locations, languages, ad group, keywords and
//! one responsive search ad per kept copy variation, in one atomic `googleAds:mutate`. Meta
//! gets campaign, ad set, image, creatives and ads as recorded steps (`meta_push.rs`), TikTok
//! campaign, ad group, image, identity and ads the same way (`tiktok_push.rs`).

use std::collections::HashMap;

use diesel::sql_types::{Integer, Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::Conn;
use crate::jobs::JobError;
use crate::platforms::create::{CreatedObject, Keyword, SearchAd, SearchCampaignSpec, Target};
use crate::platforms::{Campaign, CampaignStatus};
use crate::types::Money;

/// What a push makes beyond the campaign; empty for a campaign-only push.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub google: Option<GoogleSpec>,
    /// Meta: ad set, image, creatives and ads, made as recorded steps (`meta_push.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<super::meta_create::MetaSpec>,
    /// TikTok: ad group, image, identity and ads, made as recorded steps (`tiktok_push.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tiktok: Option<super::tiktok_create::TiktokSpec>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GoogleSpec {
    pub ad_group_name: String,
    pub max_cpc_micros: i64,
    pub final_url: String,
    pub locations: Vec<Target>,
    pub languages: Vec<Target>,
    pub keywords: Vec<Keyword>,
    pub ads: Vec<SearchAd>,
}

impl GoogleSpec {
    pub fn search_spec(
        &self,
        name: &str,
        daily_budget: Money,
        status: CampaignStatus,
    ) -> SearchCampaignSpec {
        SearchCampaignSpec {
            name: name.to_string(),
            daily_budget,
            status,
            ad_group_name: self.ad_group_name.clone(),
            max_cpc: Money::new(self.max_cpc_micros, daily_budget.currency),
            final_url: self.final_url.clone(),
            locations: self.locations.clone(),
            languages: self.languages.clone(),
            keywords: self.keywords.clone(),
            ads: self.ads.clone(),
        }
    }
}

/// One object a push made (or found), for the status page.
#[derive(Debug, Clone, diesel::QueryableByName)]
pub struct StepView {
    #[diesel(sql_type = SqlUuid)]
    pub push_id: Uuid,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub label: String,
    #[diesel(sql_type = Text)]
    pub state: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub external_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    /// adpilot's page for the object, when it is an ad group adpilot knows already.
    #[diesel(sql_type = Nullable<SqlUuid>)]
    pub ad_group_page: Option<Uuid>,
}

/// Records made objects after those already recorded (a retry that finds more appends).
pub async fn record_steps(
    c: &mut Conn,
    org_id: Uuid,
    push_id: Uuid,
    objects: &[CreatedObject],
    state: &str,
) -> diesel::QueryResult<()> {
    for o in objects {
        diesel::sql_query(
            "INSERT INTO campaign_push_steps (org_id, push_id, position, kind, label, state, external_id)
             SELECT $1, $2, coalesce(max(position) + 1, 0), $3, $4, $5, $6
             FROM campaign_push_steps WHERE org_id = $1 AND push_id = $2",
        )
        .bind::<SqlUuid, _>(org_id)
        .bind::<SqlUuid, _>(push_id)
        .bind::<Text, _>(&o.kind)
        .bind::<Text, _>(&o.label)
        .bind::<Text, _>(state)
        .bind::<Text, _>(&o.id)
        .execute(c)
        .await?;
    }
    Ok(())
}

/// The steps of every push of a batch, by push.
pub async fn steps_of_batch(
    c: &mut Conn,
    batch_id: Uuid,
) -> diesel::QueryResult<HashMap<Uuid, Vec<StepView>>> {
    let rows: Vec<StepView> = diesel::sql_query(
        "SELECT s.push_id, s.kind, s.label, s.state, s.external_id, s.error, g.id AS ad_group_page
         FROM campaign_push_steps s
         JOIN campaign_pushes p ON p.id = s.push_id
         LEFT JOIN ad_groups g ON s.kind = 'ad_group' AND g.org_id = p.org_id
           AND g.account_id = p.account_id AND g.external_id = s.external_id
         WHERE p.batch_id = $1
         ORDER BY s.push_id, s.position",
    )
    .bind::<SqlUuid, _>(batch_id)
    .load(c)
    .await?;
    let mut out: HashMap<Uuid, Vec<StepView>> = HashMap::new();
    for r in rows {
        out.entry(r.push_id).or_default().push(r);
    }
    Ok(out)
}

/// How many steps a push has recorded (tests, and a retry deciding what exists).
pub async fn step_count(c: &mut Conn, push_id: Uuid) -> diesel::QueryResult<i32> {
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = Integer)]
        n: i32,
    }
    let n: N =
        diesel::sql_query("SELECT count(*)::int AS n FROM campaign_push_steps WHERE push_id = $1")
            .bind::<SqlUuid, _>(push_id)
            .get_result(c)
            .await?;
    Ok(n.n)
}

/// After the platform made (or an earlier attempt was found to have made) a campaign's tree,
/// and before the push is marked done (so the status page never settles without them):
/// stores the campaign, its ad groups and ads as the platform lists them, so they have pages
/// at once, and records the steps. A listing that fails only delays the ad groups and ads
/// until the next sync.
pub(super) async fn after_create(
    run: &super::push::PushRun<'_>,
    campaign: &Campaign,
    made: Option<Vec<CreatedObject>>,
) -> Result<(), JobError> {
    let (ctx, org_id, push_id) = (run.ctx, run.org_id, run.push_id);
    let (account_id, platform, currency) = (run.row.account_id, run.platform, run.currency);
    let (creds, account) = (run.creds, run.account);
    let adapter = ctx.app.platforms.adapter(platform);
    let campaign_external_id = campaign.id.as_str();
    let groups = adapter
        .list_ad_groups(creds, account, Some(campaign_external_id))
        .await;
    let ads = adapter
        .list_ads(creds, account, Some(campaign_external_id))
        .await;
    let (groups, ads) = match (groups, ads) {
        (Ok(g), Ok(a)) => (g, a),
        (Err(e), _) | (_, Err(e)) => {
            tracing::warn!(push = %push_id, error = %e, "could not list the new ad groups and ads; the next sync brings them");
            (Vec::new(), Vec::new())
        }
    };
    let (steps, state) = match made {
        Some(objects) => (objects, "created"),
        // The create's answer was lost: what the platform lists is what exists.
        None => {
            let mut found: Vec<CreatedObject> = groups
                .iter()
                .map(|g| CreatedObject {
                    kind: "ad_group".into(),
                    label: format!("Ad group \u{201c}{}\u{201d}", g.name),
                    id: g.id.clone(),
                })
                .collect();
            found.extend(ads.iter().enumerate().map(|(i, a)| CreatedObject {
                kind: "ad".into(),
                label: format!("Ad {}", i + 1),
                id: a.id.clone(),
            }));
            (found, "found")
        }
    };
    let campaign = campaign.clone();
    ctx.app
        .db
        .tenant(org_id, async move |c| {
            if step_count(c, push_id).await? == 0 {
                record_steps(c, org_id, push_id, &steps, state).await?;
            }
            let campaigns = super::upsert_synced(
                c,
                org_id,
                account_id,
                platform,
                currency,
                std::slice::from_ref(&campaign),
            )
            .await?;
            if campaigns.contains_key(&campaign.id) {
                let account = super::levels::AccountKey {
                    org_id,
                    account_id,
                    platform,
                    currency,
                };
                let group_ids =
                    super::levels::upsert_ad_groups(c, account, &campaigns, &groups, false).await?;
                super::levels::upsert_ads(c, account, &campaigns, &group_ids, &ads, false).await?;
            }
            Ok::<_, JobError>(())
        })
        .await
}
