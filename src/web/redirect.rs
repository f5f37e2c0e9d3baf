//! The one check for every `next` / return parameter: where may a link send a person after
//! login (or any other step that returns somewhere)?

/// Where to go after a step that takes a `next` parameter: the given path when it stays on
/// `origin` after URL parsing (as a browser would resolve it), else `fallback`.
///
/// Browsers strip TAB, CR and LF from URLs and read `\` as `/`, so `/\t/evil.example` is
/// `//evil.example`; anything with a control character is refused outright (a newline would
/// also make an invalid `Location` header), and what is left must resolve to our origin.
pub fn safe_redirect(next: Option<&str>, origin: &str, fallback: &str) -> String {
    next.and_then(|n| same_origin_path(n, origin))
        .unwrap_or_else(|| fallback.to_string())
}

fn same_origin_path(next: &str, origin: &str) -> Option<String> {
    if next.chars().any(|c| c.is_control() || c == '\\') || !next.starts_with('/') {
        return None;
    }
    let base = url::Url::parse(origin).ok()?;
    let joined = base.join(next).ok()?;
    if joined.origin() != base.origin() {
        return None;
    }
    let mut out = joined.path().to_string();
    // `//` at the start of what we send back would be read as another host.
    if out.starts_with("//") {
        return None;
    }
    if let Some(q) = joined.query() {
        out.push('?');
        out.push_str(q);
    }
    if let Some(f) = joined.fragment() {
        out.push('#');
        out.push_str(f);
    }
    Some(out)
}
