//! The security tests of issue 16: each module lists the attacks it covers and the refusal
//! expected of each.

mod input;
