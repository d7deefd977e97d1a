//! Queries on `identities`: sign-ins at OpenID Connect providers linked to accounts.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel_async::{AsyncConnection, RunQueryDsl};

use super::schema::identities;
use super::{DbConn, DbError};
use crate::db_run;
use crate::domain::{IdentityId, UserId};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = identities)]
pub struct IdentityRow {
    pub id: IdentityId,
    pub user_id: UserId,
    /// The provider's key in the settings when the identity was linked.
    pub provider: String,
    /// With `subject`, names the person at the provider (unique).
    pub issuer: String,
    pub subject: String,
    /// The email the provider gave when the identity was linked.
    pub email: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
}

/// Inserts an identity; one whose (issuer, subject) is linked already is
/// [`DbError::UniqueViolation`].
pub async fn insert(conn: &mut DbConn, identity: &IdentityRow) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::insert_into(identities::table)
            .values(identity)
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// The identity of `subject` at `issuer`, if it is linked to an account.
pub async fn find_by_subject(
    conn: &mut DbConn,
    issuer: &str,
    subject: &str,
) -> Result<Option<IdentityRow>, DbError> {
    db_run!(conn, {
        Ok(identities::table
            .filter(identities::issuer.eq(issuer))
            .filter(identities::subject.eq(subject))
            .select(IdentityRow::as_select())
            .first(conn)
            .await
            .optional()?)
    })
}

/// The user's identities, oldest first.
pub async fn list_for_user(
    conn: &mut DbConn,
    user_id: &UserId,
) -> Result<Vec<IdentityRow>, DbError> {
    db_run!(conn, {
        Ok(identities::table
            .filter(identities::user_id.eq(user_id))
            .order((identities::created_at.asc(), identities::id.asc()))
            .select(IdentityRow::as_select())
            .load(conn)
            .await?)
    })
}

/// Notes that the identity was just used to sign in.
pub async fn touch(conn: &mut DbConn, id: &IdentityId, at: NaiveDateTime) -> Result<(), DbError> {
    db_run!(conn, {
        diesel::update(identities::table.find(id))
            .set(identities::last_used_at.eq(Some(at)))
            .execute(conn)
            .await?;
    });
    Ok(())
}

/// What [`remove`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Removed,
    /// It is the user's only identity and `keep_last` was set: nothing was removed.
    WasLast,
}

/// Removes the user's identity `id` (someone else's is [`DbError::NotFound`], like a missing
/// one). With `keep_last`, the user's only identity stays. Two removals of a user's last two
/// identities at the same instant on PostgreSQL could both pass the count; it is the user's own
/// request against their own account.
pub async fn remove(
    conn: &mut DbConn,
    id: &IdentityId,
    user_id: &UserId,
    keep_last: bool,
) -> Result<Removal, DbError> {
    db_run!(conn, {
        conn.transaction::<_, DbError, _>(async |conn| {
            let mine = || {
                identities::table
                    .filter(identities::user_id.eq(user_id))
                    .filter(identities::id.eq(id))
            };
            let exists: i64 = mine().count().get_result(conn).await?;
            if exists == 0 {
                return Err(DbError::NotFound);
            }
            if keep_last {
                let all: i64 = identities::table
                    .filter(identities::user_id.eq(user_id))
                    .count()
                    .get_result(conn)
                    .await?;
                if all <= 1 {
                    return Ok(Removal::WasLast);
                }
            }
            diesel::delete(mine()).execute(conn).await?;
            Ok(Removal::Removed)
        })
        .await
    })
}
