//! The TikTok look-ups behind the create form: the advertiser's identities (the form's list),
//! and the places and interest categories typed, resolved through TikTok's own targeting
//! search and category list. Nothing is created by a look-up; a name TikTok does not know is
//! refused at its field.

use uuid::Uuid;

use crate::app::AppState;
use crate::connections::service::{ManagedAccount, account_access};
use crate::platforms::tiktok_create::{TiktokIdentity, TiktokInterest, TiktokLocation};
use crate::platforms::{AccountRef, Credentials, PlatformError};
use crate::types::Platform;
use crate::web::form::FieldErrors;

use super::tiktok_create::TiktokSpec;

/// The chosen TikTok account, or the first managed one when none is chosen yet (the form
/// lists the identities before an account is ticked).
fn first_tiktok<'a>(
    accounts: &'a [ManagedAccount],
    chosen: &[String],
) -> Option<&'a ManagedAccount> {
    let all = || accounts.iter().filter(|a| a.platform == Platform::Tiktok);
    all()
        .find(|a| chosen.contains(&a.id.to_string()))
        .or_else(|| all().next())
}

async fn access(
    app: &AppState,
    org_id: Uuid,
    account: &ManagedAccount,
) -> Result<(Credentials, AccountRef), String> {
    account_access(app, org_id, account.id)
        .await
        .map(|(_, c, a)| (c, a))
        .map_err(|e| format!("adpilot cannot reach TikTok for {}: {e}", account.name))
}

fn lookup_failed(what: &str, e: &PlatformError) -> String {
    format!("TikTok did not answer the {what} look-up ({e}). Try again.")
}

/// The identities for the form's list; an empty list with the reason when TikTok cannot
/// be asked.
pub async fn identities(
    app: &AppState,
    org_id: Uuid,
    accounts: &[ManagedAccount],
    chosen: &[String],
) -> (Vec<TiktokIdentity>, Option<String>) {
    let Some(account) = first_tiktok(accounts, chosen) else {
        return (Vec::new(), None);
    };
    let (c, a) = match access(app, org_id, account).await {
        Ok(x) => x,
        Err(m) => return (Vec::new(), Some(m)),
    };
    match app
        .platforms
        .adapter(Platform::Tiktok)
        .tiktok_identities(&c, &a)
        .await
    {
        Ok(list) => (list, None),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "TikTok did not list the advertiser's identities ({e}). Reload the page to try again, or make a new identity."
            )),
        ),
    }
}

/// TikTok's best match for a typed place: the one whose name, or name with its region and
/// country, is what was typed, else TikTok's first.
fn best_place(typed: &str, found: Vec<TiktokLocation>) -> Option<TiktokLocation> {
    let t = typed.trim().to_lowercase();
    let i = found
        .iter()
        .position(|l| {
            let d = l.description.to_lowercase();
            l.name.to_lowercase() == t || d == t || d.starts_with(&format!("{t},"))
        })
        .unwrap_or(0);
    found.into_iter().nth(i)
}

fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("\u{201c}{n}\u{201d}"))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn places(
    app: &AppState,
    c: &Credentials,
    a: &AccountRef,
    names: &[String],
) -> Result<Vec<TiktokLocation>, String> {
    let adapter = app.platforms.adapter(Platform::Tiktok);
    let mut found: Vec<TiktokLocation> = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        let list = adapter
            .tiktok_find_locations(c, a, n)
            .await
            .map_err(|e| lookup_failed("location", &e))?;
        match best_place(n, list) {
            Some(l) if !found.iter().any(|f| f.id == l.id) => found.push(l),
            Some(_) => {}
            None => unknown.push(n.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "TikTok knows no location called {}. Check the spelling, or name the region or country instead.",
            quoted(&unknown)
        ));
    }
    Ok(found)
}

async fn interests(
    app: &AppState,
    c: &Credentials,
    a: &AccountRef,
    names: &[String],
) -> Result<Vec<TiktokInterest>, String> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let all = app
        .platforms
        .adapter(Platform::Tiktok)
        .tiktok_interest_categories(c, a)
        .await
        .map_err(|e| lookup_failed("interest category", &e))?;
    let mut out: Vec<TiktokInterest> = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        match all.iter().find(|i| i.name.eq_ignore_ascii_case(n.trim())) {
            Some(i) if !out.iter().any(|o| o.id == i.id) => out.push(i.clone()),
            Some(_) => {}
            None => unknown.push(n.clone()),
        }
    }
    if !unknown.is_empty() {
        let some: Vec<&str> = all.iter().take(8).map(|i| i.name.as_str()).collect();
        return Err(format!(
            "TikTok has no interest category called {}. TikTok's categories are broad, such as {}.",
            quoted(&unknown),
            some.join(", ")
        ));
    }
    Ok(out)
}

/// The words of a name, lower-cased, a plural "s" dropped, so "Outdoor sports" and "Sports &
/// Outdoors" share their words.
fn words(name: &str) -> Vec<String> {
    name.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty() && !w.eq_ignore_ascii_case("and"))
        .map(|w| {
            let w = w.to_lowercase();
            match w.strip_suffix('s') {
                Some(stem) if stem.chars().count() >= 3 => stem.to_string(),
                _ => w,
            }
        })
        .collect()
}

/// TikTok's interest category for a suggested interest. TikTok only targets its own broad
/// categories, so a suggestion rarely is one: the category named exactly so wins, else the
/// category all of whose words the suggestion has ("trail running" is "Running"; the one
/// with more words is the closer), else one sharing a word with it ("yoga" is "Fitness &
/// Yoga"). None when no category shares a word: the caller says so instead of guessing.
pub fn category_for<'a>(suggested: &str, all: &'a [TiktokInterest]) -> Option<&'a TiktokInterest> {
    let typed = suggested.trim();
    if let Some(i) = all.iter().find(|i| i.name.eq_ignore_ascii_case(typed)) {
        return Some(i);
    }
    let said = words(typed);
    if said.is_empty() {
        return None;
    }
    let contained = all
        .iter()
        .filter_map(|i| {
            let w = words(&i.name);
            (!w.is_empty() && w.iter().all(|x| said.contains(x))).then_some((w.len(), i))
        })
        .max_by_key(|(n, _)| *n)
        .map(|(_, i)| i);
    contained.or_else(|| {
        all.iter()
            .find(|i| words(&i.name).iter().any(|x| said.contains(x)))
    })
}

/// The advertiser's interest categories, through the first chosen TikTok account (the
/// targeting suggestions look-up), or why they cannot be listed.
pub async fn categories_for_form(
    app: &AppState,
    org_id: Uuid,
    accounts: &[ManagedAccount],
    chosen: &[String],
) -> Result<Vec<TiktokInterest>, String> {
    let Some(account) = first_tiktok(accounts, chosen) else {
        return Err("Choose a TikTok ad account first.".into());
    };
    let (c, a) = access(app, org_id, account).await?;
    app.platforms
        .adapter(Platform::Tiktok)
        .tiktok_interest_categories(&c, &a)
        .await
        .map_err(|e| lookup_failed("interest category", &e))
}

/// Looks up the places, interest categories and identity of a checked spec on TikTok, through
/// the first chosen TikTok account's connection. Errors go to their fields; the spec is
/// complete when none.
pub async fn resolve(
    app: &AppState,
    org_id: Uuid,
    account: &ManagedAccount,
    place_names: &[String],
    interest_names: &[String],
    spec: &mut TiktokSpec,
    errors: &mut FieldErrors,
) {
    let (c, a) = match access(app, org_id, account).await {
        Ok(x) => x,
        Err(m) => {
            errors.add("tiktok_locations", m);
            return;
        }
    };
    if let Some(chosen) = spec.identity.clone() {
        match app
            .platforms
            .adapter(Platform::Tiktok)
            .tiktok_identities(&c, &a)
            .await
        {
            Ok(list) => match list.into_iter().find(|i| i.id == chosen.id) {
                Some(i) => spec.identity = Some(i),
                None => errors.add(
                    "tiktok_identity",
                    "That identity is not one of this TikTok advertiser's. Choose one from the list, or make a new one.",
                ),
            },
            Err(e) => errors.add("tiktok_identity", lookup_failed("identity", &e)),
        }
    }
    match places(app, &c, &a, place_names).await {
        Ok(found) => spec.locations = found,
        Err(m) => errors.add("tiktok_locations", m),
    }
    match interests(app, &c, &a, interest_names).await {
        Ok(found) => spec.interests = found,
        Err(m) => errors.add("tiktok_interests", m),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(id: &str, name: &str, description: &str) -> TiktokLocation {
        TiktokLocation {
            id: id.into(),
            name: name.into(),
            level: "CITY".into(),
            description: description.into(),
        }
    }

    #[test]
    fn the_place_typed_wins_over_tiktok_s_first_answer() {
        let found = vec![
            place("2988507", "Paris", "Paris, Île-de-France, France"),
            place("4717560", "Paris", "Paris, Texas, United States"),
        ];
        assert_eq!(
            best_place("Paris, Texas", found.clone()).map(|p| p.id),
            Some("4717560".into())
        );
        assert_eq!(
            best_place("Paris", found).map(|p| p.id),
            Some("2988507".into())
        );
        assert!(best_place("Atlantis", Vec::new()).is_none());
    }

    #[test]
    fn a_suggested_interest_maps_to_the_closest_tiktok_category_or_none() {
        let all: Vec<TiktokInterest> = [
            ("1", "Sports & Outdoors"),
            ("2", "Outdoor Activities"),
            ("3", "Running"),
            ("4", "Fitness & Yoga"),
            ("5", "Pets"),
        ]
        .into_iter()
        .map(|(id, name)| TiktokInterest {
            id: id.into(),
            name: name.into(),
        })
        .collect();
        let cat = |s: &str| category_for(s, &all).map(|i| i.name.as_str());
        assert_eq!(cat("running"), Some("Running"));
        assert_eq!(cat("Trail running"), Some("Running"));
        assert_eq!(cat("outdoor sports"), Some("Sports & Outdoors"));
        assert_eq!(cat("yoga"), Some("Fitness & Yoga"));
        assert_eq!(cat("dog"), None, "no shared word, no guess");
        assert_eq!(cat("Underwater basket weaving"), None);
        assert_eq!(cat("  "), None);
    }
}
