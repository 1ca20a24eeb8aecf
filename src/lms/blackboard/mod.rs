//! The Blackboard Learn REST client (two-legged OAuth, or a user's three-legged grant;
//! paging, rate limits, retries) and the course sync built on it.

mod client;
mod groups;
mod model;
mod setup;
pub mod sync;
pub mod user_auth;

pub use client::{BbError, ClientOptions, LearnClient};
pub use setup::set_rest_credentials;
pub use sync::{SyncError, SyncProgress, rest_course_id, sync_course};
