//! cloop's integration tests: one binary, real servers on 127.0.0.1:0, real SQLite files
//! and a real PostgreSQL server (CLOOP_TEST_POSTGRES_URL).

mod helpers;

mod admin_login;
mod blackboard_3lo;
mod blackboard_fake;
mod browser;
mod cli;
mod cohort_fixture;
mod demo;
mod demo_browser;
mod health;
mod ingest_caliper;
mod ingest_import;
mod ingest_rollups;
mod ingest_support;
mod ingest_xapi;
mod lti_ags;
mod lti_launch;
mod lti_platform;
mod lti_registration;
mod lti_services;
mod lti_services_groups;
mod lti_services_mock;
mod outreach_fixture;
mod security;
mod sessions;
mod store_courses;
mod store_migrations;
mod store_platforms;
mod store_settings;
mod sync;
mod sync_admin;
mod sync_cli;
mod sync_groups;
mod sync_jobs;
mod views;
mod views_cohorts;
mod views_discussions;
mod views_fixture;
mod views_outreach;
mod views_who;
mod views_windows;
