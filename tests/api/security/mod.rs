//! Security tests of issue 16: each module lists the attacks it replays and the refusal
//! cloop must answer with.

mod sessions;
