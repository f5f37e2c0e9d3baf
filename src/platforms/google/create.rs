//! A complete Search campaign in one `googleAds:mutate` (temporary resource names, atomic),
//! and `geoTargetConstants:suggest` for the form's locations.

use reqwest::Method;
use serde_json::{Value, json};

use super::{GoogleAds, Req, customer_id};
use crate::platforms::create::{CreatedObject, CreatedTree, LocationMatch, SearchCampaignSpec};
use crate::platforms::errors::PlatformError;
use crate::platforms::model::{AccountRef, Campaign, CampaignStatus, Credentials};
use crate::platforms::round_to_minor;
use crate::platforms::wire::text;

/// Google takes at most 25 names per suggest request.
const MAX_NAMES: usize = 25;

/// The operations of one create, in an order where every temporary name is defined before it
/// is referenced, grouped by resource type (Google's latency advice), with what each will be.
pub(super) fn operations(
    cid: &str,
    spec: &SearchCampaignSpec,
    suffix: &str,
) -> Vec<(Value, String, String)> {
    let budget = format!("customers/{cid}/campaignBudgets/-1");
    let campaign = format!("customers/{cid}/campaigns/-2");
    let ad_group = format!("customers/{cid}/adGroups/-3");
    let amount = round_to_minor(spec.daily_budget).micros;
    let bid = round_to_minor(spec.max_cpc).micros;
    let mut ops = vec![
        (
            json!({"campaignBudgetOperation": {"create": {
                "resourceName": budget,
                // Budget names are unique per account; the suffix keeps equal campaign names apart.
                "name": format!("{} budget {suffix}", spec.name),
                "deliveryMethod": "STANDARD",
                "amountMicros": amount.to_string(),
                "explicitlyShared": false,
            }}}),
            "budget".to_string(),
            format!("Budget {}", spec.daily_budget.display()),
        ),
        campaign_op(spec, &campaign, &budget),
    ];
    for l in &spec.locations {
        ops.push((
            json!({"campaignCriterionOperation": {"create": {
                "campaign": campaign,
                "location": {"geoTargetConstant": format!("geoTargetConstants/{}", l.id)},
            }}}),
            "location".to_string(),
            format!("Location {}", l.name),
        ));
    }
    for l in &spec.languages {
        ops.push((
            json!({"campaignCriterionOperation": {"create": {
                "campaign": campaign,
                "language": {"languageConstant": format!("languageConstants/{}", l.id)},
            }}}),
            "language".to_string(),
            format!("Language {}", l.name),
        ));
    }
    ops.push((
        json!({"adGroupOperation": {"create": {
            "resourceName": ad_group,
            "campaign": campaign,
            "name": spec.ad_group_name,
            // The campaign's status is the one switch: children are enabled inside it.
            "status": "ENABLED",
            "type": "SEARCH_STANDARD",
            "cpcBidMicros": bid.to_string(),
        }}}),
        "ad_group".to_string(),
        format!("Ad group \u{201c}{}\u{201d}", spec.ad_group_name),
    ));
    ops.extend(keyword_and_ad_ops(spec, &ad_group));
    ops
}

/// The campaign itself: Search, on a manual CPC, in the status the spec asks for.
fn campaign_op(spec: &SearchCampaignSpec, campaign: &str, budget: &str) -> (Value, String, String) {
    let status = match spec.status {
        CampaignStatus::Active => "ENABLED",
        _ => "PAUSED",
    };
    (
        json!({"campaignOperation": {"create": {
            "resourceName": campaign,
            "name": spec.name,
            "status": status,
            "advertisingChannelType": "SEARCH",
            "campaignBudget": budget,
            "manualCpc": {},
            "networkSettings": {
                "targetGoogleSearch": true,
                "targetSearchNetwork": true,
                "targetContentNetwork": false,
                "targetPartnerSearchNetwork": false,
            },
            // People in the places, which is what a form's "locations" means to most.
            "geoTargetTypeSetting": {"positiveGeoTargetType": "PRESENCE"},
            "containsEuPoliticalAdvertising": "DOES_NOT_CONTAIN_EU_POLITICAL_ADVERTISING",
        }}}),
        "campaign".to_string(),
        format!("Campaign \u{201c}{}\u{201d}", spec.name),
    )
}

/// The ad group's keywords, then its responsive search ads.
fn keyword_and_ad_ops(spec: &SearchCampaignSpec, ad_group: &str) -> Vec<(Value, String, String)> {
    let mut ops = Vec::new();
    for k in &spec.keywords {
        ops.push((
            json!({"adGroupCriterionOperation": {"create": {
                "adGroup": ad_group,
                "status": "ENABLED",
                "keyword": {"text": k.text, "matchType": k.match_type.wire()},
            }}}),
            "keyword".to_string(),
            format!("Keyword {}", k.match_type.notation(&k.text)),
        ));
    }
    for (i, ad) in spec.ads.iter().enumerate() {
        ops.push((
            json!({"adGroupAdOperation": {"create": {
                "adGroup": ad_group,
                "status": "ENABLED",
                "ad": {
                    "finalUrls": [spec.final_url],
                    "responsiveSearchAd": {
                        "headlines": ad.headlines.iter().map(|h| json!({"text": h})).collect::<Vec<_>>(),
                        "descriptions": ad.descriptions.iter().map(|d| json!({"text": d})).collect::<Vec<_>>(),
                    },
                },
            }}}),
            "ad".to_string(),
            format!("Responsive search ad {}", i + 1),
        ));
    }
    ops
}

/// The last id of a resource name (`customers/1/adGroupCriteria/22~33` gives `33`; an ad
/// group ad gives the ad's id).
fn last_id(rn: &str) -> String {
    let tail = rn.rsplit('/').next().unwrap_or(rn);
    tail.rsplit('~').next().unwrap_or(tail).to_string()
}

const RESULT_KEYS: [&str; 6] = [
    "campaignBudgetResult",
    "campaignResult",
    "campaignCriterionResult",
    "adGroupResult",
    "adGroupCriterionResult",
    "adGroupAdResult",
];

impl GoogleAds {
    pub(crate) async fn create_search_campaign(
        &self,
        creds: &Credentials,
        account: &AccountRef,
        spec: &SearchCampaignSpec,
        validate_only: bool,
    ) -> Result<Option<CreatedTree>, PlatformError> {
        let cid = customer_id(&account.id)?;
        let suffix = uuid::Uuid::new_v4().simple().to_string();
        let planned = operations(&cid, spec, &suffix[..8]);
        let body = json!({
            "mutateOperations": planned.iter().map(|(op, _, _)| op.clone()).collect::<Vec<_>>(),
            // All or nothing: a refused ad must not leave a campaign without ads behind.
            "partialFailure": false,
            "validateOnly": validate_only,
        });
        let ops = u32::try_from(planned.len()).unwrap_or(u32::MAX);
        let v = self
            .call(
                creds,
                Req {
                    method: Method::POST,
                    path: &format!("customers/{cid}/googleAds:mutate"),
                    body: Some(&body),
                    ops,
                    // Never resent blindly: the caller looks for the campaign first.
                    idempotent: validate_only,
                    with_login_customer: true,
                },
            )
            .await?;
        if validate_only {
            return Ok(None);
        }
        let results = v
            .get("mutateOperationResponses")
            .and_then(Value::as_array)
            .ok_or_else(|| {
                PlatformError::unexpected("Google Ads answered the create without results")
            })?;
        if results.len() != planned.len() {
            return Err(PlatformError::unexpected(format!(
                "Google Ads answered {} of {} operations",
                results.len(),
                planned.len()
            )));
        }
        let mut objects = Vec::new();
        for (r, (_, kind, label)) in results.iter().zip(&planned) {
            let rn = RESULT_KEYS
                .iter()
                .find_map(|k| text(r.get(*k).and_then(|o| o.get("resourceName"))))
                .ok_or_else(|| {
                    PlatformError::unexpected(format!("Google Ads sent no resource for {label}"))
                })?;
            objects.push(CreatedObject {
                kind: kind.clone(),
                label: label.clone(),
                id: last_id(&rn),
            });
        }
        let campaign_id = objects
            .iter()
            .find(|o| o.kind == "campaign")
            .map(|o| o.id.clone())
            .ok_or_else(|| PlatformError::unexpected("Google Ads created no campaign"))?;
        Ok(Some(CreatedTree {
            campaign: Campaign {
                id: campaign_id,
                name: spec.name.clone(),
                status: spec.status,
                daily_budget: Some(round_to_minor(spec.daily_budget)),
                flight: Default::default(),
            },
            objects,
        }))
    }

    pub(crate) async fn suggest_locations(
        &self,
        creds: &Credentials,
        names: &[String],
    ) -> Result<Vec<(String, Vec<LocationMatch>)>, PlatformError> {
        let mut out: Vec<(String, Vec<LocationMatch>)> =
            names.iter().map(|n| (n.clone(), Vec::new())).collect();
        for chunk in names.chunks(MAX_NAMES) {
            let body = json!({"locale": "en", "locationNames": {"names": chunk}});
            let v = self
                .call(
                    creds,
                    Req {
                        method: Method::POST,
                        path: "geoTargetConstants:suggest",
                        body: Some(&body),
                        ops: 1,
                        idempotent: true,
                        with_login_customer: false,
                    },
                )
                .await?;
            for s in v
                .get("geoTargetConstantSuggestions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(g) = s.get("geoTargetConstant") else {
                    continue;
                };
                if text(g.get("status")).as_deref() == Some("REMOVAL_PLANNED") {
                    continue;
                }
                let (Some(id), Some(name)) = (text(g.get("id")), text(g.get("name"))) else {
                    continue;
                };
                let term = text(s.get("searchTerm")).unwrap_or_default();
                let m = LocationMatch {
                    canonical_name: text(g.get("canonicalName")).unwrap_or_else(|| name.clone()),
                    kind: text(g.get("targetType")).unwrap_or_default(),
                    id,
                    name,
                };
                if let Some((_, list)) = out
                    .iter_mut()
                    .find(|(n, _)| n.trim().eq_ignore_ascii_case(term.trim()))
                {
                    if !list.iter().any(|x| x.id == m.id) {
                        list.push(m);
                    }
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::platforms::create::{Keyword, MatchType, SearchAd, Target};
    use crate::types::{Currency, Money};

    fn usd() -> Currency {
        "USD".parse().expect("code")
    }

    #[test]
    fn temporary_names_are_defined_before_they_are_used_and_unique() {
        let spec = SearchCampaignSpec {
            name: "Spring".into(),
            daily_budget: Money::new(50_000_000, usd()),
            status: CampaignStatus::Paused,
            ad_group_name: "Shoes".into(),
            max_cpc: Money::new(1_500_000, usd()),
            final_url: "https://shop.example.com".into(),
            locations: vec![Target {
                id: "2840".into(),
                name: "United States".into(),
            }],
            languages: vec![Target {
                id: "1000".into(),
                name: "English".into(),
            }],
            keywords: vec![Keyword {
                text: "running shoes".into(),
                match_type: MatchType::Phrase,
            }],
            ads: vec![SearchAd {
                headlines: vec!["a".into(), "b".into(), "c".into()],
                descriptions: vec!["d".into(), "e".into()],
            }],
        };
        let ops = operations("123", &spec, "abcd1234");
        let kinds: Vec<&str> = ops.iter().map(|(_, k, _)| k.as_str()).collect();
        assert_eq!(
            kinds,
            [
                "budget", "campaign", "location", "language", "ad_group", "keyword", "ad"
            ]
        );
        let all =
            serde_json::to_string(&ops.iter().map(|o| &o.0).collect::<Vec<_>>()).expect("json");
        let first_use = |s: &str| all.find(s).expect("present");
        assert!(first_use("campaignBudgets/-1") < first_use("campaigns/-2"));
        assert!(first_use("campaigns/-2") < first_use("adGroups/-3"));
        assert_eq!(ops[5].2, "Keyword \"running shoes\"");
        assert_eq!(last_id("customers/1/adGroupAds/22~33"), "33");
    }
}
