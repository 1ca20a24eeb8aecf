//! The instructor views: each page's numbers for a small known course, access control,
//! CSV downloads equal to the tables, CSRF and event validation.

use reqwest::StatusCode;

use crate::views_fixture::{Fixture, local_ms, seed};
use crate::{app_on, on_both_backends};

/// The text of each row's cells of the HTML table `table-{id}` (header, body, totals).
pub fn html_table(html: &str, id: &str) -> Vec<Vec<String>> {
    let start = html
        .find(&format!("<table id=\"table-{id}\""))
        .unwrap_or_else(|| panic!("table {id} on the page"));
    let end = start + html[start..].find("</table>").unwrap();
    let table = &html[start..end];
    let mut rows = Vec::new();
    for tr in table.split("<tr").skip(1) {
        let mut cells = Vec::new();
        let mut rest = tr;
        while let Some(open) = rest.find(['<']) {
            let tag = &rest[open..];
            if tag.starts_with("<th") || tag.starts_with("<td") {
                let body_start = open + tag.find('>').unwrap() + 1;
                let close = rest[body_start..]
                    .find(if tag.starts_with("<th") {
                        "</th>"
                    } else {
                        "</td>"
                    })
                    .unwrap();
                cells.push(text_of(&rest[body_start..body_start + close]));
                rest = &rest[body_start + close + 5..];
            } else {
                rest = &rest[open + 1..];
            }
        }
        rows.push(cells);
    }
    rows
}

fn text_of(fragment: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    let mut skip_button = false;
    let mut i = 0;
    while i < fragment.len() {
        let rest = &fragment[i..];
        if rest.starts_with("<button") {
            skip_button = true;
        }
        if rest.starts_with("</button>") {
            skip_button = false;
        }
        let c = rest.chars().next().unwrap();
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            _ if !in_tag && !skip_button => out.push(c),
            _ => {}
        }
        i += c.len_utf8();
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
        .trim()
        .to_string()
}

/// CSV rows (the test data holds no quoted fields).
pub fn csv_rows(csv: &str) -> Vec<Vec<String>> {
    csv.lines()
        .map(|l| {
            l.split(',')
                .map(|c| c.trim_matches('"').replace("\"\"", "\""))
                .collect()
        })
        .collect()
}

pub async fn get(app: &crate::helpers::TestApp, path: &str) -> (StatusCode, String) {
    let res = app.client.get(app.url(path)).send().await.unwrap();
    (res.status(), res.text().await.unwrap())
}

pub fn with_token(path: &str, token: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}s={token}")
}

/// The page, and the CSV of one of its tables, which must hold the same rows.
pub async fn page_and_csv(
    app: &crate::helpers::TestApp,
    f: &Fixture,
    path: &str,
    table: &str,
) -> (String, Vec<Vec<String>>) {
    page_and_csv_as(app, &f.staff_token(), path, table).await
}

/// [`page_and_csv`] for the session `token`.
pub async fn page_and_csv_as(
    app: &crate::helpers::TestApp,
    token: &str,
    path: &str,
    table: &str,
) -> (String, Vec<Vec<String>>) {
    let (status, html) = get(app, &with_token(path, token)).await;
    assert_eq!(status, StatusCode::OK, "{path}: {html}");
    let rows = html_table(&html, table);
    let csv_path = with_token(
        &format!(
            "{path}{}csv={table}",
            if path.contains('?') { '&' } else { '?' }
        ),
        token,
    );
    let res = app.client.get(app.url(&csv_path)).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let csv = csv_rows(&res.text().await.unwrap());
    assert_eq!(
        csv, rows,
        "the CSV of {table} on {path} equals its HTML table"
    );
    (html, rows)
}

pub fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("row {first:?} in {rows:?}"))
}

on_both_backends! {
    async fn every_page_shows_the_expected_numbers(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;

        // Dashboard: Mon 2 March has Ann's two views of Reading 1 and Bob's late view
        // (23:30 Melbourne, still 2 March locally); one resource; two active students in
        // two sessions (Ann's two views are 10 minutes apart).
        let (html, daily) = page_and_csv(&app, &f, &format!("/courses/{c}"), "daily").await;
        assert_eq!(daily[0][0], "Date");
        assert_eq!(row(&daily, "Mon 2026-03-02")[1..8], ["3", "0", "0", "1", "2", "2", "5.0"].map(String::from));
        assert_eq!(row(&daily, "Mon 2026-03-09")[1..3], ["0", "1"].map(String::from));
        assert_eq!(row(&daily, "Tue 2026-03-10")[3], "1");
        assert!(html.contains("<svg") && html.contains("role=\"img\""));
        assert!(html.contains("class=\"ev-repeating\"") && html.contains("Lecture — Wed 2026-03-04 10:00"));
        assert!(html.contains("Census date"));
        assert!(html.contains("Intro &lt;b&gt;Stats&lt;/b&gt; &amp; more"), "course titles are escaped");
        assert!(!html.contains("<script>alert"), "names are escaped");
        assert!(html.contains("last event received"));
        let (_, top) = page_and_csv(&app, &f, &format!("/courses/{c}"), "top-content").await;
        assert_eq!(row(&top, "Reading 1")[1..], ["2", "3"].map(String::from));
        // A part of the course: unique students are counted from that part's student-days.
        let (_, top) = page_and_csv(&app, &f, &format!("/courses/{c}?week=1"), "top-content").await;
        assert_eq!(row(&top, "Reading 1")[1..], ["2", "3"].map(String::from));
        assert_eq!(row(&top, "Slides")[1..], ["1", "1"].map(String::from));
        let (_, talk) = page_and_csv(&app, &f, &format!("/courses/{c}?week=2"), "top-communication").await;
        assert_eq!(row(&talk, "Discussion")[1..3], ["1", "1"].map(String::from));
        assert!(!talk.iter().any(|r| r[0] == "Reading 1"));
        let (_, hist) = page_and_csv(&app, &f, &format!("/courses/{c}"), "histogram").await;
        assert_eq!(row(&hist, "0")[1], "1", "Cat viewed nothing");
        let (_, assess) = page_and_csv(&app, &f, &format!("/courses/{c}"), "top-assessment").await;
        assert_eq!(row(&assess, "Quiz 1")[1..], ["1", "1", "7.0"].map(String::from));
        let (_, visitors) = page_and_csv(&app, &f, &format!("/courses/{c}"), "visitors").await;
        assert_eq!(visitors[1][3], "4", "Ann is the top visitor with 4 views");

        // Content access: the folder sums its two resources.
        let (html, access) = page_and_csv(&app, &f, &format!("/courses/{c}/content"), "access").await;
        assert_eq!(access[0], ["Resource", "W1", "W2", "Total", "% of total"].map(String::from));
        assert_eq!(row(&access, "Week 1")[1..], ["4", "0", "4", "100.0%"].map(String::from));
        assert_eq!(row(&access, "Reading 1")[1..], ["3", "0", "3", "75.0%"].map(String::from));
        assert_eq!(row(&access, "Total")[1..], ["4", "0", "4", "100.0%"].map(String::from));
        assert!(html.contains("data-parent="), "tree rows know their folder");
        let (_, students) = page_and_csv(&app, &f, &format!("/courses/{c}/content?tab=students"), "access").await;
        assert_eq!(row(&students, "Reading 1")[1..4], ["2", "0", "2"].map(String::from));
        let (_, week) = page_and_csv(&app, &f, &format!("/courses/{c}/content?week=1"), "access").await;
        assert_eq!(week[0][1], "Mon 2026-03-02");
        assert_eq!(row(&week, "Slides")[2], "1", "Slides was opened on Tuesday");

        let (_, posts) = page_and_csv(&app, &f, &format!("/courses/{c}/communication?tab=posts"), "access").await;
        assert_eq!(row(&posts, "Discussion")[1..4], ["0", "1", "1"].map(String::from));
        let (_, attempts) = page_and_csv(&app, &f, &format!("/courses/{c}/assessment"), "access").await;
        assert_eq!(row(&attempts, "Quiz 1")[1..4], ["0", "1", "1"].map(String::from));
        let (_, grades) = page_and_csv(&app, &f, &format!("/courses/{c}/assessment?tab=grades"), "grades").await;
        assert_eq!(row(&grades, "Bob")[2], "7.0");

        // Content events tab and event comparison: the Wednesday lecture, 2 days either side.
        let (_, split) = page_and_csv(&app, &f, &format!("/courses/{c}/content?tab=events"), "event-split").await;
        assert_eq!(row(&split, "Week 1")[1..3], ["4", "0"].map(String::from));
        let (_, cmp) = page_and_csv(&app, &f, &format!("/courses/{c}/comparison"), "comparison").await;
        assert_eq!(row(&cmp, "Week 1 (Wed 2026-03-04)")[1..3], ["4", "0"].map(String::from));
        assert_eq!(row(&cmp, "Week 2 (Wed 2026-03-11)")[1..3], ["2", "0"].map(String::from));

        // Students: Ann 4 of the 6 views.
        let (_, st) = page_and_csv(&app, &f, &format!("/courses/{c}/students"), "students").await;
        assert_eq!(row(&st, "Ann <script>alert(1)</script>")[2..], ["3", "1", "4", "66.7%"].map(String::from));
        assert_eq!(row(&st, "Cat")[4], "0");
        let (_, st_split) = page_and_csv(&app, &f, &format!("/courses/{c}/students?tab=events"), "event-split").await;
        assert_eq!(row(&st_split, "Bob")[2..4], ["2", "0"].map(String::from));

        let (_, forums) = page_and_csv(&app, &f, &format!("/courses/{c}/students/{}", f.ann), "forums").await;
        assert_eq!(row(&forums, "Discussion")[1..], ["1", "1"].map(String::from));
        let (_, sa) = page_and_csv(&app, &f, &format!("/courses/{c}/students/{}", f.bob), "assessments").await;
        assert_eq!(row(&sa, "Quiz 1")[1..], ["1", "1", "7.0"].map(String::from));

        let (_, not_opened) = page_and_csv(&app, &f, &format!("/courses/{c}/resources/{}", f.r1), "not-opened").await;
        assert_eq!(not_opened[1..], [vec!["Cat".to_string(), "c".to_string()]]);
        let (_, rh) = page_and_csv(&app, &f, &format!("/courses/{c}/resources/{}", f.r1), "histogram").await;
        assert_eq!([&row(&rh, "0")[1], &row(&rh, "1")[1], &row(&rh, "2")[1]], ["1", "1", "1"]);

        let (_, courses) = page_and_csv(&app, &f, &format!("/courses/{c}/courses"), "courses").await;
        assert_eq!(courses[1][..2], ["STAT101", "Intro <b>Stats</b> & more"].map(String::from));
        let (status, events) = get(&app, &with_token(&format!("/courses/{c}/events"), &f.staff_token())).await;
        assert_eq!(status, StatusCode::OK);
        assert!(events.contains("Wednesday 10:00, weeks 1–2") && events.contains("calendar"));
        for path in ["/settings", "/help"] {
            let (status, _) = get(&app, &with_token(&format!("/courses/{c}{path}"), &f.staff_token())).await;
            assert_eq!(status, StatusCode::OK, "{path}");
        }
    }
}

on_both_backends! {
    async fn learners_and_staff_of_other_courses_get_403(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;
        let learner = f.token(f.ann, c, false);
        let stranger = f.token(f.other_staff, f.other_course, true);
        let pages = [
            format!("/courses/{c}"),
            format!("/courses/{c}/courses"),
            format!("/courses/{c}/content"),
            format!("/courses/{c}/communication"),
            format!("/courses/{c}/assessment?tab=grades"),
            format!("/courses/{c}/comparison"),
            format!("/courses/{c}/students"),
            format!("/courses/{c}/outreach"),
            format!("/courses/{c}/outreach?csv=inactive"),
            format!("/courses/{c}/students/{}", f.bob),
            format!("/courses/{c}/resources/{}", f.r1),
            format!("/courses/{c}/events"),
            format!("/courses/{c}/settings"),
            format!("/courses/{c}?csv=daily"),
        ];
        for path in &pages {
            for token in [&learner, &stranger] {
                let (status, body) = get(&app, &with_token(path, token)).await;
                assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
                assert!(!body.contains("Reading 1") && !body.contains("Bob"), "{path} leaks course data");
            }
        }
        let (_, body) = get(&app, &with_token(&format!("/courses/{c}"), &learner)).await;
        assert!(body.contains("cloop is for course staff"));
        let (status, _) = get(&app, &format!("/courses/{c}")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}

pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    html[at..at + html[at..].find('"').unwrap()].to_string()
}

on_both_backends! {
    async fn event_forms_need_csrf_and_valid_dates(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;
        let token = f.staff_token();
        let url = app.url(&with_token(&format!("/courses/{c}/events"), &token));
        let (_, page) = get(&app, &with_token(&format!("/courses/{c}/events"), &token)).await;
        let csrf = csrf_of(&page);

        let quiz = [("kind", "submission"), ("title", "Quiz 2"), ("opens", "2026-03-09T09:00"), ("due", "2026-03-12T17:00"), ("submission_type", "quiz")];
        let forged: Vec<(&str, &str)> = quiz.iter().copied().chain([("csrf", "Zm9yZ2Vk")]).collect();
        let res = app.client.post(&url).form(&forged).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::FORBIDDEN);
        let missing = app.client.post(&url).form(&quiz).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::FORBIDDEN);
        let other_csrf = cloop::web::views::csrf_token(&f.session(f.bob, c, true), &f.secret);
        let wrong: Vec<(&str, &str)> = quiz.iter().copied().chain([("csrf", other_csrf.as_str())]).collect();
        assert_eq!(app.client.post(&url).form(&wrong).send().await.unwrap().status(), StatusCode::FORBIDDEN);

        let late = [("kind", "single"), ("title", "Exam"), ("at", "2026-06-01T09:00"), ("csrf", &csrf)];
        let res = app.client.post(&url).form(&late).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let body = res.text().await.unwrap();
        assert!(body.contains("is outside the course dates: 2026-03-02 to 2026-03-15"), "{body}");
        let bad_weeks = [("kind", "repeating"), ("title", "Tute"), ("weekday", "4"), ("time", "14:00"), ("first_week", "2"), ("last_week", "3"), ("csrf", &csrf)];
        let body = app.client.post(&url).form(&bad_weeks).send().await.unwrap().text().await.unwrap();
        assert!(body.contains("The last week must be a number from 1 to 2"));

        let good: Vec<(&str, &str)> = quiz.iter().copied().chain([("csrf", csrf.as_str())]).collect();
        let res = app.client.post(&url).form(&good).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let events = app.store.course_events(c).await.unwrap();
        let created = events.iter().find(|e| e.title == "Quiz 2").expect("created");
        assert_eq!(created.starts_at.map(|t| t.0), Some(local_ms(2026, 3, 9, 9, 0)));
        assert_eq!(created.submission_type.as_deref(), Some("quiz"));

        // The calendar event is hidden from charts, then edited, then deleted.
        let census = events.iter().find(|e| e.title == "Census date").unwrap().id;
        let hide = app.url(&with_token(&format!("/courses/{c}/events/{census}/hidden"), &token));
        let res = app.client.post(&hide).form(&[("csrf", csrf.as_str()), ("hidden", "true")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        let (_, dash) = get(&app, &with_token(&format!("/courses/{c}"), &token)).await;
        assert!(!dash.contains("Census date"), "hidden events are not drawn");
        let edit = app.url(&with_token(&format!("/courses/{c}/events/{census}"), &token));
        let res = app.client.post(&edit).form(&[("csrf", csrf.as_str()), ("kind", "single"), ("title", "Census (moved)"), ("at", "2026-03-14T09:00")]).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER);
        assert_eq!(app.store.course_event(c, census).await.unwrap().title, "Census (moved)");
        let del = app.url(&with_token(&format!("/courses/{c}/events/{census}/delete"), &token));
        assert_eq!(app.client.post(&del).form(&[("csrf", "x")]).send().await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(app.client.post(&del).form(&[("csrf", csrf.as_str())]).send().await.unwrap().status(), StatusCode::SEE_OTHER);
        assert!(app.store.course_event(c, census).await.is_err());
    }
}

on_both_backends! {
    async fn settings_change_the_course_calendar(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;
        let token = f.staff_token();
        let (_, page) = get(&app, &with_token(&format!("/courses/{c}/settings"), &token)).await;
        let csrf = csrf_of(&page);
        let url = app.url(&with_token(&format!("/courses/{c}/settings"), &token));
        let bad = [("csrf", csrf.as_str()), ("start_date", "2026-02-23"), ("weeks", "13"), ("time_zone", "Mars/Base")];
        let res = app.client.post(&url).form(&bad).send().await.unwrap();
        assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(res.text().await.unwrap().contains("is not a time zone cloop knows"));
        let forged = [("csrf", "nope"), ("start_date", "2026-02-23"), ("weeks", "13"), ("time_zone", "UTC")];
        assert_eq!(app.client.post(&url).form(&forged).send().await.unwrap().status(), StatusCode::FORBIDDEN);
        let good = [("csrf", csrf.as_str()), ("start_date", "2026-02-23"), ("weeks", "13"), ("time_zone", "Europe/London")];
        assert_eq!(app.client.post(&url).form(&good).send().await.unwrap().status(), StatusCode::SEE_OTHER);
        let course = app.store.course(c).await.unwrap();
        assert_eq!((course.start_date.unwrap().to_string().as_str(), course.weeks, course.time_zone.as_str()), ("2026-02-23", 13, "Europe/London"));
    }
}
