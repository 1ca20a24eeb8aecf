//! Support for the tests that is not a test: fixtures and fakes of what cloop runs beside
//! (so far a PostgreSQL cluster of a test's own).

pub mod postgres_cluster;
