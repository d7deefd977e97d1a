//! Who is calling and what they may do: accounts, password hashing, login sessions, the
//! cross-site request check and rate limits.

pub mod accounts;
pub mod client_ip;
pub mod current_user;
pub mod hashing;
pub mod login_watch;
pub mod origin_check;
pub mod rate_limit;
pub mod session_store;

pub use accounts::{Accounts, User};
pub use current_user::{Admin, CurrentUser, Recruiter};
pub use login_watch::{LoginWatch, Logins};
