//! Course dates from Settings and from the database: refused out of range with a message,
//! and tolerated when already stored.

use cloop::ingest::{ActivityKind, ActivitySource, NewActivity};
use cloop::store::EpochMs;
use reqwest::StatusCode;

use super::assert_all_pages_ok;
use crate::views::{csrf_of, get, with_token};
use crate::views_fixture::{V, exec, seed};
use crate::{app_on, on_both_backends};

on_both_backends! {
    async fn settings_refuse_dates_and_weeks_out_of_range(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;
        let token = f.staff_token();
        let (_, page) = get(&app, &with_token(&format!("/courses/{c}/settings"), &token)).await;
        let csrf = csrf_of(&page);
        let url = app.url(&with_token(&format!("/courses/{c}/settings"), &token));
        let cases = [
            ("9999-12-31", "12", "9999-12-31 is outside the dates cloop accepts (1970-01-01 to 2100-12-31)"),
            ("0001-01-01", "12", "0001-01-01 is outside the dates cloop accepts"),
            ("2026-03-02", "0", "must be a whole number from 1 to 104, not \"0\""),
            ("2026-03-02", "1000000000", "must be a whole number from 1 to 104, not \"1000000000\""),
            ("2026-13-45", "12", "is not a date; use YYYY-MM-DD"),
        ];
        for (start, weeks, says) in cases {
            let form = [("csrf", csrf.as_str()), ("start_date", start), ("weeks", weeks), ("time_zone", "Australia/Melbourne")];
            let res = app.client.post(&url).form(&form).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY, "{start} {weeks}");
            let body = res.text().await.unwrap();
            assert!(body.contains(&says.replace('"', "&quot;")), "{start} {weeks}: {body}");
            assert_all_pages_ok(&app, &f, &format!("start {start}, {weeks} weeks")).await;
        }
        let course = app.store.course(c).await.unwrap();
        assert_eq!((course.start_date.unwrap().to_string().as_str(), course.weeks), ("2026-03-02", 2));
    }
}

on_both_backends! {
    async fn a_bad_calendar_already_stored_still_renders_every_page(backend: Backend) {
        use V::*;
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course.0;
        // As the old Settings form or a sync could store them, straight into the database
        // (its CHECK keeps weeks within 1..=104).
        exec(&app.store, "UPDATE courses SET start_date = '9999-12-31', weeks = 104 WHERE id = $1", &[I(c)]).await;
        exec(&app.store, "INSERT INTO course_events (course_id, kind, title, weekday, minute_of_day, first_week, last_week, created_at, updated_at) VALUES ($1, 'repeating', 'Forever', 6, 1439, -1000000, 1000000000000, 0, 0)", &[I(c)]).await;
        exec(&app.store, "INSERT INTO course_events (course_id, kind, title, starts_at, ends_at, submission_type, created_at, updated_at) VALUES ($1, 'submission', 'Far', $2, $3, 'quiz', 0, 0)", &[I(c), I(-62_135_596_800_000), I(253_402_300_799_999)]).await;
        assert_all_pages_ok(&app, &f, "a start of 9999-12-31 stored").await;

        exec(&app.store, "UPDATE courses SET start_date = '0001-01-01', weeks = 1 WHERE id = $1", &[I(c)]).await;
        assert_all_pages_ok(&app, &f, "a start of 0001-01-01 stored").await;

        // Settings shows what is stored, and staff fix it there.
        let token = f.staff_token();
        let (status, page) = get(&app, &with_token(&format!("/courses/{c}/settings"), &token)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("value=\"0001-01-01\""), "{page}");
        assert!(page.contains("The stored start date 0001-01-01 is outside the dates cloop accepts"), "{page}");
        let url = app.url(&with_token(&format!("/courses/{c}/settings"), &token));
        let form = [("csrf", csrf_of(&page)), ("start_date", "2026-03-02".into()), ("weeks", "12".into()), ("time_zone", "UTC".into())];
        let res = app.client.post(&url).form(&form).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_all_pages_ok(&app, &f, "the dates were fixed").await;
    }
}

on_both_backends! {
    async fn an_event_stored_in_year_9999_is_not_the_last_data_update(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let far = NewActivity {
            user: Some(f.ann),
            content_item: None,
            kind: ActivityKind::View,
            occurred_at: EpochMs(253_402_200_000_000),
            source: ActivitySource::Caliper,
            idempotency_key: "caliper:far-future".into(),
            session_ref: None,
        };
        cloop::ingest::record(&app.store, f.course, vec![far], cloop::ingest::DEFAULT_SESSION_GAP).await.unwrap();
        let latest = app.store.latest_activity(f.course).await.unwrap();
        assert!(latest.is_some_and(|t| t.0 < 1_800_000_000_000), "{latest:?}");
        let token = f.staff_token();
        let c = f.course;
        for page in [format!("/courses/{c}"), format!("/courses/{c}/courses")] {
            let (status, html) = get(&app, &with_token(&page, &token)).await;
            assert_eq!(status, StatusCode::OK);
            assert!(!html.contains("9999-"), "{page} shows the year-9999 event: {html}");
        }
        super::assert_all_pages_ok(&app, &f, "a year-9999 event was stored").await;
    }
}
