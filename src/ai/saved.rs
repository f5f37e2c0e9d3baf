//! Ad copy drafts kept from the Ad copy page (table `copy_drafts`, owned here): the brief as
//! typed and the drafted lines, per organization. Reopening shows them again, checked against
//! today's limits, without asking a model; deleting removes them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::copy::{CopyBrief, Draft, Generator, LineKind, PlatformCopy, check};
use super::schema::copy_drafts;
use crate::db::Conn;
use crate::types::Platform;

/// The most drafts an organization keeps listed on the page (older ones stay reachable).
pub const LIST_LIMIT: i64 = 50;
/// The largest set of drafts kept at once, as JSON.
pub const MAX_JSON_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptLine {
    pub kind: LineKind,
    pub text: String,
}

/// One platform's drafts as kept: who wrote them and each variation's lines.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeptPlatform {
    pub platform: Platform,
    pub generator: String,
    pub variations: Vec<Vec<KeptLine>>,
}

/// Why a set of drafts sent to be kept was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeepError {
    #[error("The drafts to keep are missing or damaged; draft them again.")]
    Damaged,
    #[error("These drafts are too large to keep.")]
    TooLarge,
}

/// The drafts of a page, to send back with "Keep these drafts".
pub fn from_results(results: &[PlatformCopy]) -> Vec<KeptPlatform> {
    results
        .iter()
        .map(|r| KeptPlatform {
            platform: r.platform,
            generator: r.generator.label(),
            variations: r
                .variations
                .iter()
                .map(|v| {
                    v.lines
                        .iter()
                        .map(|l| KeptLine {
                            kind: l.kind,
                            text: l.text.clone(),
                        })
                        .collect()
                })
                .collect(),
        })
        .collect()
}

/// Reads drafts sent back by the page, refusing anything the page could not have sent.
pub fn parse(json: &str) -> Result<Vec<KeptPlatform>, KeepError> {
    if json.len() > MAX_JSON_BYTES {
        return Err(KeepError::TooLarge);
    }
    let kept: Vec<KeptPlatform> = serde_json::from_str(json).map_err(|_| KeepError::Damaged)?;
    let sane = !kept.is_empty()
        && kept.len() <= Platform::ALL.len()
        && kept.iter().all(|p| {
            p.generator.chars().count() <= 200
                && !p.variations.is_empty()
                && p.variations.len() <= super::copy::MAX_VARIATIONS
                && p.variations.iter().all(|v| {
                    v.len() <= 20
                        && v.iter().all(|l| {
                            kind_platform(l.kind) == p.platform
                                && l.text.chars().count() <= 500
                                && !crate::web::form::has_forbidden_control(&l.text)
                        })
                })
        });
    if sane {
        Ok(kept)
    } else {
        Err(KeepError::Damaged)
    }
}

fn kind_platform(k: LineKind) -> Platform {
    match k {
        LineKind::GoogleHeadline | LineKind::GoogleDescription => Platform::Google,
        LineKind::MetaPrimaryText | LineKind::MetaHeadline | LineKind::MetaDescription => {
            Platform::Meta
        }
        LineKind::TiktokAdText => Platform::Tiktok,
    }
}

fn draft_of(platform: Platform, lines: &[KeptLine]) -> Draft {
    let of = |k: LineKind| {
        lines
            .iter()
            .filter(|l| l.kind == k)
            .map(|l| l.text.clone())
            .collect::<Vec<_>>()
    };
    let first = |k: LineKind| of(k).into_iter().next().unwrap_or_default();
    match platform {
        Platform::Google => Draft::Google {
            headlines: of(LineKind::GoogleHeadline),
            descriptions: of(LineKind::GoogleDescription),
        },
        Platform::Meta => Draft::Meta {
            primary_text: first(LineKind::MetaPrimaryText),
            headline: first(LineKind::MetaHeadline),
            description: first(LineKind::MetaDescription),
        },
        Platform::Tiktok => Draft::Tiktok {
            ad_text: first(LineKind::TiktokAdText),
        },
    }
}

/// Kept drafts as the page shows them: checked again against the limits and the brief.
pub fn to_results(kept: &[KeptPlatform], brief: &CopyBrief) -> Vec<PlatformCopy> {
    kept.iter()
        .map(|p| PlatformCopy {
            platform: p.platform,
            generator: Generator::Kept {
                label: p.generator.clone(),
            },
            variations: p
                .variations
                .iter()
                .map(|v| check(&draft_of(p.platform, v), brief))
                .collect(),
            note: None,
        })
        .collect()
}

/// A kept set of drafts in the list.
#[derive(Debug, Clone, Queryable)]
pub struct KeptRow {
    pub id: Uuid,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

/// A kept set of drafts, whole.
#[derive(Debug, Clone, Queryable)]
pub struct Kept {
    pub id: Uuid,
    pub name: String,
    pub brief: serde_json::Value,
    pub drafts: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

pub async fn save(
    c: &mut Conn,
    org_id: Uuid,
    user_id: Uuid,
    name: &str,
    brief: serde_json::Value,
    drafts: &[KeptPlatform],
) -> QueryResult<Uuid> {
    let id = Uuid::now_v7();
    let drafts = serde_json::to_value(drafts).unwrap_or(serde_json::Value::Null);
    diesel::insert_into(copy_drafts::table)
        .values((
            copy_drafts::org_id.eq(org_id),
            copy_drafts::id.eq(id),
            copy_drafts::name.eq(name),
            copy_drafts::brief.eq(brief),
            copy_drafts::drafts.eq(drafts),
            copy_drafts::created_by.eq(Some(user_id)),
        ))
        .execute(c)
        .await?;
    Ok(id)
}

/// The organization's kept drafts, newest first.
pub async fn list(c: &mut Conn) -> QueryResult<Vec<KeptRow>> {
    copy_drafts::table
        .order(copy_drafts::created_at.desc())
        .limit(LIST_LIMIT)
        .select((copy_drafts::id, copy_drafts::name, copy_drafts::created_at))
        .load(c)
        .await
}

pub async fn get(c: &mut Conn, id: Uuid) -> QueryResult<Option<Kept>> {
    copy_drafts::table
        .filter(copy_drafts::id.eq(id))
        .select((
            copy_drafts::id,
            copy_drafts::name,
            copy_drafts::brief,
            copy_drafts::drafts,
            copy_drafts::created_at,
        ))
        .first(c)
        .await
        .optional()
}

pub async fn delete(c: &mut Conn, id: Uuid) -> QueryResult<usize> {
    diesel::delete(copy_drafts::table.filter(copy_drafts::id.eq(id)))
        .execute(c)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_drafts_refuse_what_the_page_could_not_send() {
        let ok = r#"[{"platform":"tiktok","generator":"offline","variations":[[{"kind":"TiktokAdText","text":"Tea. Order now!"}]]}]"#;
        assert_eq!(parse(ok).map(|k| k.len()).ok(), Some(1));
        for bad in [
            "",
            "[]",
            "{}",
            r#"[{"platform":"tiktok","generator":"x","variations":[[{"kind":"GoogleHeadline","text":"Tea"}]]}]"#,
            r#"[{"platform":"tiktok","generator":"x","variations":[]}]"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
