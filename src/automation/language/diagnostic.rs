//! Errors and warnings about rule text, with a position people (and the web editor) can use.

use std::fmt::Write as _;

use serde::Serialize;

use super::ast::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub col: usize,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn error(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            line: pos.line,
            col: pos.col,
            message: message.into(),
            help: None,
        }
    }

    pub fn warning(pos: Pos, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(pos, message)
        }
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Compiler-style text:
    ///
    /// ```text
    /// rules/a.rules:3:12: error: unknown metric "cpx"
    ///   when cpx > 5
    ///        ^
    /// help: did you mean "cpa"?
    /// ```
    pub fn render(&self, file: &str, source: &str) -> String {
        let mut out = format!(
            "{file}:{}:{}: {}: {}\n",
            self.line,
            self.col,
            self.severity.as_str(),
            self.message
        );
        if let Some(text) = source.lines().nth(self.line.saturating_sub(1)) {
            let text = text.trim_end_matches('\r');
            // Tabs stay tabs under the caret so it lines up in any terminal.
            let pad: String = text
                .chars()
                .take(self.col.saturating_sub(1))
                .map(|c| if c == '\t' { '\t' } else { ' ' })
                .collect();
            let _ = writeln!(out, "{text}\n{pad}^");
        }
        if let Some(help) = &self.help {
            let _ = writeln!(out, "help: {help}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_quotes_the_line_and_puts_the_caret_under_the_column() {
        let src = "rule \"a\"\n  when cpx > 5\n  then pause\n";
        let d = Diagnostic::error(Pos { line: 2, col: 8 }, "unknown metric \"cpx\"")
            .with_help("did you mean \"cpa\"?");
        assert_eq!(
            d.render("a.rules", src),
            "a.rules:2:8: error: unknown metric \"cpx\"\n  when cpx > 5\n       ^\nhelp: did you mean \"cpa\"?\n"
        );
    }
}
