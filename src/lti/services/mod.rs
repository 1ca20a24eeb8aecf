//! LTI Advantage services cloop calls with its own OAuth token: the roster (NRPS) with the
//! names of its groups (Course Groups) and the gradebook (AGS), each run's outcome kept per
//! course as a data-source status for staff.

pub mod ags;
mod container;
mod groups;
pub mod nrps;
pub mod status;
pub mod token;

pub use container::ServiceError;
pub use status::{DataSourceStatus, status};
pub use token::{AccessTokens, TokenError};
