//! Everything the adapters read from configuration. The lead's config fills it; the defaults
//! point at the real platforms.

use std::num::NonZeroU32;
use std::time::Duration;

use super::retry::RetryPolicy;

/// Settings for all three adapters.
#[derive(Debug, Clone)]
pub struct PlatformSettings {
    pub google: GoogleSettings,
    pub meta: MetaSettings,
    pub tiktok: TiktokSettings,
    pub retry: RetryPolicy,
    pub limits: LimitSettings,
    /// Per HTTP request, connect included.
    pub request_timeout: Duration,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        PlatformSettings {
            google: GoogleSettings::default(),
            meta: MetaSettings::default(),
            tiktok: TiktokSettings::default(),
            retry: RetryPolicy::default(),
            limits: LimitSettings::default(),
            request_timeout: Duration::from_secs(60),
        }
    }
}

impl PlatformSettings {
    /// Defaults, with every API origin replaced (how tests and the sandbox are reached).
    pub fn with_api_origin(origin: &str) -> Self {
        let mut s = PlatformSettings::default();
        s.google.api_url = origin.to_string();
        s.meta.api_url = origin.to_string();
        s.tiktok.api_url = origin.to_string();
        s
    }
}

#[derive(Debug, Clone)]
pub struct GoogleSettings {
    /// API origin; the adapter adds `/{api_version}/...`.
    pub api_url: String,
    /// e.g. "v26" (a bare "26" is accepted).
    pub api_version: String,
    pub oauth_authorize_url: String,
    pub oauth_token_url: String,
    pub oauth_revoke_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// Sent as `developer-token` only when set (Google made it optional in 2026).
    pub developer_token: Option<String>,
    /// Manager account to act through, digits (dashes are stripped). A connection may override it.
    pub login_customer_id: Option<String>,
}

impl Default for GoogleSettings {
    fn default() -> Self {
        GoogleSettings {
            api_url: "https://googleads.googleapis.com".into(),
            // The newest version the reference names ("the docs now recommend v26").
            api_version: "v26".into(),
            oauth_authorize_url: "https://accounts.google.com/o/oauth2/v2/auth".into(),
            oauth_token_url: "https://oauth2.googleapis.com/token".into(),
            oauth_revoke_url: "https://oauth2.googleapis.com/revoke".into(),
            client_id: String::new(),
            client_secret: String::new(),
            developer_token: None,
            login_customer_id: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct MetaSettings {
    /// Graph API origin; the adapter adds `/{api_version}/...`. OAuth token calls go here too.
    pub api_url: String,
    /// e.g. "v25.0".
    pub api_version: String,
    /// Origin of the login dialog; the adapter adds `/{api_version}/dialog/oauth`.
    pub dialog_url: String,
    pub app_id: String,
    pub app_secret: String,
    pub scopes: Vec<String>,
    /// Action types counted as conversions, in priority order: the first one present in a row
    /// is used, the others are ignored (they usually count the same purchase again).
    pub conversion_action_types: Vec<String>,
    /// Send `appsecret_proof` with every call (needed when the app requires it). Only when
    /// `app_secret` is set.
    pub appsecret_proof: bool,
}

impl Default for MetaSettings {
    fn default() -> Self {
        MetaSettings {
            api_url: "https://graph.facebook.com".into(),
            api_version: "v25.0".into(),
            dialog_url: "https://www.facebook.com".into(),
            app_id: String::new(),
            app_secret: String::new(),
            scopes: vec![
                "ads_management".into(),
                "ads_read".into(),
                "business_management".into(),
            ],
            conversion_action_types: default_meta_conversion_actions(),
            appsecret_proof: true,
        }
    }
}

pub fn default_meta_conversion_actions() -> Vec<String> {
    vec![
        "omni_purchase".into(),
        "purchase".into(),
        "offsite_conversion.fb_pixel_purchase".into(),
    ]
}

#[derive(Debug, Clone)]
pub struct TiktokSettings {
    /// API origin; the adapter adds `/open_api/{api_version}/...`.
    pub api_url: String,
    /// e.g. "v1.3".
    pub api_version: String,
    /// The app's advertiser authorization page.
    pub authorize_url: String,
    pub app_id: String,
    pub secret: String,
    /// Report metric counted as conversions.
    pub conversion_metric: String,
    /// Report metric read as revenue (major units); app advertisers may prefer
    /// `total_purchase_value`.
    pub revenue_metric: String,
}

impl Default for TiktokSettings {
    fn default() -> Self {
        TiktokSettings {
            api_url: "https://business-api.tiktok.com".into(),
            api_version: "v1.3".into(),
            authorize_url: "https://business-api.tiktok.com/portal/auth".into(),
            app_id: String::new(),
            secret: String::new(),
            conversion_metric: "conversion".into(),
            revenue_metric: "total_complete_payment_rate".into(),
        }
    }
}

/// Client-side limits that keep us under each platform's quotas before it has to say so.
#[derive(Debug, Clone)]
pub struct LimitSettings {
    /// TikTok requests per minute per advertiser.
    pub tiktok_per_minute: NonZeroU32,
    /// Meta usage (highest percentage in the usage headers) above which calls slow down.
    pub meta_slowdown_from_pct: f64,
    /// The pause before a Meta call when usage reaches 100%; it grows linearly from 0 at
    /// `meta_slowdown_from_pct`.
    pub meta_max_slowdown: Duration,
    /// How long a usage reading stays relevant (Meta's windows decay over minutes).
    pub meta_usage_ttl: Duration,
    /// Google operations per sliding window (developer-token access level: Basic 15,000/day,
    /// Explorer 2,880/day).
    pub google_operations_per_window: u32,
    pub google_window: Duration,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            tiktok_per_minute: NonZeroU32::new(600).unwrap_or(NonZeroU32::MIN),
            meta_slowdown_from_pct: 75.0,
            meta_max_slowdown: Duration::from_secs(30),
            meta_usage_ttl: Duration::from_secs(300),
            google_operations_per_window: 15_000,
            google_window: Duration::from_secs(24 * 3600),
        }
    }
}

/// "26" -> "v26", "v25.0" stays.
pub(crate) fn versioned(v: &str) -> String {
    let v = v.trim().trim_matches('/');
    if v.starts_with('v') {
        v.to_string()
    } else {
        format!("v{v}")
    }
}

/// Joins an origin (possibly with a path prefix) and an absolute path.
pub(crate) fn join_url(origin: &str, path: &str) -> String {
    format!(
        "{}/{}",
        origin.trim_end_matches('/'),
        path.trim_start_matches('/')
    )
}
