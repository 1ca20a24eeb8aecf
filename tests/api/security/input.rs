//! Input that cannot break a course (issue 16, findings 3, 8 and the CSV and event-time
//! parts of 9; and legal but unusual LTI claims). Each attack and the expected answer:
//!
//! - Settings saved with start 9999-12-31 or 0001-01-01, or 0 or 10^9 weeks: 422 naming
//!   the accepted range; every course page still answers 200 (`dates`).
//! - A course whose stored start is 9999-12-31 (or 0001-01-01) with absurd stored events,
//!   written before these checks: every page, /settings included, answers 200 and staff
//!   can save good dates there (`dates`).
//! - A year-9999 event already stored: "last event received" and the course list's "Last
//!   data update" ignore it (`dates`).
//! - Any date typed into Settings or the events form, any Caliper or xAPI event time: no
//!   course page or CSV answers a 5xx or drops the connection (`property`).
//! - A Caliper or xAPI batch with one event whose stored ids carry NUL (or another control
//!   character): HTTP 200, the good events stored, the bad one rejected with its reason, on
//!   SQLite and PostgreSQL; NUL in a field cloop does not store is harmless (`events`).
//! - An import (accumulator, caliper-jsonl) with control characters in some rows: those
//!   rows refused by line, the others stored (`imports`).
//! - Events dated year 9999, 20 years ago or 2 days ahead: rejected per event (`events`).
//! - CSV cells starting with `=`, `+`, `-`, `@`, tab or CR: written with a leading `'`
//!   (`events`).
//! - A deep-linking request whose `data` is a JSON object: returned unaltered; launches with
//!   unusual but legal claims (float `iat`/`exp`, empty roles, null names, non-string
//!   `custom` values, numeric context id, sized `launch_presentation`) or a NUL in a
//!   name: accepted, the NUL dropped (`claims`).

mod claims;
mod dates;
mod events;
mod imports;
mod property;

use reqwest::StatusCode;

use crate::helpers::TestApp;
use crate::views::{get, with_token};
use crate::views_fixture::Fixture;

/// Every course page and a CSV download of each kind, for the fixture course.
pub fn course_pages(f: &Fixture) -> Vec<String> {
    let c = f.course;
    [
        String::new(),
        "?csv=daily".into(),
        "?week=1".into(),
        "/content".into(),
        "/content?csv=access".into(),
        "/content?tab=events".into(),
        "/communication".into(),
        "/assessment".into(),
        "/assessment?tab=grades".into(),
        "/comparison".into(),
        "/students".into(),
        "/students?csv=students".into(),
        "/outreach".into(),
        "/outreach?csv=drop".into(),
        format!("/students/{}", f.ann),
        format!("/resources/{}", f.r1),
        "/events".into(),
        "/settings".into(),
        "/courses".into(),
        "/courses?csv=courses".into(),
    ]
    .into_iter()
    .map(|p| format!("/courses/{c}{p}"))
    .collect()
}

/// The pages that did not answer as `ok` says, with their status.
pub async fn pages_failing(
    app: &TestApp,
    f: &Fixture,
    ok: impl Fn(StatusCode) -> bool,
) -> Vec<(String, StatusCode)> {
    let token = f.staff_token();
    let mut failing = Vec::new();
    for page in course_pages(f) {
        let (status, _) = get(app, &with_token(&page, &token)).await;
        if !ok(status) {
            failing.push((page, status));
        }
    }
    failing
}

/// Fails the test unless every course page answers 200.
pub async fn assert_all_pages_ok(app: &TestApp, f: &Fixture, after: &str) {
    let failing = pages_failing(app, f, |s| s == StatusCode::OK).await;
    assert!(failing.is_empty(), "after {after}: {failing:?}");
}
