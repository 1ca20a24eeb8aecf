//! Security tests of issue 16: each module lists the attacks it covers and the refusal
//! each must meet.

mod imports;
mod outbound;
