//! Activity: what students did in a course (events pushed by Caliper and xAPI, or
//! imported), the rollups every chart reads, and the one interface that stores them.
//!
//! The domain types and the rollup arithmetic are pure ([`event`], [`clock`], [`rollup`],
//! [`hours`], [`item_views`]); [`ActivityStore`](store::ActivityStore) is what each engine
//! implements ([`sqlite`], [`postgres`]); every recording goes through the group-commit
//! [`queue`]. `docs/activity.md` says how and why each engine stores events as it does.

pub mod clock;
pub mod event;
pub mod hours;
pub mod item_views;
pub(crate) mod pack;
pub mod postgres;
pub mod queue;
pub mod rollup;
pub mod sealed_days;
pub mod sqlite;
pub mod store;
pub mod student_list;
mod upserts;

pub use clock::{Bucketing, CourseClock, Day};
pub use event::{ActivityCursor, ActivityKind, ActivitySource, NewActivity, StoredActivity};
pub use pack::PackError;
pub use queue::{CourseBatch, DEFAULT_QUEUE_EVENTS, QueueRoom};
