//! Outgoing webhooks to user-given URLs: http(s) only, every resolved address checked against
//! loopback, private, link-local and other internal ranges (unless the operator allows them),
//! the connection pinned to the checked address (no DNS rebinding between check and call), no
//! redirects, short timeouts, and an HMAC signature the receiver can verify.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use url::Url;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WebhookError {
    #[error("the webhook URL is not valid: {0}")]
    BadUrl(String),
    #[error("webhooks must use http or https")]
    Scheme,
    #[error(
        "the webhook host {host} resolves to {addr}, a private or internal address; adpilot only calls public addresses"
    )]
    Private { host: String, addr: IpAddr },
    #[error("the webhook host {0} cannot be resolved")]
    Resolve(String),
    #[error("the webhook endpoint answered {0}")]
    Status(u16),
    #[error("the webhook endpoint redirected; redirects are not followed")]
    Redirect,
    #[error("the webhook endpoint did not answer: {0}")]
    Transport(String),
}

impl WebhookError {
    /// Whether sending again later may succeed.
    pub fn is_temporary(&self) -> bool {
        match self {
            WebhookError::Status(s) => *s == 429 || *s >= 500,
            WebhookError::Transport(_) | WebhookError::Resolve(_) => true,
            _ => false,
        }
    }
}

/// Internal ranges no webhook may reach.
pub fn is_internal(addr: IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => is_internal_v4(a),
        IpAddr::V6(a) => is_internal_v6(a),
    }
}

/// IPv6 is checked by allowing, not by refusing: only global unicast (2000::/3) is public,
/// minus the special blocks inside it, and every form that carries an IPv4 address
/// (mapped, compatible, translated, NAT64, 6to4) is judged by that IPv4 address. Listing bad
/// ranges missed `[::127.0.0.1]`, `[64:ff9b::7f00:1]`, `[2002:7f00:1::]` and friends.
fn is_internal_v6(a: Ipv6Addr) -> bool {
    let s = a.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    // ::/96 (compatible, and :: and ::1), ::ffff:0:0/96 (mapped), ::ffff:0:0:0/96 (translated)
    if s[..5] == [0; 5] && (s[5] == 0 || s[5] == 0xffff) {
        return a.is_unspecified() || a.is_loopback() || is_internal_v4(v4(s[6], s[7]));
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        return is_internal_v4(v4(s[6], s[7]));
    }
    // NAT64 well-known prefix 64:ff9b::/96; its local-use 64:ff9b:1::/48 is internal.
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_internal_v4(v4(s[6], s[7]));
    }
    // 6to4 2002::/16 embeds the IPv4 address in the next 32 bits.
    if s[0] == 0x2002 {
        return is_internal_v4(v4(s[1], s[2]));
    }
    if s[0] & 0xe000 != 0x2000 {
        // Outside global unicast: loopback, unique local, link- and site-local, multicast,
        // discard-only 100::/64, NAT64 local use, reserved.
        return true;
    }
    // Inside 2000::/3: IETF protocol assignments 2001::/23 (Teredo, ORCHID, benchmarking...),
    // documentation 2001:db8::/32 and 3fff::/20.
    (s[0] == 0x2001 && (s[1] < 0x0200 || s[1] == 0x0db8)) || (s[0] == 0x3fff && s[1] < 0x1000)
}

fn is_internal_v4(a: Ipv4Addr) -> bool {
    let o = a.octets();
    a.is_loopback()
        || a.is_private()
        || a.is_link_local()
        || a.is_unspecified()
        || a.is_broadcast()
        || a.is_multicast()
        || o[0] == 0
        || (o[0] == 100 && (o[1] & 0xc0) == 64) // carrier-grade NAT 100.64.0.0/10
        || (o[0] == 192 && o[1] == 0 && o[2] == 0) // IETF protocol assignments
        || (o[0] == 198 && (o[1] & 0xfe) == 18) // benchmarking 198.18.0.0/15
        || o[0] >= 240
}

/// A URL that passed the checks, with the address to connect to.
#[derive(Debug, Clone)]
pub struct CheckedUrl {
    pub url: Url,
    pub addr: SocketAddr,
}

/// Parses and resolves a webhook URL; refuses internal addresses unless `allow_internal`.
pub async fn check_url(raw: &str, allow_internal: bool) -> Result<CheckedUrl, WebhookError> {
    let url = Url::parse(raw.trim()).map_err(|e| WebhookError::BadUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(WebhookError::Scheme);
    }
    let host = url
        .host_str()
        .ok_or_else(|| WebhookError::BadUrl("it has no host".into()))?
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let lookup_host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((lookup_host.as_str(), port))
        .await
        .map_err(|_| WebhookError::Resolve(host.clone()))?
        .collect();
    let first = *addrs
        .first()
        .ok_or_else(|| WebhookError::Resolve(host.clone()))?;
    if !allow_internal {
        // Every address must be public: a name with one public and one private address could
        // otherwise be steered to the private one.
        if let Some(bad) = addrs.iter().find(|a| is_internal(a.ip())) {
            return Err(WebhookError::Private {
                host,
                addr: bad.ip(),
            });
        }
    }
    Ok(CheckedUrl { url, addr: first })
}

/// `text` with every http(s) URL cut to its scheme and host: what a client-role member sees of
/// webhook URLs (in rule text, rule history), which are credentials for Slack and the like.
pub fn redact_urls(text: &str) -> String {
    static URL: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    match URL.get_or_init(|| regex::Regex::new(r#"(?i)https?://[^\s"'<>]+"#).ok()) {
        Some(re) => re
            .replace_all(text, |c: &regex::Captures| match Url::parse(&c[0]) {
                Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
                Err(_) => "…".to_string(),
            })
            .into_owned(),
        None => String::new(),
    }
}

/// `t=UNIX,v1=hex(HMAC-SHA256(secret, "t.body"))`, like Stripe's scheme, so receivers can
/// reuse familiar verification code.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| {
        // HMAC accepts keys of any length; this branch cannot be reached.
        <Hmac<Sha256> as Mac>::new_from_slice(b"adpilot").expect("hmac key")
    });
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

pub const SIGNATURE_HEADER: &str = "X-Adpilot-Signature";

/// The two body shapes: Slack-compatible (a `text` field) and a generic JSON event.
///
/// Campaign, rule and alert names are written by people (some on the platforms' side), so the
/// text is escaped the way Slack asks (`&`, `<`, `>`): `<!channel>` or `<https://x|label>` in a
/// name then arrive as plain text, not as a mention or a disguised link.
pub fn slack_body(text: &str) -> serde_json::Value {
    serde_json::json!({ "text": slack_escape(text) })
}

/// Slack's message-text escaping (<https://api.slack.com/reference/surfaces/formatting#escaping>).
pub fn slack_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => out.push(c),
        }
    }
    out
}

/// Posts `body` to a checked URL, signed with `secret`.
pub async fn send(
    checked: &CheckedUrl,
    secret: &str,
    body: &serde_json::Value,
) -> Result<(), WebhookError> {
    let bytes = serde_json::to_vec(body).map_err(|e| WebhookError::Transport(e.to_string()))?;
    let host = checked
        .url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .connect_timeout(Duration::from_secs(5))
        // The connection goes to the address that was checked, whatever DNS says now.
        .resolve(&host, checked.addr)
        .build()
        .map_err(|e| WebhookError::Transport(e.to_string()))?;
    let now = chrono::Utc::now().timestamp();
    let resp = client
        .post(checked.url.clone())
        .header("content-type", "application/json")
        .header(
            "user-agent",
            concat!("adpilot-webhooks/", env!("CARGO_PKG_VERSION")),
        )
        .header(SIGNATURE_HEADER, signature(secret, now, &bytes))
        .body(bytes)
        .send()
        .await
        .map_err(|e| WebhookError::Transport(e.to_string()))?;
    let status = resp.status();
    if status.is_redirection() {
        return Err(WebhookError::Redirect);
    }
    if !status.is_success() {
        return Err(WebhookError::Status(status.as_u16()));
    }
    Ok(())
}

/// The organization's signing secret for webhooks named in rules (derived from the server's
/// secret key, so it needs no storage; shown to admins on the Alerts page).
pub fn org_secret(app: &crate::app::App, org: uuid::Uuid) -> String {
    let key = app.config.secret_key.unwrap_or([0u8; 32]);
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key)
        .unwrap_or_else(|_| <Hmac<Sha256> as Mac>::new_from_slice(b"adpilot").expect("hmac key"));
    mac.update(format!("rule-webhooks|{org}").as_bytes());
    format!("whsec_{}", hex::encode(&mac.finalize().into_bytes()[..24]))
}

/// Sends a Slack-compatible message to a URL from a rule, with every check of [`check_url`].
pub async fn notify(
    app: &crate::app::App,
    org: uuid::Uuid,
    url: &str,
    text: &str,
) -> Result<(), WebhookError> {
    let checked = check_url(url, app.config.webhooks_allow_private).await?;
    send(&checked, &org_secret(app, org), &slack_body(text)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_ranges_are_recognised() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(is_internal(a.parse().expect("ip")), "{a} is internal");
        }
        for a in ["93.184.216.34", "8.8.8.8", "2606:4700::1111"] {
            assert!(!is_internal(a.parse().expect("ip")), "{a} is public");
        }
    }

    #[tokio::test]
    async fn private_and_non_http_urls_are_refused_with_a_clear_message() {
        let e = check_url("http://127.0.0.1:9/hook", false)
            .await
            .expect_err("loopback");
        assert!(e.to_string().contains("private or internal address"), "{e}");
        assert_eq!(
            check_url("ftp://example.com/x", false)
                .await
                .expect_err("scheme"),
            WebhookError::Scheme
        );
        let e = check_url("http://[::1]:9/", false)
            .await
            .expect_err("v6 loopback");
        assert!(matches!(e, WebhookError::Private { .. }));
        assert!(check_url("not a url", false).await.is_err());
        assert!(
            check_url("http://127.0.0.1:9/hook", true).await.is_ok(),
            "operators may allow it (tests)"
        );
    }

    #[test]
    fn signature_is_verifiable_by_the_receiver() {
        let s = signature("whsec_test", 1_700_000_000, b"{\"a\":1}");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"whsec_test").expect("key");
        mac.update(b"1700000000.{\"a\":1}");
        assert_eq!(
            s,
            format!(
                "t=1700000000,v1={}",
                hex::encode(mac.finalize().into_bytes())
            )
        );
    }
}
