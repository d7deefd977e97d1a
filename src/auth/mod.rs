//! Who is calling and what they may do: accounts, password hashing, signing in at OpenID
//! Connect providers, login sessions and rate limits. (The request guards and the cross-site check are HTTP: `crate::http`.)

pub mod account_data;
pub mod accounts;
pub mod api_keys;
pub mod client_ip;
pub mod codes;
pub mod email_codes;
pub mod hashing;
pub mod login;
pub mod login_watch;
pub mod oidc;
pub mod rate_limit;
pub mod session_store;
pub mod user_admin;

pub use accounts::{Accounts, User};
pub use api_keys::ApiKeys;
pub use email_codes::EmailCodes;
pub use login_watch::{LoginWatch, Logins};
