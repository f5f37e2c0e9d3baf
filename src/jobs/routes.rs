//! The organization's jobs page, for owners and admins: recent jobs, and retrying a dead one.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::{Router, routing::get, routing::post};
use serde::Deserialize;
use uuid::Uuid;

use super::store::{self, JobRow, JobState, RetryError};
use crate::app::AppState;
use crate::web::context::{Admin, FlashKind, Shell};
use crate::web::cookies::redirect_with_flash;
use crate::web::error::{AppError, AppResult};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/jobs", get(jobs_page))
        .route("/jobs/{id}/retry", post(retry))
}

#[derive(Template)]
#[template(path = "jobs/list.html")]
struct JobsPage {
    shell: Shell,
    jobs: Vec<JobRow>,
    filter: Option<JobState>,
    states: [JobState; 5],
}

impl JobsPage {
    fn is_filter(&self, s: &JobState) -> bool {
        self.filter.as_ref() == Some(s)
    }
}

#[derive(Debug, Deserialize)]
struct JobsQuery {
    state: Option<String>,
}

async fn jobs_page(
    State(app): State<AppState>,
    a: Admin,
    Query(q): Query<JobsQuery>,
) -> AppResult<Response> {
    let filter = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(s.parse::<JobState>().map_err(AppError::BadRequest)?),
        None => None,
    };
    let jobs = app
        .db
        .tenant(a.org_id, async move |c| {
            Ok::<_, AppError>(store::list_for_org(c, filter, 200).await?)
        })
        .await?;
    Ok(Page(JobsPage {
        shell: a.shell("jobs"),
        jobs,
        filter,
        states: JobState::ALL,
    })
    .into_response())
}

async fn retry(State(app): State<AppState>, a: Admin, Path(id): Path<Uuid>) -> AppResult<Response> {
    let actor = a.user_id;
    let org = a.org_id;
    let result = app
        .db
        .tenant(org, async move |c| {
            let row = match store::retry_dead(c, id).await {
                Ok(row) => row,
                Err(e) => return Ok::<_, AppError>(Err(e)),
            };
            crate::audit::record(
                c,
                org,
                Some(actor),
                "job.retry",
                &row.kind,
                serde_json::json!({ "job_id": id }),
            )
            .await?;
            Ok(Ok(row))
        })
        .await?;
    match result {
        Ok(row) => Ok(redirect_with_flash(
            "/jobs",
            FlashKind::Success,
            &format!("Job {} queued to run again.", row.kind),
        )),
        Err(RetryError::NotFound) => Err(AppError::NotFound),
        Err(RetryError::Db(e)) => Err(e.into()),
        Err(e @ (RetryError::NotDead(_) | RetryError::Duplicate)) => Ok(redirect_with_flash(
            "/jobs",
            FlashKind::Error,
            &format!("Not retried: {e}."),
        )),
    }
}
