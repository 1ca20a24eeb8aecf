//! The offering comparison over real HTTP, against a recount from the fixture's own views:
//! weeks aligned on each offering's own start, the automatic link by course code, staff
//! choice and its refusals, resources matched across offerings, CSV equal to the table.

use reqwest::StatusCode;

use crate::offerings_fixture::{Offering, Offerings, seed};
use crate::views::{csrf_of, get, page_and_csv_as, with_token};
use crate::{app_on, on_both_backends};

/// The comparison table a recount of the views gives, header and totals included; `items`
/// keeps only the views of one item in each offering.
fn expected(this: &Offering, before: &Offering, items: Option<(i64, i64)>) -> Vec<Vec<String>> {
    let count = |o: &Offering, item: Option<i64>, week: i64| {
        o.views
            .iter()
            .filter(|v| item.is_none_or(|i| v.1 == i) && o.week_of(v.2) == week)
            .count() as i64
    };
    let first_day = |o: &Offering, week: i64| {
        (o.start + jiff::Span::new().days(7 * (week - 1)))
            .strftime("%a %Y-%m-%d")
            .to_string()
    };
    let diff = |a: i64, b: i64| {
        let pct = if b > 0 {
            format!("{:.1}%", 100.0 * (a - b) as f64 / b as f64)
        } else {
            String::new()
        };
        [(a - b).to_string(), pct]
    };
    let mut rows = vec![
        [
            "Teaching week",
            "This offering's week from",
            "This offering",
            "Previous offering's week from",
            "Previous offering",
            "Difference",
            "Difference (%)",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let (mut sum_a, mut sum_b) = (0, 0);
    for week in 1..=this.weeks.max(before.weeks) {
        let side = |o: &Offering, item| {
            (week <= o.weeks).then(|| (first_day(o, week), count(o, item, week)))
        };
        let (a, b) = (
            side(this, items.map(|i| i.0)),
            side(before, items.map(|i| i.1)),
        );
        let mut row = vec![format!("W{week}")];
        for s in [&a, &b] {
            match s {
                Some((day, n)) => row.extend([day.clone(), n.to_string()]),
                None => row.extend([String::new(), String::new()]),
            }
        }
        match (&a, &b) {
            (Some((_, x)), Some((_, y))) => row.extend(diff(*x, *y)),
            _ => row.extend([String::new(), String::new()]),
        }
        sum_a += a.map_or(0, |s| s.1);
        sum_b += b.map_or(0, |s| s.1);
        rows.push(row);
    }
    let mut totals = vec![
        "Total".to_string(),
        String::new(),
        sum_a.to_string(),
        String::new(),
        sum_b.to_string(),
    ];
    totals.extend(diff(sum_a, sum_b));
    rows.push(totals);
    rows
}

async fn dashboard(app: &crate::helpers::TestApp, o: &Offerings) -> (String, Vec<Vec<String>>) {
    let path = format!("/courses/{}", o.current.id);
    page_and_csv_as(app, &o.token(o.current.id), &path, "offerings").await
}

/// Posts the Settings choice with the session `token` whose page gave `csrf`.
async fn choose(
    app: &crate::helpers::TestApp,
    o: &Offerings,
    token: &str,
    csrf: &str,
    previous: &str,
) -> StatusCode {
    let url = app.url(&with_token(
        &format!("/courses/{}/settings/previous", o.current.id),
        token,
    ));
    app.client
        .post(&url)
        .form(&[("csrf", csrf), ("previous", previous)])
        .send()
        .await
        .unwrap()
        .status()
}

on_both_backends! {
    async fn the_dashboard_compares_each_teaching_week_with_the_previous_offering_found_by_course_code(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let (html, rows) = dashboard(&app, &o).await;
        assert_eq!(rows, expected(&o.current, &o.previous, None));
        // Week 1 of the Tuesday offering runs to Monday 10 March, so that Monday counts in W1.
        assert_eq!(rows[1], ["W1", "Mon 2026-03-02", "3", "Tue 2025-03-04", "2", "1", "50.0%"].map(String::from));
        assert_eq!(rows[2][5..], ["-2", "-66.7%"].map(String::from));
        assert_eq!(rows[4], ["W4", "", "", "Tue 2025-03-25", "1", "", ""].map(String::from), "the longer offering's last week");
        assert_eq!(rows[5], ["Total", "", "8", "", "9", "-1", "-11.1%"].map(String::from));
        assert!(html.contains("Ecology 2025") && html.contains("found by its course code ECOL2001"), "the latest earlier offering with the code, on this LMS");
        assert!(!html.contains("Ecology 2024") && !html.contains("Ecology elsewhere"));
        assert!(html.contains("(this offering from Mon 2026-03-02, the previous from Tue 2025-03-04)"));
        assert!(html.contains("aligned on teaching week") && html.contains("shown for all its students"));
        assert!(html.contains("id=\"offerings-chart-title\""), "drawn as a chart too");
    }
}

on_both_backends! {
    async fn staff_choose_the_previous_offering_only_among_courses_they_teach(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let c = o.current.id;
        let token = o.token(c);
        let (status, page) = get(&app, &with_token(&format!("/courses/{c}/settings"), &token)).await;
        assert_eq!(status, StatusCode::OK);
        assert!(page.contains("Automatic, by course code: ECOL2001_2025_S1 · Ecology 2025"));
        assert!(page.contains(&format!("<option value=\"{}\"", o.other_taught)), "a course they teach is offered");
        assert!(!page.contains(&format!("<option value=\"{}\"", o.not_taught)), "a course they don't teach is not");
        assert!(!page.contains(&format!("<option value=\"{c}\"")), "nor this course");
        let csrf = csrf_of(&page);

        assert_eq!(choose(&app, &o, &token, &csrf, &o.other_taught.to_string()).await, StatusCode::SEE_OTHER);
        let (html, rows) = dashboard(&app, &o).await;
        assert!(html.contains("Biology 2025") && html.contains("chosen by staff"), "staff choice wins over the course code");
        assert_eq!(rows[1], ["W1", "Mon 2026-03-02", "3", "Mon 2025-07-28", "0", "3", ""].map(String::from));
        assert_eq!(rows.len(), 5, "three weeks each, header and totals");

        // A forged form naming a course they don't teach, this course itself, or a forged
        // token: all refused, the choice unchanged.
        assert_eq!(choose(&app, &o, &token, &csrf, &o.not_taught.to_string()).await, StatusCode::FORBIDDEN);
        assert_eq!(choose(&app, &o, &token, &csrf, &c.to_string()).await, StatusCode::FORBIDDEN);
        assert_eq!(choose(&app, &o, &token, "Zm9yZ2Vk", "none").await, StatusCode::FORBIDDEN);
        assert_eq!(choose(&app, &o, &token, &csrf, "1; DROP").await, StatusCode::BAD_REQUEST);
        assert!(dashboard(&app, &o).await.0.contains("Biology 2025"));

        assert_eq!(choose(&app, &o, &token, &csrf, "none").await, StatusCode::SEE_OTHER);
        let (status, html) = get(&app, &with_token(&format!("/courses/{c}"), &o.token(c))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("offering-comparison"), "\"none\" is a choice too");
        let (_, page) = get(&app, &with_token(&format!("/courses/{c}/settings"), &o.token(c))).await;
        assert!(page.contains("<option value=\"none\" selected"));

        assert_eq!(choose(&app, &o, &token, &csrf, "auto").await, StatusCode::SEE_OTHER);
        let (html, rows) = dashboard(&app, &o).await;
        assert!(html.contains("found by its course code ECOL2001"));
        assert_eq!(rows, expected(&o.current, &o.previous, None));
    }
}

on_both_backends! {
    async fn a_resource_is_matched_in_the_previous_offering_by_lms_id_else_by_title_path(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let token = o.token(o.current.id);
        let page = |item: i64| format!("/courses/{}/resources/{item}", o.current.id);

        let (html, rows) = page_and_csv_as(&app, &token, &page(o.slides), "offerings").await;
        assert_eq!(rows, expected(&o.current, &o.previous, Some((o.slides, o.previous_slides))));
        assert!(html.contains("found by its LMS content id"), "renamed, but copied with its id");

        let (html, rows) = page_and_csv_as(&app, &token, &page(o.reading), "offerings").await;
        assert_eq!(rows, expected(&o.current, &o.previous, Some((o.reading, o.previous_reading))));
        assert_eq!(rows[1][2..5], ["2", "Tue 2025-03-04", "1"].map(String::from), "the decoy outside Week 1 is not counted");
        assert!(html.contains("by its title in the same folders: “Week 1 / Reading 1”"));

        let (html, rows) = page_and_csv_as(&app, &token, &page(o.new_item), "offerings").await;
        assert!(html.contains("has no resource with this LMS content id"));
        assert_eq!(rows[5], ["Total", "", "1", "", "0", "1", ""].map(String::from));
    }
}

on_both_backends! {
    async fn no_comparison_is_shown_without_a_previous_offering(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        for course in [o.oldest.id, o.other_taught] {
            let token = o.token(course);
            let (status, html) = get(&app, &with_token(&format!("/courses/{course}"), &token)).await;
            assert_eq!(status, StatusCode::OK);
            assert!(!html.contains("offering-comparison") && !html.contains("Compared with the previous offering"), "{course}");
            let (status, _) = get(&app, &with_token(&format!("/courses/{course}?csv=offerings"), &token)).await;
            assert_eq!(status, StatusCode::NOT_FOUND);
        }
        let item = format!("/courses/{}/resources/{}", o.oldest.id, o.oldest.views[0].1);
        let (status, html) = get(&app, &with_token(&item, &o.token(o.oldest.id))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(!html.contains("offering-comparison"));
    }
}

on_both_backends! {
    async fn the_automatic_link_shows_only_an_offering_the_viewer_taught(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let c = o.current.id;
        // The colleague now teaches this offering too; of the earlier ones they taught only
        // the S2 one, and their enrolment there has since ended.
        app.store.enrol(c, o.colleague, &["Instructor"], true, "lti").await.unwrap();
        crate::views_fixture::exec(
            &app.store,
            "UPDATE enrolments SET active = FALSE, is_staff = FALSE WHERE course_id = $1 AND user_id = $2",
            &[crate::views_fixture::V::I(o.not_taught.0), crate::views_fixture::V::I(o.colleague.0)],
        )
        .await;
        let (status, html) = get(&app, &with_token(&format!("/courses/{c}"), &o.token_of(o.colleague, c))).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("Ecology 2025 (S2, not taught)"), "the earlier offering they taught");
        assert!(!html.contains("Ecology 2025<") && !html.contains("ECOL2001_2025_S1"), "not the one only others taught");
        let (html, _) = dashboard(&app, &o).await;
        assert!(html.contains("Ecology 2025") && !html.contains("not taught"), "the teacher of both still sees theirs");

        // Without an offering they taught, the colleague sees no comparison at all.
        crate::views_fixture::exec(
            &app.store,
            "DELETE FROM enrolments WHERE course_id = $1 AND user_id = $2",
            &[crate::views_fixture::V::I(o.not_taught.0), crate::views_fixture::V::I(o.colleague.0)],
        )
        .await;
        let (_, html) = get(&app, &with_token(&format!("/courses/{c}"), &o.token_of(o.colleague, c))).await;
        assert!(!html.contains("offering-comparison"), "no offering of someone else's");
    }
}
