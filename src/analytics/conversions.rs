//! What "conversions", "revenue" and the named conversion metrics are, derived from a row's
//! per-type figures and the ad account's conversion settings. One pure function for every
//! level (campaign, ad group, ad), so that changing a setting re-derives stored history
//! without asking the platform again, and dashboards, reports, alerts and rules agree.
//!
//! Meta reports one purchase under several overlapping action types at once (the pixel event,
//! `purchase`, `omni_purchase`); adding them up would count it two or three times. Types are
//! therefore grouped: within a group only the broadest selected type present on the row
//! counts, and groups are added up.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::platforms::model::{ConversionTypes, DEFAULT_TYPE, TypeFigure};
use crate::types::Platform;

/// An ad account's choice. Empty lists mean "the platform's own definition".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversionSettings {
    /// Types whose counts add up to `conversions`.
    #[serde(default)]
    pub conversion_types: Vec<String>,
    /// Types whose values add up to `revenue`.
    #[serde(default)]
    pub revenue_types: Vec<String>,
}

impl ConversionSettings {
    pub fn is_default(&self) -> bool {
        self.conversion_types.is_empty() && self.revenue_types.is_empty()
    }
}

/// The figures stored beside a row's per-type counts. Values in major units of the account's
/// currency.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Derived {
    pub conversions: Decimal,
    pub revenue: Decimal,
    /// None where the platform's answer cannot tell (Google rows without a per-action
    /// breakdown); zero only when the platform said zero.
    pub purchases: Option<Decimal>,
    pub purchase_value: Option<Decimal>,
    pub leads: Option<Decimal>,
    pub installs: Option<Decimal>,
    pub registrations: Option<Decimal>,
}

/// Meta action types that describe one event at different breadths, broadest first.
const META_GROUPS: &[&[&str]] = &[
    &[
        "omni_purchase",
        "purchase",
        "offsite_conversion.fb_pixel_purchase",
        "onsite_web_purchase",
        "app_custom_event.fb_mobile_purchase",
    ],
    &[
        "lead",
        "onsite_conversion.lead_grouped",
        "offsite_conversion.fb_pixel_lead",
    ],
    &[
        "omni_complete_registration",
        "complete_registration",
        "offsite_conversion.fb_pixel_complete_registration",
        "app_custom_event.fb_mobile_complete_registration",
    ],
    &["omni_app_install", "mobile_app_install", "app_install"],
];

/// Google conversion action categories behind each named metric.
const GOOGLE_PURCHASE: &[&str] = &["PURCHASE", "STORE_SALE"];
const GOOGLE_LEAD: &[&str] = &[
    "SUBMIT_LEAD_FORM",
    "IMPORTED_LEAD",
    "QUALIFIED_LEAD",
    "CONVERTED_LEAD",
    "BOOK_APPOINTMENT",
    "REQUEST_QUOTE",
    "CONTACT",
    "PHONE_CALL_LEAD",
];
const GOOGLE_SIGNUP: &[&str] = &["SIGNUP"];
const GOOGLE_INSTALL: &[&str] = &["DOWNLOAD"];

/// TikTok metrics behind each named metric. Web and app purchases are different events, so
/// they add up.
const TIKTOK_PURCHASE: &[&str] = &["complete_payment", "purchase"];
const TIKTOK_LEAD: &[&str] = &["sales_lead"];
const TIKTOK_REGISTRATION: &[&str] = &["registration"];
const TIKTOK_INSTALL: &[&str] = &["app_install"];

/// `conversions`, `revenue` and the named metrics of one row.
pub fn derive(
    platform: Platform,
    types: &ConversionTypes,
    settings: &ConversionSettings,
) -> Derived {
    let default = types.get(DEFAULT_TYPE);
    let conversions = if settings.conversion_types.is_empty() {
        default.map_or(Decimal::ZERO, |f| f.count)
    } else {
        sum_selected(platform, types, &settings.conversion_types, |f| f.count)
    };
    let revenue = if settings.revenue_types.is_empty() {
        default.map_or(Decimal::ZERO, |f| f.value)
    } else {
        sum_selected(platform, types, &settings.revenue_types, |f| f.value)
    };
    let named = |meta_group: usize, google: &[&str], tiktok: &[&str]| match platform {
        Platform::Meta => {
            let group = META_GROUPS.get(meta_group).copied().unwrap_or(&[]);
            Some(
                group
                    .iter()
                    .find_map(|t| types.get(*t))
                    .cloned()
                    .unwrap_or_default(),
            )
        }
        Platform::Google => {
            // Without a per-action breakdown there is nothing to read categories from.
            let by_action = types.iter().filter(|(k, _)| k.as_str() != DEFAULT_TYPE);
            let mut seen = false;
            let mut total = TypeFigure::default();
            for (_, f) in by_action {
                seen = true;
                if f.category.as_deref().is_some_and(|c| google.contains(&c)) {
                    total.count += f.count;
                    total.value += f.value;
                }
            }
            seen.then_some(total)
        }
        Platform::Tiktok => {
            let mut total = TypeFigure::default();
            for t in tiktok {
                if let Some(f) = types.get(*t) {
                    total.count += f.count;
                    total.value += f.value;
                }
            }
            Some(total)
        }
    };
    let purchases = named(0, GOOGLE_PURCHASE, TIKTOK_PURCHASE);
    Derived {
        conversions,
        revenue,
        purchase_value: purchases.as_ref().map(|f| f.value),
        purchases: purchases.map(|f| f.count),
        leads: named(1, GOOGLE_LEAD, TIKTOK_LEAD).map(|f| f.count),
        registrations: named(2, GOOGLE_SIGNUP, TIKTOK_REGISTRATION).map(|f| f.count),
        installs: named(3, GOOGLE_INSTALL, TIKTOK_INSTALL).map(|f| f.count),
    }
}

/// The sum of `field` over the selected types, counting each Meta overlap group once (its
/// broadest selected type present on the row).
fn sum_selected(
    platform: Platform,
    types: &ConversionTypes,
    selected: &[String],
    field: impl Fn(&TypeFigure) -> Decimal,
) -> Decimal {
    let mut total = Decimal::ZERO;
    let mut grouped: Vec<usize> = Vec::new();
    for name in selected {
        let group = (platform == Platform::Meta)
            .then(|| META_GROUPS.iter().position(|g| g.contains(&name.as_str())))
            .flatten();
        match group {
            Some(g) if grouped.contains(&g) => {}
            Some(g) => {
                grouped.push(g);
                let members = META_GROUPS.get(g).copied().unwrap_or(&[]);
                let broadest = members
                    .iter()
                    .filter(|m| selected.iter().any(|s| s == *m))
                    .find_map(|m| types.get(*m));
                if let Some(f) = broadest {
                    total += field(f);
                }
            }
            None => {
                if let Some(f) = types.get(name) {
                    total += field(f);
                }
            }
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().expect("decimal")
    }

    fn fig(count: &str, value: &str) -> TypeFigure {
        TypeFigure {
            count: d(count),
            value: d(value),
            category: None,
        }
    }

    fn meta_row() -> ConversionTypes {
        let mut t = ConversionTypes::new();
        t.insert(DEFAULT_TYPE.into(), fig("3", "150"));
        t.insert("omni_purchase".into(), fig("3", "150"));
        t.insert("purchase".into(), fig("3", "150"));
        t.insert(
            "offsite_conversion.fb_pixel_purchase".into(),
            fig("2", "100"),
        );
        t.insert("lead".into(), fig("7", "0"));
        t.insert("mobile_app_install".into(), fig("4", "0"));
        t
    }

    #[test]
    fn the_default_is_the_platforms_own_figure() {
        let r = derive(Platform::Meta, &meta_row(), &ConversionSettings::default());
        assert_eq!((r.conversions, r.revenue), (d("3"), d("150")));
        assert_eq!(r.purchases, Some(d("3")));
        assert_eq!(r.purchase_value, Some(d("150")));
        assert_eq!(r.leads, Some(d("7")));
        assert_eq!(r.installs, Some(d("4")));
        assert_eq!(r.registrations, Some(d("0")));
    }

    #[test]
    fn overlapping_meta_types_count_once_and_groups_add_up() {
        let s = ConversionSettings {
            conversion_types: vec![
                "offsite_conversion.fb_pixel_purchase".into(),
                "omni_purchase".into(),
                "lead".into(),
            ],
            revenue_types: vec!["offsite_conversion.fb_pixel_purchase".into()],
        };
        let r = derive(Platform::Meta, &meta_row(), &s);
        assert_eq!(
            r.conversions,
            d("10"),
            "3 purchases (omni) + 7 leads, not 12"
        );
        assert_eq!(r.revenue, d("100"));
    }

    #[test]
    fn google_named_metrics_come_from_categories_and_need_a_breakdown() {
        let mut t = ConversionTypes::new();
        t.insert(DEFAULT_TYPE.into(), fig("5.5", "300"));
        let only_native = derive(Platform::Google, &t, &ConversionSettings::default());
        assert_eq!(only_native.conversions, d("5.5"));
        assert_eq!(only_native.purchases, None, "unknown, not zero");
        t.insert(
            "Purchase".into(),
            TypeFigure {
                category: Some("PURCHASE".into()),
                ..fig("4.5", "300")
            },
        );
        t.insert(
            "Newsletter".into(),
            TypeFigure {
                category: Some("SIGNUP".into()),
                ..fig("9", "0")
            },
        );
        let r = derive(Platform::Google, &t, &ConversionSettings::default());
        assert_eq!(r.purchases, Some(d("4.5")));
        assert_eq!(r.registrations, Some(d("9")));
        assert_eq!(r.leads, Some(d("0")));
        let s = ConversionSettings {
            conversion_types: vec!["Purchase".into(), "Newsletter".into()],
            revenue_types: vec!["Purchase".into()],
        };
        let r = derive(Platform::Google, &t, &s);
        assert_eq!((r.conversions, r.revenue), (d("13.5"), d("300")));
    }

    #[test]
    fn tiktok_adds_web_and_app_purchases() {
        let mut t = ConversionTypes::new();
        t.insert(DEFAULT_TYPE.into(), fig("6", "80"));
        t.insert("complete_payment".into(), fig("2", "80"));
        t.insert("purchase".into(), fig("1", "20"));
        t.insert("app_install".into(), fig("11", "0"));
        let r = derive(Platform::Tiktok, &t, &ConversionSettings::default());
        assert_eq!(r.purchases, Some(d("3")));
        assert_eq!(r.purchase_value, Some(d("100")));
        assert_eq!(r.installs, Some(d("11")));
        assert_eq!(r.conversions, d("6"));
    }
}
