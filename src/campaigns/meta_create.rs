//! The create form's Meta section: what a servable Meta ad needs beyond the campaign (ad set
//! with its targeting and schedule, the Facebook Page, the landing page, an image and the kept
//! copy), checked here before anything is sent. Places and interests are then looked up on
//! Meta (see `meta_lookup.rs`); the push runs the five calls as recorded steps
//! (`meta_push.rs`).

use chrono::{NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::ai::copy::LineKind;
pub use crate::platforms::meta_create::{ImageInfo, sniff};
use crate::platforms::meta_create::{
    META_CALLS_TO_ACTION, MetaInterest, MetaLocation, MetaPage, MetaPromotedObject,
};
use crate::types::Platform;
use crate::web::form::FieldErrors;

use super::copy::SavedVariation;
use super::create_form::{MAX_LOCATIONS, SectionForm, check_url};

/// Most interests one ad set gets from the form.
pub const MAX_INTERESTS: usize = 25;
/// Largest image adpilot takes (the whole form must fit the server's 4 MB request limit; Meta
/// itself takes up to 30 MB).
pub const MAX_IMAGE_BYTES: usize = 3 * 1024 * 1024;
/// Meta's smallest link-ad image width, and its aspect-ratio range for feed link ads
/// (1.91:1 landscape to 4:5 portrait).
pub const MIN_IMAGE_WIDTH: u32 = 600;
pub const MIN_IMAGE_HEIGHT: u32 = 314;

#[derive(Debug, Clone, Default)]
pub struct MetaFields {
    pub link: String,
    pub ad_set: String,
    /// `campaign` (Advantage campaign budget) or `ad_set`.
    pub budget_level: String,
    pub start_date: String,
    pub end_date: String,
    /// One place per line, as typed.
    pub locations: String,
    pub age_min: String,
    pub age_max: String,
    /// `all`, `men`, `women`.
    pub gender: String,
    /// One interest per line, as typed.
    pub interests: String,
    pub page: String,
    /// The Pixel a leads or sales ad set optimises for (its id, from the account's list).
    pub pixel: String,
    pub call_to_action: String,
    /// An image already checked and kept (after a form shown again), by id.
    pub image_id: String,
    /// Its file name, for the form to say which image is kept.
    pub image_name: String,
}

impl MetaFields {
    pub fn defaults() -> MetaFields {
        MetaFields {
            budget_level: "campaign".into(),
            age_min: "18".into(),
            age_max: "65".into(),
            gender: "all".into(),
            call_to_action: "LEARN_MORE".into(),
            ..MetaFields::default()
        }
    }

    /// Takes the form field if it is one of these; false otherwise.
    pub fn accept(&mut self, key: &str, value: &str) -> bool {
        let v = || value.chars().take(20_000).collect::<String>();
        match key {
            "meta_link" => self.link = v(),
            "meta_ad_set" => self.ad_set = v(),
            "meta_budget_level" => self.budget_level = v(),
            "meta_start" => self.start_date = v(),
            "meta_end" => self.end_date = v(),
            "meta_locations" => self.locations = v(),
            "meta_age_min" => self.age_min = v(),
            "meta_age_max" => self.age_max = v(),
            "meta_gender" => self.gender = v(),
            "meta_interests" => self.interests = v(),
            "meta_page" => self.page = v(),
            "meta_pixel" => self.pixel = v(),
            "meta_cta" => self.call_to_action = v(),
            "meta_image_id" => self.image_id = v(),
            "meta_image_name" => self.image_name = v(),
            _ => return false,
        }
        true
    }

    /// Whether the person asked for more than a bare Meta campaign.
    pub fn any(&self, image_uploaded: bool) -> bool {
        image_uploaded
            || !self.link.trim().is_empty()
            || !self.locations.trim().is_empty()
            || !self.interests.trim().is_empty()
            || !self.page.trim().is_empty()
            || !self.pixel.trim().is_empty()
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
}

/// Non-empty lines, trimmed, once each (case aside).
pub fn lines(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(l)) {
            out.push(l.to_string());
        }
    }
    out
}

/// The copy of one ad, from one kept Meta variation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaAdCopy {
    pub primary_text: String,
    pub headline: String,
    pub description: String,
}

/// Everything the Meta push makes beyond the campaign, as checked and looked up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaSpec {
    pub objective: String,
    pub optimization_goal: String,
    pub billing_event: String,
    /// The daily budget lives on the ad set (the campaign has none).
    pub budget_on_ad_set: bool,
    pub ad_set_name: String,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub locations: Vec<MetaLocation>,
    pub age_min: u8,
    pub age_max: u8,
    pub genders: Vec<u8>,
    pub interests: Vec<MetaInterest>,
    pub page: MetaPage,
    pub link: String,
    pub call_to_action: String,
    pub image_id: Uuid,
    pub image_name: String,
    pub ads: Vec<MetaAdCopy>,
    /// Leads and sales: the Pixel and event the ad set optimises for (None for traffic, and
    /// in specs stored before these objectives existed).
    #[serde(default)]
    pub promoted_object: Option<MetaPromotedObject>,
}

/// adpilot's objective → Meta's objective, ad-set optimization goal and billing event
/// (platform-apis-levels.md §2.4).
///
/// Leads are website leads: `OUTCOME_LEADS` optimised for the Pixel's `LEAD` event
/// (`OFFSITE_CONVERSIONS`), not Meta's instant forms (`LEAD_GENERATION`), which need a lead
/// form adpilot does not make. Sales are `OUTCOME_SALES` optimised for `PURCHASE`.
pub fn objective(form_objective: &str) -> Option<(&'static str, &'static str, &'static str)> {
    match form_objective {
        "traffic" => Some(("OUTCOME_TRAFFIC", "LINK_CLICKS", "IMPRESSIONS")),
        "leads" => Some(("OUTCOME_LEADS", "OFFSITE_CONVERSIONS", "IMPRESSIONS")),
        "sales" => Some(("OUTCOME_SALES", "OFFSITE_CONVERSIONS", "IMPRESSIONS")),
        _ => None,
    }
}

/// The Pixel event a website-conversion objective counts; None when it needs no Pixel.
pub fn pixel_event(form_objective: &str) -> Option<&'static str> {
    match form_objective {
        "leads" => Some("LEAD"),
        "sales" => Some("PURCHASE"),
        _ => None,
    }
}

/// Ads from the kept Meta variations (primary text, headline and description each).
pub fn meta_ads(picked: &[SavedVariation]) -> Vec<MetaAdCopy> {
    picked
        .iter()
        .filter(|v| v.platform == Platform::Meta)
        .map(|v| {
            let first = |k: LineKind| {
                v.lines
                    .iter()
                    .find(|(kind, _)| *kind == k)
                    .map(|(_, t)| t.trim().to_string())
                    .unwrap_or_default()
            };
            MetaAdCopy {
                primary_text: first(LineKind::MetaPrimaryText),
                headline: first(LineKind::MetaHeadline),
                description: first(LineKind::MetaDescription),
            }
        })
        .collect()
}

/// Checks an uploaded image as Meta would take it for a link ad: JPEG or PNG, at most
/// [`MAX_IMAGE_BYTES`], at least 600 px wide, between 1.91:1 and 4:5.
pub fn check_image(bytes: &[u8]) -> Result<ImageInfo, String> {
    if bytes.is_empty() {
        return Err("The image file is empty. Choose a JPEG or PNG image.".into());
    }
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(format!(
            "The image is {:.1} MB; adpilot takes images up to {} MB. Save it smaller (1080 × 1080 pixels is plenty) and choose it again.",
            bytes.len() as f64 / (1024.0 * 1024.0),
            MAX_IMAGE_BYTES / (1024 * 1024)
        ));
    }
    let Some(info) = sniff(bytes) else {
        return Err("That file is not a JPEG or PNG image. Choose a .jpg or .png file.".into());
    };
    if info.width < MIN_IMAGE_WIDTH || info.height < MIN_IMAGE_HEIGHT {
        return Err(format!(
            "The image is {} × {} pixels; Meta needs at least {MIN_IMAGE_WIDTH} pixels wide and {MIN_IMAGE_HEIGHT} high (1080 × 1080 is recommended).",
            info.width, info.height
        ));
    }
    // 1.91:1 (1200 × 628) to 4:5 (1080 × 1350), with a pixel of rounding.
    let (w, h) = (u64::from(info.width), u64::from(info.height));
    if w * 100 > h * 192 || w * 5 < h * 4 {
        return Err(format!(
            "The image is {} × {} pixels; Meta link ads take shapes from 1.91:1 (landscape, 1200 × 628) to 4:5 (portrait, 1080 × 1350). Crop it and choose it again.",
            info.width, info.height
        ));
    }
    Ok(info)
}

/// A calendar date typed in the form (`YYYY-MM-DD`, as a date input sends it).
fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Midnight of `day` in the ad account's time zone, as Meta takes times (offset included).
fn midnight(day: NaiveDate, time_zone: &str) -> String {
    let tz: chrono_tz::Tz = time_zone.parse().unwrap_or(chrono_tz::UTC);
    let naive = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    match tz.from_local_datetime(&naive).earliest() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        None => format!("{}T00:00:00+0000", day.format("%Y-%m-%d")),
    }
}

/// Checks the Meta fields (all but places, interests, the Page list and the image, which need
/// the platform or the upload) and returns the spec with those empty.
pub fn check_fields(
    f: &MetaFields,
    form: &SectionForm<'_>,
    errors: &mut FieldErrors,
) -> Option<MetaSpec> {
    let link = check_url(&f.link)
        .map_err(|e| errors.add("meta_link", e))
        .ok();
    let Some((objective, optimization_goal, billing_event)) = objective(form.form_objective) else {
        errors.add(
            "objective",
            "Meta ads are created for the traffic, leads or sales objective: choose one of those.",
        );
        return None;
    };
    let promoted_object = check_pixel(f, form.form_objective, errors);
    let ad_set_name = check_ad_set_name(f, form.campaign_name, errors);
    let budget_on_ad_set = check_budget_level(f, errors);
    let (start, end) = check_dates(f, form.today, errors);
    let (age_min, age_max, genders) = check_audience(f, errors);
    check_choices(f, errors);
    let ads = meta_ads(form.picked);
    check_copy(&ads, errors);
    if errors.any() {
        return None;
    }
    Some(MetaSpec {
        objective: objective.into(),
        optimization_goal: optimization_goal.into(),
        billing_event: billing_event.into(),
        budget_on_ad_set,
        ad_set_name,
        start_time: start.map(|d| midnight(d, form.time_zone)),
        end_time: end.map(|d| midnight(d, form.time_zone)),
        locations: Vec::new(),
        age_min: age_min?,
        age_max: age_max?,
        genders,
        interests: Vec::new(),
        page: MetaPage {
            id: f.page.trim().to_string(),
            name: String::new(),
        },
        link: link?,
        call_to_action: f.call_to_action.clone(),
        image_id: Uuid::nil(),
        image_name: String::new(),
        ads,
        promoted_object,
    })
}

/// The Pixel and event a leads or sales objective optimises for (None for traffic).
fn check_pixel(
    f: &MetaFields,
    form_objective: &str,
    errors: &mut FieldErrors,
) -> Option<MetaPromotedObject> {
    let event = pixel_event(form_objective)?;
    let id = f.pixel.trim();
    if id.is_empty() {
        errors.add(
            "meta_pixel",
            format!(
                "Choose the Meta Pixel on your website: a {} campaign is optimised for the {} events it records. Without a Pixel, choose the traffic objective.",
                form_objective,
                if event == "LEAD" { "lead" } else { "purchase" }
            ),
        );
        None
    } else if !id.chars().all(|c| c.is_ascii_digit()) || id.len() > 20 {
        errors.add(
            "meta_pixel",
            "A Meta Pixel id is a number of up to 20 digits: choose the Pixel from the list.",
        );
        None
    } else {
        Some(MetaPromotedObject {
            pixel_id: id.to_string(),
            custom_event_type: event.to_string(),
        })
    }
}

/// The ad set's name: the campaign's when left empty.
fn check_ad_set_name(f: &MetaFields, campaign_name: &str, errors: &mut FieldErrors) -> String {
    match f.ad_set.trim() {
        "" => campaign_name.trim().to_string(),
        n if n.chars().count() > 255 => {
            errors.add("meta_ad_set", "Keep the ad set name under 256 characters.");
            String::new()
        }
        n => n.to_string(),
    }
}

/// Whether the daily budget is the ad set's (rather than the campaign's).
fn check_budget_level(f: &MetaFields, errors: &mut FieldErrors) -> bool {
    match f.budget_level.as_str() {
        "ad_set" => true,
        "campaign" | "" => false,
        _ => {
            errors.add(
                "meta_budget_level",
                "Choose whether the budget is the campaign's or the ad set's.",
            );
            false
        }
    }
}

/// The ad set's start (today or later) and end (after the start) days, each optional.
fn check_dates(
    f: &MetaFields,
    today: NaiveDate,
    errors: &mut FieldErrors,
) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let start = match f.start_date.trim() {
        "" => None,
        s => match parse_date(s) {
            Some(d) if d < today => {
                errors.add(
                    "meta_start",
                    format!("The start date has passed; choose {today} or later, or leave it empty to start at once."),
                );
                None
            }
            Some(d) => Some(d),
            None => {
                errors.add("meta_start", "Write the start date as YYYY-MM-DD.");
                None
            }
        },
    };
    let end = match f.end_date.trim() {
        "" => None,
        s => match parse_date(s) {
            Some(d) if d <= start.unwrap_or(today) => {
                errors.add(
                    "meta_end",
                    "The end date must be after the start date (and after today).",
                );
                None
            }
            Some(d) => Some(d),
            None => {
                errors.add("meta_end", "Write the end date as YYYY-MM-DD.");
                None
            }
        },
    };
    (start, end)
}

/// One end of the age range (18 to 65).
fn check_age(s: &str, what: &'static str, errors: &mut FieldErrors) -> Option<u8> {
    match s.trim().parse::<u8>() {
        Ok(n) if (18..=65).contains(&n) => Some(n),
        _ => {
            errors.add(
                what,
                "Meta targets ages 18 to 65 (65 means 65 and over): enter a whole number in that range.",
            );
            None
        }
    }
}

/// The ages and genders the ads are shown to (no gender: everyone).
fn check_audience(f: &MetaFields, errors: &mut FieldErrors) -> (Option<u8>, Option<u8>, Vec<u8>) {
    let age_min = check_age(&f.age_min, "meta_age_min", errors);
    let age_max = check_age(&f.age_max, "meta_age_max", errors);
    if let (Some(a), Some(b)) = (age_min, age_max)
        && a > b
    {
        errors.add(
            "meta_age_max",
            "The oldest age must be at least the youngest.",
        );
    }
    let genders = match f.gender.as_str() {
        "all" | "" => Vec::new(),
        "men" => vec![1],
        "women" => vec![2],
        _ => {
            errors.add("meta_gender", "Choose everyone, men or women.");
            Vec::new()
        }
    };
    (age_min, age_max, genders)
}

/// Places, interests, the Page and the button: present and within Meta's limits (the
/// look-ups come later).
fn check_choices(f: &MetaFields, errors: &mut FieldErrors) {
    let n_places = f.location_names().len();
    if n_places == 0 {
        errors.add(
            "meta_locations",
            "Name at least one country, region or city the ads should show in.",
        );
    } else if n_places > MAX_LOCATIONS {
        errors.add(
            "meta_locations",
            format!("Name at most {MAX_LOCATIONS} locations."),
        );
    }
    if f.interest_names().len() > MAX_INTERESTS {
        errors.add(
            "meta_interests",
            format!("Name at most {MAX_INTERESTS} interests."),
        );
    }
    if f.page.trim().is_empty() {
        errors.add(
            "meta_page",
            "Choose the Facebook Page the ads run as: every Meta ad is posted in a Page's name.",
        );
    }
    if !META_CALLS_TO_ACTION
        .iter()
        .any(|(v, _)| *v == f.call_to_action)
    {
        errors.add("meta_cta", "Choose a button from the list.");
    }
}

/// The kept copy variations: at least one, each with a primary text and a headline within
/// Meta's lengths.
fn check_copy(ads: &[MetaAdCopy], errors: &mut FieldErrors) {
    if ads.is_empty() {
        errors.add(
            "meta_copy",
            "Keep at least one Meta copy variation (draft copy below and tick \u{201c}Keep\u{201d}): each becomes one ad with the image.",
        );
    }
    for (i, a) in ads.iter().enumerate() {
        let n = i + 1;
        for (kind, text) in [
            (LineKind::MetaPrimaryText, &a.primary_text),
            (LineKind::MetaHeadline, &a.headline),
            (LineKind::MetaDescription, &a.description),
        ] {
            let len = kind.length(text);
            if len > kind.limit() {
                errors.add(
                    "meta_copy",
                    format!(
                        "Kept Meta variation {n}: the {} is {len} characters; Meta shows at most {}. Shorten it and press \u{201c}Check edits\u{201d}.",
                        kind.label().to_lowercase(),
                        kind.limit()
                    ),
                );
            }
        }
        if a.primary_text.is_empty() || a.headline.is_empty() {
            errors.add(
                "meta_copy",
                format!("Kept Meta variation {n} needs a primary text and a headline."),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut b = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 13];
        b.extend_from_slice(b"IHDR");
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
        b
    }

    fn jpeg(w: u16, h: u16) -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0, 16];
        b.extend_from_slice(b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0");
        b.extend_from_slice(&[0xFF, 0xC0, 0, 17, 8]);
        b.extend_from_slice(&h.to_be_bytes());
        b.extend_from_slice(&w.to_be_bytes());
        b.extend_from_slice(&[3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        b
    }

    #[test]
    fn images_are_read_from_their_headers_and_checked_as_meta_takes_them() {
        assert_eq!(
            sniff(&png(1080, 1080)),
            Some(ImageInfo {
                mime: "image/png",
                width: 1080,
                height: 1080
            })
        );
        assert_eq!(
            sniff(&jpeg(1200, 628)),
            Some(ImageInfo {
                mime: "image/jpeg",
                width: 1200,
                height: 628
            })
        );
        assert!(check_image(&png(1080, 1080)).is_ok());
        assert!(check_image(&jpeg(1200, 628)).is_ok());
        assert!(check_image(&png(1080, 1350)).is_ok());
        assert!(
            check_image(b"GIF89a....")
                .unwrap_err()
                .contains("not a JPEG or PNG")
        );
        assert!(
            check_image(&png(300, 300))
                .unwrap_err()
                .contains("at least 600")
        );
        assert!(check_image(&png(2000, 600)).unwrap_err().contains("1.91:1"));
        assert!(check_image(&png(800, 1600)).unwrap_err().contains("4:5"));
        let mut big = png(1080, 1080);
        big.resize(MAX_IMAGE_BYTES + 1, 0);
        assert!(check_image(&big).unwrap_err().contains("up to 3 MB"));
    }

    #[test]
    fn dates_start_at_midnight_in_the_account_time_zone() {
        let d = NaiveDate::from_ymd_opt(2027, 3, 1).expect("date");
        assert_eq!(midnight(d, "America/New_York"), "2027-03-01T00:00:00-0500");
        assert_eq!(midnight(d, "Not/AZone"), "2027-03-01T00:00:00+0000");
    }
}
