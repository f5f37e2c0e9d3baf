//! Changes to ad groups and ads in the sandbox's world, shared by the three platforms' write
//! endpoints: a status switch (kept as history, so the delivery split of later days follows
//! it), an ad group's own budget (the campaign then spends against the sum of its ad groups'
//! budgets from that moment), and its bid.
//!
//! Each refuses what the platforms refuse, with a reason the endpoint words in its own
//! platform's style: the object is unknown, removed, or the budget lives on the campaign.

use chrono::{DateTime, Utc};

use super::world::{CampaignStatus, World, push_change};
use crate::types::Platform;

/// Why a change was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Unknown,
    Removed,
    /// The campaign holds the budget (Meta Advantage campaign budget, TikTok budget
    /// optimisation; always on Google).
    BudgetOnCampaign,
    /// The bid strategy takes no bid amount (Meta lowest cost without cap, TikTok no bid).
    NoBidStrategy(String),
}

impl World {
    /// Records a status change of an ad group at `now`.
    pub fn set_ad_group_status(
        &mut self,
        platform: Platform,
        id: &str,
        status: CampaignStatus,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let g = self
            .ad_groups
            .iter_mut()
            .find(|g| g.platform == platform && g.id == id)
            .ok_or(Refusal::Unknown)?;
        if g.status() == CampaignStatus::Removed {
            return Err(Refusal::Removed);
        }
        if g.status() != status {
            push_change(&mut g.status_history, now, status);
        }
        Ok(())
    }

    /// Records a status change of an ad at `now`.
    pub fn set_ad_status(
        &mut self,
        platform: Platform,
        id: &str,
        status: CampaignStatus,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let a = self
            .ads
            .iter_mut()
            .find(|a| a.platform == platform && a.id == id)
            .ok_or(Refusal::Unknown)?;
        if a.status() == CampaignStatus::Removed {
            return Err(Refusal::Removed);
        }
        if a.status() != status {
            push_change(&mut a.status_history, now, status);
        }
        Ok(())
    }

    /// Sets an ad group's own daily budget (micros, already checked against the currency).
    /// Refused when the budget lives on the campaign. The campaign's spending budget becomes
    /// the new sum of its ad groups' budgets from `now`.
    pub fn set_ad_group_budget(
        &mut self,
        platform: Platform,
        id: &str,
        micros: i64,
        now: DateTime<Utc>,
    ) -> Result<(), Refusal> {
        let g = self
            .ad_groups
            .iter_mut()
            .find(|g| g.platform == platform && g.id == id)
            .ok_or(Refusal::Unknown)?;
        if g.status() == CampaignStatus::Removed {
            return Err(Refusal::Removed);
        }
        if g.daily_budget_micros.is_none() {
            return Err(Refusal::BudgetOnCampaign);
        }
        g.daily_budget_micros = Some(micros);
        let campaign_id = g.campaign_id.clone();
        let total: i64 = self
            .ad_groups_of(platform, &campaign_id)
            .filter_map(|g| g.daily_budget_micros)
            .sum();
        let budget_id = self
            .campaign(platform, &campaign_id)
            .and_then(|c| c.budget_id.clone());
        if let Some(b) = budget_id {
            self.set_budget(platform, &b, total, now);
        }
        Ok(())
    }

    /// Sets an ad group's bid amount (micros). Refused under a strategy without bids.
    pub fn set_ad_group_bid(
        &mut self,
        platform: Platform,
        id: &str,
        micros: i64,
    ) -> Result<(), Refusal> {
        let g = self
            .ad_groups
            .iter_mut()
            .find(|g| g.platform == platform && g.id == id)
            .ok_or(Refusal::Unknown)?;
        if g.status() == CampaignStatus::Removed {
            return Err(Refusal::Removed);
        }
        if g.bid.amount_micros.is_none() {
            return Err(Refusal::NoBidStrategy(g.bid.strategy.clone()));
        }
        g.bid.amount_micros = Some(micros);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn world() -> (World, DateTime<Utc>) {
        let today = NaiveDate::from_ymd_opt(2026, 3, 1).expect("date");
        let now = today.and_hms_opt(12, 0, 0).expect("time").and_utc();
        let mut w = World::generate(7, today);
        w.seed_levels(now);
        (w, now)
    }

    #[test]
    fn an_ad_set_budget_moves_its_campaigns_budget_and_a_campaign_budget_refuses() {
        let (mut w, now) = world();
        let on_groups = w
            .ad_groups
            .iter()
            .find(|g| g.platform == Platform::Meta && g.daily_budget_micros.is_some())
            .cloned()
            .expect("an ad set with a budget");
        let before: i64 = w
            .ad_groups_of(Platform::Meta, &on_groups.campaign_id)
            .filter_map(|g| g.daily_budget_micros)
            .sum();
        let old = on_groups.daily_budget_micros.unwrap_or(0);
        w.set_ad_group_budget(Platform::Meta, &on_groups.id, old + 10_000_000, now)
            .expect("set");
        let c = w
            .campaign(Platform::Meta, &on_groups.campaign_id)
            .cloned()
            .expect("campaign");
        assert_eq!(w.daily_budget(&c), before + 10_000_000);
        let cbo = w
            .ad_groups
            .iter()
            .find(|g| {
                g.platform == Platform::Meta
                    && g.daily_budget_micros.is_none()
                    && g.status() != CampaignStatus::Removed
            })
            .cloned()
            .expect("an ad set under a campaign budget");
        assert_eq!(
            w.set_ad_group_budget(Platform::Meta, &cbo.id, 5_000_000, now),
            Err(Refusal::BudgetOnCampaign)
        );
        assert_eq!(
            w.set_ad_group_status(Platform::Meta, "999", CampaignStatus::Paused, now),
            Err(Refusal::Unknown)
        );
    }
}
