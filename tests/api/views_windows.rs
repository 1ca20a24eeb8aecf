//! Event windows in hours on the event comparison: views placed exactly on the window
//! edges, per occurrence, resource and student, and who first opened an assessment late.

use crate::views::page_and_csv;
use crate::views_fixture::{V, exec, insert_views, local_ms, seed};
use crate::{app_on, on_both_backends};

const HOUR: i64 = 3_600_000;
const MINUTE: i64 = 60_000;

/// Views of `views` by students on each side of `t`: [t − before, t) and [t, t + after).
fn recount(
    views: &[(i64, i64, i64)],
    students: &[i64],
    t: i64,
    before: i64,
    after: i64,
) -> [i64; 2] {
    let mut split = [0, 0];
    for &(_, _, at) in views.iter().filter(|v| students.contains(&v.0)) {
        if at >= t - before && at < t {
            split[0] += 1;
        } else if at >= t && at < t + after {
            split[1] += 1;
        }
    }
    split
}

fn cells(split: [i64; 2]) -> [String; 2] {
    split.map(|n| n.to_string())
}

fn row<'a>(rows: &'a [Vec<String>], first: &str) -> &'a [String] {
    rows.iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("row {first:?} in {rows:?}"))
}

on_both_backends! {
    async fn views_on_the_edges_of_hour_windows_count_on_the_right_side(backend: Backend) {
        use V::*;
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course.0;
        let id_of = |lms: &'static str| {
            let store = &app.store;
            async move { exec(store, "SELECT id FROM content_items WHERE course_id = $1 AND lms_id = $2", &[I(c), T(lms)]).await }
        };
        let (r1, r2, forum, quiz) = (id_of("r1").await, id_of("r2").await, id_of("d").await, id_of("q").await);
        let cat = exec(&app.store, "SELECT id FROM users WHERE lms_sub = 'c'", &[]).await;
        let platform = exec(&app.store, "SELECT platform_id FROM courses WHERE id = $1", &[I(c)]).await;
        let dan = exec(&app.store, "INSERT INTO users (platform_id, lms_sub, name, created_at, updated_at) VALUES ($1, 'dn', 'Dan', 0, 0) RETURNING id", &[I(platform)]).await;
        exec(&app.store, "INSERT INTO enrolments (course_id, user_id, roles, is_staff, created_at, updated_at) VALUES ($1, $2, 'Learner', FALSE, 0, 0)", &[I(c), I(dan)]).await;
        // Quiz 1 (gradebook column `q`, linked to its content item) is due Thursday of week 2.
        let due = local_ms(2026, 3, 12, 17, 0);
        let deadline = exec(&app.store, "INSERT INTO course_events (course_id, kind, source, lms_id, title, starts_at, ends_at, submission_type, created_at, updated_at) VALUES ($1, 'submission', 'gradebook', 'q', 'Quiz 1 due', $2, $2, 'quiz', 0, 0) RETURNING id", &[I(c), I(due)]).await;
        let lecture = exec(&app.store, "SELECT id FROM course_events WHERE course_id = $1 AND title = 'Lecture'", &[I(c)]).await;
        let (ann, bob, staff) = (f.ann.0, f.bob.0, f.staff.0);
        let placed = [
            (ann, r1, due - 48 * HOUR),
            (ann, r2, due - 47 * HOUR - 59 * MINUTE),
            (cat, r1, due - 48 * HOUR - MINUTE),
            (staff, r1, due - HOUR),
            (dan, quiz, due - 30 * MINUTE),
            (ann, quiz, due),
            (cat, quiz, due + MINUTE),
            (dan, quiz, due + HOUR),
            (bob, quiz, due + 3 * HOUR),
            (ann, r1, due + 48 * HOUR - MINUTE),
            (ann, r1, due + 48 * HOUR),
            // A second inside the minutes on the edges (SQLite reads whole minute packs).
            (cat, r2, due - 48 * HOUR - 1_000),
            (bob, r2, due + 48 * HOUR - 1_000),
        ];
        insert_views(&app.store, c, &placed).await;
        // The seeded views (see `seed`), for the recount.
        let seeded = [
            (ann, r1, local_ms(2026, 3, 2, 10, 0)),
            (ann, r1, local_ms(2026, 3, 2, 10, 10)),
            (ann, r2, local_ms(2026, 3, 3, 9, 0)),
            (ann, forum, local_ms(2026, 3, 9, 11, 0)),
            (bob, r1, local_ms(2026, 3, 2, 23, 30)),
            (bob, quiz, local_ms(2026, 3, 10, 14, 0)),
        ];
        let all: Vec<(i64, i64, i64)> = seeded.iter().chain(&placed).copied().collect();
        let students = [ann, bob, cat, dan];
        let only = |user: i64| -> Vec<(i64, i64, i64)> { all.iter().filter(|v| v.0 == user).copied().collect() };
        let of_item = |items: &[i64]| -> Vec<(i64, i64, i64)> { all.iter().filter(|v| items.contains(&v.1)).copied().collect() };

        // 48 h each side of the deadline: 48 h and 47 h 59 m before are in, 48 h 1 m is not;
        // the due instant itself is from the event on, and 48 h after it is out.
        let path = format!("/courses/{c}/comparison?event={deadline}&before=48h&after=48h");
        let (html, hours) = page_and_csv(&app, &f, &path, "hours").await;
        assert!(html.contains("half-open"), "the page says how the windows are bounded");
        let expected = recount(&all, &students, due, 48 * HOUR, 48 * HOUR);
        let expected_default = expected;
        assert_eq!(expected, [3, 6]);
        assert_eq!(row(&hours, "Thu 2026-03-12")[1..3], cells(expected));
        assert_eq!(row(&hours, "All occurrences")[1..4], ["3", "6", "2.00"].map(String::from));

        let (_, by_resource) = page_and_csv(&app, &f, &path, "hours-by-resource").await;
        for (title, items) in [("Reading 1", vec![r1]), ("Slides", vec![r2]), ("Week 1", vec![r1, r2]), ("Quiz 1", vec![quiz]), ("Discussion", vec![forum])] {
            let expected = recount(&of_item(&items), &students, due, 48 * HOUR, 48 * HOUR);
            assert_eq!(row(&by_resource, title)[1..3], cells(expected), "{title}");
        }
        assert_eq!(row(&by_resource, "Quiz 1")[1..3], ["1", "4"].map(String::from));
        assert_eq!(row(&by_resource, "Total")[1..3], ["3", "6"].map(String::from));

        let (_, by_student) = page_and_csv(&app, &f, &path, "hours-by-student").await;
        for (name, user) in [("Ann <script>alert(1)</script>", ann), ("Bob", bob), ("Cat", cat), ("Dan", dan)] {
            let expected = recount(&only(user), &students, due, 48 * HOUR, 48 * HOUR);
            assert_eq!(row(&by_student, name)[2..4], cells(expected), "{name}");
        }
        assert!(!by_student.iter().any(|r| r[0] == "Teacher"), "staff views are not counted");

        // Ann opened the quiz exactly at the due time and Cat a minute later; Bob opened it
        // two days before and Dan half an hour before (on the due day itself).
        let (_, late) = page_and_csv(&app, &f, &path, "opened-after-due").await;
        let names: Vec<&str> = late[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["Ann <script>alert(1)</script>", "Cat"]);
        assert_eq!(row(&late, "Cat")[2], "1");

        // Unequal sides, in days and hours: an hour from the due time ends before Dan's
        // view at exactly due + 1 h.
        let path = format!("/courses/{c}/comparison?event={deadline}&before=2d&after=1");
        let (_, hours) = page_and_csv(&app, &f, &path, "hours").await;
        assert_eq!(row(&hours, "Thu 2026-03-12")[1..3], cells(recount(&all, &students, due, 48 * HOUR, HOUR)));
        assert_eq!(row(&hours, "Thu 2026-03-12")[2], "2");

        // A repeating event: one row per occurrence (the Wednesday 10:00 lecture).
        let path = format!("/courses/{c}/comparison?event={lecture}&before=48&after=30h");
        let (_, hours) = page_and_csv(&app, &f, &path, "hours").await;
        for (label, at) in [("Week 1 (Wed 2026-03-04)", local_ms(2026, 3, 4, 10, 0)), ("Week 2 (Wed 2026-03-11)", local_ms(2026, 3, 11, 10, 0))] {
            assert_eq!(row(&hours, label)[1..3], cells(recount(&all, &students, at, 48 * HOUR, 30 * HOUR)), "{label}");
        }
        assert_eq!(row(&hours, "Week 1 (Wed 2026-03-04)")[1..3], ["4", "0"].map(String::from));
        // A week on each side: the two lectures' windows overlap, and a view in both
        // counts for each.
        let path = format!("/courses/{c}/comparison?event={lecture}&before=7d&after=168h");
        let (_, hours) = page_and_csv(&app, &f, &path, "hours").await;
        for (label, at) in [("Week 1 (Wed 2026-03-04)", local_ms(2026, 3, 4, 10, 0)), ("Week 2 (Wed 2026-03-11)", local_ms(2026, 3, 11, 10, 0))] {
            assert_eq!(row(&hours, label)[1..3], cells(recount(&all, &students, at, 168 * HOUR, 168 * HOUR)), "{label}");
        }
        assert_eq!(row(&hours, "Week 1 (Wed 2026-03-04)")[2], row(&hours, "Week 2 (Wed 2026-03-11)")[1]);
        let (status, html) = crate::views::get(&app, &crate::views::with_token(&path, &f.staff_token())).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        assert!(!html.contains("table-opened-after-due"), "only a submission has late openers");
        assert!(!html.contains("not linked to an assessment"));

        // A submission entered by hand names no assessment: the page says why no list.
        let manual = exec(&app.store, "INSERT INTO course_events (course_id, kind, title, starts_at, ends_at, submission_type, created_at, updated_at) VALUES ($1, 'submission', 'Essay', $2, $2, 'assignment', 0, 0) RETURNING id", &[I(c), I(due)]).await;
        let path = format!("/courses/{c}/comparison?event={manual}");
        let (_, hours) = page_and_csv(&app, &f, &path, "hours").await;
        assert_eq!(row(&hours, "Thu 2026-03-12")[1..3], cells(expected_default));
        let (_, html) = crate::views::get(&app, &crate::views::with_token(&path, &f.staff_token())).await;
        assert!(html.contains("not linked to an assessment") && !html.contains("table-opened-after-due"));
    }
}

on_both_backends! {
    async fn windows_cut_inside_an_hour_count_to_the_millisecond(backend: Backend) {
        use V::*;
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course.0;
        let id_of = |lms: &'static str| {
            let store = &app.store;
            async move { exec(store, "SELECT id FROM content_items WHERE course_id = $1 AND lms_id = $2", &[I(c), T(lms)]).await }
        };
        let (r1, quiz) = (id_of("r1").await, id_of("q").await);
        let cat = exec(&app.store, "SELECT id FROM users WHERE lms_sub = 'c'", &[]).await;
        // Due at 23:59:30.5 local: every window edge falls inside an hour, half a second
        // after a minute.
        let due = local_ms(2026, 3, 12, 23, 59) + 30_500;
        let deadline = exec(&app.store, "INSERT INTO course_events (course_id, kind, source, lms_id, title, starts_at, ends_at, submission_type, created_at, updated_at) VALUES ($1, 'submission', 'gradebook', 'q', 'Quiz 1 due', $2, $2, 'quiz', 0, 0) RETURNING id", &[I(c), I(due)]).await;
        let (ann, bob) = (f.ann.0, f.bob.0);
        let placed = [
            (ann, r1, due - 48 * HOUR - 1),
            (ann, r1, due - 48 * HOUR),
            (cat, r1, due - 48 * HOUR + 1),
            (cat, r1, due - 48 * HOUR - 29 * MINUTE),
            (ann, r1, due - 47 * HOUR - 59 * MINUTE),
            (cat, quiz, due - 1),
            (ann, quiz, due),
            (bob, quiz, due + 1),
            (cat, quiz, due - 30 * MINUTE),
            (ann, r1, due + 48 * HOUR - 1),
            (bob, r1, due + 48 * HOUR),
            (bob, r1, due + 48 * HOUR + 29 * MINUTE),
            (cat, r1, due + 24 * HOUR),
        ];
        insert_views(&app.store, c, &placed).await;
        let students = [ann, bob, cat];
        let only = |user: i64| -> Vec<(i64, i64, i64)> { placed.iter().filter(|v| v.0 == user).copied().collect() };

        let path = format!("/courses/{c}/comparison?event={deadline}&before=48h&after=48h");
        let (_, hours) = page_and_csv(&app, &f, &path, "hours").await;
        let expected = recount(&placed, &students, due, 48 * HOUR, 48 * HOUR);
        assert_eq!(expected, [5, 4]);
        assert_eq!(row(&hours, "Thu 2026-03-12")[1..3], cells(expected));
        let (_, by_student) = page_and_csv(&app, &f, &path, "hours-by-student").await;
        for (name, user) in [("Ann <script>alert(1)</script>", ann), ("Bob", bob), ("Cat", cat)] {
            assert_eq!(row(&by_student, name)[2..4], cells(recount(&only(user), &students, due, 48 * HOUR, 48 * HOUR)), "{name}");
        }
        let (_, by_resource) = page_and_csv(&app, &f, &path, "hours-by-resource").await;
        assert_eq!(row(&by_resource, "Quiz 1")[1..3], ["2", "2"].map(String::from));
        assert_eq!(row(&by_resource, "Reading 1")[1..3], ["3", "2"].map(String::from));

        // A millisecond before the due time is before it: Cat opened the quiz in time, Ann
        // exactly at the due time (Bob opened it two days before, in `seed`).
        let (_, late) = page_and_csv(&app, &f, &path, "opened-after-due").await;
        let names: Vec<&str> = late[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["Ann <script>alert(1)</script>"]);
        assert_eq!(row(&late, "Ann <script>alert(1)</script>")[2], "1");

        // One hour each side: both edges and the split cut the same three hours.
        let path = format!("/courses/{c}/comparison?event={deadline}&before=1h&after=1h");
        let (_, hours) = page_and_csv(&app, &f, &path, "hours").await;
        assert_eq!(row(&hours, "Thu 2026-03-12")[1..3], cells(recount(&placed, &students, due, HOUR, HOUR)));
        assert_eq!(row(&hours, "Thu 2026-03-12")[1..3], ["2", "2"].map(String::from));
    }
}
