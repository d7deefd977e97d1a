//! The hiring side: recruiters' jobs, candidates invited by a link (no account needed), their
//! resumes, the emails sent about them, and the activity a job's live page follows.

pub mod candidates;
pub mod email;
pub mod invites;
pub mod jobs;

use crate::auth::User;
use crate::db::DbError;
use crate::domain::{Invalid, Role, UserId};
use crate::interview::interviews::InterviewError;

pub use invites::InviteError;

#[derive(Debug, thiserror::Error)]
pub enum HiringError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("the job is closed; reopen it to invite candidates")]
    JobClosed,
    #[error(transparent)]
    Invite(#[from] InviteError),
    #[error(transparent)]
    Resume(#[from] crate::resume::ResumeError),
    #[error("cannot store the file: {0}")]
    Storage(#[from] std::io::Error),
    #[error("the job's uploaded files would take more than its quota of {limit_bytes} bytes; remove candidates' files or raise upload_quota_per_job_mb")]
    UploadQuota { limit_bytes: u64 },
    #[error("too many uploads for this interview; try again later")]
    UploadRate(std::time::Duration),
    #[error(transparent)]
    Reader(#[from] crate::resume::reader::ReaderError),
    #[error(transparent)]
    Interview(#[from] InterviewError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Whether `user` may manage something `owner_id` owns: its owner, or an admin.
pub fn may_manage(user: &User, owner_id: &UserId) -> bool {
    user.id == *owner_id || user.role == Role::Admin
}
