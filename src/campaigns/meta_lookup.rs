//! The Meta look-ups behind the create form: the Pages the connection may advertise for (the
//! form's list), and the places and interests typed, resolved through Meta's own targeting
//! search. Nothing is created by a look-up; a name Meta does not know is refused at its field.

use uuid::Uuid;

use crate::app::AppState;
use crate::connections::service::{ManagedAccount, account_access};
use crate::platforms::meta_create::{MetaInterest, MetaLocation, MetaPage, MetaPixel};
use crate::platforms::{AccountRef, Credentials, PlatformError};
use crate::types::Platform;
use crate::web::form::FieldErrors;

use super::meta_create::MetaSpec;

/// The chosen Meta accounts, or every managed one when none is chosen yet (the form lists the
/// Pages before an account is ticked).
fn first_meta<'a>(accounts: &'a [ManagedAccount], chosen: &[String]) -> Option<&'a ManagedAccount> {
    let metas = || accounts.iter().filter(|a| a.platform == Platform::Meta);
    metas()
        .find(|a| chosen.contains(&a.id.to_string()))
        .or_else(|| metas().next())
}

async fn creds(
    app: &AppState,
    org_id: Uuid,
    account: &ManagedAccount,
) -> Result<Credentials, String> {
    account_access(app, org_id, account.id)
        .await
        .map(|(_, c, _)| c)
        .map_err(|e| format!("adpilot cannot reach Meta for {}: {e}", account.name))
}

/// The Pixels of every managed Meta ad account, for the form's list (leads and sales), each
/// named with its account because a Pixel serves only its own (the chosen account's is
/// checked on create); with the reasons for accounts that could not be asked, or none has one.
pub async fn pixels(
    app: &AppState,
    org_id: Uuid,
    accounts: &[ManagedAccount],
) -> (Vec<MetaPixel>, Option<String>) {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    let mut asked = false;
    for account in accounts.iter().filter(|a| a.platform == Platform::Meta) {
        asked = true;
        let (c, a) = match account_access(app, org_id, account.id).await {
            Ok((_, c, a)) => (c, a),
            Err(e) => {
                problems.push(format!(
                    "adpilot cannot reach Meta for {}: {e}",
                    account.name
                ));
                continue;
            }
        };
        match app
            .platforms
            .adapter(Platform::Meta)
            .meta_pixels(&c, &a)
            .await
        {
            Ok(list) => out.extend(list.into_iter().map(|p| MetaPixel {
                name: format!("{} (ad account {})", p.name, account.name),
                id: p.id,
            })),
            Err(e) => problems.push(format!(
                "Meta did not list the Pixels of {} ({e}). Reload the page to try again.",
                account.name
            )),
        }
    }
    if asked && out.is_empty() && problems.is_empty() {
        problems.push("No Meta ad account here has a Pixel. Set one up in Meta Events Manager to run leads or sales campaigns; traffic campaigns need none.".into());
    }
    (out, (!problems.is_empty()).then(|| problems.join(" ")))
}

/// Whether the chosen Pixel is one of the ad account's (Meta refuses an ad set promoting
/// another account's Pixel).
async fn check_pixel(
    c: &Credentials,
    a: &AccountRef,
    app: &AppState,
    id: &str,
) -> Result<(), String> {
    match app
        .platforms
        .adapter(Platform::Meta)
        .meta_pixels(c, a)
        .await
    {
        Ok(list) if list.iter().any(|p| p.id == id) => Ok(()),
        Ok(_) => Err(
            "That Pixel is not one of this Meta ad account's. Choose a Pixel from the list.".into(),
        ),
        Err(e) => Err(lookup_failed("Pixel", &e)),
    }
}

/// The Pages for the form's list; an empty list with the reason when there are none.
pub async fn pages(
    app: &AppState,
    org_id: Uuid,
    accounts: &[ManagedAccount],
    chosen: &[String],
) -> (Vec<MetaPage>, Option<String>) {
    let Some(account) = first_meta(accounts, chosen) else {
        return (Vec::new(), None);
    };
    let c = match creds(app, org_id, account).await {
        Ok(c) => c,
        Err(m) => return (Vec::new(), Some(m)),
    };
    match app.platforms.adapter(Platform::Meta).meta_pages(&c).await {
        Ok(p) if p.is_empty() => (
            p,
            Some("This Meta connection may not advertise for any Facebook Page. Ask a Page admin to give you the Advertise task, then reload this page.".into()),
        ),
        Ok(p) => (p, None),
        Err(e) => (
            Vec::new(),
            Some(format!("Meta did not list your Facebook Pages ({e}). Reload the page to try again.")),
        ),
    }
}

/// Meta's best match for a typed name: the one whose name (or name with its region and
/// country) is what was typed, else Meta's first.
fn best_place(typed: &str, found: Vec<MetaLocation>) -> Option<MetaLocation> {
    let t = typed.trim().to_lowercase();
    let exact = found.iter().position(|l| {
        l.name.to_lowercase() == t
            || l.label().to_lowercase() == t
            || l.label().to_lowercase().starts_with(&format!("{t},"))
    });
    let i = exact.unwrap_or(0);
    found.into_iter().nth(i)
}

fn best_interest(typed: &str, found: Vec<MetaInterest>) -> Option<MetaInterest> {
    let i = found
        .iter()
        .position(|x| x.name.eq_ignore_ascii_case(typed.trim()))
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

/// Interests by typed name, as Meta knows them; the unknown names as an error.
pub async fn interests(
    app: &AppState,
    creds: &Credentials,
    names: &[String],
) -> Result<Vec<MetaInterest>, String> {
    let adapter = app.platforms.adapter(Platform::Meta);
    let mut out: Vec<MetaInterest> = Vec::new();
    let mut unknown = Vec::new();
    for n in names {
        let found = adapter
            .meta_find_interests(creds, n)
            .await
            .map_err(|e| lookup_failed("interest", &e))?;
        match best_interest(n, found) {
            Some(i) if !out.iter().any(|o| o.id == i.id) => out.push(i),
            Some(_) => {}
            None => unknown.push(n.clone()),
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "Meta knows no interest called {}. Try a broader word (such as Running instead of trail running shoes) or remove it.",
            quoted(&unknown)
        ));
    }
    Ok(out)
}

fn lookup_failed(what: &str, e: &PlatformError) -> String {
    format!("Meta did not answer the {what} look-up ({e}). Try again.")
}

/// Looks up the places, interests and Page of a checked spec on Meta, through the first chosen
/// Meta account's connection. Errors go to their fields; the spec is complete when none.
pub async fn resolve(
    app: &AppState,
    org_id: Uuid,
    account: &ManagedAccount,
    places: &[String],
    interest_names: &[String],
    spec: &mut MetaSpec,
    errors: &mut FieldErrors,
) {
    let (c, a) = match account_access(app, org_id, account.id).await {
        Ok((_, c, a)) => (c, a),
        Err(e) => {
            errors.add(
                "meta_locations",
                format!("adpilot cannot reach Meta for {}: {e}", account.name),
            );
            return;
        }
    };
    let adapter = app.platforms.adapter(Platform::Meta);
    if let Some(o) = &spec.promoted_object
        && let Err(m) = check_pixel(&c, &a, app, &o.pixel_id).await
    {
        errors.add("meta_pixel", m);
    }
    match adapter.meta_pages(&c).await {
        Ok(pages) => match pages.into_iter().find(|p| p.id == spec.page.id) {
            Some(p) => spec.page = p,
            None => errors.add(
                "meta_page",
                "That Page is not one this Meta connection may advertise for. Choose a Page from the list.",
            ),
        },
        Err(e) => errors.add("meta_page", lookup_failed("Page", &e)),
    }
    let mut found: Vec<MetaLocation> = Vec::new();
    let mut unknown = Vec::new();
    for n in places {
        match adapter.meta_find_locations(&c, n).await {
            Ok(list) => match best_place(n, list) {
                Some(l) if !found.iter().any(|f| f.kind == l.kind && f.key == l.key) => {
                    found.push(l)
                }
                Some(_) => {}
                None => unknown.push(n.clone()),
            },
            Err(e) => {
                errors.add("meta_locations", lookup_failed("location", &e));
                return;
            }
        }
    }
    if !unknown.is_empty() {
        errors.add(
            "meta_locations",
            format!(
                "Meta knows no location called {}. Check the spelling, or name the region or country instead.",
                quoted(&unknown)
            ),
        );
    }
    spec.locations = found;
    match interests(app, &c, interest_names).await {
        Ok(i) => spec.interests = i,
        Err(m) => errors.add("meta_interests", m),
    }
}

/// Credentials for the first chosen Meta account (the targeting suggestions look-up).
pub async fn creds_for_form(
    app: &AppState,
    org_id: Uuid,
    accounts: &[ManagedAccount],
    chosen: &[String],
) -> Result<Credentials, String> {
    match first_meta(accounts, chosen) {
        Some(a) => creds(app, org_id, a).await,
        None => Err("Choose a Meta ad account first.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place(name: &str, kind: &str, context: &str) -> MetaLocation {
        MetaLocation {
            key: name.into(),
            name: name.into(),
            kind: kind.into(),
            country_code: "US".into(),
            context: context.into(),
        }
    }

    #[test]
    fn the_place_typed_wins_over_meta_s_first_answer() {
        let found = vec![
            place("Paris", "city", "Ile-de-France, France"),
            place("Paris", "city", "Texas, United States"),
        ];
        let best = best_place("Paris, Texas", found.clone()).expect("found");
        assert_eq!(best.context, "Texas, United States");
        assert_eq!(
            best_place("Paris", found).expect("first").context,
            "Ile-de-France, France"
        );
        assert!(best_place("Atlantis", Vec::new()).is_none());
    }
}
