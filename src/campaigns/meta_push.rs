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
use crate::platforms::{Campaign, CampaignStatus, PlatformError};
use crate::types::{Money, Platform};

use super::meta_create::MetaSpec;
use super::push::{Outcome, PushRun};

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
        step: &Step<'_>,
        state: &str,
        id: Option<&str>,
        error: Option<String>,
    ) -> Result<(), JobError> {
        let (org_id, push_id) = (self.org_id, self.push_id);
        let (key, kind, label, state) = (
            step.key.to_string(),
            step.kind.to_string(),
            step.label.to_string(),
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
    pub(super) async fn run(
        &mut self,
        step: Step<'_>,
        find: impl AsyncFnOnce() -> Result<Option<String>, PlatformError>,
        send: impl AsyncFnOnce() -> Result<String, PlatformError>,
    ) -> StepResult {
        let key = step.key;
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
                    self.write(&step, "found", Some(&id), None).await?;
                    return Ok(Ok(id));
                }
                Ok(None) => {}
                Err(e) => return self.refused(&step, e).await,
            }
        }
        self.write(&step, "sending", None, None).await?;
        self.ctx.lease.renew().await?;
        match send().await {
            Ok(id) => {
                self.write(&step, "created", Some(&id), None).await?;
                Ok(Ok(id))
            }
            Err(e) => self.refused(&step, e).await,
        }
    }

    /// Records the platform's refusal of a step and hands it on.
    async fn refused(&self, step: &Step<'_>, e: PlatformError) -> StepResult {
        let m = plain(self.platform, step.what, &e);
        self.write(step, "error", None, Some(m)).await?;
        Ok(Err(e))
    }
}

/// One step of a push: its key among the push's steps, its kind and label on the status
/// page, and what a refusal names.
pub(super) struct Step<'s> {
    pub(super) key: &'s str,
    pub(super) kind: &'s str,
    pub(super) label: &'s str,
    pub(super) what: &'s str,
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

/// What every step of a Meta push sends with.
struct Call<'a> {
    run: &'a PushRun<'a>,
    spec: &'a MetaSpec,
    status: CampaignStatus,
}

fn temporary(e: impl std::fmt::Display) -> PlatformError {
    PlatformError::Temporary {
        message: e.to_string(),
    }
}

/// Runs (or continues) a Meta push's steps. Called with the push row pending.
pub(super) async fn run(run: &PushRun<'_>, spec: &MetaSpec) -> Result<(), JobError> {
    let mut steps = Steps::load(run.ctx, run.org_id, run.push_id, run.platform).await?;
    let status = run.start_status();
    let budget = run.budget();
    let call = Call { run, spec, status };

    // 1. Campaign (without a budget when the ad set carries it).
    let daily_budget = (!spec.budget_on_ad_set).then_some(budget);
    let campaign_id = match campaign_step(&mut steps, &call, daily_budget).await? {
        Ok(id) => id,
        Err(e) => return failed(run, None, "campaign", e).await,
    };
    let made = Campaign {
        id: campaign_id.clone(),
        name: run.row.name.clone(),
        status,
        daily_budget,
        flight: Default::default(),
    };

    // 2. Ad set, 3. image → hash, 4-5. one creative and one ad per kept copy variation.
    let ad_set_id = match ad_set_step(&mut steps, &call, &campaign_id, budget).await? {
        Ok(id) => id,
        Err(e) => return failed(run, Some(&made), "ad set", e).await,
    };
    let hash = match image_step(&mut steps, &call).await? {
        Ok(h) => h,
        Err(e) => return failed(run, Some(&made), "image", e).await,
    };
    if let Err((what, e)) = ads_step(&mut steps, &call, &ad_set_id, &hash).await? {
        return failed(run, Some(&made), what, e).await;
    }

    // Everything exists: bring the campaign, ad set and ads into adpilot so the status page
    // links them, then mark the push created.
    super::complete::after_create(run, &made, Some(Vec::new())).await?;
    run.record(Outcome::Created(made)).await
}

/// Step 1: the campaign, found by name among those not there before the first send.
async fn campaign_step(
    steps: &mut Steps<'_>,
    call: &Call<'_>,
    daily_budget: Option<Money>,
) -> StepResult {
    let run = call.run;
    let (ctx, org_id, push_id, row) = (run.ctx, run.org_id, run.push_id, run.row);
    let (creds, account) = (run.creds, run.account);
    let adapter = ctx.app.platforms.adapter(run.platform);
    let campaign = MetaCampaignSpec {
        name: row.name.clone(),
        objective: call.spec.objective.clone(),
        status: call.status,
        daily_budget,
    };
    let step = Step {
        key: "campaign",
        kind: "campaign",
        label: &format!("Campaign \u{201c}{}\u{201d}", row.name),
        what: "campaign",
    };
    steps
        .run(
            step,
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
                adapter
                    .meta_create_campaign(creds, account, &campaign)
                    .await
            },
        )
        .await
}

/// Step 2: the ad set, found by name under the new campaign.
async fn ad_set_step(
    steps: &mut Steps<'_>,
    call: &Call<'_>,
    campaign_id: &str,
    budget: Money,
) -> StepResult {
    let (spec, run) = (call.spec, call.run);
    let (creds, account) = (run.creds, run.account);
    let adapter = run.ctx.app.platforms.adapter(run.platform);
    let ad_set = MetaAdSetSpec {
        name: spec.ad_set_name.clone(),
        campaign_id: campaign_id.to_string(),
        status: call.status,
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
    let step = Step {
        key: "ad_set",
        kind: "ad_group",
        label: &format!("Ad set \u{201c}{}\u{201d}", spec.ad_set_name),
        what: "ad set",
    };
    steps
        .run(
            step,
            async || {
                adapter
                    .meta_find_ad_set(creds, account, campaign_id, &spec.ad_set_name)
                    .await
            },
            async || adapter.meta_create_ad_set(creds, account, &ad_set).await,
        )
        .await
}

/// Step 3: the image kept with the push, uploaded for its hash (Meta keys images by their
/// content, so there is nothing to look for).
async fn image_step(steps: &mut Steps<'_>, call: &Call<'_>) -> StepResult {
    let run = call.run;
    let (creds, account, org_id) = (run.creds, run.account, run.org_id);
    let adapter = run.ctx.app.platforms.adapter(run.platform);
    let image_id = call.spec.image_id;
    let image = run
        .ctx
        .app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, JobError>(super::images::load(c, image_id).await?)
        })
        .await?
        .ok_or_else(|| JobError::permanent("the push's image is gone"))?;
    let step = Step {
        key: "image",
        kind: "image",
        label: &format!(
            "Image {} ({} × {})",
            image.file_name, image.width, image.height
        ),
        what: "image",
    };
    steps
        .run(
            step,
            async || Ok(None),
            async || {
                adapter
                    .meta_upload_image(creds, account, &image.file_name, &image.bytes)
                    .await
            },
        )
        .await
}

/// Steps 4-5: one creative and one ad per kept copy variation; a refusal names which of the
/// two it concerns.
async fn ads_step(
    steps: &mut Steps<'_>,
    call: &Call<'_>,
    ad_set_id: &str,
    hash: &str,
) -> Result<Result<(), (&'static str, PlatformError)>, JobError> {
    let tag: String = call
        .run
        .push_id
        .simple()
        .to_string()
        .chars()
        .take(8)
        .collect();
    for (i, copy) in call.spec.ads.iter().enumerate() {
        let n = i + 1;
        let ad_name = format!("{} \u{2013} ad {n}", call.spec.ad_set_name);
        let creative_name = format!("{ad_name} creative ({tag})");
        let creative = MetaCreativeSpec {
            name: creative_name,
            page_id: call.spec.page.id.clone(),
            link: call.spec.link.clone(),
            message: copy.primary_text.clone(),
            headline: copy.headline.clone(),
            description: copy.description.clone(),
            image_hash: hash.to_string(),
            call_to_action: call.spec.call_to_action.clone(),
        };
        let creative_id = match creative_step(steps, call, n, &creative).await? {
            Ok(id) => id,
            Err(e) => return Ok(Err(("ad creative", e))),
        };
        let ad = NewAd {
            n,
            name: &ad_name,
            ad_set_id,
            creative_id: &creative_id,
        };
        if let Err(e) = ad_step(steps, call, ad).await? {
            return Ok(Err(("ad", e)));
        }
    }
    Ok(Ok(()))
}

/// Step 4 for one copy variation: its creative, found by its name (which carries the push's
/// id).
async fn creative_step(
    steps: &mut Steps<'_>,
    call: &Call<'_>,
    n: usize,
    creative: &MetaCreativeSpec,
) -> StepResult {
    let run = call.run;
    let (creds, account) = (run.creds, run.account);
    let adapter = run.ctx.app.platforms.adapter(run.platform);
    let headline = &creative.headline;
    let step = Step {
        key: &format!("creative:{n}"),
        kind: "creative",
        label: &format!("Creative {n} (\u{201c}{headline}\u{201d})"),
        what: "ad creative",
    };
    steps
        .run(
            step,
            async || {
                adapter
                    .meta_find_creative(creds, account, &creative.name)
                    .await
            },
            async || adapter.meta_create_creative(creds, account, creative).await,
        )
        .await
}

/// The ad of one copy variation: its number, name, ad set and creative.
struct NewAd<'a> {
    n: usize,
    name: &'a str,
    ad_set_id: &'a str,
    creative_id: &'a str,
}

/// Step 5 for one copy variation: its ad, found by name under the ad set.
async fn ad_step(steps: &mut Steps<'_>, call: &Call<'_>, ad: NewAd<'_>) -> StepResult {
    let run = call.run;
    let (creds, account, status) = (run.creds, run.account, call.status);
    let adapter = run.ctx.app.platforms.adapter(run.platform);
    let n = ad.n;
    let step = Step {
        key: &format!("ad:{n}"),
        kind: "ad",
        label: &format!("Ad {n}"),
        what: "ad",
    };
    steps
        .run(
            step,
            async || {
                adapter
                    .meta_find_ad(creds, account, ad.ad_set_id, ad.name)
                    .await
            },
            async || {
                adapter
                    .meta_create_ad(
                        creds,
                        account,
                        ad.name,
                        ad.ad_set_id,
                        ad.creative_id,
                        status,
                    )
                    .await
            },
        )
        .await
}

/// A step that failed: tried again by the job while waiting can help (or the call may have
/// landed: the next attempt looks first); otherwise the push ends with Meta's answer, keeping
/// the campaign (when it exists) in adpilot's list, and "Try again" continues from this step.
pub(super) async fn failed(
    run: &PushRun<'_>,
    made: Option<&Campaign>,
    what: &str,
    e: PlatformError,
) -> Result<(), JobError> {
    let ctx = run.ctx;
    if (e.is_retryable() || e.may_have_landed()) && ctx.attempt < ctx.max_attempts {
        return match &e {
            PlatformError::RateLimited {
                retry_after: Some(d),
                ..
            } => Err(JobError::retry_after(e.to_string(), *d)),
            _ => Err(JobError::retry(e.to_string())),
        };
    }
    let message = failure_message(run.platform, made.is_some(), what, &e);
    record_failure(run, made.cloned(), message).await
}

/// The platform's answer, and what "Try again" does about it.
fn failure_message(platform: Platform, made: bool, what: &str, e: &PlatformError) -> String {
    let mut message = plain(platform, what, e);
    let p = short_name(platform);
    if e.may_have_landed() {
        message.push_str(&format!(
            " adpilot sent the {what} but never got {p}'s answer; \u{201c}Try again\u{201d} looks for it on {p} before sending it again."
        ));
    } else if made {
        message.push_str(&format!(" The steps above exist on {p}; fix the problem and press \u{201c}Try again\u{201d} to continue from this step."));
    }
    message
}

/// Ends the push with the message, keeping the campaign (when it exists) in adpilot's list.
async fn record_failure(
    run: &PushRun<'_>,
    made: Option<Campaign>,
    message: String,
) -> Result<(), JobError> {
    let (org_id, push_id, account_id) = (run.org_id, run.push_id, run.row.account_id);
    let (platform, currency) = (run.platform, run.currency);
    run.ctx
        .app
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
