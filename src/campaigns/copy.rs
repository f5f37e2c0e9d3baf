//! Ad copy in the campaign create flow. The brief and the drafts travel in the create form's
//! own fields, so the flow works without JavaScript and nothing is stored before "Create
//! campaign"; the variations the user picked are then saved with each push of their platform.
//! No adapter creates ads yet, so the campaign page shows the saved lines for copy-paste.
//! Owns `campaign_copy`.

use chrono::{DateTime, Utc};
use diesel::sql_types::{Integer, Text, Timestamptz, Uuid as SqlUuid};
use diesel_async::RunQueryDsl;
use uuid::Uuid;

use crate::ai::copy::{CheckedVariation, CopyBrief, Draft, LineKind, MAX_VARIATIONS, PlatformCopy};
use crate::db::Conn;
use crate::types::Platform;

pub const TONES: [&str; 5] = ["friendly", "professional", "bold", "playful", "neutral"];

/// The column value of a line kind.
pub fn kind_code(k: LineKind) -> &'static str {
    match k {
        LineKind::GoogleHeadline => "google_headline",
        LineKind::GoogleDescription => "google_description",
        LineKind::MetaPrimaryText => "meta_primary_text",
        LineKind::MetaHeadline => "meta_headline",
        LineKind::MetaDescription => "meta_description",
        LineKind::TiktokAdText => "tiktok_ad_text",
    }
}

fn kind_of(code: &str) -> Option<LineKind> {
    [
        LineKind::GoogleHeadline,
        LineKind::GoogleDescription,
        LineKind::MetaPrimaryText,
        LineKind::MetaHeadline,
        LineKind::MetaDescription,
        LineKind::TiktokAdText,
    ]
    .into_iter()
    .find(|k| kind_code(*k) == code)
}

fn platform_of(k: LineKind) -> Platform {
    match k {
        LineKind::GoogleHeadline | LineKind::GoogleDescription => Platform::Google,
        LineKind::MetaPrimaryText | LineKind::MetaHeadline | LineKind::MetaDescription => {
            Platform::Meta
        }
        LineKind::TiktokAdText => Platform::Tiktok,
    }
}

/// One posted line: `line:{variation}:{kind}` = text (the kind names the platform).
#[derive(Debug, Clone)]
struct PostedLine {
    variation: usize,
    kind: LineKind,
    text: String,
}

/// The copy part of the create form: the brief, the drafts as the user edited them, which
/// variations are picked, and which generator drafted each platform's copy.
#[derive(Debug, Clone)]
pub struct CopyFields {
    pub product: String,
    pub description: String,
    pub audience: String,
    pub tone: String,
    pub benefits: String,
    pub keyword: String,
    pub avoid: String,
    pub variations: String,
    lines: Vec<PostedLine>,
    picks: Vec<(Platform, usize)>,
    generators: Vec<(Platform, String)>,
    /// "check" re-checks the edited drafts without asking for new ones.
    pub action: String,
    /// Free targeting notes, saved with the campaign.
    pub notes: String,
    /// Targeting suggestions shown on the form (carried in hidden fields).
    suggestions: Vec<TargetSuggestion>,
    /// Keys of the suggestions the user ticked.
    accepted: Vec<String>,
    /// Which model made the suggestions.
    pub targeting_by: String,
}

/// A targeting suggestion as the form carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetSuggestion {
    pub platform: Platform,
    pub kind: String,
    pub value: String,
    pub why: String,
}

impl TargetSuggestion {
    /// The checkbox value, and the line it adds to the notes.
    pub fn key(&self) -> String {
        format!("{}: {} {}", self.platform.label(), self.kind, self.value)
    }

    /// The hidden field carrying it ("|" separated; a "|" inside becomes "/").
    pub fn encoded(&self) -> String {
        let clean = |s: &str| s.replace('|', "/");
        format!(
            "{}|{}|{}|{}",
            self.platform.as_str(),
            clean(&self.kind),
            clean(&self.value),
            clean(&self.why)
        )
    }

    fn decode(s: &str) -> Option<TargetSuggestion> {
        let mut parts = s.splitn(4, '|');
        let platform = parts.next()?.parse().ok()?;
        let kind = parts.next()?.chars().take(20).collect();
        let value: String = parts.next()?.chars().take(200).collect();
        let why = parts.next().unwrap_or("").chars().take(500).collect();
        (!value.trim().is_empty()).then_some(TargetSuggestion {
            platform,
            kind,
            value,
            why,
        })
    }
}

/// Longest notes saved with a campaign (the column's limit).
pub const MAX_NOTES: usize = 5000;

impl Default for CopyFields {
    fn default() -> Self {
        CopyFields {
            product: String::new(),
            description: String::new(),
            audience: String::new(),
            tone: "friendly".into(),
            benefits: String::new(),
            keyword: String::new(),
            avoid: String::new(),
            variations: "2".into(),
            lines: Vec::new(),
            picks: Vec::new(),
            generators: Vec::new(),
            action: String::new(),
            notes: String::new(),
            suggestions: Vec::new(),
            accepted: Vec::new(),
            targeting_by: String::new(),
        }
    }
}

/// Most characters kept of a posted line: far above every platform limit, so an over-long
/// line is still shown (and flagged) whole, while a pasted novel is not echoed back.
const MAX_LINE: usize = 500;

impl CopyFields {
    /// Takes a form field that belongs to the copy part; false when it is not one.
    pub fn accept(&mut self, key: &str, value: String) -> bool {
        match key {
            "product" => self.product = value,
            "description" => self.description = value,
            "audience" => self.audience = value,
            "tone" => self.tone = value,
            "benefits" => self.benefits = value,
            "keyword" => self.keyword = value,
            "avoid" => self.avoid = value,
            "variations" => self.variations = value,
            "copy_action" => self.action = value,
            "notes" => self.notes = value,
            "targeting_by" => self.targeting_by = value.chars().take(200).collect(),
            "suggestion" => {
                if let Some(t) = TargetSuggestion::decode(&value) {
                    if self.suggestions.len() < 3 * crate::ai::advice::MAX_SUGGESTIONS {
                        self.suggestions.push(t);
                    }
                }
            }
            "target" => self.accepted.push(value),
            "pick" => {
                if let Some((p, n)) = value.split_once(':') {
                    if let (Ok(p), Ok(n)) = (p.parse::<Platform>(), n.parse::<usize>()) {
                        self.picks.push((p, n));
                    }
                }
            }
            _ => {
                if let Some(p) = key.strip_prefix("generator:") {
                    if let Ok(p) = p.parse::<Platform>() {
                        self.generators.push((p, value.chars().take(200).collect()));
                    }
                    return true;
                }
                let Some(rest) = key.strip_prefix("line:") else {
                    return false;
                };
                let Some((n, kind)) = rest.split_once(':') else {
                    return true;
                };
                if let (Ok(variation), Some(kind)) = (n.parse::<usize>(), kind_of(kind)) {
                    if (1..=MAX_VARIATIONS).contains(&variation) {
                        self.lines.push(PostedLine {
                            variation,
                            kind,
                            text: value.chars().take(MAX_LINE).collect(),
                        });
                    }
                }
            }
        }
        true
    }

    /// The suggestions on the form, with whether each is ticked.
    pub fn suggestions(&self) -> Vec<(TargetSuggestion, bool)> {
        self.suggestions
            .iter()
            .map(|t| (t.clone(), self.accepted.contains(&t.key())))
            .collect()
    }

    /// Replaces the suggestions (a new "Suggest targeting"); none is ticked yet.
    pub fn set_suggestions(&mut self, list: Vec<TargetSuggestion>, by: String) {
        self.suggestions = list;
        self.accepted.clear();
        self.targeting_by = by;
    }

    /// The notes saved with the campaign: what the user wrote, then each accepted suggestion.
    pub fn final_notes(&self) -> Result<String, String> {
        let mut lines: Vec<String> = Vec::new();
        let written = self.notes.trim();
        if !written.is_empty() {
            lines.push(written.to_string());
        }
        for (t, on) in self.suggestions() {
            if on && !written.contains(&t.key()) {
                lines.push(t.key());
            }
        }
        let notes = lines.join("\n");
        if notes.chars().count() > MAX_NOTES {
            return Err(format!(
                "Keep the targeting notes under {MAX_NOTES} characters, accepted suggestions included."
            ));
        }
        Ok(notes)
    }

    pub fn tone_is(&self, t: &&str) -> bool {
        self.tone.eq_ignore_ascii_case(t)
    }

    /// Whether the user wrote anything in the brief (the copy part is optional).
    pub fn has_brief(&self) -> bool {
        [
            &self.product,
            &self.description,
            &self.audience,
            &self.benefits,
            &self.keyword,
            &self.avoid,
        ]
        .iter()
        .any(|s| !s.trim().is_empty())
    }

    pub fn brief(&self, platforms: Vec<Platform>) -> CopyBrief {
        CopyBrief {
            product: self.product.clone(),
            description: self.description.clone(),
            audience: self.audience.clone(),
            tone: self.tone.clone(),
            benefits: self.benefits.clone(),
            keyword: self.keyword.clone(),
            avoid: self.avoid.clone(),
            // An unparseable count comes back as a problem on the form.
            variations: self.variations.trim().parse().unwrap_or(0),
            platforms,
        }
    }

    fn generator(&self, p: Platform) -> String {
        self.generators
            .iter()
            .find(|(g, _)| *g == p)
            .map(|(_, l)| l.clone())
            .unwrap_or_else(|| "unknown generator".into())
    }

    /// The posted drafts of `platform`, by variation number, as the user edited them.
    fn drafts(&self, platform: Platform) -> Vec<(usize, Draft)> {
        let mut numbers: Vec<usize> = self
            .lines
            .iter()
            .filter(|l| platform_of(l.kind) == platform)
            .map(|l| l.variation)
            .collect();
        numbers.sort_unstable();
        numbers.dedup();
        numbers
            .into_iter()
            .map(|n| {
                let of = |k: LineKind| -> Vec<String> {
                    self.lines
                        .iter()
                        .filter(|l| l.variation == n && l.kind == k)
                        .map(|l| l.text.trim().to_string())
                        .collect()
                };
                let first = |k: LineKind| of(k).into_iter().next().unwrap_or_default();
                let draft = match platform {
                    // A headline or description the user emptied is one they removed.
                    Platform::Google => Draft::Google {
                        headlines: of(LineKind::GoogleHeadline)
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect(),
                        descriptions: of(LineKind::GoogleDescription)
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect(),
                    },
                    Platform::Meta => Draft::Meta {
                        primary_text: first(LineKind::MetaPrimaryText),
                        headline: first(LineKind::MetaHeadline),
                        description: first(LineKind::MetaDescription),
                    },
                    Platform::Tiktok => Draft::Tiktok {
                        ad_text: first(LineKind::TiktokAdText),
                    },
                };
                (n, draft)
            })
            .collect()
    }

    /// The posted drafts checked again against the limits and the brief, per platform.
    pub fn rechecked(&self, brief: &CopyBrief) -> Vec<PlatformCopyView> {
        Platform::ALL
            .into_iter()
            .filter_map(|p| {
                let drafts = self.drafts(p);
                if drafts.is_empty() {
                    return None;
                }
                let variations = drafts
                    .iter()
                    .map(|(n, d)| {
                        VariationView::new(
                            p,
                            *n,
                            crate::ai::copy::check(d, brief),
                            self.picks.contains(&(p, *n)),
                        )
                    })
                    .collect();
                Some(PlatformCopyView {
                    platform: p,
                    generator: self.generator(p),
                    note: None,
                    variations,
                })
            })
            .collect()
    }

    /// The picked variations, checked. Errors name each picked variation that cannot be
    /// saved: a flagged one would be refused by the platform or says what the user excluded.
    pub fn picked(
        &self,
        brief: &CopyBrief,
        chosen: &[Platform],
    ) -> Result<Vec<SavedVariation>, Vec<String>> {
        let views = self.rechecked(brief);
        let mut out = Vec::new();
        let mut errors = Vec::new();
        let mut picks = self.picks.clone();
        picks.sort_by_key(|(p, n)| (p.as_str(), *n));
        picks.dedup();
        for (p, n) in picks {
            let Some(v) = views.iter().find(|v| v.platform == p).and_then(|pv| {
                pv.variations
                    .iter()
                    .find(|v| v.number == n)
                    .map(|v| (pv, v))
            }) else {
                errors.push(format!(
                    "Variation {n} of the {} copy was picked but is not on the form any more; draft the copy again.",
                    p.label()
                ));
                continue;
            };
            let (pv, var) = v;
            if !chosen.contains(&p) {
                errors.push(format!(
                    "Variation {n} of the {} copy is picked, but no {} account is chosen: choose one or untick the variation.",
                    p.label(),
                    p.label()
                ));
            } else if !var.checked.ok() {
                errors.push(format!(
                    "Variation {n} of the {} copy has {} flagged: fix the marked lines and press \"Check edits\", or untick it.",
                    p.label(),
                    plural(var.checked.flag_count(), "problem")
                ));
            } else {
                out.push(SavedVariation {
                    platform: p,
                    variation: n,
                    generator: pv.generator.clone(),
                    lines: var
                        .checked
                        .lines
                        .iter()
                        .map(|l| (l.kind, l.text.trim().to_string()))
                        .collect(),
                });
            }
        }
        if errors.is_empty() {
            Ok(out)
        } else {
            Err(errors)
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// One line as the form shows it: an editable input with its length and flags.
#[derive(Debug, Clone)]
pub struct LineView {
    pub field: String,
    pub id: String,
    pub label: &'static str,
    pub text: String,
    pub length: usize,
    pub limit: usize,
    pub flags: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct VariationView {
    pub number: usize,
    pub pick_value: String,
    pub picked: bool,
    pub checked: CheckedVariation,
    pub lines: Vec<LineView>,
}

impl VariationView {
    fn new(p: Platform, n: usize, checked: CheckedVariation, picked: bool) -> VariationView {
        let lines = checked
            .lines
            .iter()
            .enumerate()
            .map(|(i, l)| LineView {
                field: format!("line:{n}:{}", kind_code(l.kind)),
                id: format!("copy-{}-{n}-{i}", p.as_str()),
                label: l.kind.label(),
                text: l.text.clone(),
                length: l.length,
                limit: l.limit,
                flags: l.flags.clone(),
            })
            .collect();
        VariationView {
            number: n,
            pick_value: format!("{}:{n}", p.as_str()),
            picked,
            checked,
            lines,
        }
    }
}

/// One platform's drafts on the create form.
#[derive(Debug, Clone)]
pub struct PlatformCopyView {
    pub platform: Platform,
    /// The generator's label ("offline drafts ..." or provider/model).
    pub generator: String,
    /// Why the configured model was not used, when it was not.
    pub note: Option<String>,
    pub variations: Vec<VariationView>,
}

impl PlatformCopyView {
    pub fn offline(&self) -> bool {
        self.generator.starts_with("offline drafts")
    }

    pub fn from_drafted(c: PlatformCopy) -> PlatformCopyView {
        let p = c.platform;
        PlatformCopyView {
            platform: p,
            generator: c.generator.label(),
            note: c.note,
            variations: c
                .variations
                .into_iter()
                .enumerate()
                .map(|(i, v)| VariationView::new(p, i + 1, v, false))
                .collect(),
        }
    }
}

/// A picked variation, ready to save.
#[derive(Debug, Clone)]
pub struct SavedVariation {
    pub platform: Platform,
    pub variation: usize,
    pub generator: String,
    pub lines: Vec<(LineKind, String)>,
}

/// Saves the picked variations with every push of their platform in `batch` (call in the
/// transaction that wrote the batch). Returns how many lines were written.
pub async fn save_for_batch(
    c: &mut Conn,
    org_id: Uuid,
    user_id: Uuid,
    batch: Uuid,
    picked: &[SavedVariation],
) -> diesel::QueryResult<usize> {
    #[derive(diesel::QueryableByName)]
    struct PushRow {
        #[diesel(sql_type = SqlUuid)]
        id: Uuid,
        #[diesel(sql_type = Text)]
        platform: String,
    }
    if picked.is_empty() {
        return Ok(0);
    }
    let pushes: Vec<PushRow> =
        diesel::sql_query("SELECT id, platform FROM campaign_pushes WHERE batch_id = $1")
            .bind::<SqlUuid, _>(batch)
            .load(c)
            .await?;
    let mut written = 0;
    for push in &pushes {
        for v in picked
            .iter()
            .filter(|v| v.platform.as_str() == push.platform)
        {
            for (pos, (kind, text)) in v.lines.iter().enumerate() {
                written += diesel::sql_query(
                    "INSERT INTO campaign_copy (id, org_id, push_id, platform, variation, position,
                       kind, text, generator, created_by)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind::<SqlUuid, _>(Uuid::now_v7())
                .bind::<SqlUuid, _>(org_id)
                .bind::<SqlUuid, _>(push.id)
                .bind::<Text, _>(v.platform.as_str())
                .bind::<Integer, _>(i32::try_from(v.variation).unwrap_or(i32::MAX))
                .bind::<Integer, _>(i32::try_from(pos).unwrap_or(i32::MAX))
                .bind::<Text, _>(kind_code(*kind))
                .bind::<Text, _>(text)
                .bind::<Text, _>(&v.generator)
                .bind::<SqlUuid, _>(user_id)
                .execute(c)
                .await?;
            }
        }
    }
    Ok(written)
}

/// Saves the targeting notes with every push of `batch` (in the batch's transaction).
pub async fn save_notes(c: &mut Conn, batch: Uuid, notes: &str) -> diesel::QueryResult<()> {
    if notes.is_empty() {
        return Ok(());
    }
    diesel::sql_query("UPDATE campaign_pushes SET notes = $2 WHERE batch_id = $1")
        .bind::<SqlUuid, _>(batch)
        .bind::<Text, _>(notes)
        .execute(c)
        .await?;
    Ok(())
}

/// The targeting notes saved with the push that created campaign `campaign_id`.
pub async fn notes_for_campaign(c: &mut Conn, campaign_id: Uuid) -> diesel::QueryResult<String> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        notes: String,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT notes FROM campaign_pushes WHERE campaign_id = $1 AND notes <> '' ORDER BY created_at",
    )
    .bind::<SqlUuid, _>(campaign_id)
    .load(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| r.notes)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Saved copy of one campaign, for its page.
#[derive(Debug, Clone)]
pub struct SavedCopy {
    pub variation: i32,
    pub generator: String,
    pub saved_at: DateTime<Utc>,
    pub lines: Vec<SavedLine>,
}

#[derive(Debug, Clone)]
pub struct SavedLine {
    pub id: String,
    pub label: &'static str,
    pub text: String,
    pub length: usize,
    pub limit: usize,
}

/// The copy saved with the push that created campaign `campaign_id`, by variation.
pub async fn for_campaign(c: &mut Conn, campaign_id: Uuid) -> diesel::QueryResult<Vec<SavedCopy>> {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Integer)]
        variation: i32,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Text)]
        text: String,
        #[diesel(sql_type = Text)]
        generator: String,
        #[diesel(sql_type = Timestamptz)]
        created_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = diesel::sql_query(
        "SELECT cc.variation, cc.kind, cc.text, cc.generator, cc.created_at
         FROM campaign_copy cc JOIN campaign_pushes p ON p.id = cc.push_id
         WHERE p.campaign_id = $1
         ORDER BY p.created_at, cc.variation, cc.position",
    )
    .bind::<SqlUuid, _>(campaign_id)
    .load(c)
    .await?;
    let mut out: Vec<SavedCopy> = Vec::new();
    for r in rows {
        let Some(kind) = kind_of(&r.kind) else {
            continue;
        };
        if out.last().is_none_or(|s| s.variation != r.variation) {
            out.push(SavedCopy {
                variation: r.variation,
                generator: r.generator.clone(),
                saved_at: r.created_at,
                lines: Vec::new(),
            });
        }
        if let Some(s) = out.last_mut() {
            s.lines.push(SavedLine {
                id: format!("saved-copy-{}-{}", r.variation, s.lines.len()),
                label: kind.label(),
                length: kind.length(&r.text),
                limit: kind.limit(),
                text: r.text,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> CopyFields {
        let mut f = CopyFields::default();
        for (k, v) in pairs {
            assert!(f.accept(k, v.to_string()), "{k}");
        }
        f
    }

    #[test]
    fn posted_lines_round_trip_and_flag_what_the_user_typed() {
        let f = fields(&[
            ("product", "Tea"),
            ("keyword", "tea"),
            (
                "generator:google",
                "offline drafts (built-in copywriter, no AI provider)",
            ),
            ("line:1:google_headline", "Green Tea"),
            (
                "line:1:google_headline",
                "Calm Energy Every Single Day For You",
            ),
            ("line:1:google_headline", ""),
            ("line:1:google_headline", "Order Today"),
            ("line:1:google_description", "Organic tea."),
            ("line:1:google_description", "From small farms."),
            ("pick", "google:1"),
        ]);
        let brief = f.brief(vec![Platform::Google]);
        let views = f.rechecked(&brief);
        assert_eq!(views.len(), 1);
        let v = &views[0].variations[0];
        assert!(v.picked);
        // The emptied headline is dropped; the over-long one is kept whole and flagged.
        assert_eq!(v.lines.len(), 5);
        assert_eq!(v.lines[1].text, "Calm Energy Every Single Day For You");
        assert!(v.lines[1].flags[0].contains("limit is 30"));
        let err = f
            .picked(&brief, &[Platform::Google])
            .expect_err("flagged variation refused");
        assert!(err[0].contains("1 problem"), "{err:?}");
    }

    #[test]
    fn a_clean_pick_is_saved_only_for_a_chosen_platform() {
        let f = fields(&[
            ("product", "Tea"),
            ("generator:tiktok", "openai/gpt-4o-mini"),
            (
                "line:2:tiktok_ad_text",
                "Calm energy in a cup. Try it today!",
            ),
            ("pick", "tiktok:2"),
        ]);
        let brief = f.brief(vec![Platform::Tiktok]);
        let saved = f.picked(&brief, &[Platform::Tiktok]).expect("clean");
        assert_eq!(saved.len(), 1);
        assert_eq!(saved[0].variation, 2);
        assert_eq!(saved[0].generator, "openai/gpt-4o-mini");
        let err = f
            .picked(&brief, &[Platform::Google])
            .expect_err("no tiktok");
        assert!(err[0].contains("no TikTok Ads account"), "{err:?}");
        assert!(!fields(&[]).accept("name", "x".into()));
    }

    #[test]
    fn accepted_suggestions_are_added_to_the_notes_once() {
        let f = fields(&[
            ("notes", "Exclude existing customers."),
            (
                "suggestion",
                "google|keyword|organic green tea|Matches the product",
            ),
            (
                "suggestion",
                "google|audience|tea lovers|Close to the audience",
            ),
            ("suggestion", "meta|interest|a|b|c"),
            ("target", "Google Ads: keyword organic green tea"),
        ]);
        let s = f.suggestions();
        assert_eq!(s.len(), 3);
        assert_eq!(s[2].0.why, "b|c", "the last field keeps the rest");
        assert!(s[0].1 && !s[1].1);
        assert_eq!(
            f.final_notes().expect("short"),
            "Exclude existing customers.\nGoogle Ads: keyword organic green tea"
        );
        let long = fields(&[("notes", &"x".repeat(MAX_NOTES + 1))]);
        assert!(long.final_notes().is_err());
    }
}
