//! The property: no date typed into Settings or the events form, and no event time pushed
//! over Caliper or xAPI, makes any course page or CSV answer a 5xx (or drop the
//! connection). One server per backend serves every case.

use cloop::store::ingest::IngestKeyKind;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestRunner};

use super::events::{caliper_view, post_caliper, post_xapi, xapi_view};
use super::pages_failing;
use crate::ingest_support::key;
use crate::views::{csrf_of, get, with_token};
use crate::views_fixture::seed;
use crate::{app_on, on_both_backends};

const CASES: u32 = 16;

/// One thing staff or an LMS could send.
#[derive(Clone, Debug)]
enum Input {
    Settings {
        start: String,
        weeks: String,
    },
    Single {
        at: String,
    },
    Submission {
        opens: String,
        due: String,
    },
    Repeating {
        time: String,
        first: String,
        last: String,
    },
    Caliper {
        time: String,
    },
    Xapi {
        time: String,
    },
}

/// Years around every edge: jiff's, the accepted range's, i16's and far beyond.
fn year() -> impl Strategy<Value = i64> {
    prop_oneof![
        prop::sample::select(vec![
            -9999, 0, 1, 1969, 1970, 2026, 2100, 2101, 9999, 10000, 32768
        ]),
        -100_000i64..100_000,
    ]
}

fn date() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (year(), 0u8..14, 0u8..33).prop_map(|(y, m, d)| format!("{y:04}-{m:02}-{d:02}")),
        1 => "\\PC{0,12}",
    ]
}

fn datetime() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (date(), 0u8..26, 0u8..62).prop_map(|(d, h, m)| format!("{d}T{h:02}:{m:02}")),
        1 => "\\PC{0,20}",
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        (-5i64..110).prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        "\\PC{0,6}",
    ]
}

fn instant() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (date(), 0u8..25, 0u8..61).prop_map(|(d, h, m)| format!("{d}T{h:02}:{m:02}:00Z")),
        1 => "\\PC{0,24}",
    ]
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        (date(), number()).prop_map(|(start, weeks)| Input::Settings { start, weeks }),
        datetime().prop_map(|at| Input::Single { at }),
        (datetime(), datetime()).prop_map(|(opens, due)| Input::Submission { opens, due }),
        (datetime(), number(), number()).prop_map(|(time, first, last)| Input::Repeating {
            time,
            first,
            last
        }),
        instant().prop_map(|time| Input::Caliper { time }),
        instant().prop_map(|time| Input::Xapi { time }),
    ]
}

on_both_backends! {
    async fn no_date_or_event_time_makes_a_course_page_fail(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;
        let platform = app.store.course(c).await.unwrap().platform_id;
        app.store.set_course_lms_refs(c, Some("77"), None).await.unwrap();
        let caliper = key(&app.store, platform, IngestKeyKind::Caliper).await;
        let xapi = key(&app.store, platform, IngestKeyKind::Xapi).await;
        let token = f.staff_token();
        let (_, page) = get(&app, &with_token(&format!("/courses/{c}/settings"), &token)).await;
        let csrf = csrf_of(&page);
        let settings = app.url(&with_token(&format!("/courses/{c}/settings"), &token));
        let events = app.url(&with_token(&format!("/courses/{c}/events"), &token));

        let mut runner = TestRunner::new(Config::with_cases(CASES));
        let strategy = input();
        for case in 0..CASES {
            let input = strategy.new_tree(&mut runner).unwrap().current();
            let form: Vec<(&str, String)> = match &input {
                Input::Settings { start, weeks } => vec![("start_date", start.clone()), ("weeks", weeks.clone()), ("time_zone", "Pacific/Kiritimati".into())],
                Input::Single { at } => vec![("kind", "single".into()), ("title", "T".into()), ("at", at.clone())],
                Input::Submission { opens, due } => vec![("kind", "submission".into()), ("title", "S".into()), ("opens", opens.clone()), ("due", due.clone()), ("submission_type", "quiz".into())],
                Input::Repeating { time, first, last } => vec![("kind", "repeating".into()), ("title", "R".into()), ("weekday", "6".into()), ("time", time.clone()), ("first_week", first.clone()), ("last_week", last.clone())],
                Input::Caliper { time } => {
                    post_caliper(&app, &caliper, vec![caliper_view(&format!("p{case}"), "77", "_9_1", time)]).await;
                    Vec::new()
                }
                Input::Xapi { time } => {
                    post_xapi(&app, &xapi, vec![xapi_view(&format!("x{case}"), "77", "zed", time)]).await;
                    Vec::new()
                }
            };
            if !form.is_empty() {
                let url = if matches!(input, Input::Settings { .. }) { &settings } else { &events };
                let mut form = form;
                form.push(("csrf", csrf.clone()));
                let status = app.client.post(url).form(&form).send().await.unwrap().status();
                assert!(status.is_success() || status.is_redirection() || status.is_client_error(), "{input:?}: {status}");
            }
            let failing = pages_failing(&app, &f, |s| !s.is_server_error()).await;
            assert!(failing.is_empty(), "after {input:?}: {failing:?}");
        }
    }
}
