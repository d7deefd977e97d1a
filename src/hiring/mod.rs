//! The hiring side: recruiters' jobs, candidates invited by a link (no account needed), their
//! resumes, the emails sent about them, and the activity a job's live page follows.

pub mod activity;
pub mod candidates;
pub mod email;
pub mod invites;
pub mod jobs;
pub mod resume;

use crate::auth::User;
use crate::db::DbError;
use crate::domain::{Invalid, Role};
use crate::interview::interviews::InterviewError;

pub use activity::{Activity, ActivityFeed};
pub use email::Mailer;
pub use invites::InviteError;
pub use resume::ResumeError;

#[derive(Debug, thiserror::Error)]
pub enum HiringError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the job is closed; reopen it to invite candidates")]
    JobClosed,
    #[error(transparent)]
    Invite(#[from] InviteError),
    #[error(transparent)]
    Resume(#[from] ResumeError),
    #[error("cannot store the file: {0}")]
    Storage(#[from] std::io::Error),
    #[error(transparent)]
    Interview(#[from] InterviewError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Whether `user` may manage something `owner_id` owns: its owner, or an admin.
pub fn may_manage(user: &User, owner_id: &str) -> bool {
    user.id == owner_id || user.role == Role::Admin
}
