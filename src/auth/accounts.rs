//! Registering users and checking their credentials: the account rules, free of HTTP.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::hashing::{Hasher, HashingError};
use crate::db::{self, users::UserRow, DbError, DbPool};
use crate::domain::{DisplayName, Email, Invalid, Password, Role, UserId};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("email already registered")]
    EmailTaken,
    #[error("invalid credentials")]
    InvalidCredentials,
    /// An admin disabled the account: it cannot sign in.
    #[error("this account is disabled")]
    Disabled,
    #[error("no such account")]
    NotFound,
    /// A one-time code that is wrong, expired or used up.
    #[error("the code is wrong or has expired; ask for a new one")]
    InvalidCode,
    /// `email_verification` asks this account to confirm its email first.
    /// Deleting an account that owns jobs would delete its candidates' interviews.
    #[error("this account owns jobs: close them and ask an administrator to remove the account")]
    OwnsJobs,
    /// The server would be left without an enabled admin.
    #[error("this is the last enabled admin account: make another admin first")]
    LastAdmin,
    /// An admin changing their own role or disabling themselves (another admin can).
    #[error("you cannot change your own role or disable your own account; another admin can")]
    OwnAccount,
    #[error(
        "confirm your email address first: enter the code we emailed you, or ask for a new one"
    )]
    EmailUnverified,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Hashing(#[from] HashingError),
}

/// A user as the rest of the app sees it (no password hash).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    #[serde(skip)]
    pub session_generation: i64,
    pub created_at: DateTime<Utc>,
    pub leaderboard_opt_in: bool,
    pub email_verified: bool,
    pub disabled: bool,
    pub last_sign_in_at: Option<DateTime<Utc>>,
    /// False for an account made by signing in at a provider, until a password is set.
    pub has_password: bool,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        Self {
            role: row.role,
            id: row.id,
            email: row.email,
            display_name: row.display_name,
            session_generation: row.session_generation,
            created_at: row.created_at.and_utc(),
            leaderboard_opt_in: row.leaderboard_opt_in,
            email_verified: row.email_verified_at.is_some(),
            disabled: row.disabled_at.is_some(),
            last_sign_in_at: row.last_sign_in_at.map(|t| t.and_utc()),
            has_password: !row.password_hash.is_empty(),
        }
    }
}

/// Raw registration input; [`Accounts::register`] validates it.
pub struct Registration<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
    pub role: Role,
}

#[derive(Clone)]
pub struct Accounts {
    pool: DbPool,
    hasher: Hasher,
}

impl Accounts {
    pub fn new(pool: DbPool, hasher: Hasher) -> Self {
        Self { pool, hasher }
    }

    pub async fn register(&self, input: Registration<'_>) -> Result<User, AccountError> {
        let email = Email::parse(input.email)?;
        let display_name = DisplayName::parse(input.display_name)?;
        let local_part = email.as_str().split('@').next().unwrap_or_default();
        let password = Password::parse_new(
            input.password,
            &[email.as_str(), local_part, display_name.as_str()],
        )?;

        let mut conn = self.pool.get().await?;
        if db::users::find_by_email(&mut conn, email.as_str())
            .await?
            .is_some()
        {
            return Err(AccountError::EmailTaken);
        }
        // Don't keep a pooled connection while argon2 runs.
        drop(conn);
        let password_hash = self.hasher.hash(password).await?;

        let now = Utc::now().naive_utc();
        let row = UserRow {
            id: UserId::random(),
            email: email.as_str().to_owned(),
            display_name: display_name.as_str().to_owned(),
            password_hash,
            role: input.role,
            session_generation: 0,
            created_at: now,
            updated_at: now,
            leaderboard_opt_in: false,
            email_verified_at: None,
            disabled_at: None,
            last_sign_in_at: None,
        };
        let mut conn = self.pool.get().await?;
        match db::users::insert(&mut conn, &row).await {
            Ok(()) => Ok(row.into()),
            // Two registrations raced past the lookup above.
            Err(DbError::UniqueViolation(_)) => Err(AccountError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    /// The user whose email and password these are. Unknown emails and wrong passwords give
    /// the same error after the same amount of work.
    pub async fn authenticate(&self, email: &str, password: &str) -> Result<User, AccountError> {
        let password = Password::for_login(password)?;
        let row = match Email::parse(email) {
            Ok(email) => {
                let mut conn = self.pool.get().await?;
                db::users::find_by_email(&mut conn, email.as_str()).await?
            }
            Err(_) => None,
        };
        // An account made at a provider has no password (empty hash): it never matches, after
        // the same work as a wrong one.
        let stored_hash = row
            .as_ref()
            .map(|r| r.password_hash.clone())
            .filter(|hash| !hash.is_empty());
        if self.hasher.verify(password, stored_hash).await? {
            if let Some(row) = row {
                return Ok(row.into());
            }
        }
        Err(AccountError::InvalidCredentials)
    }

    /// Whether `password` is the account's password (re-authentication before a change that
    /// matters). An account without a password never matches.
    pub async fn check_password(&self, id: &UserId, password: &str) -> Result<(), AccountError> {
        let password = Password::for_login(password)?;
        let mut conn = self.pool.get().await?;
        let stored = db::users::find_by_id(&mut conn, id)
            .await?
            .map(|row| row.password_hash)
            .filter(|hash| !hash.is_empty());
        drop(conn);
        let real = stored.is_some();
        if self.hasher.verify(password, stored).await? && real {
            Ok(())
        } else {
            Err(AccountError::InvalidCredentials)
        }
    }

    /// The last step of every way of signing in: refuses a disabled account, and notes the
    /// time of the sign-in.
    pub async fn record_sign_in(&self, user: &User) -> Result<(), AccountError> {
        if user.disabled {
            return Err(AccountError::Disabled);
        }
        let mut conn = self.pool.get().await?;
        db::users::set_last_sign_in(&mut conn, &user.id, Utc::now().naive_utc()).await?;
        Ok(())
    }

    /// An account without a password (made by signing in at a provider), as a candidate.
    /// `email_verified`: the provider vouches for the address.
    pub async fn create_without_password(
        &self,
        email: &str,
        display_name: &str,
        email_verified: bool,
    ) -> Result<User, AccountError> {
        let email = Email::parse(email)?;
        let display_name = DisplayName::parse(display_name)?;
        let now = Utc::now().naive_utc();
        let row = UserRow {
            id: UserId::random(),
            email: email.as_str().to_owned(),
            display_name: display_name.as_str().to_owned(),
            password_hash: String::new(),
            role: Role::Candidate,
            session_generation: 0,
            created_at: now,
            updated_at: now,
            leaderboard_opt_in: false,
            email_verified_at: email_verified.then_some(now),
            disabled_at: None,
            last_sign_in_at: None,
        };
        let mut conn = self.pool.get().await?;
        match db::users::insert(&mut conn, &row).await {
            Ok(()) => Ok(row.into()),
            Err(DbError::UniqueViolation(_)) => Err(AccountError::EmailTaken),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn find(&self, id: &UserId) -> Result<Option<User>, AccountError> {
        let mut conn = self.pool.get().await?;
        Ok(db::users::find_by_id(&mut conn, id).await?.map(User::from))
    }

    /// Sets a new password (checked like a new account's) and ends every session of the
    /// account: whoever knew the old one is signed out.
    pub async fn set_password(&self, user: &User, new_password: &str) -> Result<(), AccountError> {
        let password = Self::new_password_for(user, new_password)?;
        let hash = self.hasher.hash(password).await?;
        let mut conn = self.pool.get().await?;
        db::users::set_password_hash(&mut conn, &user.id, &hash).await?;
        db::users::bump_session_generation(&mut conn, &user.id).await?;
        Ok(())
    }

    /// `raw` as a new password of `user`: long enough, not common, not made of their email or
    /// name.
    pub fn new_password_for(user: &User, raw: &str) -> Result<Password, Invalid> {
        let local_part = user.email.split('@').next().unwrap_or_default();
        Password::parse_new(
            raw,
            &[user.email.as_str(), local_part, user.display_name.as_str()],
        )
    }

    /// Notes that the account's owner proved they read its email.
    pub async fn mark_email_verified(&self, id: &UserId) -> Result<(), AccountError> {
        let mut conn = self.pool.get().await?;
        db::users::set_email_verified(&mut conn, id, Utc::now().naive_utc()).await?;
        Ok(())
    }

    pub async fn find_by_email(&self, email: &str) -> Result<Option<User>, AccountError> {
        let Ok(email) = Email::parse(email) else {
            return Ok(None);
        };
        let mut conn = self.pool.get().await?;
        Ok(db::users::find_by_email(&mut conn, email.as_str())
            .await?
            .map(User::from))
    }

    /// Ends every session of the user, on every node and with any session store.
    pub async fn end_all_sessions(&self, id: &UserId) -> Result<(), AccountError> {
        let mut conn = self.pool.get().await?;
        db::users::bump_session_generation(&mut conn, id).await?;
        Ok(())
    }

    /// Creates the user, or changes the role of an existing one (CLI `admin create`).
    pub async fn create_or_promote(
        &self,
        input: Registration<'_>,
    ) -> Result<(User, bool), AccountError> {
        let email = Email::parse(input.email)?;
        let mut conn = self.pool.get().await?;
        if let Some(existing) = db::users::find_by_email(&mut conn, email.as_str()).await? {
            db::users::set_role(&mut conn, &existing.id, input.role).await?;
            let mut user = User::from(existing);
            user.role = input.role;
            return Ok((user, false));
        }
        drop(conn);
        let user = self.register(input).await?;
        // The admin who made the account vouches for its address.
        self.mark_email_verified(&user.id).await?;
        Ok((
            User {
                email_verified: true,
                ..user
            },
            true,
        ))
    }
}
