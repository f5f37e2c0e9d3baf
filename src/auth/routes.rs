//! Pages for signing up, logging in and out, the account, organization settings, members and
//! invitations.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, Router, routing::get, routing::post};
use serde::Deserialize;
use uuid::Uuid;

use super::accounts::{self, Invitation, Member, NewAccount};
use super::{AuthError, Role, sessions, signup};
use crate::app::AppState;
use crate::mailer::Email;
use crate::web::context::{Admin, FlashKind, LoggedIn, RequestCtx, Shell, Viewer};
use crate::web::cookies::{cookie, redirect_with_flash};
use crate::web::error::{AppError, AppResult};
use crate::web::form::{CONTROL_MESSAGE, FieldErrors, control_field, scrub};
use crate::web::page::Page;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/signup", get(signup_page).post(signup))
        .route(
            "/signup/confirm/{token}",
            get(signup_confirm_page).post(signup_confirm),
        )
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/account", get(account_page))
        .route("/account/password", post(change_password))
        .route("/orgs/new", get(new_org_page))
        .route("/orgs", post(create_org))
        .route("/orgs/switch", post(switch_org))
        .route("/settings", get(settings_page))
        .route("/settings/org", post(update_org))
        .route("/settings/invites", post(invite))
        .route("/settings/invites/{id}/revoke", post(revoke_invite))
        .route("/settings/members/{user_id}/role", post(change_role))
        .route("/settings/members/{user_id}/remove", post(remove_member))
        .route(
            "/settings/members/{user_id}/accounts",
            post(member_accounts),
        )
        .route("/settings/audit", get(audit_page))
        .route(
            "/invites/{org_id}/{token}",
            get(invite_page).post(accept_invite),
        )
}

/// An account error as the field error to show beside its input.
fn field_errors(e: AuthError) -> Result<FieldErrors, AppError> {
    match e {
        AuthError::Invalid { field, message } => Ok(FieldErrors::one(field, message)),
        AuthError::BadCredentials | AuthError::BadInvite => {
            Ok(FieldErrors::one("form", e.to_string()))
        }
        other => Err(other.into()),
    }
}

fn session_cookie_response(app: &AppState, token: &str, to: &str) -> Response {
    let mut resp = Redirect::to(to).into_response();
    let max = app.config.session_max.as_secs() as i64;
    if let Ok(v) = HeaderValue::from_str(&cookie(
        sessions::COOKIE,
        token,
        Some(max),
        app.config.https(),
    )) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

/// Only paths of our own origin are followed after login, so a link cannot send people elsewhere.
fn safe_next(app: &AppState, next: Option<&str>) -> String {
    crate::web::redirect::safe_redirect(next, &app.config.origin(), "/dashboard")
}

// ---------- sign up ----------

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct SignupPage {
    shell: Shell,
    form: SignupForm,
    errors: FieldErrors,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    org_name: String,
    #[serde(default)]
    time_zone: String,
}

async fn signup_page(ctx: RequestCtx) -> AppResult<Response> {
    if ctx.session.is_some() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    let form = SignupForm {
        time_zone: "UTC".into(),
        ..Default::default()
    };
    Ok(Page(SignupPage {
        shell: Shell::from_ctx(&ctx, "signup"),
        form,
        errors: FieldErrors::default(),
    })
    .into_response())
}

async fn signup(
    State(app): State<AppState>,
    ctx: RequestCtx,
    Form(mut form): Form<SignupForm>,
) -> AppResult<Response> {
    if let Err(retry) = app.limits.signup(&ctx.client_ip) {
        return Err(AppError::RateLimited {
            message: retry.message(),
            retry_after_secs: retry.0.as_secs().max(1),
        });
    }
    let new = NewAccount {
        email: form.email.clone(),
        name: form.name.clone(),
        password: form.password.clone(),
        org_name: form.org_name.clone(),
        time_zone: form.time_zone.clone(),
    };
    let problems = accounts::sign_up_problems(&new);
    if !problems.is_empty() {
        let mut errors = FieldErrors::default();
        for (field, message) in problems {
            errors.add(field, message);
        }
        // What was typed stays, except the password and invisible control characters.
        form.password.clear();
        for s in [&mut form.email, &mut form.name, &mut form.org_name] {
            s.retain(|c| !c.is_control());
        }
        let page = SignupPage {
            shell: Shell::from_ctx(&ctx, "signup"),
            form,
            errors,
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    let result = signup::request(&app.db, new, chrono::Utc::now()).await;
    match result {
        Ok(signup::Requested::Pending { email, mail }) => {
            if let Some(mail) = mail {
                send_signup_mail(&app, &email, mail).await;
            }
            Ok(Page(SignupSentPage {
                shell: Shell::from_ctx(&ctx, "signup"),
                email,
                hours: signup::LINK_HOURS,
            })
            .into_response())
        }
        Ok(signup::Requested::Created { user_id, org_id }) => {
            tracing::info!(%user_id, %org_id, "signed up");
            let token = sessions::create(
                &app.db,
                user_id,
                Some(org_id),
                app.config.session_max,
                ctx.user_agent.clone(),
                Some(ctx.client_ip.clone()),
            )
            .await?;
            Ok(session_cookie_response(&app, &token, "/dashboard"))
        }
        Err(e) => {
            let errors = field_errors(e)?;
            form.password.clear();
            let page = SignupPage {
                shell: Shell::from_ctx(&ctx, "signup"),
                form,
                errors,
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "auth/signup_sent.html")]
struct SignupSentPage {
    shell: Shell,
    email: String,
    hours: i64,
}

#[derive(Template)]
#[template(path = "auth/signup_confirm.html")]
struct SignupConfirmPage {
    shell: Shell,
    token: String,
    live: bool,
    error: Option<String>,
}

/// The same answer goes back to the form whatever the address; only the mail differs. A mail
/// that cannot be sent is logged, not shown (showing it would tell the two apart).
async fn send_signup_mail(app: &AppState, to: &str, mail: signup::Mail) {
    let (subject, text) = match mail {
        signup::Mail::Confirm { token } => (
            "Confirm your adpilot sign-up".to_string(),
            format!(
                "Someone (hopefully you) signed up for adpilot with this address.\n\nCreate your account here (the link works once and expires in {} hours):\n{}\n\nIf it was not you, ignore this email: nothing is created without the link.\n",
                signup::LINK_HOURS,
                app.config.url(&format!("/signup/confirm/{token}"))
            ),
        ),
        signup::Mail::AlreadyRegistered => (
            "You already have an adpilot account".to_string(),
            format!(
                "Someone (hopefully you) tried to sign up for adpilot with this address, which already has an account.\n\nLog in here: {}\n\nIf it was not you, you can ignore this email; nothing was changed.\n",
                app.config.url("/login")
            ),
        ),
    };
    let email = Email {
        to: to.to_string(),
        subject,
        text,
        html: None,
        headers: vec![],
    };
    if let Err(e) = app.mailer.send(&email).await {
        tracing::warn!(error = %e, "sign-up email not sent");
    }
}

async fn signup_confirm_page(
    State(app): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
) -> AppResult<Response> {
    let live = signup::is_pending(&app.db, &token, chrono::Utc::now()).await?;
    Ok(Page(SignupConfirmPage {
        shell: Shell::from_ctx(&ctx, "signup"),
        token,
        live,
        error: None,
    })
    .into_response())
}

async fn signup_confirm(
    State(app): State<AppState>,
    ctx: RequestCtx,
    Path(token): Path<String>,
    body: String,
) -> AppResult<Response> {
    // The form is one button; a control character in it is not something a person typed.
    // The page says so, creates nothing and offers the button again.
    if url::form_urlencoded::parse(body.as_bytes()).any(|(k, v)| {
        crate::web::form::has_forbidden_control(&k) || crate::web::form::has_forbidden_control(&v)
    }) {
        let page = SignupConfirmPage {
            shell: Shell::from_ctx(&ctx, "signup"),
            live: signup::is_pending(&app.db, &token, chrono::Utc::now()).await?,
            token,
            error: Some(
                "Nothing was created: the form arrived with invisible control characters (such as NUL), which this page never sends. Press the button again."
                    .into(),
            ),
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    match signup::confirm(&app.db, &token, chrono::Utc::now()).await {
        Ok((user_id, org_id)) => {
            tracing::info!(%user_id, %org_id, "signed up (confirmed by email)");
            let session = sessions::create(
                &app.db,
                user_id,
                Some(org_id),
                app.config.session_max,
                ctx.user_agent.clone(),
                Some(ctx.client_ip.clone()),
            )
            .await?;
            Ok(session_cookie_response(&app, &session, "/dashboard"))
        }
        Err(AuthError::Invalid { message, .. }) => {
            let page = SignupConfirmPage {
                shell: Shell::from_ctx(&ctx, "signup"),
                token,
                live: false,
                error: Some(message),
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
        Err(e) => Err(e.into()),
    }
}

// ---------- log in / out ----------

#[derive(Template)]
#[template(path = "auth/login.html")]
struct LoginPage {
    shell: Shell,
    email: String,
    next: String,
    errors: FieldErrors,
}

#[derive(Debug, Deserialize)]
struct NextQuery {
    next: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

async fn login_page(
    State(app): State<AppState>,
    ctx: RequestCtx,
    Query(q): Query<NextQuery>,
) -> AppResult<Response> {
    let next = safe_next(&app, q.next.as_deref());
    if ctx.session.is_some() {
        return Ok(Redirect::to(&next).into_response());
    }
    Ok(Page(LoginPage {
        shell: Shell::from_ctx(&ctx, "login"),
        email: String::new(),
        next,
        errors: FieldErrors::default(),
    })
    .into_response())
}

async fn login(
    State(app): State<AppState>,
    ctx: RequestCtx,
    Form(form): Form<LoginForm>,
) -> AppResult<Response> {
    let next = safe_next(&app, form.next.as_deref());
    if let Err(retry) = app.limits.login(&ctx.client_ip, &form.email) {
        tracing::warn!(ip = %ctx.client_ip, "login rate limited");
        let page = LoginPage {
            shell: Shell::from_ctx(&ctx, "login"),
            email: form.email,
            next,
            errors: FieldErrors::one("form", retry.message()),
        };
        let mut resp = (axum::http::StatusCode::TOO_MANY_REQUESTS, Page(page)).into_response();
        if let Ok(v) = HeaderValue::from_str(&retry.0.as_secs().max(1).to_string()) {
            resp.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return Ok(resp);
    }
    // A control character (a NUL pasted with the address) is refused on the form, with what
    // was typed kept without it; nothing is looked up.
    let controls = [("email", &form.email), ("password", &form.password)]
        .into_iter()
        .find(|(_, v)| crate::web::form::has_forbidden_control(v));
    if let Some((field, _)) = controls {
        let page = LoginPage {
            shell: Shell::from_ctx(&ctx, "login"),
            email: crate::web::form::scrub(&form.email),
            next,
            errors: FieldErrors::one(field, crate::web::form::CONTROL_MESSAGE),
        };
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    match accounts::authenticate(&app.db, &form.email, &form.password).await {
        Ok(user_id) => {
            // A new token at every login; an old cookie (if any) is ended.
            if let Some(old) = &ctx.session {
                sessions::delete(&app.db, old.id).await?;
            }
            let org = accounts::user_orgs(&app.db, user_id)
                .await?
                .first()
                .map(|o| o.org_id);
            let token = sessions::create(
                &app.db,
                user_id,
                org,
                app.config.session_max,
                ctx.user_agent.clone(),
                Some(ctx.client_ip.clone()),
            )
            .await?;
            tracing::info!(%user_id, "logged in");
            Ok(session_cookie_response(&app, &token, &next))
        }
        Err(e) => {
            if matches!(e, AuthError::BadCredentials) {
                app.limits.login_failed(&form.email);
            }
            let errors = field_errors(e)?;
            let page = LoginPage {
                shell: Shell::from_ctx(&ctx, "login"),
                email: form.email,
                next,
                errors,
            };
            Ok((axum::http::StatusCode::UNAUTHORIZED, Page(page)).into_response())
        }
    }
}

async fn logout(State(app): State<AppState>, ctx: RequestCtx) -> AppResult<Response> {
    if let Some(s) = &ctx.session {
        sessions::delete(&app.db, s.id).await?;
    }
    let mut resp = redirect_with_flash("/login", FlashKind::Info, "You are logged out.");
    if let Ok(v) = HeaderValue::from_str(&cookie(sessions::COOKIE, "", Some(0), app.config.https()))
    {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    Ok(resp)
}

// ---------- account ----------

#[derive(Template)]
#[template(path = "auth/account.html")]
struct AccountPage {
    shell: Shell,
    email: String,
    errors: FieldErrors,
}

async fn account_page(user: LoggedIn) -> AppResult<Response> {
    Ok(Page(AccountPage {
        shell: Shell::from_ctx(&user.ctx, "account"),
        email: user.session.user_email.clone(),
        errors: FieldErrors::default(),
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    State(app): State<AppState>,
    user: LoggedIn,
    Form(form): Form<PasswordForm>,
) -> AppResult<Response> {
    // Passwords are never shown again; a control character in one is named on its field.
    let changed = match control_field(&[
        ("current_password", &form.current_password),
        ("new_password", &form.new_password),
    ]) {
        Some(field) => Err(AuthError::invalid(field, CONTROL_MESSAGE)),
        None => {
            accounts::change_password(
                &app.db,
                user.session.user_id,
                &form.current_password,
                &form.new_password,
            )
            .await
        }
    };
    match changed {
        Ok(()) => {
            // Every session of the user ends; this browser gets a fresh one.
            let ended = sessions::delete_all_for_user(&app.db, user.session.user_id).await?;
            tracing::info!(user_id = %user.session.user_id, ended, "password changed; sessions ended");
            let token = sessions::create(
                &app.db,
                user.session.user_id,
                user.session.org_id,
                app.config.session_max,
                user.ctx.user_agent.clone(),
                Some(user.ctx.client_ip.clone()),
            )
            .await?;
            let mut resp = redirect_with_flash(
                "/account",
                FlashKind::Success,
                "Password changed. You were logged out everywhere else.",
            );
            let max = app.config.session_max.as_secs() as i64;
            if let Ok(v) = HeaderValue::from_str(&cookie(
                sessions::COOKIE,
                &token,
                Some(max),
                app.config.https(),
            )) {
                resp.headers_mut().append(header::SET_COOKIE, v);
            }
            Ok(resp)
        }
        Err(e) => {
            let errors = field_errors(e)?;
            let page = AccountPage {
                shell: Shell::from_ctx(&user.ctx, "account"),
                email: user.session.user_email.clone(),
                errors,
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
    }
}

// ---------- organizations ----------

#[derive(Template)]
#[template(path = "auth/org_new.html")]
struct NewOrgPage {
    shell: Shell,
    name: String,
    time_zone: String,
    errors: FieldErrors,
}

async fn new_org_page(user: LoggedIn) -> AppResult<Response> {
    Ok(Page(NewOrgPage {
        shell: Shell::from_ctx(&user.ctx, "settings"),
        name: String::new(),
        time_zone: "UTC".into(),
        errors: FieldErrors::default(),
    })
    .into_response())
}

#[derive(Debug, Deserialize)]
struct OrgForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    time_zone: String,
}

async fn create_org(
    State(app): State<AppState>,
    user: LoggedIn,
    Form(form): Form<OrgForm>,
) -> AppResult<Response> {
    let created = match control_field(&[("org_name", &form.name), ("time_zone", &form.time_zone)]) {
        Some(field) => Err(AuthError::invalid(field, CONTROL_MESSAGE)),
        None => {
            accounts::create_org(&app.db, user.session.user_id, &form.name, &form.time_zone).await
        }
    };
    match created {
        Ok(org_id) => {
            sessions::set_org(&app.db, user.session.id, org_id).await?;
            Ok(redirect_with_flash(
                "/dashboard",
                FlashKind::Success,
                "Organization created.",
            ))
        }
        Err(e) => {
            let errors = field_errors(e)?;
            let page = NewOrgPage {
                shell: Shell::from_ctx(&user.ctx, "settings"),
                name: scrub(&form.name),
                time_zone: scrub(&form.time_zone),
                errors,
            };
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
struct SwitchForm {
    org_id: Uuid,
}

async fn switch_org(
    State(app): State<AppState>,
    user: LoggedIn,
    Form(form): Form<SwitchForm>,
) -> AppResult<Response> {
    // Only organizations the user belongs to; anything else looks like nothing at all.
    if !user.ctx.orgs.iter().any(|o| o.org_id == form.org_id) {
        return Err(AppError::NotFound);
    }
    sessions::set_org(&app.db, user.session.id, form.org_id).await?;
    Ok(Redirect::to("/dashboard").into_response())
}

// ---------- settings: organization, members, invitations ----------

#[derive(Template)]
#[template(path = "auth/settings.html")]
struct SettingsPage {
    shell: Shell,
    org_name: String,
    time_zone: String,
    members: Vec<Member>,
    invitations: Vec<Invitation>,
    me: Uuid,
    my_role: Role,
    errors: FieldErrors,
    invite_email: String,
    invite_link: Option<String>,
    outbox: Option<String>,
    /// The organization's ad accounts and who may see which (admins' view).
    accounts: Vec<crate::connections::service::ManagedAccount>,
    access: Vec<super::scope::MemberAccess>,
}

impl SettingsPage {
    /// `user` sees only some accounts (`None`: not a member whose access can be limited).
    fn restricted(&self, user: &Uuid) -> bool {
        self.access
            .iter()
            .any(|a| a.user_id == *user && a.restricted)
    }

    fn granted(&self, user: &Uuid, account: &Uuid) -> bool {
        self.access
            .iter()
            .any(|a| a.user_id == *user && a.accounts.contains(account))
    }
}

async fn render_settings(
    app: &AppState,
    v: &Viewer,
    errors: FieldErrors,
    invite_email: String,
    invite_link: Option<String>,
) -> AppResult<SettingsPage> {
    let org = v.org_id;
    let admin = v.role.is_admin();
    let (org_name, time_zone, mut members, mut invitations, ad_accounts, access) = app
        .db
        .tenant(org, async move |c| {
            let (n, tz) = accounts::org_settings(c, org).await?;
            let m = accounts::members(c).await?;
            let i = accounts::pending_invitations(c).await?;
            let (a, g) = if admin {
                (
                    crate::connections::service::managed_accounts(c).await?,
                    super::scope::member_access(c).await?,
                )
            } else {
                (Vec::new(), Vec::new())
            };
            Ok::<_, AppError>((n, tz, m, i, a, g))
        })
        .await?;
    if v.ctx.account_scope.is_some() {
        // A member limited to some accounts (an agency's customer) does not see who else the
        // organization works with.
        members.retain(|m| m.user_id == v.user_id);
        invitations.clear();
    }
    Ok(SettingsPage {
        shell: v.shell("settings"),
        org_name,
        time_zone,
        members,
        invitations,
        me: v.user_id,
        my_role: v.role,
        errors,
        invite_email,
        invite_link,
        outbox: app.mailer.outbox_dir().map(|p| p.display().to_string()),
        accounts: ad_accounts,
        access,
    })
}

async fn settings_page(State(app): State<AppState>, v: Viewer) -> AppResult<Response> {
    Ok(
        Page(render_settings(&app, &v, FieldErrors::default(), String::new(), None).await?)
            .into_response(),
    )
}

async fn update_org(
    State(app): State<AppState>,
    a: Admin,
    Form(form): Form<OrgForm>,
) -> AppResult<Response> {
    match accounts::update_org(&app.db, a.org_id, a.user_id, &form.name, &form.time_zone).await {
        Ok(()) => Ok(redirect_with_flash(
            "/settings",
            FlashKind::Success,
            "Organization settings saved.",
        )),
        Err(e) => {
            let errors = field_errors(e)?;
            let mut page = render_settings(&app, &a, errors, String::new(), None).await?;
            // What was typed stays, without invisible control characters.
            page.org_name = crate::web::form::scrub(&form.name);
            page.time_zone = crate::web::form::scrub(&form.time_zone);
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
    }
}

#[derive(Debug, Deserialize)]
struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    role: String,
}

async fn invite(
    State(app): State<AppState>,
    a: Admin,
    Form(form): Form<InviteForm>,
) -> AppResult<Response> {
    if let Some(field) = control_field(&[("email", &form.email), ("role", &form.role)]) {
        let errors = FieldErrors::one(field, CONTROL_MESSAGE);
        let page = render_settings(&app, &a, errors, scrub(&form.email), None).await?;
        return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
    }
    // Plan limit first: a refusal is a message on the form, never a 500.
    match crate::billing::enforce::check(&app, a.org_id, crate::billing::Limit::Members).await {
        Ok(()) => {}
        Err(e @ crate::billing::enforce::LimitError::Reached { .. }) => {
            let errors = FieldErrors::one("limit", e.message_for(a.role));
            let page = render_settings(&app, &a, errors, form.email, None).await?;
            return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response());
        }
        Err(e) => return Err(e.into()),
    }
    match accounts::invite(
        &app.db,
        a.org_id,
        a.user_id,
        a.role,
        &form.email,
        &form.role,
    )
    .await
    {
        Ok((inv, token)) => {
            let link = app.config.url(&format!("/invites/{}/{}", a.org_id, token));
            let email = Email {
                to: inv.email.clone(),
                subject: format!(
                    "{} invited you to {} on adpilot",
                    a.ctx
                        .session
                        .as_ref()
                        .map(|s| s.user_name.as_str())
                        .unwrap_or("A colleague"),
                    a.org_name
                ),
                text: format!(
                    "You have been invited to join {} on adpilot as {}.\n\nAccept the invitation here (the link works once and expires in {} days):\n{}\n\nIf you did not expect this, ignore this email.\n",
                    a.org_name,
                    inv.role.label(),
                    accounts::INVITE_DAYS,
                    link
                ),
                html: None,
                headers: vec![],
            };
            let mail_result = app.mailer.send(&email).await;
            let page = render_settings(&app, &a, FieldErrors::default(), String::new(), Some(link))
                .await?;
            let mut page = page;
            match mail_result {
                Ok(()) => {
                    page.shell.flash = Some(crate::web::context::Flash {
                        kind: FlashKind::Success,
                        message: format!("Invitation sent to {}.", inv.email),
                    })
                }
                Err(e) => {
                    tracing::warn!(error = %e, "invitation email not sent");
                    page.shell.flash = Some(crate::web::context::Flash {
                        kind: FlashKind::Error,
                        message: format!(
                            "The invitation was created but the email could not be sent ({e}). Share the link below yourself."
                        ),
                    });
                }
            }
            Ok(Page(page).into_response())
        }
        Err(e) => {
            let errors = field_errors(e)?;
            let page = render_settings(&app, &a, errors, form.email, None).await?;
            Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, Page(page)).into_response())
        }
    }
}

async fn revoke_invite(
    State(app): State<AppState>,
    a: Admin,
    Path(id): Path<Uuid>,
) -> AppResult<Response> {
    accounts::revoke_invitation(&app.db, a.org_id, a.user_id, id).await?;
    Ok(redirect_with_flash(
        "/settings",
        FlashKind::Success,
        "Invitation revoked.",
    ))
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
}

async fn change_role(
    State(app): State<AppState>,
    a: Admin,
    Path(user_id): Path<Uuid>,
    Form(form): Form<RoleForm>,
) -> AppResult<Response> {
    match accounts::change_role(&app.db, a.org_id, a.user_id, a.role, user_id, &form.role).await {
        Ok(()) => Ok(redirect_with_flash(
            "/settings",
            FlashKind::Success,
            "Role changed.",
        )),
        Err(AuthError::Invalid { message, .. }) => {
            Ok(redirect_with_flash("/settings", FlashKind::Error, &message))
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove_member(
    State(app): State<AppState>,
    a: Admin,
    Path(user_id): Path<Uuid>,
) -> AppResult<Response> {
    match accounts::remove_member(&app.db, a.org_id, a.user_id, a.role, user_id).await {
        Ok(()) => Ok(redirect_with_flash(
            "/settings",
            FlashKind::Success,
            "Member removed.",
        )),
        Err(AuthError::Invalid { message, .. }) => {
            Ok(redirect_with_flash("/settings", FlashKind::Error, &message))
        }
        Err(e) => Err(e.into()),
    }
}

/// Which ad accounts a member or client sees: `restricted=on` (members; clients always are)
/// and one `account` field per account granted.
async fn member_accounts(
    State(app): State<AppState>,
    a: Admin,
    Path(user_id): Path<Uuid>,
    body: axum::body::Bytes,
) -> AppResult<Response> {
    let mut restricted = false;
    let mut granted = Vec::new();
    for (k, v) in url::form_urlencoded::parse(&body) {
        match k.as_ref() {
            "restricted" => restricted = v == "on",
            "account" => match v.parse::<Uuid>() {
                Ok(id) => granted.push(id),
                Err(_) => {
                    return Err(AppError::BadRequest(
                        "Choose accounts from the list.".into(),
                    ));
                }
            },
            _ => {}
        }
    }
    match super::scope::set_member_access(
        &app.db, a.org_id, a.user_id, user_id, restricted, granted,
    )
    .await
    {
        Ok(()) => Ok(redirect_with_flash(
            "/settings",
            FlashKind::Success,
            "Ad account access saved.",
        )),
        Err(AuthError::Invalid { message, .. }) => {
            Ok(redirect_with_flash("/settings", FlashKind::Error, &message))
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Template)]
#[template(path = "auth/audit.html")]
struct AuditPage {
    shell: Shell,
    entries: Vec<crate::audit::AuditEntry>,
}

async fn audit_page(State(app): State<AppState>, a: Admin) -> AppResult<Response> {
    let entries = app
        .db
        .tenant(a.org_id, async move |c| {
            Ok::<_, AppError>(crate::audit::recent(c, 200).await?)
        })
        .await?;
    Ok(Page(AuditPage {
        shell: a.shell("settings"),
        entries,
    })
    .into_response())
}

// ---------- accepting an invitation ----------

#[derive(Template)]
#[template(path = "auth/invite.html")]
struct InvitePage {
    shell: Shell,
    invitation: Option<Invitation>,
    org_name: String,
    path: String,
    logged_in_as: Option<String>,
    name: String,
    errors: FieldErrors,
    /// Logged in as someone other than the invited address: no Join button.
    wrong_account: bool,
}

async fn invite_page(
    State(app): State<AppState>,
    ctx: RequestCtx,
    Path((org_id, token)): Path<(Uuid, String)>,
) -> AppResult<Response> {
    let path = format!("/invites/{org_id}/{token}");
    let (invitation, org_name, mut errors) =
        match accounts::find_invitation(&app.db, org_id, &token).await {
            Ok((inv, name)) => (Some(inv), name, FieldErrors::default()),
            Err(e) => (None, String::new(), field_errors(e)?),
        };
    let mut wrong_account = false;
    if let (Some(inv), Some(s)) = (&invitation, &ctx.session) {
        if !accounts::invitation_is_for(inv, &s.user_email) {
            wrong_account = true;
            errors = FieldErrors::one("form", accounts::wrong_invitee_message(inv, &s.user_email));
        }
    }
    let status = if invitation.is_some() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::GONE
    };
    let page = InvitePage {
        shell: Shell::from_ctx(&ctx, "invite"),
        invitation,
        org_name,
        path,
        logged_in_as: ctx.session.as_ref().map(|s| s.user_email.clone()),
        name: String::new(),
        errors,
        wrong_account,
    };
    Ok((status, Page(page)).into_response())
}

#[derive(Debug, Deserialize)]
struct AcceptForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn accept_invite(
    State(app): State<AppState>,
    ctx: RequestCtx,
    Path((org_id, token)): Path<(Uuid, String)>,
    Form(form): Form<AcceptForm>,
) -> AppResult<Response> {
    if let Some(s) = &ctx.session {
        return match accounts::accept_invitation(&app.db, org_id, &token, s.user_id, &s.user_email)
            .await
        {
            Ok(inv) => {
                sessions::set_org(&app.db, s.id, org_id).await?;
                Ok(redirect_with_flash(
                    "/dashboard",
                    FlashKind::Success,
                    &format!("You joined as {}.", inv.role.label()),
                ))
            }
            Err(e) => {
                let status = if matches!(e, AuthError::Invalid { .. }) {
                    axum::http::StatusCode::FORBIDDEN
                } else {
                    axum::http::StatusCode::GONE
                };
                let errors = field_errors(e)?;
                let page = InvitePage {
                    shell: Shell::from_ctx(&ctx, "invite"),
                    invitation: None,
                    org_name: String::new(),
                    path: String::new(),
                    logged_in_as: Some(s.user_email.clone()),
                    name: String::new(),
                    errors,
                    wrong_account: false,
                };
                Ok((status, Page(page)).into_response())
            }
        };
    }
    if let Err(retry) = app.limits.signup(&ctx.client_ip) {
        return Err(AppError::RateLimited {
            message: retry.message(),
            retry_after_secs: retry.0.as_secs().max(1),
        });
    }
    let joined = match control_field(&[("name", &form.name), ("password", &form.password)]) {
        Some(field) => Err(AuthError::invalid(field, CONTROL_MESSAGE)),
        None => {
            accounts::sign_up_invited(&app.db, org_id, &token, &form.name, &form.password).await
        }
    };
    match joined {
        Ok((user_id, _)) => {
            let token = sessions::create(
                &app.db,
                user_id,
                Some(org_id),
                app.config.session_max,
                ctx.user_agent.clone(),
                Some(ctx.client_ip.clone()),
            )
            .await?;
            Ok(session_cookie_response(&app, &token, "/dashboard"))
        }
        Err(e) => {
            let errors = field_errors(e)?;
            let found = accounts::find_invitation(&app.db, org_id, &token)
                .await
                .ok();
            let status = if found.is_some() {
                axum::http::StatusCode::UNPROCESSABLE_ENTITY
            } else {
                axum::http::StatusCode::GONE
            };
            let page = InvitePage {
                shell: Shell::from_ctx(&ctx, "invite"),
                org_name: found.as_ref().map(|f| f.1.clone()).unwrap_or_default(),
                invitation: found.map(|f| f.0),
                path: format!("/invites/{org_id}/{token}"),
                logged_in_as: None,
                name: scrub(&form.name),
                errors,
                wrong_account: false,
            };
            Ok((status, Page(page)).into_response())
        }
    }
}
