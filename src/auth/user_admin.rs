//! What admins do with accounts: find them, change their role, disable and enable them. An
//! admin cannot change their own account this way (another admin can), so a server is never
//! left without one by accident.

use chrono::Utc;

use super::accounts::AccountError;
use super::User;
use crate::db::users::UserFilter;
use crate::db::{self, DbError, DbPool};
use crate::domain::{Role, UserId};
use crate::interview::interviews::{Page, PageRequest};

/// A change an admin asks for; fields left out stay as they are.
#[derive(Debug, Clone, Copy, Default)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
}

pub async fn list(
    pool: &DbPool,
    filter: &UserFilter<'_>,
    page: PageRequest,
) -> Result<Page<User>, AccountError> {
    let mut conn = pool.get().await?;
    let (rows, total) = db::users::search(&mut conn, filter, page.per_page, page.offset()).await?;
    Ok(Page {
        items: rows.into_iter().map(User::from).collect(),
        page: page.page,
        per_page: page.per_page,
        total,
    })
}

/// Applies `change` to account `id` on behalf of `admin`. Disabling ends every session of the
/// account (the caller also closes its open sockets: see `Logins::user_sessions_ended`).
pub async fn change(
    pool: &DbPool,
    admin: &User,
    id: &UserId,
    change: UserChange,
) -> Result<User, AccountError> {
    if *id == admin.id {
        return Err(AccountError::OwnAccount);
    }
    let mut conn = pool.get().await?;
    let Some(before) = db::users::find_by_id(&mut conn, id).await? else {
        return Err(AccountError::NotFound);
    };
    if let Some(role) = change.role {
        if role != before.role {
            db::users::set_role(&mut conn, id, role).await?;
            tracing::info!(user_id = %id, admin_id = %admin.id, %role, "role changed");
        }
    }
    match change.disabled {
        Some(true) if before.disabled_at.is_none() => {
            db::users::set_disabled(&mut conn, id, Some(Utc::now().naive_utc())).await?;
            db::users::bump_session_generation(&mut conn, id).await?;
            tracing::info!(user_id = %id, admin_id = %admin.id, "account disabled");
        }
        Some(false) if before.disabled_at.is_some() => {
            db::users::set_disabled(&mut conn, id, None).await?;
            tracing::info!(user_id = %id, admin_id = %admin.id, "account enabled");
        }
        _ => {}
    }
    let after = db::users::find_by_id(&mut conn, id)
        .await?
        .ok_or(DbError::NotFound)?;
    Ok(after.into())
}
