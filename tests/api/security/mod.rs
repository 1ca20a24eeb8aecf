//! Security tests of issue 16: each module lists the attacks it tries and the refusal
//! each must meet, over real HTTP on both databases.

mod ingest_limits;
mod login;
