//! Warnings about pairs of rules that can undo each other over overlapping campaigns.

use super::ast::{Action, Direction, Filter, NameFilter, Rule, Scope};
use super::diagnostic::Diagnostic;
use crate::types::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictKind {
    /// One rule pauses what the other resumes.
    PauseResume,
    /// One rule raises budgets the other lowers.
    RaiseLower,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Indexes into the slice given to [`conflicts`]; `first < second`.
    pub first: usize,
    pub second: usize,
    pub kind: ConflictKind,
    pub message: String,
}

impl Conflict {
    /// A warning placed on the second rule's name (for a file or the editor).
    pub fn to_diagnostic(&self, rules: &[Rule]) -> Option<Diagnostic> {
        rules
            .get(self.second)
            .map(|r| Diagnostic::warning(r.name_pos, self.message.clone()))
    }
}

/// Pairs of rules that can undo each other. Give it the organization's live rules (or a file's
/// rules). Scopes count as overlapping unless they provably are not: different platforms,
/// different required accounts, or name prefixes that cannot both hold. Status filters are
/// ignored on purpose: "pause active" and "resume paused" flip the same campaigns back and forth.
pub fn conflicts(rules: &[Rule]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (i, a) in rules.iter().enumerate() {
        for (j, b) in rules.iter().enumerate().skip(i + 1) {
            if !scopes_overlap(a.scope.as_ref(), b.scope.as_ref()) {
                continue;
            }
            if (a.pauses() && b.resumes()) || (a.resumes() && b.pauses()) {
                out.push(Conflict {
                    first: i,
                    second: j,
                    kind: ConflictKind::PauseResume,
                    message: format!(
                        "rules \"{}\" and \"{}\" can undo each other: one pauses campaigns the other resumes",
                        a.name, b.name
                    ),
                });
            }
            let (ar, al) = budget_moves(a);
            let (br, bl) = budget_moves(b);
            if (ar && bl) || (al && br) {
                out.push(Conflict {
                    first: i,
                    second: j,
                    kind: ConflictKind::RaiseLower,
                    message: format!(
                        "rules \"{}\" and \"{}\" can undo each other: one raises budgets the other lowers",
                        a.name, b.name
                    ),
                });
            }
        }
    }
    out
}

/// (can raise, can lower). `set budget to` can do either, depending on the budget.
fn budget_moves(rule: &Rule) -> (bool, bool) {
    let mut raise = false;
    let mut lower = false;
    for action in &rule.actions {
        match action {
            Action::SetBudget(_) => {
                raise = true;
                lower = true;
            }
            Action::ChangeBudget(c) => match c.direction {
                Direction::Increase => raise = true,
                Direction::Decrease => lower = true,
            },
            _ => {}
        }
    }
    (raise, lower)
}

fn scopes_overlap(a: Option<&Scope>, b: Option<&Scope>) -> bool {
    let facts_a = Facts::of(a);
    let facts_b = Facts::of(b);
    let platforms_meet = Platform::ALL
        .iter()
        .any(|p| facts_a.allows_platform(*p) && facts_b.allows_platform(*p));
    if !platforms_meet {
        return false;
    }
    if let (Some(x), Some(y)) = (&facts_a.account, &facts_b.account)
        && x != y
    {
        return false;
    }
    if let (Some(x), Some(y)) = (&facts_a.prefix, &facts_b.prefix)
        && !x.starts_with(y.as_str())
        && !y.starts_with(x.as_str())
    {
        return false;
    }
    true
}

/// What every campaign in a scope must satisfy, as far as simple filters tell.
#[derive(Default)]
struct Facts {
    platforms: Vec<Platform>,
    filter_platform: Option<Platform>,
    account: Option<String>,
    prefix: Option<String>,
}

impl Facts {
    fn of(scope: Option<&Scope>) -> Facts {
        let mut f = Facts::default();
        if let Some(s) = scope {
            f.platforms = s.platforms.clone();
            if let Some(filter) = &s.filter {
                f.collect(filter);
            }
        }
        f
    }

    fn collect(&mut self, filter: &Filter) {
        match filter {
            Filter::And(a, b) => {
                self.collect(a);
                self.collect(b);
            }
            Filter::Account(id) => self.account = Some(id.clone()),
            Filter::Platform(p) => self.filter_platform = Some(*p),
            Filter::Name(NameFilter::StartsWith(p)) => self.prefix = Some(p.to_lowercase()),
            _ => {}
        }
    }

    fn allows_platform(&self, p: Platform) -> bool {
        (self.platforms.is_empty() || self.platforms.contains(&p))
            && self.filter_platform.is_none_or(|fp| fp == p)
    }
}
