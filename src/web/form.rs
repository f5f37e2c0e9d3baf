//! Field errors of a submitted form, shown beside their inputs when the form comes back.

/// Messages keyed by the name of the field they belong to (`"form"` for the whole form).
#[derive(Debug, Clone, Default)]
pub struct FieldErrors(Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        FieldErrors(vec![(field, message.into())])
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    /// The first message of a field.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    pub fn any(&self) -> bool {
        !self.0.is_empty()
    }
}

/// A character no text field keeps: a control character other than tab and line breaks (a NUL
/// pasted from somewhere; PostgreSQL text cannot even hold a NUL).
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// Whether `s` holds a character no text field keeps.
pub fn has_forbidden_control(s: &str) -> bool {
    s.chars().any(is_forbidden_control)
}

/// `s` without the characters no text field keeps: what the form shows again after refusing it.
pub fn scrub(s: &str) -> String {
    s.chars().filter(|c| !is_forbidden_control(*c)).collect()
}

/// The first of `fields` (name, value as sent) holding a character no text field keeps: the
/// field whose error the form shows.
pub fn control_field(fields: &[(&'static str, &str)]) -> Option<&'static str> {
    fields
        .iter()
        .find(|(_, v)| has_forbidden_control(v))
        .map(|(f, _)| *f)
}

/// The field error for a value that arrived with control characters.
pub const CONTROL_MESSAGE: &str = "This had invisible control characters (such as NUL) in it. They are removed below: check the text and send it again.";

/// Form routes (`method path`, as the router spells the path) whose handlers refuse a control
/// character with a field error and show the form again with what was typed, the control
/// characters removed. The request middleware lets their forms through with a NUL; any other
/// form carrying a NUL is refused there with a 400, before a handler could pass it to
/// PostgreSQL (`tests/it/hardening.rs` posts NULs to these forms).
pub const FIELD_CHECKED_FORMS: &[&str] = &[
    "POST /login",
    "POST /signup",
    "POST /settings/org",
    "POST /campaigns",
    "POST /campaigns/{id}/budget",
    "POST /rules",
    "POST /rules/{id}",
    "POST /rules/check",
    "POST /rules/insert",
    "POST /rules/preview",
    "POST /rules/describe",
    "POST /reports",
    "POST /alerts/channels",
    "POST /alerts/budgets",
    "POST /settings/invites",
    "POST /account/password",
    "POST /orgs",
    "POST /invites/{org_id}/{token}",
    "POST /ai/copy",
    "POST /ai/rule-draft",
    "POST /ad-groups/{id}/budget",
    "POST /ad-groups/{id}/bid",
    "POST /campaigns/bulk",
    "POST /campaigns/new/copy",
    "POST /campaigns/new/targeting",
    "POST /campaigns/new/check",
    "POST /ai/copy/drafts",
    "POST /rules/settings",
    "POST /connections/{id}/accounts",
    // Forms of checkboxes or a single button, with nothing typed: a control character there is
    // a damaged form, and the page says so and changes nothing (rather than a bare 400).
    "POST /accounts/{id}/conversions",
    "POST /signup/confirm/{token}",
    "POST /billing/checkout",
];

/// Whether the handler of `method path` reports control characters as a field error.
pub fn checks_controls(method: &str, matched_path: &str) -> bool {
    FIELD_CHECKED_FORMS.iter().any(|r| {
        r.split_once(' ')
            .is_some_and(|(m, p)| m == method && p == matched_path)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_keeps_line_breaks_and_tabs_only() {
        assert_eq!(scrub("a\0b\u{1}c\n\td\r\u{7f}"), "abc\n\td\r");
        assert!(has_forbidden_control("x\0"));
        assert!(!has_forbidden_control("line\nbreak\ttab"));
        assert!(checks_controls("POST", "/rules/{id}"));
        assert!(!checks_controls("GET", "/rules/{id}"));
        assert!(!checks_controls("POST", "/alerts/check"));
        assert_eq!(
            control_field(&[("a", "fine"), ("b", "x\u{1}"), ("c", "\0")]),
            Some("b")
        );
        assert_eq!(control_field(&[("a", "line\nbreak")]), None);
    }
}
