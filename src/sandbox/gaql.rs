//! A small Google Ads Query Language parser: what the adapters and people send to
//! `googleAds:search` — SELECT fields FROM resource [WHERE a AND b ...] [ORDER BY f [ASC|DESC], ...]
//! [LIMIT n]. Conditions: =, !=, <, <=, >, >=, IN (...), NOT IN (...), BETWEEN 'a' AND 'b',
//! DURING PRESET, LIKE 'x%'.

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(String),
    Ident(String),
}

impl Literal {
    pub fn text(&self) -> &str {
        match self {
            Literal::Str(s) | Literal::Num(s) | Literal::Ident(s) => s,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Like,
    NotLike,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(String, Op, Literal),
    In(String, Vec<Literal>, bool),
    Between(String, Literal, Literal),
    During(String, String),
}

impl Condition {
    pub fn field(&self) -> &str {
        match self {
            Condition::Compare(f, _, _)
            | Condition::In(f, _, _)
            | Condition::Between(f, _, _)
            | Condition::During(f, _) => f,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub fields: Vec<String>,
    pub resource: String,
    pub conditions: Vec<Condition>,
    pub order_by: Vec<(String, bool)>,
    pub limit: Option<usize>,
}

/// A parse error with Google's QueryError code name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GaqlError {
    pub code: &'static str,
    pub message: String,
}

fn err(code: &'static str, message: impl Into<String>) -> GaqlError {
    GaqlError {
        code,
        message: message.into(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Num(String),
    Sym(String),
}

fn tokenize(q: &str) -> Result<Vec<Tok>, GaqlError> {
    let cs: Vec<char> = q.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let st = i;
            while i < cs.len() && (cs[i].is_ascii_alphanumeric() || cs[i] == '_' || cs[i] == '.') {
                i += 1;
            }
            out.push(Tok::Word(cs[st..i].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '-' && cs.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let st = i;
            i += 1;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(cs[st..i].iter().collect()));
        } else if c == '\'' || c == '"' {
            let quote = c;
            i += 1;
            let mut s = String::new();
            loop {
                match cs.get(i) {
                    None => {
                        return Err(err(
                            "UNEXPECTED_END_OF_QUERY",
                            "Unterminated string literal.",
                        ));
                    }
                    Some('\\') => {
                        if let Some(n) = cs.get(i + 1) {
                            s.push(*n);
                        }
                        i += 2;
                    }
                    Some(ch) if *ch == quote => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(s));
        } else if "(),".contains(c) {
            out.push(Tok::Sym(c.to_string()));
            i += 1;
        } else if "=!<>".contains(c) {
            let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
            if two == "!=" || two == "<=" || two == ">=" {
                out.push(Tok::Sym(two));
                i += 2;
            } else if c == '!' {
                return Err(err("BAD_SYMBOL", "Unexpected '!'."));
            } else {
                out.push(Tok::Sym(c.to_string()));
                i += 1;
            }
        } else {
            return Err(err("BAD_SYMBOL", format!("Unexpected character '{c}'.")));
        }
    }
    Ok(out)
}

struct P {
    toks: Vec<Tok>,
    i: usize,
}

impl P {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.i).cloned();
        self.i += 1;
        t
    }

    fn keyword(&mut self, kw: &str) -> bool {
        if let Some(Tok::Word(w)) = self.peek()
            && w.eq_ignore_ascii_case(kw)
        {
            self.i += 1;
            return true;
        }
        false
    }

    fn expect_keyword(&mut self, kw: &str) -> Result<(), GaqlError> {
        if self.keyword(kw) {
            Ok(())
        } else {
            let code = match kw {
                "FROM" => "EXPECTED_FROM",
                "AND" => "EXPECTED_AND",
                "BY" => "EXPECTED_BY",
                _ => "INVALID_ARGUMENT",
            };
            Err(err(code, format!("Expected {kw}.")))
        }
    }

    fn sym(&mut self, s: &str) -> bool {
        if let Some(Tok::Sym(x)) = self.peek()
            && x == s
        {
            self.i += 1;
            return true;
        }
        false
    }

    fn field(&mut self) -> Result<String, GaqlError> {
        match self.next() {
            Some(Tok::Word(w)) if !is_keyword(&w) => Ok(w.to_ascii_lowercase()),
            Some(t) => Err(err(
                "INVALID_ARGUMENT",
                format!("Expected a field name, found {t:?}."),
            )),
            None => Err(err("UNEXPECTED_END_OF_QUERY", "Expected a field name.")),
        }
    }

    fn literal(&mut self) -> Result<Literal, GaqlError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Literal::Str(s)),
            Some(Tok::Num(n)) => Ok(Literal::Num(n)),
            Some(Tok::Word(w)) => Ok(Literal::Ident(w)),
            Some(t) => Err(err(
                "INVALID_VALUE",
                format!("Expected a value, found {t:?}."),
            )),
            None => Err(err("UNEXPECTED_END_OF_QUERY", "Expected a value.")),
        }
    }
}

fn is_keyword(w: &str) -> bool {
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "ORDER",
        "BY",
        "LIMIT",
        "IN",
        "NOT",
        "BETWEEN",
        "DURING",
        "LIKE",
        "ASC",
        "DESC",
        "PARAMETERS",
    ]
    .iter()
    .any(|k| k.eq_ignore_ascii_case(w))
}

pub fn parse(q: &str) -> Result<Query, GaqlError> {
    let mut p = P {
        toks: tokenize(q)?,
        i: 0,
    };
    if !p.keyword("SELECT") {
        return Err(err("EXPECTED_SELECT", "The query must start with SELECT."));
    }
    let mut fields = vec![p.field()?];
    while p.sym(",") {
        fields.push(p.field()?);
    }
    p.expect_keyword("FROM")?;
    let resource = p.field()?;
    let mut conditions = Vec::new();
    if p.keyword("WHERE") {
        loop {
            conditions.push(condition(&mut p)?);
            if !p.keyword("AND") {
                break;
            }
        }
    }
    let mut order_by = Vec::new();
    if p.keyword("ORDER") {
        p.expect_keyword("BY")?;
        loop {
            let f = p.field()?;
            let desc = if p.keyword("DESC") {
                true
            } else {
                p.keyword("ASC");
                false
            };
            order_by.push((f, desc));
            if !p.sym(",") {
                break;
            }
        }
    }
    let mut limit = None;
    if p.keyword("LIMIT") {
        match p.next() {
            Some(Tok::Num(n)) => {
                limit = Some(
                    n.parse()
                        .map_err(|_| err("INVALID_LIMIT", "LIMIT must be a positive integer."))?,
                )
            }
            _ => return Err(err("INVALID_LIMIT", "LIMIT must be a positive integer.")),
        }
    }
    if p.keyword("PARAMETERS") {
        // include_drafts=true and similar; they do not change sandbox results.
        while p.next().is_some() {}
    }
    if let Some(t) = p.peek() {
        return Err(err("UNEXPECTED_INPUT", format!("Unexpected input {t:?}.")));
    }
    Ok(Query {
        fields,
        resource,
        conditions,
        order_by,
        limit,
    })
}

fn condition(p: &mut P) -> Result<Condition, GaqlError> {
    let f = p.field()?;
    if p.keyword("BETWEEN") {
        let a = p.literal()?;
        p.expect_keyword("AND")?;
        let b = p.literal()?;
        return Ok(Condition::Between(f, a, b));
    }
    if p.keyword("DURING") {
        let preset = p.literal()?;
        return Ok(Condition::During(f, preset.text().to_ascii_uppercase()));
    }
    let negated = p.keyword("NOT");
    if p.keyword("IN") {
        if !p.sym("(") {
            return Err(err("EXPECTED_OPENING_PARENTHESIS", "Expected ( after IN."));
        }
        let mut vals = Vec::new();
        if !p.sym(")") {
            loop {
                vals.push(p.literal()?);
                if p.sym(")") {
                    break;
                }
                if !p.sym(",") {
                    return Err(err(
                        "EXPECTED_CLOSING_PARENTHESIS",
                        "Expected , or ) in IN list.",
                    ));
                }
            }
        }
        return Ok(Condition::In(f, vals, negated));
    }
    if p.keyword("LIKE") {
        let v = p.literal()?;
        let op = if negated { Op::NotLike } else { Op::Like };
        return Ok(Condition::Compare(f, op, v));
    }
    if negated {
        return Err(err(
            "INVALID_ARGUMENT",
            "NOT must be followed by IN or LIKE.",
        ));
    }
    let op = match p.next() {
        Some(Tok::Sym(s)) => match s.as_str() {
            "=" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            ">=" => Op::Ge,
            _ => return Err(err("INVALID_OPERATOR", format!("Unknown operator {s}."))),
        },
        _ => {
            return Err(err(
                "INVALID_OPERATOR",
                format!("Expected an operator after {f}."),
            ));
        }
    };
    Ok(Condition::Compare(f, op, p.literal()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_adapters_metrics_query() {
        let q = parse(
            "SELECT campaign.id, campaign.name, campaign.status, segments.date, metrics.impressions, \
             metrics.clicks, metrics.cost_micros, metrics.conversions, metrics.conversions_value \
             FROM campaign WHERE segments.date BETWEEN '2025-01-01' AND '2025-01-31' \
             AND campaign.status != 'REMOVED' ORDER BY segments.date DESC LIMIT 50",
        )
        .expect("parse");
        assert_eq!(q.fields.len(), 9);
        assert_eq!(q.resource, "campaign");
        assert_eq!(q.conditions.len(), 2);
        assert_eq!(q.order_by, vec![("segments.date".to_string(), true)]);
        assert_eq!(q.limit, Some(50));
    }

    #[test]
    fn in_lists_and_during() {
        let q = parse("select campaign.id from campaign where campaign.status in ('ENABLED', 'PAUSED') and segments.date during LAST_7_DAYS")
            .expect("parse");
        assert!(matches!(&q.conditions[0], Condition::In(_, v, false) if v.len() == 2));
        assert!(matches!(&q.conditions[1], Condition::During(_, p) if p == "LAST_7_DAYS"));
    }

    #[test]
    fn errors_name_what_is_wrong() {
        assert_eq!(
            parse("campaign.id FROM campaign").err().map(|e| e.code),
            Some("EXPECTED_SELECT")
        );
        assert_eq!(
            parse("SELECT campaign.id campaign").err().map(|e| e.code),
            Some("EXPECTED_FROM")
        );
        assert!(parse("SELECT campaign.id FROM campaign WHERE campaign.name = 'x").is_err());
    }
}
