//! A Meta create as recorded steps: campaign → ad set → image → (creative → ad) per kept copy
//! variation. Meta has no atomic create, so each step is written to `campaign_push_steps`
//! (state `sending`) before its call goes out and updated with the id (or the refusal) when
//! the answer comes. A later attempt (the job's own retry after a temporary failure, or the
//! person's "Try again" after a refusal) skips the steps that exist and, for a step that was
//! sent without a known answer, looks on Meta first, so nothing is made twice:
//! the campaign by its name among those not there before the first send, the ad set and ad
//! by name under their new parent, the creative by its name (which carries the push's id).
//! An image needs no look: Meta keys images by their content, so the same bytes uploaded
//! again give the same hash and no second image.

use std::collections::HashMap;

use diesel::sql_types::{Nullable, Text, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::jobs::{JobCtx, JobError};
use crate::platforms::meta_create::{MetaAdSetSpec, MetaCampaignSpec, MetaCreativeSpec};
use crate::platforms::{AccountRef, Campaign, CampaignStatus, Credentials, PlatformError};
use crate::types::{Currency, Money, Platform};

use super::meta_create::MetaSpec;
use super::push::{Outcome, Pending};

/// A recorded step: state and platform id.
#[derive(Debug, Clone, diesel::QueryableByName)]
struct Recorded {
    #[diesel(sql_type = Text)]
    step: String,
    #[diesel(sql_type = Text)]
    state: String,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
}

/// The recorded steps of one push (Meta's or TikTok's: both run their calls this way).
pub(super) struct Steps<'a> {
    ctx: &'a JobCtx,
    org_id: Uuid,
    push_id: Uuid,
    platform: Platform,
    recorded: HashMap<String, Recorded>,
}

/// The answer of one step: the id, or the platform's refusal.
pub(super) type StepResult = Result<Result<String, PlatformError>, JobError>;

impl<'a> Steps<'a> {
    /// The steps a push has recorded so far.
    pub(super) async fn load(
        ctx: &'a JobCtx,
        org_id: Uuid,
        push_id: Uuid,
        platform: Platform,
    ) -> Result<Steps<'a>, JobError> {
        let recorded: Vec<Recorded> = ctx
            .app
            .db
            .tenant(org_id, async move |c| {
                Ok::<_, JobError>(
                    diesel::sql_query(
                        "SELECT step, state, external_id FROM campaign_push_steps
                         WHERE push_id = $1 AND step IS NOT NULL",
                    )
                    .bind::<SqlUuid, _>(push_id)
                    .load(c)
                    .await?,
                )
            })
            .await?;
        Ok(Steps {
            ctx,
            org_id,
            push_id,
            platform,
            recorded: recorded.into_iter().map(|r| (r.step.clone(), r)).collect(),
        })
    }

    /// The job, organization and push the steps belong to.
    pub(super) fn owner(&self) -> (&'a JobCtx, Uuid, Uuid) {
        (self.ctx, self.org_id, self.push_id)
    }

    async fn write(
        &self,
        key: &str,
        kind: &str,
        label: &str,
        state: &str,
        id: Option<&str>,
        error: Option<String>,
    ) -> Result<(), JobError> {
        let (org_id, push_id) = (self.org_id, self.push_id);
        let (key, kind, label, state) = (
            key.to_string(),
            kind.to_string(),
            label.to_string(),
            state.to_string(),
        );
        let id = id.map(str::to_string);
        self.ctx
            .app
            .db
            .tenant(org_id, async move |c| {
                // One row per step: the first write places it after the steps before it.
                diesel::sql_query(
                    "INSERT INTO campaign_push_steps
                       (org_id, push_id, position, step, kind, label, state, external_id, error)
                     SELECT $1, $2, coalesce(max(position) + 1, 0), $3, $4, $5, $6, $7, $8
                     FROM campaign_push_steps WHERE org_id = $1 AND push_id = $2
                     ON CONFLICT (org_id, push_id, step) WHERE step IS NOT NULL DO UPDATE
                       SET state = excluded.state, label = excluded.label,
                           external_id = coalesce(excluded.external_id, campaign_push_steps.external_id),
                           error = excluded.error, updated_at = now()",
                )
                .bind::<SqlUuid, _>(org_id)
                .bind::<SqlUuid, _>(push_id)
                .bind::<Text, _>(&key)
                .bind::<Text, _>(&kind)
                .bind::<Text, _>(&label)
                .bind::<Text, _>(&state)
                .bind::<Nullable<Text>, _>(id)
                .bind::<Nullable<Text>, _>(error)
                .execute(c)
                .await?;
                Ok::<_, JobError>(())
            })
            .await
    }

    /// Runs one step: skipped when it exists, looked for when an earlier attempt sent it,
    /// recorded as `sending` before its call, then as created (with the id) or refused.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run(
        &mut self,
        key: &str,
        kind: &str,
        label: &str,
        what: &str,
        find: impl AsyncFnOnce() -> Result<Option<String>, PlatformError>,
        send: impl AsyncFnOnce() -> Result<String, PlatformError>,
    ) -> StepResult {
        let earlier = self.recorded.get(key).cloned();
        if let Some(r) = &earlier
            && matches!(r.state.as_str(), "created" | "found")
            && let Some(id) = &r.external_id
        {
            return Ok(Ok(id.clone()));
        }
        if earlier.is_some() {
            match find().await {
                Ok(Some(id)) => {
                    tracing::info!(push = %self.push_id, step = key, id = %id, "found what an earlier attempt made; not sending it again");
                    self.write(key, kind, label, "found", Some(&id), None)
                        .await?;
                    return Ok(Ok(id));
                }
                Ok(None) => {}
                Err(e) => {
                    let m = plain(self.platform, what, &e);
                    self.write(key, kind, label, "error", None, Some(m)).await?;
                    return Ok(Err(e));
                }
            }
        }
        self.write(key, kind, label, "sending", None, None).await?;
        self.ctx.lease.renew().await?;
        match send().await {
            Ok(id) => {
                self.write(key, kind, label, "created", Some(&id), None)
                    .await?;
                Ok(Ok(id))
            }
            Err(e) => {
                let m = plain(self.platform, what, &e);
                self.write(key, kind, label, "error", None, Some(m)).await?;
                Ok(Err(e))
            }
        }
    }
}

/// The platform's answer in words, naming what it concerns.
fn plain(platform: Platform, what: &str, e: &PlatformError) -> String {
    match e {
        PlatformError::Invalid { message } => {
            format!("{} refused the {what}: {message}", short_name(platform))
        }
        other => super::push::plain_error(platform, other),
    }
}

/// "Meta", "TikTok": how a refusal names the platform.
fn short_name(platform: Platform) -> &'static str {
    match platform {
        Platform::Google => "Google",
        Platform::Meta => "Meta",
        Platform::Tiktok => "TikTok",
    }
}

/// Runs (or continues) a Meta push's steps. Called with the push row pending.
#[allow(clippy::too_many_arguments)]
pub(super) async fn run(
    ctx: &JobCtx,
    org_id: Uuid,
    push_id: Uuid,
    row: &Pending,
    spec: &MetaSpec,
    currency: Currency,
    creds: &Credentials,
    account: &AccountRef,
) -> Result<(), JobError> {
    let mut steps = Steps::load(ctx, org_id, push_id, Platform::Meta).await?;
    let adapter = ctx.app.platforms.adapter(Platform::Meta);
    let status = if row.start_status == "active" {
        CampaignStatus::Active
    } else {
        CampaignStatus::Paused
    };
    let budget = Money::new(row.daily_budget_micros, currency);
    let campaign = MetaCampaignSpec {
        name: row.name.clone(),
        objective: spec.objective.clone(),
        status,
        daily_budget: (!spec.budget_on_ad_set).then_some(budget),
    };
    let made = Campaign {
        id: String::new(),
        name: row.name.clone(),
        status,
        daily_budget: campaign.daily_budget,
        flight: Default::default(),
    };

    // 1. Campaign.
    let answer = steps
        .run(
            "campaign",
            "campaign",
            &format!("Campaign \u{201c}{}\u{201d}", row.name),
            "campaign",
            async || {
                let listed = adapter.list_campaigns(creds, account).await?;
                super::push::find_sent(ctx, org_id, push_id, row, listed)
                    .await
                    .map(|k| k.map(|k| k.id))
                    .map_err(|e| PlatformError::Temporary {
                        message: e.to_string(),
                    })
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
                        .map_err(|e| PlatformError::Temporary {
                            message: e.to_string(),
                        })?;
                }
                adapter
                    .meta_create_campaign(creds, account, &campaign)
                    .await
            },
        )
        .await?;
    let campaign_id = match answer {
        Ok(id) => id,
        Err(e) => {
            return failed(
                ctx,
                Platform::Meta,
                org_id,
                push_id,
                row,
                currency,
                None,
                "campaign",
                e,
            )
            .await;
        }
    };
    let made = Campaign {
        id: campaign_id.clone(),
        ..made
    };

    // 2. Ad set.
    let ad_set = MetaAdSetSpec {
        name: spec.ad_set_name.clone(),
        campaign_id: campaign_id.clone(),
        status,
        daily_budget: spec.budget_on_ad_set.then_some(budget),
        optimization_goal: spec.optimization_goal.clone(),
        billing_event: spec.billing_event.clone(),
        start_time: spec.start_time.clone(),
        end_time: spec.end_time.clone(),
        locations: spec.locations.clone(),
        age_min: spec.age_min,
        age_max: spec.age_max,
        genders: spec.genders.clone(),
        interests: spec.interests.clone(),
        promoted_object: spec.promoted_object.clone(),
    };
    let answer = steps
        .run(
            "ad_set",
            "ad_group",
            &format!("Ad set \u{201c}{}\u{201d}", spec.ad_set_name),
            "ad set",
            async || {
                adapter
                    .meta_find_ad_set(creds, account, &campaign_id, &spec.ad_set_name)
                    .await
            },
            async || adapter.meta_create_ad_set(creds, account, &ad_set).await,
        )
        .await?;
    let ad_set_id = match answer {
        Ok(id) => id,
        Err(e) => {
            return failed(
                ctx,
                Platform::Meta,
                org_id,
                push_id,
                row,
                currency,
                Some(&made),
                "ad set",
                e,
            )
            .await;
        }
    };

    // 3. Image → hash.
    let image_id = spec.image_id;
    let image = ctx
        .app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, JobError>(super::images::load(c, image_id).await?)
        })
        .await?
        .ok_or_else(|| JobError::permanent("the push's image is gone"))?;
    let answer = steps
        .run(
            "image",
            "image",
            &format!(
                "Image {} ({} × {})",
                image.file_name, image.width, image.height
            ),
            "image",
            async || Ok(None),
            async || {
                adapter
                    .meta_upload_image(creds, account, &image.file_name, &image.bytes)
                    .await
            },
        )
        .await?;
    let hash = match answer {
        Ok(h) => h,
        Err(e) => {
            return failed(
                ctx,
                Platform::Meta,
                org_id,
                push_id,
                row,
                currency,
                Some(&made),
                "image",
                e,
            )
            .await;
        }
    };

    // 4-5. One creative and one ad per kept copy variation.
    let tag: String = push_id.simple().to_string().chars().take(8).collect();
    for (i, copy) in spec.ads.iter().enumerate() {
        let n = i + 1;
        let ad_name = format!("{} \u{2013} ad {n}", spec.ad_set_name);
        let creative_name = format!("{ad_name} creative ({tag})");
        let creative = MetaCreativeSpec {
            name: creative_name.clone(),
            page_id: spec.page.id.clone(),
            link: spec.link.clone(),
            message: copy.primary_text.clone(),
            headline: copy.headline.clone(),
            description: copy.description.clone(),
            image_hash: hash.clone(),
            call_to_action: spec.call_to_action.clone(),
        };
        let answer = steps
            .run(
                &format!("creative:{n}"),
                "creative",
                &format!("Creative {n} (\u{201c}{}\u{201d})", copy.headline),
                "ad creative",
                async || {
                    adapter
                        .meta_find_creative(creds, account, &creative_name)
                        .await
                },
                async || {
                    adapter
                        .meta_create_creative(creds, account, &creative)
                        .await
                },
            )
            .await?;
        let creative_id = match answer {
            Ok(id) => id,
            Err(e) => {
                return failed(
                    ctx,
                    Platform::Meta,
                    org_id,
                    push_id,
                    row,
                    currency,
                    Some(&made),
                    "ad creative",
                    e,
                )
                .await;
            }
        };
        let answer = steps
            .run(
                &format!("ad:{n}"),
                "ad",
                &format!("Ad {n}"),
                "ad",
                async || {
                    adapter
                        .meta_find_ad(creds, account, &ad_set_id, &ad_name)
                        .await
                },
                async || {
                    adapter
                        .meta_create_ad(creds, account, &ad_name, &ad_set_id, &creative_id, status)
                        .await
                },
            )
            .await?;
        if let Err(e) = answer {
            return failed(
                ctx,
                Platform::Meta,
                org_id,
                push_id,
                row,
                currency,
                Some(&made),
                "ad",
                e,
            )
            .await;
        }
    }

    // Everything exists: bring the campaign, ad set and ads into adpilot so the status page
    // links them, then mark the push created.
    super::complete::after_create(
        ctx,
        org_id,
        push_id,
        row.account_id,
        Platform::Meta,
        currency,
        creds,
        account,
        &made,
        Some(Vec::new()),
    )
    .await?;
    super::push::record(
        ctx,
        org_id,
        push_id,
        row.account_id,
        Platform::Meta,
        currency,
        Outcome::Created(made),
    )
    .await
}

/// A step that failed: tried again by the job while waiting can help (or the call may have
/// landed: the next attempt looks first); otherwise the push ends with Meta's answer, keeping
/// the campaign (when it exists) in adpilot's list, and "Try again" continues from this step.
#[allow(clippy::too_many_arguments)]
pub(super) async fn failed(
    ctx: &JobCtx,
    platform: Platform,
    org_id: Uuid,
    push_id: Uuid,
    row: &Pending,
    currency: Currency,
    made: Option<&Campaign>,
    what: &str,
    e: PlatformError,
) -> Result<(), JobError> {
    if (e.is_retryable() || e.may_have_landed()) && ctx.attempt < ctx.max_attempts {
        return match &e {
            PlatformError::RateLimited {
                retry_after: Some(d),
                ..
            } => Err(JobError::retry_after(e.to_string(), *d)),
            _ => Err(JobError::retry(e.to_string())),
        };
    }
    let mut message = plain(platform, what, &e);
    let p = short_name(platform);
    if e.may_have_landed() {
        message.push_str(&format!(
            " adpilot sent the {what} but never got {p}'s answer; \u{201c}Try again\u{201d} looks for it on {p} before sending it again."
        ));
    } else if made.is_some() {
        message.push_str(&format!(" The steps above exist on {p}; fix the problem and press \u{201c}Try again\u{201d} to continue from this step."));
    }
    let account_id = row.account_id;
    let made = made.cloned();
    ctx.app
        .db
        .tenant(org_id, async move |c| {
            let (ext, cid) = match &made {
                Some(k) => {
                    let ids = super::upsert_synced(
                        c,
                        org_id,
                        account_id,
                        platform,
                        currency,
                        std::slice::from_ref(k),
                    )
                    .await?;
                    (Some(k.id.clone()), ids.get(&k.id).copied())
                }
                None => (None, None),
            };
            diesel::sql_query(
                "UPDATE campaign_pushes SET state = 'error', error = $2,
                   external_id = coalesce($3, external_id), campaign_id = coalesce($4, campaign_id),
                   updated_at = now()
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind::<SqlUuid, _>(push_id)
            .bind::<Text, _>(message)
            .bind::<Nullable<Text>, _>(ext)
            .bind::<Nullable<SqlUuid>, _>(cid)
            .execute(c)
            .await?;
            Ok::<_, JobError>(())
        })
        .await
}

/// "Try again" on the status page: the (Meta or TikTok) pushes of the batch that ended in an error and have
/// steps to continue go back to pending with a new job. Returns how many.
pub async fn retry_batch(
    c: &mut crate::db::Conn,
    org_id: Uuid,
    batch_id: Uuid,
) -> diesel::QueryResult<usize> {
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
    }
    let ids: Vec<Id> = diesel::sql_query(
        "UPDATE campaign_pushes SET state = 'pending', error = NULL, updated_at = now()
         WHERE batch_id = $1 AND state = 'error'
           AND ((spec -> 'meta') IS NOT NULL OR (spec -> 'tiktok') IS NOT NULL)
         RETURNING id",
    )
    .bind::<SqlUuid, _>(batch_id)
    .load(c)
    .await?;
    for i in &ids {
        crate::jobs::enqueue(
            c,
            Some(org_id),
            &super::push::PushCampaign { push_id: i.id },
        )
        .await?;
    }
    Ok(ids.len())
}
