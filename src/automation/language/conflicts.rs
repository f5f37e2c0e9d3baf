//! Warnings about pairs of rules that can undo each other over overlapping campaigns.

use super::ast::{Action, Check, Cond, Direction, Filter, NameFilter, PausedBy, Rule, Scope};
use super::checker::name_key;
use super::diagnostic::Diagnostic;
use crate::types::Platform;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConflictKind {
    /// One rule pauses what the other resumes.
    PauseResume,
    /// One rule raises budgets the other lowers.
    RaiseLower,
    /// One rule raises bids the other lowers.
    BidUpDown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Indexes into the slice given to [`conflicts`]; `first < second`.
    pub first: usize,
    pub second: usize,
    /// The first of [`Conflict::kinds`].
    pub kind: ConflictKind,
    /// Every way the two rules undo each other; one conflict (one warning) per pair of rules.
    pub kinds: Vec<ConflictKind>,
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
/// rules). Scopes count as overlapping unless they provably are not: different levels,
/// different platforms, different required accounts, name prefixes that cannot both hold, or a
/// resume limited to what another rule paused. Status filters are ignored on purpose: "pause
/// active" and "resume paused" flip the same campaigns back and forth.
pub fn conflicts(rules: &[Rule]) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (i, a) in rules.iter().enumerate() {
        for (j, b) in rules.iter().enumerate().skip(i + 1) {
            if a.level() != b.level() || !scopes_overlap(a.scope.as_ref(), b.scope.as_ref()) {
                continue;
            }
            let objects = a.level_word().as_str();
            let mut kinds = Vec::new();
            let mut reasons = Vec::new();
            let pause_resume =
                |p: &Rule, r: &Rule| p.pauses() && r.resumes() && resumes_pauses_of(r, p);
            if pause_resume(a, b) || pause_resume(b, a) {
                kinds.push(ConflictKind::PauseResume);
                let (p, r) = if a.pauses() && b.resumes() {
                    (a, b)
                } else {
                    (b, a)
                };
                reasons.push(match (schedule_text(p), schedule_text(r)) {
                    (Some(pt), Some(rt)) => format!(
                        "\"{}\" pauses {objects} {pt} that \"{}\" resumes {rt}",
                        p.name, r.name
                    ),
                    _ => format!("one pauses {objects} the other resumes"),
                });
            }
            let (ar, al) = moves(a, Target::Budget);
            let (br, bl) = moves(b, Target::Budget);
            if (ar && bl) || (al && br) {
                kinds.push(ConflictKind::RaiseLower);
                reasons.push("one raises budgets the other lowers".to_string());
            }
            let (ar, al) = moves(a, Target::Bid);
            let (br, bl) = moves(b, Target::Bid);
            if (ar && bl) || (al && br) {
                kinds.push(ConflictKind::BidUpDown);
                reasons.push("one raises bids the other lowers".to_string());
            }
            if let Some(kind) = kinds.first().copied() {
                out.push(Conflict {
                    first: i,
                    second: j,
                    kind,
                    kinds,
                    message: format!(
                        "rules \"{}\" and \"{}\" can undo each other: {}",
                        a.name,
                        b.name,
                        reasons.join("; ")
                    ),
                });
            }
        }
    }
    out
}

/// "at 20:00" for a rule that acts on everything in scope at a fixed time (dayparting).
fn schedule_text(rule: &Rule) -> Option<String> {
    match (&rule.condition, &rule.check) {
        (Cond::Always, Some(Check::DailyAt { time, .. })) => {
            Some(format!("at {}", time.format("%H:%M")))
        }
        _ => None,
    }
}

/// Whether `resumer` can resume what `pauser` paused: not when it only wakes objects paused by
/// itself or by another named rule.
fn resumes_pauses_of(resumer: &Rule, pauser: &Rule) -> bool {
    let Some(filter) = resumer.scope.as_ref().and_then(|s| s.filter.as_ref()) else {
        return true;
    };
    let mut required = Vec::new();
    required_paused_by(filter, &mut required);
    required.iter().all(|p| match p {
        PausedBy::AnyRule => true,
        PausedBy::ThisRule => false,
        PausedBy::Rule(name) => name_key(name) == name_key(&pauser.name),
    })
}

fn required_paused_by<'a>(filter: &'a Filter, out: &mut Vec<&'a PausedBy>) {
    match filter {
        Filter::And(a, b) => {
            required_paused_by(a, out);
            required_paused_by(b, out);
        }
        Filter::PausedBy(p) => out.push(p),
        _ => {}
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    Budget,
    Bid,
}

/// (can raise, can lower). `set ... to` can do either, depending on the current value.
fn moves(rule: &Rule, target: Target) -> (bool, bool) {
    let mut raise = false;
    let mut lower = false;
    for action in &rule.actions {
        let (set, change) = match (action, target) {
            (Action::SetBudget(_), Target::Budget) | (Action::SetBid(_), Target::Bid) => {
                (true, None)
            }
            (Action::ChangeBudget(c), Target::Budget) | (Action::ChangeBid(c), Target::Bid) => {
                (false, Some(c.direction))
            }
            _ => (false, None),
        };
        if set {
            raise = true;
            lower = true;
        }
        match change {
            Some(Direction::Increase) => raise = true,
            Some(Direction::Decrease) => lower = true,
            None => {}
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
    if let (Some(x), Some(y)) = (&facts_a.campaign, &facts_b.campaign)
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
    campaign: Option<String>,
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
            Filter::Campaign(id) => self.campaign = Some(id.clone()),
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
