//! The security review's attacks, one module per area, each listing the attacks it makes
//! and the refusal it expects (issue 16). All run on both databases over real HTTP.

mod forms;
mod imports;
mod ingest_limits;
mod input;
mod login;
mod logs;
mod outbound;
mod sessions;
