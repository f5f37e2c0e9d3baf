//! Every route of the application, and the few that belong to no feature (health, metrics,
//! static files). Only `server` (and tests that drive the router) import this.

use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Router, routing::get};
use rust_embed::RustEmbed;

use crate::app::AppState;
use crate::web::context::RequestCtx;
use crate::web::error::AppError;
use crate::web::middleware;

#[derive(RustEmbed)]
#[folder = "static/"]
#[exclude = "README.md"]
struct Assets;

/// Every route of the application.
pub fn router(app: AppState) -> Router {
    with_request_layers(routes(app))
}

fn routes(app: AppState) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_public))
        .route("/static/{*path}", get(static_file))
        .merge(crate::auth::routes::router())
        .merge(crate::analytics::routes::router())
        .merge(crate::analytics::insights::router())
        .merge(crate::analytics::conversion_routes::router())
        .merge(crate::campaigns::routes::router())
        .merge(crate::connections::routes::router())
        .merge(crate::campaigns::action_routes::router())
        .merge(crate::campaigns::level_action_routes::router())
        .merge(crate::campaigns::level_undo::router())
        .merge(crate::campaigns::list_page::router())
        .merge(crate::reports::routes::router())
        .merge(crate::reports::alert_routes::router())
        .merge(crate::reports::routes::reports_router())
        .merge(crate::jobs::routes::router())
        .merge(crate::ai::routes::router())
        .merge(crate::billing::routes::router(&app))
        .merge(crate::automation::routes::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            app.clone(),
            middleware::context,
        ))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(
            4 * 1024 * 1024,
        ))
        .with_state(app)
}

/// What every answer goes through before the context middleware, innermost first: the
/// request's tracing span, the request id returned on the answer, a request id made (or kept
/// from the client or a proxy), and outermost the security headers, so an answer made before
/// the middleware runs (a 413 for a body over the limit) has them too. Failures are logged by
/// the context middleware with their detail, so the trace layer's own failure log is off.
fn with_request_layers(router: Router) -> Router {
    use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
    use tower_http::set_header::SetResponseHeaderLayer;
    use tower_http::trace::TraceLayer;

    let traced = router.layer(
        TraceLayer::new_for_http()
            .make_span_with(|req: &axum::extract::Request| middleware::request_span(req))
            .on_failure(()),
    );
    let mut router = traced
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    for (name, value) in middleware::SECURITY_HEADERS {
        router = router.layer(SetResponseHeaderLayer::if_not_present(
            header::HeaderName::from_static(name),
            HeaderValue::from_static(value),
        ));
    }
    router
}

/// The router of ADPILOT_METRICS_BIND: /metrics alone, without a token (bind it to an address
/// only the monitoring system reaches).
pub fn metrics_router(app: AppState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_text))
        .with_state(app)
}

async fn home(ctx: RequestCtx) -> Redirect {
    if ctx.session.is_some() {
        Redirect::to("/dashboard")
    } else {
        Redirect::to("/login")
    }
}

async fn not_found() -> AppError {
    AppError::NotFound
}

/// Liveness and database check for load balancers and compose.
async fn healthz(State(app): State<AppState>) -> Response {
    use diesel_async::RunQueryDsl;
    let check = async {
        let mut c = app.db.conn().await?;
        diesel::sql_query("SELECT 1").execute(&mut c).await?;
        Ok::<_, AppError>(())
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), check).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n").into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "health check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timeout\n").into_response(),
    }
}

/// /metrics on the public listener: only with `Authorization: Bearer ADPILOT_METRICS_TOKEN`,
/// and not at all when no token is set (request counts by route and pool figures are for the
/// operator, not for everyone).
async fn metrics_public(State(app): State<AppState>, headers: axum::http::HeaderMap) -> Response {
    let Some(expected) = app.config.metrics_token.as_deref() else {
        return AppError::NotFound.into_response();
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !crate::auth::tokens::tokens_equal(given, expected) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "A bearer token (ADPILOT_METRICS_TOKEN) is required.\n",
        )
            .into_response();
    }
    metrics_text(State(app)).await
}

async fn metrics_text(State(app): State<AppState>) -> Response {
    let status = app.db.status();
    app.metrics.db_pool(
        status.size,
        status.available,
        status.max_size,
        status.waiting,
    );
    (
        [(header::CONTENT_TYPE, crate::web::metrics::CONTENT_TYPE)],
        app.metrics.render(),
    )
        .into_response()
}

async fn static_file(Path(path): Path<String>) -> Response {
    match Assets::get(&path) {
        Some(file) => {
            let mime = mime_guess::from_path(&path).first_or_octet_stream();
            let mut resp = file.data.into_owned().into_response();
            if let Ok(v) = HeaderValue::from_str(mime.as_ref()) {
                resp.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            );
            resp
        }
        None => AppError::NotFound.into_response(),
    }
}
