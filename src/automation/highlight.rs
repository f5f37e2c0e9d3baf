//! Syntax highlighting of rule text for the editor, rendered on the server (no JS build): the
//! text is cut into tokens with a class each; the template escapes the text.

use super::language::KEYWORDS;
use super::language::ast::Metric;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// CSS class: kw, metric, str, num, comment, or empty.
    pub class: &'static str,
    pub text: String,
}

pub fn tokens(src: &str) -> Vec<Token> {
    let mut out: Vec<Token> = Vec::new();
    let chars: Vec<char> = src.chars().collect();
    let mut i = 0;
    let push = |out: &mut Vec<Token>, class: &'static str, text: String| match out.last_mut() {
        Some(last) if last.class == class && class.is_empty() => last.text.push_str(&text),
        _ => out.push(Token { class, text }),
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            let start = i;
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            push(&mut out, "comment", chars[start..i].iter().collect());
        } else if c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != '"' && chars[i] != '\n' {
                if chars[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            push(&mut out, "str", chars[start..i].iter().collect());
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_digit()
                    || chars[i] == '.'
                    || chars[i] == '%'
                    || chars[i] == ':')
            {
                i += 1;
            }
            push(&mut out, "num", chars[start..i].iter().collect());
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let lower = word.to_lowercase();
            let class = if Metric::from_name(&lower).is_some() {
                "metric"
            } else if KEYWORDS.contains(&lower.as_str()) {
                "kw"
            } else {
                ""
            };
            push(&mut out, class, word);
        } else {
            push(&mut out, "", c.to_string());
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_metrics_strings_and_comments_get_classes() {
        let t = tokens("rule \"a\" # hi\n  when CPA > 50 then pause");
        let class_of = |s: &str| t.iter().find(|t| t.text == s).map(|t| t.class);
        assert_eq!(class_of("rule"), Some("kw"));
        assert_eq!(class_of("\"a\""), Some("str"));
        assert_eq!(class_of("# hi"), Some("comment"));
        assert_eq!(class_of("CPA"), Some("metric"));
        assert_eq!(class_of("50"), Some("num"));
        let joined: String = t.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(joined, "rule \"a\" # hi\n  when CPA > 50 then pause");
    }
}
