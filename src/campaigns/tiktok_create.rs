//! The create form's TikTok section: what a servable TikTok ad needs beyond the campaign (an ad
//! group with its placement, targeting and schedule, the identity the ads run as, the landing
//! page, an image and the kept copy), checked here before anything is sent. Places and
//! interest categories are then looked up on TikTok and the identity checked against the
//! advertiser's list (`tiktok_lookup.rs`); the push runs the calls as recorded steps
//! (`tiktok_push.rs`).
//!
//! Supported: the traffic objective only (TikTok `TRAFFIC`, optimised for clicks and billed
//! per click). Sales and leads need a TikTok Pixel, which adpilot does not set up, so they are
//! refused at the objective field. Ads are single-image ads placed on Pangle, TikTok's
//! partner-app network: TikTok's own feed takes video ads, which adpilot does not upload.

use chrono::{NaiveDate, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ai::copy::LineKind;
use crate::platforms::tiktok_create::{
    TIKTOK_CALLS_TO_ACTION, TiktokIdentity, TiktokInterest, TiktokLocation,
};
use crate::types::Platform;
use crate::web::form::FieldErrors;

use super::copy::SavedVariation;
use super::create_form::{MAX_LOCATIONS, SectionForm, check_url};
use super::meta_create::lines;

/// Most interest categories one ad group gets from the form.
pub const MAX_INTERESTS: usize = 25;
/// TikTok's largest ad image in pixels (1440 × 2560).
pub const MAX_PIXELS: u64 = 3_686_400;
/// Longest display name of a custom identity (UNVERIFIED; TikTok's UI stops at 40).
pub const MAX_DISPLAY_NAME: usize = 40;
/// The one placement image ads run on.
pub const PLACEMENT: &str = "PLACEMENT_PANGLE";
/// The identity field's value for "make a new identity from a display name".
pub const NEW_IDENTITY: &str = "new";

/// TikTok's adult age groups, with words (13–17 is never targeted by adpilot).
pub const AGE_GROUPS: [(&str, &str); 5] = [
    ("AGE_18_24", "18–24"),
    ("AGE_25_34", "25–34"),
    ("AGE_35_44", "35–44"),
    ("AGE_45_54", "45–54"),
    ("AGE_55_100", "55+"),
];

#[derive(Debug, Clone, Default)]
pub struct TiktokFields {
    pub link: String,
    pub ad_group: String,
    pub start_date: String,
    pub end_date: String,
    /// One place per line, as typed.
    pub locations: String,
    /// Age groups ticked.
    pub ages: Vec<String>,
    /// `all`, `men`, `women`.
    pub gender: String,
    /// One interest category per line, as typed.
    pub interests: String,
    /// An identity id from the advertiser's list, or [`NEW_IDENTITY`].
    pub identity: String,
    /// The display name of a new identity.
    pub display_name: String,
    pub call_to_action: String,
    /// An image already checked and kept (after a form shown again), by id.
    pub image_id: String,
    pub image_name: String,
}

impl TiktokFields {
    pub fn defaults() -> TiktokFields {
        TiktokFields {
            gender: "all".into(),
            ages: AGE_GROUPS.iter().map(|(v, _)| (*v).to_string()).collect(),
            call_to_action: "LEARN_MORE".into(),
            ..TiktokFields::default()
        }
    }

    /// Takes the form field if it is one of these; false otherwise.
    pub fn accept(&mut self, key: &str, value: &str) -> bool {
        let v = || value.chars().take(20_000).collect::<String>();
        match key {
            "tiktok_link" => self.link = v(),
            "tiktok_ad_group" => self.ad_group = v(),
            "tiktok_start" => self.start_date = v(),
            "tiktok_end" => self.end_date = v(),
            "tiktok_locations" => self.locations = v(),
            "tiktok_age" => {
                if self.ages.len() < 2 * AGE_GROUPS.len() {
                    self.ages.push(v());
                }
            }
            "tiktok_gender" => self.gender = v(),
            "tiktok_interests" => self.interests = v(),
            "tiktok_identity" => self.identity = v(),
            "tiktok_display_name" => self.display_name = v(),
            "tiktok_cta" => self.call_to_action = v(),
            "tiktok_image_id" => self.image_id = v(),
            "tiktok_image_name" => self.image_name = v(),
            _ => return false,
        }
        true
    }

    /// Whether the person asked for more than a bare TikTok campaign.
    pub fn any(&self, image_uploaded: bool) -> bool {
        image_uploaded
            || !self.link.trim().is_empty()
            || !self.locations.trim().is_empty()
            || !self.interests.trim().is_empty()
            || !self.identity.trim().is_empty()
            || !self.display_name.trim().is_empty()
            || !self.image_id.trim().is_empty()
    }

    pub fn location_names(&self) -> Vec<String> {
        lines(&self.locations)
    }

    pub fn interest_names(&self) -> Vec<String> {
        lines(&self.interests)
    }

    pub fn cta_is(&self, v: &&str) -> bool {
        self.call_to_action == *v
    }

    pub fn age_checked(&self, v: &&str) -> bool {
        self.ages.iter().any(|a| a == *v)
    }

    pub fn identity_is(&self, v: &str) -> bool {
        self.identity == v
    }
}

/// Everything the TikTok push makes beyond the campaign, as checked and looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TiktokSpec {
    pub objective: String,
    pub optimization_goal: String,
    pub billing_event: String,
    pub ad_group_name: String,
    pub placements: Vec<String>,
    /// `YYYY-MM-DD HH:MM:SS` in UTC; None starts when the ad group is made.
    pub schedule_start: Option<String>,
    pub schedule_end: Option<String>,
    pub locations: Vec<TiktokLocation>,
    pub age_groups: Vec<String>,
    pub gender: String,
    pub interests: Vec<TiktokInterest>,
    /// The identity chosen from the advertiser's list; None makes a new one.
    pub identity: Option<TiktokIdentity>,
    /// The new identity's display name (empty with an identity chosen).
    pub display_name: String,
    pub link: String,
    pub call_to_action: String,
    pub image_id: Uuid,
    pub image_name: String,
    /// One ad text per kept TikTok variation.
    pub ads: Vec<String>,
}

/// adpilot's objective → TikTok's objective, optimisation goal and billing event.
pub fn objective(form_objective: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match form_objective {
        "traffic" => Some(("TRAFFIC", "CLICK", "CPC")),
        _ => None,
    }
}

/// The ad texts of the kept TikTok variations.
pub fn tiktok_ads(picked: &[SavedVariation]) -> Vec<String> {
    picked
        .iter()
        .filter(|v| v.platform == Platform::Tiktok)
        .map(|v| {
            v.lines
                .iter()
                .find(|(k, _)| *k == LineKind::TiktokAdText)
                .map(|(_, t)| t.trim().to_string())
                .unwrap_or_default()
        })
        .collect()
}

/// The ad text's length as TikTok counts it: Chinese, Japanese and Korean characters twice.
pub fn ad_text_length(t: &str) -> usize {
    t.chars()
        .map(|c| {
            if crate::ai::copy::is_double_width(c) {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Emoji TikTok refuses in ad text (pictographs, dingbats, the emoji variation selector).
pub fn has_emoji(t: &str) -> bool {
    t.chars().any(|c| {
        matches!(
            u32::from(c),
            0x1F000..=0x1FAFF | 0x2600..=0x27BF | 0xFE0F
        )
    })
}

/// TikTok's size limit on top of the checks every ad image gets.
pub fn check_pixels(width: u32, height: u32) -> Result<(), String> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(format!(
            "The image is {width} × {height} pixels; TikTok takes at most {MAX_PIXELS} pixels (such as 1440 × 2560). Save it smaller (1080 × 1080 is plenty) and choose it again."
        ));
    }
    Ok(())
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Midnight of `day` in the advertiser's time zone, in UTC as TikTok takes schedule times.
pub fn midnight_utc(day: NaiveDate, time_zone: &str) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t
            .with_timezone(&Utc)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => format!("{} 00:00:00", day.format("%Y-%m-%d")),
    }
}

fn check_dates(
    f: &TiktokFields,
    today: NaiveDate,
    errors: &mut FieldErrors,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let start = match f.start_date.trim() {
        "" => None,
        s => match parse_date(s) {
            Some(d) if d < today => {
                errors.add(
                    "tiktok_start",
                    format!("The start date has passed; choose {today} or later, or leave it empty to start at once."),
                );
                None
            }
            Some(d) => Some(d),
            None => {
                errors.add("tiktok_start", "Write the start date as YYYY-MM-DD.");
                None
            }
        },
    };
    let end = match f.end_date.trim() {
        "" => None,
        s => match parse_date(s) {
            Some(d) if d <= start.unwrap_or(today) => {
                errors.add(
                    "tiktok_end",
                    "The end date must be after the start date (and after today).",
                );
                None
            }
            Some(d) => Some(d),
            None => {
                errors.add("tiktok_end", "Write the end date as YYYY-MM-DD.");
                None
            }
        },
    };
    (start, end)
}

fn check_copy(ads: &[String], errors: &mut FieldErrors) {
    if ads.is_empty() {
        errors.add(
            "tiktok_copy",
            "Keep at least one TikTok copy variation (draft copy below and tick \u{201c}Keep\u{201d}): each becomes one ad with the image.",
        );
    }
    let kind = LineKind::TiktokAdText;
    for (i, text) in ads.iter().enumerate() {
        let n = i + 1;
        let len = ad_text_length(text);
        if text.is_empty() {
            errors.add(
                "tiktok_copy",
                format!("Kept TikTok variation {n} needs an ad text."),
            );
        } else if len > kind.limit() {
            errors.add(
                "tiktok_copy",
                format!(
                    "Kept TikTok variation {n}: the ad text is {len} characters; TikTok takes at most {} (Chinese, Japanese and Korean characters count twice). Shorten it and press \u{201c}Check edits\u{201d}.",
                    kind.limit()
                ),
            );
        }
        if has_emoji(text) {
            errors.add(
                "tiktok_copy",
                format!(
                    "Kept TikTok variation {n} has an emoji; TikTok does not allow emoji in ad text. Remove it and press \u{201c}Check edits\u{201d}."
                ),
            );
        }
    }
}

fn check_targeting(f: &TiktokFields, errors: &mut FieldErrors) -> (Vec<String>, String) {
    let n_places = f.location_names().len();
    if n_places == 0 {
        errors.add(
            "tiktok_locations",
            "Name at least one country, region or city the ads should show in.",
        );
    } else if n_places > MAX_LOCATIONS {
        errors.add(
            "tiktok_locations",
            format!("Name at most {MAX_LOCATIONS} locations."),
        );
    }
    if f.interest_names().len() > MAX_INTERESTS {
        errors.add(
            "tiktok_interests",
            format!("Name at most {MAX_INTERESTS} interest categories."),
        );
    }
    let mut ages = Vec::new();
    for a in &f.ages {
        match AGE_GROUPS.iter().find(|(v, _)| v == a) {
            Some((v, _)) if !ages.iter().any(|x: &String| x == v) => ages.push((*v).to_string()),
            Some(_) => {}
            None => errors.add("tiktok_age", "Choose age groups from the list."),
        }
    }
    if ages.is_empty() && errors.get("tiktok_age").is_none() {
        errors.add(
            "tiktok_age",
            "Tick at least one age group (all of them to reach every adult).",
        );
    }
    let gender = match f.gender.as_str() {
        "all" | "" => "GENDER_UNLIMITED",
        "men" => "GENDER_MALE",
        "women" => "GENDER_FEMALE",
        _ => {
            errors.add("tiktok_gender", "Choose everyone, men or women.");
            "GENDER_UNLIMITED"
        }
    };
    (ages, gender.to_string())
}

fn check_identity(f: &TiktokFields, errors: &mut FieldErrors) -> (Option<TiktokIdentity>, String) {
    match f.identity.trim() {
        "" => {
            errors.add(
                "tiktok_identity",
                "Choose the identity the ads run as (the name and picture shown on them), or make a new one from a display name and the ad's image.",
            );
            (None, String::new())
        }
        NEW_IDENTITY => {
            let name = f.display_name.trim();
            if name.is_empty() {
                errors.add(
                    "tiktok_display_name",
                    "Enter the display name of the new identity (your brand's name, as the ads show it).",
                );
            } else if name.chars().count() > MAX_DISPLAY_NAME {
                errors.add(
                    "tiktok_display_name",
                    format!("Keep the display name to {MAX_DISPLAY_NAME} characters."),
                );
            }
            (None, name.to_string())
        }
        id => (
            Some(TiktokIdentity {
                id: id.to_string(),
                display_name: String::new(),
            }),
            String::new(),
        ),
    }
}

/// Checks the TikTok fields (all but places, interests, the identity list and the image,
/// which need the platform or the upload) and returns the spec with those empty.
pub fn check_fields(
    f: &TiktokFields,
    form: &SectionForm<'_>,
    errors: &mut FieldErrors,
) -> Option<TiktokSpec> {
    let (campaign_name, form_objective) = (form.campaign_name, form.form_objective);
    let (picked, today, time_zone) = (form.picked, form.today, form.time_zone);
    let link = check_url(&f.link)
        .map_err(|e| errors.add("tiktok_link", e))
        .ok();
    let Some((objective, optimization_goal, billing_event)) = objective(form_objective) else {
        errors.add(
            "objective",
            "TikTok ads are created for the traffic objective only: sales and leads need a TikTok Pixel, which adpilot does not set up.",
        );
        return None;
    };
    let ad_group_name = match f.ad_group.trim() {
        "" => campaign_name.trim().to_string(),
        n if n.chars().count() > 512 => {
            errors.add(
                "tiktok_ad_group",
                "Keep the ad group name to 512 characters.",
            );
            String::new()
        }
        n => n.to_string(),
    };
    let (start, end) = check_dates(f, today, errors);
    let (age_groups, gender) = check_targeting(f, errors);
    let (identity, display_name) = check_identity(f, errors);
    if !TIKTOK_CALLS_TO_ACTION
        .iter()
        .any(|(v, _)| *v == f.call_to_action)
    {
        errors.add("tiktok_cta", "Choose a button from the list.");
    }
    let ads = tiktok_ads(picked);
    check_copy(&ads, errors);
    if errors.any() {
        return None;
    }
    Some(TiktokSpec {
        objective: objective.into(),
        optimization_goal: optimization_goal.into(),
        billing_event: billing_event.into(),
        ad_group_name,
        placements: vec![PLACEMENT.into()],
        schedule_start: start.map(|d| midnight_utc(d, time_zone)),
        schedule_end: end.map(|d| midnight_utc(d, time_zone)),
        locations: Vec::new(),
        age_groups,
        gender,
        interests: Vec::new(),
        identity,
        display_name,
        link: link?,
        call_to_action: f.call_to_action.clone(),
        image_id: Uuid::nil(),
        image_name: String::new(),
        ads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_days_start_at_local_midnight_sent_in_utc() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 1).expect("date");
        assert_eq!(midnight_utc(d, "America/New_York"), "2027-03-01 05:00:00");
        assert_eq!(midnight_utc(d, "Not/AZone"), "2027-03-01 00:00:00");
    }

    #[test]
    fn emoji_are_found_and_plain_text_is_not() {
        assert!(has_emoji("Run further \u{1F3C3}"));
        assert!(has_emoji("Sunny \u{2600}"));
        assert!(!has_emoji("Grip on every trail, rain or shine."));
        assert!(!has_emoji("\u{8DD1}\u{978B}"));
    }

    #[test]
    fn images_over_tiktok_s_pixel_limit_are_refused() {
        assert!(check_pixels(1440, 2560).is_ok());
        assert!(
            check_pixels(2000, 2000)
                .unwrap_err()
                .contains("at most 3686400")
        );
    }
}
