//! The create form's fields for a campaign that can serve: final URL, locations, languages,
//! keywords with match types and the ad group's bid. Checked here before anything is sent;
//! locations are then resolved through the platform's own look-up (see `routes.rs`).

use rust_decimal::Decimal;

use crate::ai::copy::LineKind;
use crate::platforms::create::{GOOGLE_LANGUAGES, Keyword, MatchType, SearchAd, Target};
use crate::types::{Currency, Money};
use crate::web::form::FieldErrors;

use super::complete::GoogleSpec;
use super::copy::SavedVariation;

/// What the rest of the form tells a platform section's check: the campaign's name and
/// objective, the kept copy variations, and the ad account's day and time zone (dates are
/// the account's).
pub struct SectionForm<'a> {
    pub campaign_name: &'a str,
    pub form_objective: &'a str,
    pub picked: &'a [SavedVariation],
    /// Today in the ad account's time zone.
    pub today: chrono::NaiveDate,
    pub time_zone: &'a str,
}

/// Most keywords one form creates (Google allows far more per ad group; this is a typo guard).
pub const MAX_KEYWORDS: usize = 200;
/// Most locations one form targets.
pub const MAX_LOCATIONS: usize = 25;

#[derive(Debug, Clone, Default)]
pub struct CompleteFields {
    pub final_url: String,
    pub ad_group: String,
    pub max_cpc: String,
    /// One place per line, as typed.
    pub locations: String,
    /// Google language constant ids ticked.
    pub languages: Vec<String>,
    /// One keyword per line: `[exact]`, `"phrase"`, broad.
    pub keywords: String,
}

impl CompleteFields {
    /// Takes the form field if it is one of these; false otherwise.
    pub fn accept(&mut self, key: &str, value: &str) -> bool {
        let v = || value.chars().take(20_000).collect::<String>();
        match key {
            "final_url" => self.final_url = v(),
            "ad_group" => self.ad_group = v(),
            "max_cpc" => self.max_cpc = v(),
            "locations" => self.locations = v(),
            "keywords" => self.keywords = v(),
            "language" => {
                if self.languages.len() < GOOGLE_LANGUAGES.len() {
                    self.languages.push(v());
                }
            }
            _ => return false,
        }
        true
    }

    /// Whether the person asked for more than a bare campaign.
    pub fn any(&self) -> bool {
        !self.final_url.trim().is_empty()
            || !self.keywords.trim().is_empty()
            || !self.locations.trim().is_empty()
            || !self.max_cpc.trim().is_empty()
    }

    pub fn language_checked(&self, id: &&str) -> bool {
        self.languages.iter().any(|l| l == *id)
    }

    pub fn location_names(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for l in self
            .locations
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            if !out.iter().any(|o| o.eq_ignore_ascii_case(l)) {
                out.push(l.to_string());
            }
        }
        out
    }
}

/// An http(s) address with a host, as the platforms require of a landing page.
pub fn check_url(s: &str) -> Result<String, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("Enter the page the ads lead to, such as https://www.example.com/shoes.");
    }
    match url::Url::parse(t) {
        Ok(u)
            if matches!(u.scheme(), "http" | "https")
                && u.host_str().is_some_and(|h| h.contains('.')) =>
        {
            Ok(t.to_string())
        }
        Ok(_) => Err("The final URL must start with https:// (or http://) and name a website."),
        Err(_) => Err("That is not a web address: write it as https://www.example.com/page."),
    }
}

/// Keywords in Google Ads Editor notation, one per line: `[exact]`, `"phrase"`, broad.
pub fn parse_keywords(text: &str) -> Result<Vec<Keyword>, String> {
    let mut out: Vec<Keyword> = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        let (inner, match_type) =
            if let Some(x) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                (x.trim(), MatchType::Exact)
            } else if let Some(x) = line.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
                (x.trim(), MatchType::Phrase)
            } else {
                (line, MatchType::Broad)
            };
        let at = format!("Line {} (\u{201c}{line}\u{201d})", n + 1);
        if inner.is_empty() {
            return Err(format!("{at} has no words."));
        }
        if inner.chars().count() > 80 {
            return Err(format!(
                "{at} is longer than 80 characters, Google's limit for a keyword."
            ));
        }
        if inner.split_whitespace().count() > 10 {
            return Err(format!(
                "{at} has more than 10 words, Google's limit for a keyword."
            ));
        }
        if let Some(bad) = inner
            .chars()
            .find(|c| "!@%^*=;<>,()[]{}|\\`~\"".contains(*c))
        {
            return Err(format!(
                "{at} contains \u{201c}{bad}\u{201d}, which Google does not allow in keywords. Use [brackets] for exact and \"quotes\" for phrase match around the whole keyword."
            ));
        }
        let k = Keyword {
            text: inner.split_whitespace().collect::<Vec<_>>().join(" "),
            match_type,
        };
        if !out
            .iter()
            .any(|o| o.match_type == k.match_type && o.text.eq_ignore_ascii_case(&k.text))
        {
            out.push(k);
        }
    }
    if out.len() > MAX_KEYWORDS {
        return Err(format!("Enter at most {MAX_KEYWORDS} keywords."));
    }
    Ok(out)
}

/// An amount typed by a person, in major units of `currency`, never re-scaled.
pub fn parse_amount(text: &str, currency: Currency, what: &str) -> Result<i64, String> {
    let t = text.trim();
    let d: Decimal = match t.parse() {
        Ok(d) => d,
        Err(_) if t.is_empty() => return Err(format!("Enter the {what}.")),
        Err(_) => return Err(format!("Write the {what} as a number, such as 1.50.")),
    };
    if d <= Decimal::ZERO {
        return Err(format!("The {what} must be more than zero."));
    }
    let places = currency.minor_unit_exponent();
    if d.normalize().scale() > places {
        return Err(format!(
            "{currency} amounts have {places} decimal place{}.",
            if places == 1 { "" } else { "s" }
        ));
    }
    if d > Decimal::from(1_000_000) {
        return Err(format!(
            "The {what} is more than 1,000,000; check the amount."
        ));
    }
    Money::from_major(d, currency)
        .map(|m| m.micros)
        .ok_or_else(|| format!("The {what} is too large."))
}

/// Responsive search ads from the kept Google variations.
pub fn search_ads(picked: &[SavedVariation]) -> Vec<SearchAd> {
    picked
        .iter()
        .filter(|v| v.platform == crate::types::Platform::Google)
        .map(|v| SearchAd {
            headlines: v
                .lines
                .iter()
                .filter(|(k, _)| *k == LineKind::GoogleHeadline)
                .map(|(_, t)| t.clone())
                .collect(),
            descriptions: v
                .lines
                .iter()
                .filter(|(k, _)| *k == LineKind::GoogleDescription)
                .map(|(_, t)| t.clone())
                .collect(),
        })
        .collect()
}

/// Checks the Google fields (all but the locations, which need the platform) and returns the
/// spec with no locations yet.
pub fn google_spec(
    f: &CompleteFields,
    campaign_name: &str,
    currency: Currency,
    picked: &[SavedVariation],
    errors: &mut FieldErrors,
) -> Option<GoogleSpec> {
    let final_url = check_url(&f.final_url)
        .map_err(|e| errors.add("final_url", e))
        .ok();
    let ad_group_name = match f.ad_group.trim() {
        "" => campaign_name.trim().to_string(),
        n if n.chars().count() > 255 => {
            errors.add("ad_group", "Keep the ad group name under 256 characters.");
            String::new()
        }
        n => n.to_string(),
    };
    let max_cpc = parse_amount(&f.max_cpc, currency, "maximum cost per click")
        .map_err(|e| errors.add("max_cpc", e))
        .ok();
    let keywords = match parse_keywords(&f.keywords) {
        Ok(k) if k.is_empty() => {
            errors.add(
                "keywords",
                "Enter at least one keyword: Search ads show for the keywords of their ad group.",
            );
            None
        }
        Ok(k) => Some(k),
        Err(e) => {
            errors.add("keywords", e);
            None
        }
    };
    let mut languages = Vec::new();
    for l in &f.languages {
        match GOOGLE_LANGUAGES.iter().find(|(id, _)| id == l) {
            Some((id, name)) => languages.push(Target {
                id: (*id).to_string(),
                name: (*name).to_string(),
            }),
            None => errors.add("language", "Choose languages from the list."),
        }
    }
    if f.location_names().is_empty() {
        errors.add(
            "locations",
            "Name at least one country, region or city the ads should show in.",
        );
    } else if f.location_names().len() > MAX_LOCATIONS {
        errors.add(
            "locations",
            format!("Name at most {MAX_LOCATIONS} locations."),
        );
    }
    let ads = search_ads(picked);
    if ads.is_empty() {
        errors.add(
            "google_copy",
            "Keep at least one Google copy variation (draft copy above and tick \u{201c}Keep\u{201d}): each becomes a responsive search ad.",
        );
    }
    if errors.any() {
        return None;
    }
    Some(GoogleSpec {
        ad_group_name,
        max_cpc_micros: max_cpc?,
        final_url: final_url?,
        locations: Vec::new(),
        languages,
        keywords: keywords?,
        ads,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_read_editor_notation_and_refuse_what_google_refuses() {
        let k =
            parse_keywords("[running shoes]\n\"trail  shoes\"\nhiking boots\n\n[Running Shoes]")
                .expect("valid");
        assert_eq!(
            k,
            vec![
                Keyword {
                    text: "running shoes".into(),
                    match_type: MatchType::Exact
                },
                Keyword {
                    text: "trail shoes".into(),
                    match_type: MatchType::Phrase
                },
                Keyword {
                    text: "hiking boots".into(),
                    match_type: MatchType::Broad
                },
            ]
        );
        assert!(
            parse_keywords("shoes!")
                .unwrap_err()
                .contains("\u{201c}!\u{201d}")
        );
        assert!(
            parse_keywords("a b c d e f g h i j k")
                .unwrap_err()
                .contains("10 words")
        );
        assert!(parse_keywords("[]").unwrap_err().contains("no words"));
    }

    #[test]
    fn urls_must_be_web_addresses_and_amounts_keep_their_scale() {
        assert!(check_url("ftp://example.com").is_err());
        assert!(check_url("example.com").is_err());
        assert!(check_url("https://localhost").is_err());
        assert_eq!(
            check_url(" https://shop.example.com/a ").as_deref(),
            Ok("https://shop.example.com/a")
        );
        let usd: Currency = "USD".parse().expect("usd");
        let jpy: Currency = "JPY".parse().expect("jpy");
        assert_eq!(parse_amount("1.5", usd, "bid"), Ok(1_500_000));
        assert!(parse_amount("1.5", jpy, "bid").is_err());
        assert!(parse_amount("1.505", usd, "bid").is_err());
        assert!(parse_amount("0", usd, "bid").is_err());
    }
}
