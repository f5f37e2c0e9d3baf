//! Campaign pages: the unified list across platforms, one campaign's page, and the create
//! form with its per-platform status page. Clients see everything read-only; members and up
//! may create. Pause, resume and budget changes post to handlers that live with the audited
//! action path (src/campaigns/actions.rs), not here.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{
    Router,
    routing::{get, post},
};
use uuid::Uuid;

use super::copy::{self as camp_copy, CopyFields, PlatformCopyView, SavedCopy};
use super::create_form::{self, CompleteFields, SectionForm};
use super::form_input::{FormInput, Upload};
use super::meta_create::MetaFields;
use super::push::{self, NewPush, PushView};
use super::tiktok_create::{AGE_GROUPS, TiktokFields};
use super::{CampaignListItem, RuleActionView};
use crate::analytics::chart::{self, ChartView};
use crate::analytics::format::Kpi;
use crate::analytics::queries::{self, Filters};
use crate::analytics::range::DateRange;
use crate::analytics::views::{
    CurrencyTiles, DashParams, DashQuery, KpiOption, PresetOption, kpi_options, org_today,
    preset_options, tiles,
};
use crate::app::AppState;
use crate::connections::service::{ManagedAccount, managed_accounts};
use crate::platforms::meta_create::{META_CALLS_TO_ACTION, MetaPage, MetaPixel};
use crate::platforms::tiktok_create::{TIKTOK_CALLS_TO_ACTION, TiktokIdentity};
use crate::types::{Currency, Money, Platform};
use crate::web::context::{Shell, Viewer, Writer};
use crate::web::error::{AppError, AppResult};
use crate::web::form::FieldErrors;
use crate::web::money::{needs_confirmation, parse_money, plain};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(super::list_page::list).post(create))
        .route("/campaigns/new", get(new_form))
        .route("/campaigns/new/copy", post(draft_copy))
        .route("/campaigns/new/targeting", post(suggest_targeting))
        .route("/campaigns/new/check", post(check_with_platform))
        .route("/campaigns/pushes/{batch}", get(pushes))
        .route("/campaigns/pushes/{batch}/retry", post(retry_pushes))
        .route("/campaigns/{id}", get(show))
        .merge(super::level_routes::routes())
        // The create form carries an image (up to 3 MB); the server's own limit stays 4 MB.
        .layer(axum::extract::DefaultBodyLimit::max(4 * 1024 * 1024))
}

fn money(micros: Option<i64>, currency: &str) -> String {
    match (micros, currency.parse::<Currency>()) {
        (Some(m), Ok(c)) => Money::new(m, c).display(),
        _ => "–".into(),
    }
}

// ---------- one campaign ----------

struct DayRow {
    date: chrono::NaiveDate,
    values: Vec<String>,
}

/// The range's days, newest first, in the campaign's currency.
fn day_rows(series: &[queries::Series]) -> Vec<DayRow> {
    let mut rows: Vec<DayRow> = series
        .iter()
        .flat_map(|s| {
            s.days.iter().map(|(date, m)| DayRow {
                date: *date,
                values: Kpi::TABLE
                    .iter()
                    .map(|k| k.display(m, s.currency, true))
                    .collect(),
            })
        })
        .collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.date));
    rows
}

#[derive(Template)]
#[template(path = "campaigns/show.html")]
struct ShowPage {
    shell: Shell,
    item: CampaignListItem,
    budget: String,
    p: DashParams,
    presets: Vec<PresetOption>,
    kpis: Vec<KpiOption>,
    currencies: Vec<CurrencyTiles>,
    charts: Vec<ChartView>,
    day_columns: Vec<&'static str>,
    days: Vec<DayRow>,
    actions: Vec<RuleActionView>,
    saved_copy: Vec<SavedCopy>,
    notes: String,
    groups: super::level_routes::LevelTable,
    /// A budget the action refused, back in its field.
    budget_typed: String,
}

#[derive(Debug, Default, serde::Deserialize)]
struct BudgetEcho {
    budget_typed: Option<String>,
}

async fn show(
    State(app): State<AppState>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<DashQuery>,
    Query(echo): Query<BudgetEcho>,
) -> AppResult<Response> {
    // Anything that is not an id is simply not a campaign.
    let id: Uuid = id.parse().map_err(|_| AppError::NotFound)?;
    let mut p = DashParams::parse(&q, org_today(&v));
    p.filters = Filters {
        campaign_id: Some(id),
        ..Filters::default()
    };
    let range: DateRange = p.range;
    let filters = p.filters.clone();
    let (item, totals, series, actions, (saved_copy, notes, groups)) = app
        .db
        .tenant(v.org_id, async move |c| {
            let item = super::detail(c, id).await?;
            let groups =
                crate::analytics::level_queries::ad_groups_of_campaign(c, id, range).await?;
            let totals = queries::totals(&queries::campaign_aggregates(c, range, &filters).await?);
            let series = queries::daily(c, range, &filters).await?;
            let actions = super::rule_actions(c, id).await?;
            let saved_copy = camp_copy::for_campaign(c, id).await?;
            let notes = camp_copy::notes_for_campaign(c, id).await?;
            Ok::<_, AppError>((item, totals, series, actions, (saved_copy, notes, groups)))
        })
        .await?;
    let charts = series
        .iter()
        .map(|s| chart::build(s, p.kpi_a, p.kpi_b))
        .collect();
    let range_q = format!(
        "?range={}&from={}&to={}&",
        p.preset.as_str(),
        p.from_text,
        p.to_text
    );
    let groups = super::level_routes::table(
        groups,
        item.campaign
            .currency
            .parse()
            .map_err(|_| AppError::Internal("a stored currency does not parse".into()))?,
        &q,
        super::level_routes::TableOf {
            href_prefix: "/ad-groups/",
            base: format!("/campaigns/{id}{range_q}"),
            csv: format!("/campaigns/{id}/ad-groups.csv{range_q}"),
            word: super::level_routes::group_word(item.campaign.platform),
            with_budget: true,
        },
    );
    let page = ShowPage {
        groups,
        shell: v.shell("campaigns"),
        budget: money(item.campaign.daily_budget_micros, &item.campaign.currency),
        item,
        presets: preset_options(p.preset),
        kpis: kpi_options(p.kpi_a, p.kpi_b),
        p,
        currencies: tiles(&totals),
        charts,
        day_columns: Kpi::TABLE.iter().map(|k| k.label()).collect(),
        days: day_rows(&series),
        actions,
        saved_copy,
        notes,
        budget_typed: echo
            .budget_typed
            .unwrap_or_default()
            .chars()
            .filter(|c| !c.is_control())
            .take(60)
            .collect(),
    };
    Ok(Page(page).into_response())
}

// ---------- create ----------

/// Objectives adpilot can create. Traffic on every platform (Google Search with manual CPC,
/// Meta OUTCOME_TRAFFIC, TikTok TRAFFIC); leads and sales on Meta only, where the ad set
/// optimises for a Pixel's website event (`meta_create::objective`).
pub const OBJECTIVES: [(&str, &str); 3] = [
    ("traffic", "Traffic: visits to your website"),
    (
        "leads",
        "Leads: sign-ups on your website (Meta only, needs a Meta Pixel)",
    ),
    (
        "sales",
        "Sales: purchases on your website (Meta only, needs a Meta Pixel)",
    ),
];

#[derive(Debug, Clone, Default)]
struct NewForm {
    name: String,
    accounts: Vec<String>,
    objective: String,
    budget: String,
    /// The amount (plain digits) the person confirmed after being asked about its size.
    confirm_budget: String,
    /// Fields that arrived with control characters (tabs and line breaks aside).
    control_fields: Vec<String>,
    start: String,
    copy: CopyFields,
    complete: CompleteFields,
    meta: MetaFields,
    /// The image file chosen in this submission (kept ones come back as `meta.image_id`).
    image: Option<Upload>,
    tiktok: TiktokFields,
    /// The TikTok section's own image file (kept ones come back as `tiktok.image_id`).
    tiktok_image: Option<Upload>,
}

impl NewForm {
    fn from_input(input: FormInput) -> NewForm {
        let mut f = NewForm::from_pairs(input.pairs);
        f.image = input.image;
        f.tiktok_image = input.tiktok_image;
        f
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> NewForm {
        let mut f = NewForm::default();
        for (k, v) in pairs {
            // A control character is refused (see `control_fields`); the form shows what was
            // typed without it.
            let v = if crate::web::form::has_forbidden_control(&v) {
                f.control_fields.push(k.clone());
                crate::web::form::scrub(&v)
            } else {
                v
            };
            match k.as_str() {
                "name" => f.name = v,
                "account" => f.accounts.push(v),
                "objective" => f.objective = v,
                "daily_budget" => f.budget = v,
                "confirm_budget" => f.confirm_budget = v,
                "start" => f.start = v,
                _ => {
                    if !f.meta.accept(&k, &v)
                        && !f.tiktok.accept(&k, &v)
                        && !f.complete.accept(&k, &v)
                    {
                        f.copy.accept(&k, v);
                    }
                }
            }
        }
        f
    }

    /// The control characters that arrived, as errors: beside the field where the form has a
    /// place for its error, else for the whole form; and the same as sentences for the copy
    /// and targeting sections, which htmx swaps alone (the fields stay as the browser has them).
    fn control_errors(&self) -> (FieldErrors, Vec<String>) {
        let mut errors = FieldErrors::default();
        let mut problems = Vec::new();
        for k in &self.control_fields {
            let (field, label) = match FIELDS_WITH_ERRORS.iter().find(|(f, _)| f == k) {
                Some((f, l)) => (*f, *l),
                None => ("form", "A field of the form"),
            };
            if errors.get(field).is_none() {
                errors.add(field, crate::web::form::CONTROL_MESSAGE);
                problems.push(format!("{label}: {}", crate::web::form::CONTROL_MESSAGE));
            }
        }
        (errors, problems)
    }

    /// The platforms of the chosen accounts that adpilot manages (the copy is drafted for them).
    fn platforms(&self, accounts: &[ManagedAccount]) -> Vec<Platform> {
        Platform::ALL
            .into_iter()
            .filter(|p| {
                accounts.iter().any(|a| {
                    a.platform == *p && self.accounts.iter().any(|id| *id == a.id.to_string())
                })
            })
            .collect()
    }
}

/// Fields of the create form with a place for their own error (`campaigns/new.html`), and
/// their labels.
const FIELDS_WITH_ERRORS: &[(&str, &str)] = &[
    ("name", "Campaign name"),
    ("daily_budget", "Daily budget"),
    ("final_url", "Final URL"),
    ("locations", "Locations"),
    ("keywords", "Keywords"),
    ("ad_group", "Ad group name"),
    ("max_cpc", "Max CPC"),
    ("meta_link", "Meta website URL"),
    ("meta_ad_set", "Meta ad set name"),
    ("meta_start", "Meta start date"),
    ("meta_end", "Meta end date"),
    ("meta_locations", "Meta locations"),
    ("meta_age_min", "Meta minimum age"),
    ("meta_age_max", "Meta maximum age"),
    ("meta_interests", "Meta interests"),
    ("tiktok_link", "TikTok website URL"),
    ("tiktok_ad_group", "TikTok ad group name"),
    ("tiktok_display_name", "TikTok display name"),
    ("tiktok_start", "TikTok start date"),
    ("tiktok_end", "TikTok end date"),
    ("tiktok_locations", "TikTok locations"),
    ("tiktok_interests", "TikTok interests"),
    ("product", "Product or service"),
    ("description", "Description"),
    ("audience", "Audience"),
    ("benefits", "Key benefits"),
    ("keyword", "Primary keyword"),
    ("avoid", "Words to avoid"),
    ("variations", "Variations per platform"),
    ("notes", "Notes"),
];

#[derive(Template)]
#[template(path = "campaigns/new.html")]
struct NewPage {
    shell: Shell,
    accounts: Vec<ManagedAccount>,
    form: NewForm,
    errors: FieldErrors,
    objectives: Vec<(&'static str, &'static str)>,
    /// The drafts shown under the brief (drafted now, or re-checked as the user edited them).
    copy: Vec<PlatformCopyView>,
    /// Why no drafts could be made (brief problems, spent budget, rate limit).
    copy_problems: Vec<String>,
    /// Picked variations that cannot be saved, after "Create campaign".
    copy_errors: Vec<String>,
    copy_model_ready: bool,
    tones: [&'static str; 5],
    /// Why there are no targeting suggestions (no provider, brief problems, budget...).
    targeting_problems: Vec<String>,
    /// What "Add ticked suggestions" put into which field, said where it was asked for.
    targeting_added: Vec<String>,
    targeting_ready: bool,
    languages: Vec<(&'static str, &'static str)>,
    /// "Check with Google Ads": whether Google accepted the whole create, and what it said.
    platform_check: Option<(bool, String)>,
    /// The Facebook Pages the Meta connection may advertise for, or why there are none.
    meta_pages: Vec<MetaPage>,
    meta_pages_problem: Option<String>,
    /// The Meta ad account's Pixels (leads and sales), or why there are none.
    meta_pixels: Vec<MetaPixel>,
    meta_pixels_problem: Option<String>,
    ctas: Vec<(&'static str, &'static str)>,
    /// The TikTok advertiser's identities, or why there are none.
    tiktok_identities: Vec<TiktokIdentity>,
    tiktok_identities_problem: Option<String>,
    tiktok_ctas: Vec<(&'static str, &'static str)>,
    tiktok_ages: Vec<(&'static str, &'static str)>,
}

impl NewPage {
    fn new(app: &AppState, shell: Shell, accounts: Vec<ManagedAccount>, form: NewForm) -> NewPage {
        NewPage {
            shell,
            accounts,
            form,
            errors: FieldErrors::default(),
            objectives: OBJECTIVES.to_vec(),
            copy: Vec::new(),
            copy_problems: Vec::new(),
            copy_errors: Vec::new(),
            copy_model_ready: app.ai.available(crate::ai::config::Task::AdCopy),
            tones: camp_copy::TONES,
            targeting_problems: Vec::new(),
            targeting_added: Vec::new(),
            targeting_ready: app.ai.available(crate::ai::config::Task::Targeting),
            languages: crate::platforms::create::GOOGLE_LANGUAGES.to_vec(),
            platform_check: None,
            meta_pages: Vec::new(),
            meta_pages_problem: None,
            meta_pixels: Vec::new(),
            meta_pixels_problem: None,
            ctas: META_CALLS_TO_ACTION.to_vec(),
            tiktok_identities: Vec::new(),
            tiktok_identities_problem: None,
            tiktok_ctas: TIKTOK_CALLS_TO_ACTION.to_vec(),
            tiktok_ages: AGE_GROUPS.to_vec(),
        }
    }

    /// Whether adpilot manages a TikTok account (the form then shows the TikTok section).
    fn has_tiktok(&self) -> bool {
        self.accounts.iter().any(|a| a.platform == Platform::Tiktok)
    }

    /// The Meta Pages and the TikTok identities the form offers (one look-up each per form
    /// shown, for the platforms adpilot manages).
    async fn load_platform_lists(&mut self, app: &AppState, org_id: Uuid) {
        self.load_meta_pages(app, org_id).await;
        if self.has_tiktok() {
            let (list, problem) =
                super::tiktok_lookup::identities(app, org_id, &self.accounts, &self.form.accounts)
                    .await;
            self.tiktok_identities = list;
            self.tiktok_identities_problem = problem;
        }
    }

    /// Whether adpilot manages a Meta account (the form then shows the Meta section).
    fn has_meta(&self) -> bool {
        self.accounts.iter().any(|a| a.platform == Platform::Meta)
    }

    fn page_selected(&self, id: &str) -> bool {
        self.form.meta.page == id
    }

    fn pixel_selected(&self, id: &str) -> bool {
        self.form.meta.pixel == id
    }

    /// Lists the Meta Pages for the Meta section (one look-up per form shown).
    async fn load_meta_pages(&mut self, app: &AppState, org_id: Uuid) {
        if !self.has_meta() {
            return;
        }
        let (pages, problem) =
            super::meta_lookup::pages(app, org_id, &self.accounts, &self.form.accounts).await;
        self.meta_pages = pages;
        self.meta_pages_problem = problem;
        let (pixels, problem) = super::meta_lookup::pixels(app, org_id, &self.accounts).await;
        self.meta_pixels = pixels;
        self.meta_pixels_problem = problem;
    }

    fn account_checked(&self, id: &Uuid) -> bool {
        let id = id.to_string();
        self.form.accounts.contains(&id)
    }
}

async fn load_accounts(app: &AppState, org_id: Uuid) -> AppResult<Vec<ManagedAccount>> {
    app.db
        .tenant(org_id, async move |c| {
            Ok::<_, AppError>(managed_accounts(c).await?)
        })
        .await
}

async fn new_form(State(app): State<AppState>, w: Writer) -> AppResult<Response> {
    let accounts = load_accounts(&app, w.org_id).await?;
    let mut page = NewPage::new(
        &app,
        w.shell("campaigns"),
        accounts,
        NewForm {
            objective: "traffic".into(),
            start: "paused".into(),
            meta: MetaFields::defaults(),
            tiktok: TiktokFields::defaults(),
            ..NewForm::default()
        },
    );
    page.load_platform_lists(&app, w.org_id).await;
    Ok(Page(page).into_response())
}

/// Why a model may not be asked now (rate or plan limit), as a sentence for the form.
async fn ai_refusal(app: &AppState, w: &Writer) -> AppResult<Option<String>> {
    if let Err(secs) = app.ai.check_rate(w.user_id) {
        return Ok(Some(format!(
            "Too many AI requests. Try again in {secs} seconds."
        )));
    }
    match crate::billing::enforce::check(app, w.org_id, crate::billing::Limit::AiTokensPerMonth)
        .await
    {
        Ok(()) => Ok(None),
        Err(e @ crate::billing::enforce::LimitError::Reached { .. }) => Ok(Some(e.to_string())),
        Err(e) => Err(e.into()),
    }
}

/// "Suggest targeting" on the create form: per chosen platform, audience expansions and
/// keywords or interests from the brief. Ticked suggestions are added to the campaign's
/// notes when it is created. There is no offline generator for this: without a provider the
/// section says so.
async fn suggest_targeting(
    State(app): State<AppState>,
    w: Writer,
    input: FormInput,
) -> AppResult<Response> {
    let form = NewForm::from_input(input);
    let accounts = load_accounts(&app, w.org_id).await?;
    let platforms = form.platforms(&accounts);
    let mut page = NewPage::new(&app, w.shell("campaigns"), accounts, form);
    page.load_platform_lists(&app, w.org_id).await;
    // The drafts on the form stay as they are.
    let brief = page.form.copy.brief(platforms.clone());
    page.copy = page.form.copy.rechecked(&brief);
    let (errors, problems) = page.form.control_errors();
    if errors.any() {
        // Nothing is asked or added; 200 so that htmx shows the section's problems.
        page.errors = errors;
        page.targeting_problems = problems;
        return Ok(Page(page).into_response());
    }
    if page.form.copy.action == "apply" {
        // Only what the person ticked goes into the fields, and only now.
        let added = apply_suggestions(&mut page.form)
            + apply_meta_interests(&app, w.org_id, &mut page).await
            + apply_tiktok_interests(&app, w.org_id, &mut page).await;
        if added == 0 && page.targeting_problems.is_empty() && page.targeting_added.is_empty() {
            page.targeting_problems.push(
                "Tick the Google keyword, Meta interest or TikTok interest suggestions to add, then press \u{201c}Add ticked suggestions\u{201d}.".into(),
            );
        }
        return Ok(Page(page).into_response());
    }
    let c = &page.form.copy;
    if !page.targeting_ready {
        page.targeting_problems.push("No AI provider is configured, so adpilot cannot suggest targeting. Write your own notes below; they are saved with the campaign.".into());
    } else if c.product.trim().is_empty() {
        page.targeting_problems
            .push("Name the product or service first.".into());
    } else if platforms.is_empty() {
        page.targeting_problems.push(
            "Choose at least one ad account above: targeting is suggested for its platform.".into(),
        );
    } else if c.product.chars().count() > 200
        || c.description.chars().count() > 2000
        || c.audience.chars().count() > 500
    {
        page.targeting_problems.push(
            "Keep the product under 200, the description under 2000 and the audience under 500 characters."
                .into(),
        );
    } else if let Some(r) = ai_refusal(&app, &w).await? {
        page.targeting_problems.push(r);
    } else {
        let mut list = Vec::new();
        let mut by = Vec::new();
        for p in platforms {
            let tb = crate::ai::advice::TargetingBrief {
                product: c.product.trim().to_string(),
                description: c.description.trim().to_string(),
                audience: c.audience.trim().to_string(),
                platform: p,
            };
            match crate::ai::advice::targeting(&app.ai, &app.db, w.org_id, &tb).await {
                Ok(g) => {
                    let label = format!("{}/{}", g.provider, g.model);
                    if !by.contains(&label) {
                        by.push(label);
                    }
                    list.extend(g.value.into_iter().map(|s| camp_copy::TargetSuggestion {
                        platform: p,
                        kind: s.kind,
                        value: s.value,
                        why: s.why,
                    }));
                }
                Err(crate::ai::AiError::Db(e)) => return Err(e.into()),
                Err(e) => page.targeting_problems.push(format!("{}: {e}", p.label())),
            }
        }
        page.form.copy.set_suggestions(list, by.join(", "));
    }
    Ok(Page(page).into_response())
}

/// Adds the ticked Google keyword suggestions to the keywords field (broad match, once each).
/// Returns how many were added.
fn apply_suggestions(form: &mut NewForm) -> usize {
    let mut added = 0;
    for (t, on) in form.copy.suggestions() {
        if !on || t.platform != Platform::Google || t.kind != "keyword" {
            continue;
        }
        let text = t.value.trim().to_string();
        let present = form.complete.keywords.lines().any(|l| {
            l.trim()
                .trim_matches(['[', ']', '"'])
                .eq_ignore_ascii_case(&text)
        });
        if !present && !text.is_empty() {
            if !form.complete.keywords.trim().is_empty() && !form.complete.keywords.ends_with('\n')
            {
                form.complete.keywords.push('\n');
            }
            form.complete.keywords.push_str(&text);
            form.complete.keywords.push('\n');
            added += 1;
        }
    }
    added
}

/// Adds the ticked Meta interest suggestions to the interests field, each only after Meta's
/// interest search knows it (under Meta's name for it); the ones Meta does not know are said,
/// not added. Returns how many were added.
async fn apply_meta_interests(app: &AppState, org_id: Uuid, page: &mut NewPage) -> usize {
    let ticked: Vec<String> = page
        .form
        .copy
        .suggestions()
        .into_iter()
        .filter(|(t, on)| *on && t.platform == Platform::Meta && t.kind == "interest")
        .map(|(t, _)| t.value.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if ticked.is_empty() {
        return 0;
    }
    let creds =
        match super::meta_lookup::creds_for_form(app, org_id, &page.accounts, &page.form.accounts)
            .await
        {
            Ok(c) => c,
            Err(m) => {
                page.targeting_problems.push(m);
                return 0;
            }
        };
    let mut added = 0;
    for name in ticked {
        match super::meta_lookup::interests(app, &creds, std::slice::from_ref(&name)).await {
            Ok(found) => {
                for i in found {
                    let present = page
                        .form
                        .meta
                        .interest_names()
                        .iter()
                        .any(|l| l.eq_ignore_ascii_case(&i.name));
                    if !present {
                        let f = &mut page.form.meta.interests;
                        if !f.trim().is_empty() && !f.ends_with('\n') {
                            f.push('\n');
                        }
                        f.push_str(&i.name);
                        f.push('\n');
                        added += 1;
                    }
                }
            }
            Err(m) => page.targeting_problems.push(m),
        }
    }
    added
}

/// Adds the ticked TikTok interest suggestions to the interest categories field as the
/// TikTok category each maps to (TikTok targets only its own broad categories). Each mapping
/// is said beside the suggestions, so a suggestion never becomes a different category
/// unseen; one with no category is said and not added. Returns how many were added.
async fn apply_tiktok_interests(app: &AppState, org_id: Uuid, page: &mut NewPage) -> usize {
    let ticked: Vec<String> = page
        .form
        .copy
        .suggestions()
        .into_iter()
        .filter(|(t, on)| *on && t.platform == Platform::Tiktok && t.kind == "interest")
        .map(|(t, _)| t.value.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect();
    if ticked.is_empty() {
        return 0;
    }
    let all = match super::tiktok_lookup::categories_for_form(
        app,
        org_id,
        &page.accounts,
        &page.form.accounts,
    )
    .await
    {
        Ok(all) => all,
        Err(m) => {
            page.targeting_problems.push(m);
            return 0;
        }
    };
    let mut added = 0;
    let mut unknown = Vec::new();
    for name in ticked {
        let Some(cat) = super::tiktok_lookup::category_for(&name, &all) else {
            unknown.push(format!("\u{201c}{name}\u{201d}"));
            continue;
        };
        let present = page
            .form
            .tiktok
            .interest_names()
            .iter()
            .any(|l| l.eq_ignore_ascii_case(&cat.name));
        let what = if cat.name.eq_ignore_ascii_case(&name) {
            format!("TikTok interest category \u{201c}{}\u{201d}", cat.name)
        } else {
            format!(
                "\u{201c}{name}\u{201d} as TikTok's interest category \u{201c}{}\u{201d}",
                cat.name
            )
        };
        if present {
            page.targeting_added.push(format!(
                "{what}: already in the TikTok interest categories."
            ));
            continue;
        }
        let f = &mut page.form.tiktok.interests;
        if !f.trim().is_empty() && !f.ends_with('\n') {
            f.push('\n');
        }
        f.push_str(&cat.name);
        f.push('\n');
        added += 1;
        page.targeting_added
            .push(format!("{what}: added to the TikTok interest categories."));
    }
    if !unknown.is_empty() {
        let some: Vec<&str> = all.iter().take(8).map(|i| i.name.as_str()).collect();
        page.targeting_problems.push(format!(
            "TikTok has no interest category for {}, so nothing was added for it. TikTok's categories are broad, such as {}; type one into the TikTok interest categories field if it fits.",
            unknown.join(", "),
            some.join(", ")
        ));
    }
    added
}

/// "Draft copy" (or "Check edits") on the create form. Renders the whole form page: htmx
/// swaps only the copy section, a browser without JavaScript gets the page with every field
/// kept. Refusals the user can act on (budget, plan limit, rate) are shown in the section.
async fn draft_copy(
    State(app): State<AppState>,
    w: Writer,
    input: FormInput,
) -> AppResult<Response> {
    let form = NewForm::from_input(input);
    let accounts = load_accounts(&app, w.org_id).await?;
    let brief = form.copy.brief(form.platforms(&accounts));
    let recheck = form.copy.action == "check";
    let mut page = NewPage::new(&app, w.shell("campaigns"), accounts, form);
    page.load_platform_lists(&app, w.org_id).await;
    let (errors, problems) = page.form.control_errors();
    if errors.any() {
        // Nothing is drafted; the drafts on the form stay. 200 so that htmx shows the
        // section's problems.
        page.errors = errors;
        page.copy_problems = problems;
        page.copy = page.form.copy.rechecked(&brief);
        return Ok(Page(page).into_response());
    }
    if recheck {
        page.copy = page.form.copy.rechecked(&brief);
        if page.copy.is_empty() {
            page.copy_problems
                .push("There are no drafts to check yet: press \"Draft copy\" first.".into());
        }
        return Ok(Page(page).into_response());
    }
    page.copy_problems = brief
        .problems()
        .into_iter()
        .map(|p| {
            if p.starts_with("Choose at least one platform") {
                "Choose at least one ad account above: copy is drafted for its platform.".into()
            } else {
                p
            }
        })
        .collect();
    if page.copy_problems.is_empty() && page.copy_model_ready {
        page.copy_problems.extend(ai_refusal(&app, &w).await?);
    }
    if page.copy_problems.is_empty() {
        let drafted = crate::ai::copy::draft(&app.ai, &app.db, w.org_id, &brief)
            .await
            .map_err(|e| match e {
                crate::ai::AiError::Db(d) => AppError::from(d),
                other => AppError::internal(other),
            })?;
        page.copy = drafted
            .into_iter()
            .map(PlatformCopyView::from_drafted)
            .collect();
    }
    Ok(Page(page).into_response())
}

/// Checks the form against the organization's managed accounts.
fn validate(
    form: &NewForm,
    accounts: &[ManagedAccount],
    largest: Option<i64>,
) -> Result<Vec<NewPush>, FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = form.name.trim();
    check_name(form, name, &mut errors);
    let chosen = chosen_accounts(form, accounts, &mut errors);
    let currencies = one_currency(&chosen, &mut errors);
    check_objective(form, &chosen, &mut errors);
    // Read with the first chosen currency; with no (or mixed) accounts the error above
    // already says what to fix, and the amount is read again once they are chosen.
    let budget = currencies
        .first()
        .and_then(|c| check_budget(form, *c, largest, &mut errors));
    let start_active = match form.start.as_str() {
        "active" => true,
        "paused" | "" => false,
        _ => {
            errors.add(
                "start",
                "Choose whether the campaign starts paused or active.",
            );
            false
        }
    };
    if errors.any() {
        return Err(errors);
    }
    let Some(budget) = budget else {
        return Err(errors);
    };
    let micros = budget.micros;
    Ok(chosen
        .into_iter()
        .map(|a| NewPush {
            account: a.clone(),
            name: name.to_string(),
            objective: form.objective.clone(),
            daily_budget_micros: micros,
            start_active,
            spec: super::complete::PushSpec::default(),
        })
        .collect())
}

/// The campaign's name (trimmed): present, printable, under 256 characters.
fn check_name(form: &NewForm, name: &str, errors: &mut FieldErrors) {
    if name.chars().any(char::is_control) || form.control_fields.iter().any(|k| k == "name") {
        errors.add(
            "name",
            "Remove the invisible control characters (such as NUL) from the name.",
        );
    } else if name.is_empty() {
        errors.add("name", "Give the campaign a name.");
    } else if name.chars().count() > 255 {
        errors.add("name", "Keep the name under 256 characters.");
    }
}

/// The chosen accounts, each once, all managed by adpilot.
fn chosen_accounts<'a>(
    form: &NewForm,
    accounts: &'a [ManagedAccount],
    errors: &mut FieldErrors,
) -> Vec<&'a ManagedAccount> {
    let mut chosen: Vec<&ManagedAccount> = Vec::new();
    for raw in &form.accounts {
        match raw
            .parse::<Uuid>()
            .ok()
            .and_then(|id| accounts.iter().find(|a| a.id == id))
        {
            Some(a) if !chosen.iter().any(|c| c.id == a.id) => chosen.push(a),
            Some(_) => {}
            None => {
                errors.add(
                    "account",
                    "One of the chosen accounts is not managed by adpilot.",
                );
            }
        }
    }
    if chosen.is_empty() && errors.get("account").is_none() {
        errors.add("account", "Choose at least one ad account.");
    }
    chosen
}

/// The chosen accounts' currencies, which must be one: the daily budget is one amount.
fn one_currency(chosen: &[&ManagedAccount], errors: &mut FieldErrors) -> Vec<Currency> {
    let mut currencies: Vec<Currency> = chosen.iter().map(|a| a.currency).collect();
    currencies.sort();
    currencies.dedup();
    if currencies.len() > 1 {
        let list: Vec<&str> = currencies.iter().map(|c| c.as_str()).collect();
        errors.add(
            "account",
            format!(
                "The chosen accounts use different currencies ({}). The daily budget is one amount in one currency, so create one campaign per currency.",
                list.join(", ")
            ),
        );
    }
    currencies
}

/// The objective: from the list, and (for leads and sales, which need a Pixel) one Meta
/// account only.
fn check_objective(form: &NewForm, chosen: &[&ManagedAccount], errors: &mut FieldErrors) {
    if !OBJECTIVES.iter().any(|(v, _)| *v == form.objective) {
        errors.add("objective", "Choose an objective from the list.");
    } else if form.objective != "traffic" && chosen.iter().any(|a| a.platform != Platform::Meta) {
        errors.add(
            "objective",
            "Leads and sales campaigns are created on Meta only (optimised for your Meta Pixel's events); Google Ads and TikTok campaigns are created for traffic. Untick the other accounts, or choose Traffic.",
        );
    } else if form.objective != "traffic"
        && chosen
            .iter()
            .filter(|a| a.platform == Platform::Meta)
            .count()
            > 1
    {
        errors.add(
            "objective",
            "A Pixel belongs to one Meta ad account: create a leads or sales campaign in one Meta account at a time.",
        );
    }
}

/// The daily budget in the accounts' currency; a budget far above the accounts' largest
/// needs its confirmation ticked (it is still returned: the error stops the create).
fn check_budget(
    form: &NewForm,
    currency: Currency,
    largest: Option<i64>,
    errors: &mut FieldErrors,
) -> Option<Money> {
    let m = match parse_money(&form.budget, currency) {
        Ok(m) => m,
        Err(e) => {
            errors.add("daily_budget", e.to_string());
            return None;
        }
    };
    if form.confirm_budget.trim() != plain(m)
        && let Some(reference) =
            needs_confirmation(m, None, largest.map(|l| Money::new(l, m.currency)))
    {
        errors.add(
            "daily_budget",
            format!(
                "{} a day is more than {} times {}{}. Check the amount; if it is right, tick “Yes, this budget is right” and create again.",
                m.display(),
                crate::web::money::CONFIRM_MULTIPLE,
                reference.display(),
                if largest.is_some() {
                    ", the largest daily budget in the chosen accounts"
                } else {
                    ""
                }
            ),
        );
        errors.add("confirm_budget", plain(m));
    }
    Some(m)
}

async fn create(State(app): State<AppState>, w: Writer, input: FormInput) -> AppResult<Response> {
    let mut form = NewForm::from_input(input);
    let accounts = load_accounts(&app, w.org_id).await?;
    let platforms = form.platforms(&accounts);
    let brief = form.copy.brief(platforms.clone());
    let picked = form.copy.picked(&brief, &platforms);
    let notes = form.copy.final_notes();
    // A control character (a NUL pasted from somewhere) cannot be stored: say which field.
    let control: Vec<String> = form
        .control_fields
        .iter()
        .filter(|k| k.as_str() != "name")
        .map(|k| k.replace('_', " "))
        .collect();
    let largest = largest_chosen_budget(&app, w.org_id, &form).await?;
    let mut fields = validate(&form, &accounts, largest)
        .and_then(|pushes| {
            if control.is_empty() {
                Ok(pushes)
            } else {
                Err(FieldErrors::one(
                    "form",
                    format!(
                        "Remove the invisible control characters (such as NUL) from: {}.",
                        control.join(", ")
                    ),
                ))
            }
        })
        .and_then(|pushes| match &notes {
            Ok(_) => Ok(pushes),
            Err(m) => {
                let mut e = FieldErrors::default();
                e.add("notes", m.clone());
                Err(e)
            }
        });
    complete_google(&app, w.org_id, &form, &accounts, &picked, &mut fields).await?;
    complete_meta(&app, &w, &mut form, &accounts, &picked, &mut fields).await?;
    complete_tiktok(&app, &w, &mut form, &accounts, &picked, &mut fields).await?;
    match (fields, picked) {
        (Ok(pushes), Ok(picked)) => {
            let (org_id, user_id) = (w.org_id, w.user_id);
            let notes = notes.unwrap_or_default();
            let batch = app
                .db
                .tenant(org_id, async move |c| {
                    let batch = push::create_batch(c, org_id, user_id, &pushes).await?;
                    camp_copy::save_for_batch(c, org_id, user_id, batch, &picked).await?;
                    camp_copy::save_notes(c, batch, &notes).await?;
                    Ok::<_, AppError>(batch)
                })
                .await?;
            Ok(Redirect::to(&format!("/campaigns/pushes/{batch}")).into_response())
        }
        (fields, picked) => {
            let mut page = NewPage::new(&app, w.shell("campaigns"), accounts, form);
            page.load_platform_lists(&app, w.org_id).await;
            page.errors = fields.err().unwrap_or_default();
            if let Err(m) = &notes {
                if page.errors.get("notes").is_none() {
                    page.errors.add("notes", m.clone());
                }
            }
            page.copy_errors = picked.err().unwrap_or_default();
            // The drafts stay on the form as the user left them.
            page.copy = page.form.copy.rechecked(&brief);
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
    }
}

/// "Check with Google Ads": the whole form checked as for "Create campaign", then the Google
/// create sent with `validateOnly`, which runs Google's own validation and makes nothing.
async fn check_with_platform(
    State(app): State<AppState>,
    w: Writer,
    input: FormInput,
) -> AppResult<Response> {
    let mut form = NewForm::from_input(input);
    let accounts = load_accounts(&app, w.org_id).await?;
    let platforms = form.platforms(&accounts);
    let brief = form.copy.brief(platforms.clone());
    let picked = form.copy.picked(&brief, &platforms);
    let largest = largest_chosen_budget(&app, w.org_id, &form).await?;
    let mut fields = validate(&form, &accounts, largest);
    complete_google(&app, w.org_id, &form, &accounts, &picked, &mut fields).await?;
    complete_meta(&app, &w, &mut form, &accounts, &picked, &mut fields).await?;
    complete_tiktok(&app, &w, &mut form, &accounts, &picked, &mut fields).await?;
    let mut page = NewPage::new(&app, w.shell("campaigns"), accounts, form);
    page.load_platform_lists(&app, w.org_id).await;
    page.copy = page.form.copy.rechecked(&brief);
    page.copy_errors = picked.err().unwrap_or_default();
    let (control, _) = page.form.control_errors();
    if control.any() {
        // Nothing goes to Google with them.
        page.errors = control;
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    let pushes = match fields {
        Ok(p) => p,
        Err(e) => {
            page.errors = e;
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
        }
    };
    let mut checked = 0;
    for p in &pushes {
        let Some(g) = &p.spec.google else {
            continue;
        };
        let currency = p.account.currency;
        let spec = g.search_spec(
            p.name.as_str(),
            Money::new(p.daily_budget_micros, currency),
            if p.start_active {
                crate::platforms::CampaignStatus::Active
            } else {
                crate::platforms::CampaignStatus::Paused
            },
        );
        let answer =
            match crate::connections::service::account_access(&app, w.org_id, p.account.id).await {
                Err(e) => Err(format!(
                    "adpilot cannot reach Google Ads for {}: {e}",
                    p.account.name
                )),
                Ok((_, creds, account)) => app
                    .platforms
                    .adapter(Platform::Google)
                    .create_search_campaign(&creds, &account, &spec, true)
                    .await
                    .map_err(|e| push::plain_error(Platform::Google, &e)),
            };
        checked += 1;
        if let Err(m) = answer {
            page.platform_check = Some((false, m));
            return Ok(Page(page).into_response());
        }
    }
    page.platform_check = Some(if checked == 0 {
        (
            false,
            "There is nothing to check with Google Ads: choose a Google Ads account and fill in the ads and targeting.".into(),
        )
    } else {
        (
            true,
            "Google Ads checked the whole campaign (budget, targeting, ad group, keywords and ads) and would accept it. Nothing was created yet.".into(),
        )
    });
    Ok(Page(page).into_response())
}

/// With a Google account chosen and any ad field filled (final URL, locations, keywords, bid),
/// the Google push becomes a complete
/// Search campaign: the fields are checked, the locations looked up on Google Ads (nothing is
/// created by a look-up), and the spec is attached to the Google pushes. Errors join the
/// form's other field errors.
/// The largest daily budget among the chosen accounts' campaigns (what a new budget is
/// compared with before it is sent).
async fn largest_chosen_budget(
    app: &AppState,
    org_id: Uuid,
    form: &NewForm,
) -> AppResult<Option<i64>> {
    let chosen: Vec<Uuid> = form
        .accounts
        .iter()
        .filter_map(|a| a.parse().ok())
        .collect();
    app.db
        .tenant(org_id, async move |c| {
            Ok::<_, AppError>(super::budget_input::largest_daily_budget(c, &chosen).await?)
        })
        .await
}

async fn complete_google(
    app: &AppState,
    org_id: Uuid,
    form: &NewForm,
    accounts: &[ManagedAccount],
    picked: &Result<Vec<camp_copy::SavedVariation>, Vec<String>>,
    fields: &mut Result<Vec<NewPush>, FieldErrors>,
) -> AppResult<()> {
    let google: Vec<&ManagedAccount> = accounts
        .iter()
        .filter(|a| a.platform == Platform::Google && form.accounts.contains(&a.id.to_string()))
        .collect();
    let Some(first) = google.first() else {
        return Ok(());
    };
    // Kept copy alone keeps the campaign-only create (the copy is saved for copy-paste); an
    // ad field asks for the complete campaign, and then every field is required.
    if !form.complete.any() {
        return Ok(());
    }
    let kept = picked.as_deref().unwrap_or(&[]);
    let mut errors = fields.as_ref().err().cloned().unwrap_or_default();
    let spec = create_form::google_spec(
        &form.complete,
        &form.name,
        first.currency,
        kept,
        &mut errors,
    );
    let spec = match spec {
        Some(mut spec) if !errors.any() => {
            match resolve_locations(app, org_id, first.id, &form.complete.location_names()).await {
                Ok(found) => {
                    spec.locations = found;
                    Some(spec)
                }
                Err(m) => {
                    errors.add("locations", m);
                    None
                }
            }
        }
        _ => None,
    };
    give_spec(fields, Platform::Google, spec, errors, |s, spec| {
        s.google = Some(spec)
    });
    Ok(())
}

/// With a Meta account chosen and any Meta ad field filled (URL, places, interests, Page or an
/// image), the Meta pushes make the whole ad: the image is checked (and kept, so a form shown
/// again keeps it), the fields are checked, then the Page, places and interests are looked up
/// on Meta (nothing is created by a look-up). Errors join the form's other field errors.
async fn complete_meta(
    app: &AppState,
    w: &Writer,
    form: &mut NewForm,
    accounts: &[ManagedAccount],
    picked: &Result<Vec<camp_copy::SavedVariation>, Vec<String>>,
    fields: &mut Result<Vec<NewPush>, FieldErrors>,
) -> AppResult<()> {
    let Some(first) = accounts
        .iter()
        .find(|a| a.platform == Platform::Meta && form.accounts.contains(&a.id.to_string()))
    else {
        return Ok(());
    };
    if !form.meta.any(form.image.is_some()) {
        // A bare Meta campaign is a traffic campaign: a leads or sales one needs its ad set,
        // which carries the Pixel.
        if super::meta_create::pixel_event(&form.objective).is_some() {
            let mut errors = fields.as_ref().err().cloned().unwrap_or_default();
            errors.add(
                "objective",
                "A Meta leads or sales campaign is created with its ad set and ads: fill in the Meta section below, with the Pixel that records the events.",
            );
            *fields = Err(errors);
        }
        return Ok(());
    }
    let mut errors = fields.as_ref().err().cloned().unwrap_or_default();
    // The image first: a good one is kept even when another field is wrong.
    let image = meta_image(app, w, form, &mut errors).await?;
    let section = SectionForm {
        campaign_name: &form.name,
        form_objective: &form.objective,
        picked: picked.as_deref().unwrap_or(&[]),
        today: account_today(first),
        time_zone: &first.time_zone,
    };
    let spec = super::meta_create::check_fields(&form.meta, &section, &mut errors);
    let spec = match (spec, image) {
        (Some(mut spec), Some((id, name))) if !errors.any() => {
            spec.image_id = id;
            spec.image_name = name;
            super::meta_lookup::resolve(
                app,
                w.org_id,
                first,
                &form.meta.location_names(),
                &form.meta.interest_names(),
                &mut spec,
                &mut errors,
            )
            .await;
            (!errors.any()).then_some(spec)
        }
        _ => None,
    };
    give_spec(fields, Platform::Meta, spec, errors, |s, spec| {
        s.meta = Some(spec)
    });
    Ok(())
}

/// Today in the ad account's time zone (the dates a section names are the account's).
fn account_today(account: &ManagedAccount) -> chrono::NaiveDate {
    let tz: chrono_tz::Tz = account.time_zone.parse().unwrap_or(chrono_tz::UTC);
    chrono::Utc::now().with_timezone(&tz).date_naive()
}

/// A checked section's spec goes to every push of its platform when the whole form is good;
/// otherwise the section's errors (joined with the form's) are the form's answer.
fn give_spec<S: Clone>(
    fields: &mut Result<Vec<NewPush>, FieldErrors>,
    platform: Platform,
    spec: Option<S>,
    errors: FieldErrors,
    set: impl Fn(&mut super::complete::PushSpec, S),
) {
    match (spec, fields.is_ok()) {
        (Some(spec), true) => {
            if let Ok(pushes) = fields.as_mut() {
                for p in pushes.iter_mut().filter(|p| p.account.platform == platform) {
                    set(&mut p.spec, spec.clone());
                }
            }
        }
        _ => *fields = Err(errors),
    }
}

/// Keeps a checked upload (so a form shown again keeps it); its id and cleaned file name.
async fn store_image(
    app: &AppState,
    w: &Writer,
    up: Upload,
    info: super::meta_create::ImageInfo,
) -> AppResult<(Uuid, String)> {
    let (org_id, user_id) = (w.org_id, w.user_id);
    let name = super::images::clean_name(&up.file_name, info.mime);
    let stored_name = name.clone();
    let id = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, AppError>(
                super::images::store(c, org_id, user_id, &stored_name, info, &up.bytes).await?,
            )
        })
        .await?;
    Ok((id, name))
}

/// The Meta ad's image: a file chosen now (checked and kept) or one kept from an earlier
/// submission. Errors go to the image field.
async fn meta_image(
    app: &AppState,
    w: &Writer,
    form: &mut NewForm,
    errors: &mut FieldErrors,
) -> AppResult<Option<(Uuid, String)>> {
    if let Some(up) = form.image.take() {
        return match super::meta_create::check_image(&up.bytes) {
            Ok(info) => {
                let (id, name) = store_image(app, w, up, info).await?;
                form.meta.image_id = id.to_string();
                form.meta.image_name = name.clone();
                Ok(Some((id, name)))
            }
            Err(m) => {
                form.meta.image_id.clear();
                form.meta.image_name.clear();
                errors.add("meta_image", m);
                Ok(None)
            }
        };
    }
    let Ok(id) = form.meta.image_id.trim().parse::<Uuid>() else {
        if errors.get("meta_image").is_none() {
            errors.add(
                "meta_image",
                "Choose the ad's image: a JPEG or PNG, 1080 × 1080 pixels recommended.",
            );
        }
        return Ok(None);
    };
    let kept = app
        .db
        .tenant(w.org_id, async move |c| {
            Ok::<_, AppError>(super::images::load(c, id).await?)
        })
        .await?;
    match kept {
        Some(k) => {
            form.meta.image_name = k.file_name.clone();
            Ok(Some((id, k.file_name)))
        }
        None => {
            form.meta.image_id.clear();
            form.meta.image_name.clear();
            errors.add("meta_image", "Choose the image again.");
            Ok(None)
        }
    }
}

/// The TikTok ad's image: a file chosen in the TikTok section (checked as the Meta image is,
/// plus TikTok's pixel limit, and kept), one kept from an earlier submission, or, with a Meta
/// account chosen too and no TikTok file, the Meta section's image. Errors go to the field
/// the image came from.
async fn tiktok_image(
    app: &AppState,
    w: &Writer,
    form: &mut NewForm,
    meta_chosen: bool,
    errors: &mut FieldErrors,
) -> AppResult<Option<(Uuid, String)>> {
    let org_id = w.org_id;
    if let Some(up) = form.tiktok_image.take() {
        let checked = super::meta_create::check_image(&up.bytes).and_then(|info| {
            super::tiktok_create::check_pixels(info.width, info.height).map(|()| info)
        });
        return match checked {
            Ok(info) => {
                let (id, name) = store_image(app, w, up, info).await?;
                form.tiktok.image_id = id.to_string();
                form.tiktok.image_name = name.clone();
                Ok(Some((id, name)))
            }
            Err(m) => {
                form.tiktok.image_id.clear();
                form.tiktok.image_name.clear();
                errors.add("tiktok_image", m);
                Ok(None)
            }
        };
    }
    let (field, raw) = match form.tiktok.image_id.trim() {
        "" if meta_chosen => ("meta_image", form.meta.image_id.trim().to_string()),
        own => ("tiktok_image", own.to_string()),
    };
    let Ok(id) = raw.parse::<Uuid>() else {
        // A Meta image that failed its checks already says so at its field.
        if errors.get(field).is_none() {
            errors.add(
                field,
                "Choose the ad's image: a JPEG or PNG, 1080 × 1080 pixels recommended.",
            );
        }
        return Ok(None);
    };
    let kept = app
        .db
        .tenant(org_id, async move |c| {
            Ok::<_, AppError>(super::images::load(c, id).await?)
        })
        .await?;
    let Some(k) = kept else {
        form.tiktok.image_id.clear();
        errors.add(field, "Choose the image again.");
        return Ok(None);
    };
    let (width, height) = (
        u32::try_from(k.width).unwrap_or(u32::MAX),
        u32::try_from(k.height).unwrap_or(u32::MAX),
    );
    if let Err(m) = super::tiktok_create::check_pixels(width, height) {
        errors.add(field, m);
        return Ok(None);
    }
    if field == "tiktok_image" {
        form.tiktok.image_name = k.file_name.clone();
    }
    Ok(Some((id, k.file_name)))
}

/// With a TikTok account chosen and any TikTok ad field filled (URL, places, interests,
/// identity or an image), the TikTok pushes make the whole ad: the image is checked (and
/// kept), the fields are checked, then the places, interest categories and identity are
/// looked up on TikTok (nothing is created by a look-up). Errors join the form's others.
async fn complete_tiktok(
    app: &AppState,
    w: &Writer,
    form: &mut NewForm,
    accounts: &[ManagedAccount],
    picked: &Result<Vec<camp_copy::SavedVariation>, Vec<String>>,
    fields: &mut Result<Vec<NewPush>, FieldErrors>,
) -> AppResult<()> {
    let chosen = |p: Platform| {
        accounts
            .iter()
            .find(|a| a.platform == p && form.accounts.contains(&a.id.to_string()))
    };
    let Some(first) = chosen(Platform::Tiktok).cloned() else {
        return Ok(());
    };
    let meta_chosen = chosen(Platform::Meta).is_some();
    if !form.tiktok.any(form.tiktok_image.is_some()) {
        return Ok(());
    }
    let mut errors = fields.as_ref().err().cloned().unwrap_or_default();
    let image = tiktok_image(app, w, form, meta_chosen, &mut errors).await?;
    let section = SectionForm {
        campaign_name: &form.name,
        form_objective: &form.objective,
        picked: picked.as_deref().unwrap_or(&[]),
        today: account_today(&first),
        time_zone: &first.time_zone,
    };
    let spec = super::tiktok_create::check_fields(&form.tiktok, &section, &mut errors);
    let spec = match (spec, image) {
        (Some(mut spec), Some((id, name))) if !errors.any() => {
            spec.image_id = id;
            spec.image_name = name;
            super::tiktok_lookup::resolve(
                app,
                w.org_id,
                &first,
                &form.tiktok.location_names(),
                &form.tiktok.interest_names(),
                &mut spec,
                &mut errors,
            )
            .await;
            (!errors.any()).then_some(spec)
        }
        _ => None,
    };
    give_spec(fields, Platform::Tiktok, spec, errors, |s, spec| {
        s.tiktok = Some(spec)
    });
    Ok(())
}

/// "Try again" on the status page: Meta and TikTok pushes that stopped at a refused step
/// continue from that step (what exists is found, not made again).
async fn retry_pushes(
    State(app): State<AppState>,
    w: Writer,
    Path(batch): Path<String>,
) -> AppResult<Response> {
    let batch: Uuid = batch.parse().map_err(|_| AppError::NotFound)?;
    let org_id = w.org_id;
    let n = app
        .db
        .tenant(org_id, async move |c| {
            if push::batch(c, batch).await?.is_empty() {
                return Err(AppError::NotFound);
            }
            Ok::<_, AppError>(super::meta_push::retry_batch(c, org_id, batch).await?)
        })
        .await?;
    tracing::info!(batch = %batch, pushes = n, "campaign pushes sent again from their failed step");
    Ok(Redirect::to(&format!("/campaigns/pushes/{batch}")).into_response())
}

/// The typed place names as Google Ads' own look-up resolves them (its best match each).
async fn resolve_locations(
    app: &AppState,
    org_id: Uuid,
    account_id: Uuid,
    names: &[String],
) -> Result<Vec<crate::platforms::create::Target>, String> {
    let (_, creds, _) = crate::connections::service::account_access(app, org_id, account_id)
        .await
        .map_err(|e| format!("adpilot cannot reach Google Ads to look the locations up: {e}"))?;
    let found = app
        .platforms
        .adapter(Platform::Google)
        .find_locations(&creds, names)
        .await
        .map_err(|e| format!("Google Ads did not answer the location look-up ({e}). Try again."))?;
    let unknown: Vec<String> = found
        .iter()
        .filter(|(_, m)| m.is_empty())
        .map(|(n, _)| format!("\u{201c}{n}\u{201d}"))
        .collect();
    if !unknown.is_empty() {
        return Err(format!(
            "Google Ads knows no location called {}. Check the spelling, or name the region or country instead.",
            unknown.join(", ")
        ));
    }
    let mut out: Vec<crate::platforms::create::Target> = Vec::new();
    for (_, m) in found {
        if let Some(best) = m.into_iter().next() {
            if !out.iter().any(|t| t.id == best.id) {
                out.push(crate::platforms::create::Target {
                    id: best.id,
                    name: best.canonical_name.replace(',', ", "),
                });
            }
        }
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "campaigns/pushes.html")]
struct PushesPage {
    shell: Shell,
    batch: Uuid,
    pushes: Vec<PushView>,
    pending: bool,
    steps: Steps,
    csrf_token: String,
}

/// The objects each push made, by push.
struct Steps(std::collections::HashMap<Uuid, Vec<super::complete::StepView>>);

impl Steps {
    fn of(&self, push: &Uuid) -> &[super::complete::StepView] {
        self.0.get(push).map(Vec::as_slice).unwrap_or(&[])
    }
}

impl PushesPage {
    fn steps_of(&self, push: &Uuid) -> &[super::complete::StepView] {
        self.steps.of(push)
    }

    fn any_retryable(&self) -> bool {
        self.pushes.iter().any(|r| r.retryable)
    }
}

impl PushesFragment {
    fn steps_of(&self, push: &Uuid) -> &[super::complete::StepView] {
        self.steps.of(push)
    }

    fn any_retryable(&self) -> bool {
        self.pushes.iter().any(|r| r.retryable)
    }
}

#[derive(Template)]
#[template(path = "campaigns/pushes_status.html")]
struct PushesFragment {
    batch: Uuid,
    pushes: Vec<PushView>,
    pending: bool,
    steps: Steps,
    csrf_token: String,
}

async fn pushes(
    State(app): State<AppState>,
    v: Viewer,
    headers: HeaderMap,
    Path(batch): Path<String>,
) -> AppResult<Response> {
    let batch: Uuid = batch.parse().map_err(|_| AppError::NotFound)?;
    let (rows, steps) = app
        .db
        .tenant(v.org_id, async move |c| {
            let rows = push::batch(c, batch).await?;
            let steps = super::complete::steps_of_batch(c, batch).await?;
            Ok::<_, AppError>((rows, Steps(steps)))
        })
        .await?;
    if rows.is_empty() {
        return Err(AppError::NotFound);
    }
    let pending = rows.iter().any(PushView::is_pending);
    let shell = v.shell("campaigns");
    let csrf_token = shell.csrf_token.clone();
    if headers.contains_key("hx-request") {
        return Ok(Page(PushesFragment {
            batch,
            pushes: rows,
            pending,
            steps,
            csrf_token,
        })
        .into_response());
    }
    Ok(Page(PushesPage {
        shell,
        batch,
        pushes: rows,
        pending,
        steps,
        csrf_token,
    })
    .into_response())
}
