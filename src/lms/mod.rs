//! Pulling course data from an LMS's own REST API (Blackboard Learn first), incrementally
//! and within its rate limits; everything is written through `store`.

pub mod blackboard;
