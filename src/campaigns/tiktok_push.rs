//! A TikTok create as recorded steps: campaign → ad group → image → (identity) → one ad per
//! kept copy variation, each written to `campaign_push_steps` before its call goes out (the
//! same `Steps` as Meta's, see `meta_push.rs`). A later attempt skips the steps that exist
//! and, for a step sent without a known answer, looks on TikTok first: the campaign by its
//! name among those not there before the first send, the ad group and the ads by name under
//! their new parent, the image by its file name (unique in the advertiser, and carrying the
//! push's id) and a new identity by its display name.

use chrono::Utc;
use uuid::Uuid;

use crate::jobs::JobError;
use crate::platforms::tiktok_create::{TiktokAdGroupSpec, TiktokAdSpec, TiktokCampaignSpec};
use crate::platforms::{AccountRef, Campaign, CampaignStatus, Credentials, PlatformError};
use crate::types::{Money, Platform};

use super::meta_push::{Step, StepResult, Steps, failed};
use super::push::{Outcome, PushRun};
use super::tiktok_create::TiktokSpec;

const P: Platform = Platform::Tiktok;

fn temporary(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Temporary {
        message: e.to_string(),
    }
}

/// The image's file name on TikTok: unique per advertiser, so it carries the push's id (its
/// random end: pushes of one batch share the id's time part).
fn upload_name(push_id: Uuid, file_name: &str) -> String {
    let id = push_id.simple().to_string();
    let tag = id.get(id.len().saturating_sub(12)..).unwrap_or("");
    let name: String = file_name.chars().take(80).collect();
    format!("{tag}-{name}")
}

/// Step 1: the campaign, found by name among those not there before the first send.
async fn campaign_step(
    steps: &mut Steps<'_>,
    row: &super::push::Pending,
    spec: &TiktokCampaignSpec,
    creds: &Credentials,
    account: &AccountRef,
) -> Result<Result<String, PlatformError>, JobError> {
    let (ctx, org_id, push_id) = steps.owner();
    let adapter = ctx.app.platforms.adapter(P);
    steps
        .run(
            Step {
                key: "campaign",
                kind: "campaign",
                label: &format!("Campaign \u{201c}{}\u{201d}", row.name),
                what: "campaign",
            },
            async || {
                let listed = adapter.list_campaigns(creds, account).await?;
                super::push::find_sent(ctx, org_id, push_id, row, listed)
                    .await
                    .map(|k| k.map(|k| k.id))
                    .map_err(temporary)
            },
            async || {
                // Notes which campaigns carry the name already, so a later attempt can tell
                // the one this create made.
                if row.sent_at.is_none() {
                    let listed = adapter.list_campaigns(creds, account).await?;
                    let pre = listed
                        .into_iter()
                        .filter(|k| k.name == row.name)
                        .map(|k| k.id)
                        .collect();
                    super::push::mark_sent(ctx, org_id, push_id, pre)
                        .await
                        .map_err(temporary)?;
                }
                adapter.tiktok_create_campaign(creds, account, spec).await
            },
        )
        .await
}

/// What every step after the campaign sends with.
struct Call<'a> {
    creds: &'a Credentials,
    account: &'a AccountRef,
    spec: &'a TiktokSpec,
    status: CampaignStatus,
}

/// Step 2: the ad group, found by name under the new campaign.
async fn ad_group_step(
    steps: &mut Steps<'_>,
    call: &Call<'_>,
    campaign_id: &str,
    budget: Money,
) -> StepResult {
    let (ctx, ..) = steps.owner();
    let adapter = ctx.app.platforms.adapter(P);
    let spec = call.spec;
    let group = TiktokAdGroupSpec {
        name: spec.ad_group_name.clone(),
        campaign_id: campaign_id.to_string(),
        status: call.status,
        daily_budget: budget,
        placements: spec.placements.clone(),
        location_ids: spec.locations.iter().map(|l| l.id.clone()).collect(),
        age_groups: spec.age_groups.clone(),
        gender: spec.gender.clone(),
        interest_category_ids: spec.interests.iter().map(|i| i.id.clone()).collect(),
        schedule_start: spec
            .schedule_start
            .clone()
            .unwrap_or_else(|| Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()),
        schedule_end: spec.schedule_end.clone(),
        optimization_goal: spec.optimization_goal.clone(),
        billing_event: spec.billing_event.clone(),
    };
    let (creds, account) = (call.creds, call.account);
    steps
        .run(
            Step {
                key: "ad_group",
                kind: "ad_group",
                label: &format!("Ad group \u{201c}{}\u{201d}", spec.ad_group_name),
                what: "ad group",
            },
            async || {
                adapter
                    .tiktok_find_ad_group(creds, account, campaign_id, &spec.ad_group_name)
                    .await
            },
            async || adapter.tiktok_create_ad_group(creds, account, &group).await,
        )
        .await
}

/// Step 3: the image kept with the push, found by its file name on TikTok.
async fn image_step(steps: &mut Steps<'_>, call: &Call<'_>) -> StepResult {
    let (ctx, org_id, push_id) = steps.owner();
    let adapter = ctx.app.platforms.adapter(P);
    let image_id = call.spec.image_id;
    let image = ctx
        .app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, JobError>(super::images::load(c, image_id).await?)
        })
        .await?
        .ok_or_else(|| JobError::permanent("the push's image is gone"))?;
    let file_name = upload_name(push_id, &image.file_name);
    let (creds, account) = (call.creds, call.account);
    steps
        .run(
            Step {
                key: "image",
                kind: "image",
                label: &format!(
                    "Image {} ({} \u{d7} {})",
                    image.file_name, image.width, image.height
                ),
                what: "image",
            },
            async || adapter.tiktok_find_image(creds, account, &file_name).await,
            async || {
                adapter
                    .tiktok_upload_image(creds, account, &file_name, &image.bytes)
                    .await
            },
        )
        .await
}

/// Step 4: the identity chosen, or a new one with the image as its picture (found by its
/// display name).
async fn identity_step(steps: &mut Steps<'_>, call: &Call<'_>, image: &str) -> StepResult {
    let spec = call.spec;
    if let Some(i) = &spec.identity {
        return Ok(Ok(i.id.clone()));
    }
    let (ctx, ..) = steps.owner();
    let adapter = ctx.app.platforms.adapter(P);
    let (creds, account) = (call.creds, call.account);
    steps
        .run(
            Step {
                key: "identity",
                kind: "identity",
                label: &format!("Identity \u{201c}{}\u{201d}", spec.display_name),
                what: "identity",
            },
            async || {
                adapter
                    .tiktok_find_identity(creds, account, &spec.display_name)
                    .await
            },
            async || {
                adapter
                    .tiktok_create_identity(creds, account, &spec.display_name, image)
                    .await
            },
        )
        .await
}

/// Step 5: one ad per kept copy variation, each found by name under the ad group.
async fn ads_step(
    steps: &mut Steps<'_>,
    call: &Call<'_>,
    group_id: &str,
    identity_id: &str,
    image: &str,
) -> Result<Result<(), PlatformError>, JobError> {
    let (ctx, ..) = steps.owner();
    let adapter = ctx.app.platforms.adapter(P);
    let (creds, account, spec) = (call.creds, call.account, call.spec);
    for (i, text) in spec.ads.iter().enumerate() {
        let n = i + 1;
        let ad = TiktokAdSpec {
            name: format!("{} \u{2013} ad {n}", spec.ad_group_name),
            adgroup_id: group_id.to_string(),
            status: call.status,
            identity_id: identity_id.to_string(),
            image_id: image.to_string(),
            ad_text: text.clone(),
            call_to_action: spec.call_to_action.clone(),
            landing_page_url: spec.link.clone(),
        };
        let answer = steps
            .run(
                Step {
                    key: &format!("ad:{n}"),
                    kind: "ad",
                    label: &format!("Ad {n}"),
                    what: "ad",
                },
                async || {
                    adapter
                        .tiktok_find_ad(creds, account, group_id, &ad.name)
                        .await
                },
                async || adapter.tiktok_create_ad(creds, account, &ad).await,
            )
            .await?;
        if let Err(e) = answer {
            return Ok(Err(e));
        }
    }
    Ok(Ok(()))
}

/// Runs (or continues) a TikTok push's steps. Called with the push row pending.
pub(super) async fn run(run: &PushRun<'_>, spec: &TiktokSpec) -> Result<(), JobError> {
    let (row, creds, account) = (run.row, run.creds, run.account);
    let mut steps = Steps::load(run.ctx, run.org_id, run.push_id, P).await?;
    let status = run.start_status();
    let budget = run.budget();

    // 1. Campaign (its budget is the ad group's).
    let campaign = TiktokCampaignSpec {
        name: row.name.clone(),
        objective: spec.objective.clone(),
        status,
    };
    let campaign_id = match campaign_step(&mut steps, row, &campaign, creds, account).await? {
        Ok(id) => id,
        Err(e) => return failed(run, None, "campaign", e).await,
    };
    let made = Campaign {
        id: campaign_id.clone(),
        name: row.name.clone(),
        status,
        daily_budget: None,
        flight: Default::default(),
    };

    // 2. Ad group, 3. image, 4. identity (when new), 5. one ad per kept copy variation.
    let call = Call {
        creds,
        account,
        spec,
        status,
    };
    let fail = async |what: &str, e: PlatformError| failed(run, Some(&made), what, e).await;
    let group_id = match ad_group_step(&mut steps, &call, &campaign_id, budget).await? {
        Ok(id) => id,
        Err(e) => return fail("ad group", e).await,
    };
    let image = match image_step(&mut steps, &call).await? {
        Ok(id) => id,
        Err(e) => return fail("image", e).await,
    };
    let identity = match identity_step(&mut steps, &call, &image).await? {
        Ok(id) => id,
        Err(e) => return fail("identity", e).await,
    };
    if let Err(e) = ads_step(&mut steps, &call, &group_id, &identity, &image).await? {
        return fail("ad", e).await;
    }

    // Everything exists: bring the campaign, ad group and ads into adpilot so the status page
    // links them, then mark the push created.
    super::complete::after_create(run, &made, Some(Vec::new())).await?;
    run.record(Outcome::Created(made)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_uploaded_name_is_unique_per_push_and_within_tiktok_s_limit() {
        let a = upload_name(Uuid::now_v7(), &"x".repeat(200));
        assert!(a.chars().count() <= 100, "{a}");
        let id = Uuid::nil();
        assert_eq!(upload_name(id, "shoe.png"), "000000000000-shoe.png");
    }
}
