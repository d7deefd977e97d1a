//! `/api/v1/admin/*`: user management for admins.

use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use crate::auth::user_admin::{self, UserChange};
use crate::auth::User;
use crate::db::users::UserFilter;
use crate::domain::{Role, UserId};
use crate::error::AppError;
use crate::http::current_user::Admin;
use crate::interview::interviews::{Page, PageRequest};
use crate::state::AppState;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct UsersQuery {
    /// Part of the email or name, any case.
    q: Option<String>,
    /// `candidate`, `recruiter` or `admin`.
    role: Option<String>,
    /// From 1.
    page: Option<String>,
    per_page: Option<String>,
}

/// `GET /admin/users?q=&role=&page=&per_page=`: accounts, newest first.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", params(UsersQuery),
    responses((status = 200, description = "A page of accounts", body = Page<User>)))]
pub async fn users(
    req: HttpRequest,
    state: web::Data<AppState>,
    _admin: Admin,
) -> Result<HttpResponse, AppError> {
    let query = web::Query::<UsersQuery>::from_query(req.query_string())
        .map_err(|e| AppError::InvalidInput(format!("query string: {e}")))?;
    let page = PageRequest::parse(query.page.as_deref(), query.per_page.as_deref())?;
    let role = query.role.as_deref().map(Role::parse).transpose()?;
    let text = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let filter = UserFilter { query: text, role };
    Ok(HttpResponse::Ok().json(user_admin::list(&state.pool, &filter, page).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    role: Option<Role>,
    disabled: Option<bool>,
}

/// `PATCH /admin/users/{id}` `{role?, disabled?}`: disabling ends the account's sessions and
/// closes its open sockets at once.
#[utoipa::path(patch, path = "/api/v1/admin/users/{id}", tag = "admin", params(("id" = String, Path, description = "The account's id")), request_body = UserPatch,
    responses((status = 200, description = "The account as changed", body = User)))]
pub async fn update_user(
    state: web::Data<AppState>,
    admin: Admin,
    path: web::Path<UserId>,
    body: web::Json<UserPatch>,
) -> Result<HttpResponse, AppError> {
    let change = UserChange {
        role: body.role,
        disabled: body.disabled,
    };
    let user = user_admin::change(&state.pool, &admin.0, &path, change).await?;
    if body.disabled == Some(true) {
        state.logins.user_sessions_ended(&user.id);
    }
    Ok(HttpResponse::Ok().json(user))
}
