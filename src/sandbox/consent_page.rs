//! The authorization page each platform shows: account chooser, Approve and Deny. Plain HTML
//! with inline CSS, no JavaScript, so it works in any browser and in tests that post the form.

use crate::types::Platform;

use super::world::Account;

pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = r#"
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#f3f4f6;color:#111827}
.card{max-width:460px;margin:48px auto;background:#fff;border-radius:12px;box-shadow:0 1px 3px rgba(0,0,0,.12),0 8px 24px rgba(0,0,0,.06);padding:28px 32px}
.brand{display:flex;align-items:center;gap:10px;font-weight:600;font-size:15px;color:#374151}
.dot{width:28px;height:28px;border-radius:50%;display:inline-block}
h1{font-size:20px;margin:18px 0 6px}
p{margin:6px 0;color:#4b5563;font-size:14px;line-height:1.45}
.note{font-size:12px;color:#6b7280;background:#fef3c7;border-radius:6px;padding:6px 10px;margin-top:12px}
.err{font-size:14px;color:#991b1b;background:#fee2e2;border-radius:6px;padding:8px 10px;margin-top:12px}
fieldset{border:1px solid #e5e7eb;border-radius:8px;margin:18px 0;padding:6px 12px}
legend{font-size:13px;color:#6b7280;padding:0 4px}
label{display:flex;gap:10px;align-items:flex-start;padding:9px 2px;border-bottom:1px solid #f3f4f6;cursor:pointer}
label:last-child{border-bottom:0}
.acct{font-size:14px}.meta{font-size:12px;color:#6b7280}
.actions{display:flex;justify-content:flex-end;gap:10px;margin-top:8px}
button{font:inherit;font-size:14px;border-radius:6px;padding:8px 18px;cursor:pointer;border:1px solid #d1d5db;background:#fff;color:#111827}
button.primary{border-color:transparent;color:#fff}
"#;

fn brand(platform: Platform) -> (&'static str, &'static str, &'static str) {
    match platform {
        Platform::Google => (
            "Sign in with Google",
            "#1a73e8",
            "View and manage your Google Ads accounts",
        ),
        Platform::Meta => (
            "Continue with Facebook",
            "#1877f2",
            "Manage ads and read ad insights (ads_management, ads_read)",
        ),
        Platform::Tiktok => (
            "TikTok for Business",
            "#fe2c55",
            "Manage campaigns and read reports of the advertisers you choose",
        ),
    }
}

/// The chooser page. `hidden` carries the authorization request through the POST.
pub fn render(
    platform: Platform,
    client_id: &str,
    accounts: &[&Account],
    hidden: &[(String, String)],
    action: &str,
    error: Option<&str>,
) -> String {
    let (title, color, ask) = brand(platform);
    let mut fields = String::new();
    for (k, v) in hidden {
        fields.push_str(&format!(
            r#"<input type="hidden" name="{}" value="{}">"#,
            escape(k),
            escape(v)
        ));
    }
    let mut list = String::new();
    for a in accounts {
        let shown_id = match platform {
            Platform::Meta => format!("act_{}", a.id),
            _ => a.id.clone(),
        };
        list.push_str(&format!(
            r#"<label><input type="checkbox" name="account" value="{id}" checked><span><span class="acct">{name}</span><br><span class="meta">{shown} · {cur} · {tz}</span></span></label>"#,
            id = escape(&a.id),
            name = escape(&a.name),
            shown = escape(&shown_id),
            cur = escape(a.currency.as_str()),
            tz = escape(&a.time_zone),
        ));
    }
    let err = error
        .map(|e| format!(r#"<div class="err">{}</div>"#, escape(e)))
        .unwrap_or_default();
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>{title} · sandbox</title><style>{STYLE}button.primary{{background:{color}}}.dot{{background:{color}}}</style></head>
<body><main class="card"><div class="brand"><span class="dot"></span>{title}</div>
<h1>Allow <em>{client}</em> access?</h1>
<p>The app wants to: {ask}.</p>
<div class="note">adpilot sandbox: no real account is involved.</div>{err}
<form method="post" action="{action}">{fields}
<fieldset><legend>Accounts to share</legend>{list}</fieldset>
<div class="actions"><button type="submit" name="decision" value="deny">Deny</button><button class="primary" type="submit" name="decision" value="approve">Approve</button></div>
</form></main></body></html>"#,
        client = escape(client_id),
        action = escape(action),
    )
}

/// A page for a request that cannot be sent back to the app (bad client or redirect URI).
pub fn render_error(platform: Platform, message: &str) -> String {
    let (title, color, _) = brand(platform);
    format!(
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error · {title}</title><style>{STYLE}.dot{{background:{color}}}</style></head>
<body><main class="card"><div class="brand"><span class="dot"></span>{title}</div><h1>Error 400: invalid_request</h1><p>{}</p></main></body></html>"#,
        escape(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        let html = render(
            Platform::Google,
            "<script>",
            &[],
            &[("state".into(), "\"><x".into())],
            "/o/oauth2/v2/auth",
            None,
        );
        assert!(!html.contains("<script>"));
        assert!(html.contains("&quot;&gt;&lt;x"));
    }
}
