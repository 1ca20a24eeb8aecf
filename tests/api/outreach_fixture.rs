//! A course for the outreach lists, placed around the real "now" (inactivity and due dates
//! are relative to it): namesakes, a student who left, a folder, assessments, weekly drops.

use cloop::Store;
use cloop::store::courses::CourseCalendar;
use cloop::store::{CourseId, UserId};
use cloop::web::session::CourseSession;
use jiff::civil::date;
use jiff::tz::TimeZone;

use crate::views_fixture::{TZ, V, exec, insert_views, local_day};

pub const DAY_MS: i64 = 86_400_000;
pub const HOUR_MS: i64 = 3_600_000;

/// A student as the fixture made them.
#[derive(Clone, Debug)]
pub struct Student {
    pub id: i64,
    pub name: &'static str,
    pub username: &'static str,
    pub email: Option<&'static str>,
    pub active: bool,
}

pub struct Outreach {
    pub course: CourseId,
    pub token: String,
    pub now: i64,
    pub today: i64,
    /// The first day of week 1 (a Monday at least five weeks ago).
    pub start: i64,
    pub students: Vec<Student>,
    /// (student, item, at) page views.
    pub views: Vec<(i64, i64, i64)>,
    pub folder: i64,
    /// The two resources in the folder, and one outside it.
    pub in_folder: [i64; 2],
    pub outside: i64,
    /// (assessment, name, due) and the (assessment, student) attempts.
    pub assessments: Vec<(i64, &'static str, Option<i64>)>,
    pub attempts: Vec<(i64, i64)>,
}

/// Noon of a local day in the course zone, in UTC milliseconds.
pub fn noon(day: i64) -> i64 {
    (date(1970, 1, 1) + jiff::Span::new().days(day))
        .at(12, 0, 0, 0)
        .to_zoned_datetime(TimeZone::get(TZ).unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// Ann Lee twice (alee1 last seen exactly 5 days ago and opened Reading 1 in the folder;
/// alee2 last seen 4 days ago, outside the folder), Bob who never came, Dan who left, and
/// Eve, Fay, Gus with weeks 1–3 and week 4 views of 4,4,4→2 (a 50% drop), 4,4,4→1 (75%,
/// one view in the folder) and 3,3,4→1 (70%).
pub async fn seed(store: &Store) -> Outreach {
    use V::*;
    let now = cloop::store::EpochMs::now().0;
    let today = local_day(now);
    // Monday is day 4 of the epoch (1970-01-05): back to the Monday on or before today - 35.
    let start = {
        let d = today - 35;
        d - (d - 4).rem_euclid(7)
    };
    let platform = exec(store, "INSERT INTO platforms (name, issuer, client_id, auth_url, jwks_url, token_url, created_at, updated_at) VALUES ('lms', 'https://lms.example', 'c', 'a', 'j', 't', 0, 0) RETURNING id", &[]).await;
    let deployment = exec(store, "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, 'd1', 0) RETURNING id", &[I(platform)]).await;
    let course = exec(store, "INSERT INTO courses (platform_id, deployment_id, lms_context_id, title, code, term, created_at, updated_at) VALUES ($1, $2, 'ctx1', 'Ecology', 'ECOL2001', '2026', 0, 0) RETURNING id", &[I(platform), I(deployment)]).await;
    let calendar = CourseCalendar {
        // 2440588 is the Julian day of 1970-01-01.
        start_date: time::Date::from_julian_day(2_440_588 + start as i32).unwrap(),
        weeks: 12,
        time_zone: TZ.into(),
    };
    store
        .set_course_calendar(CourseId(course), &calendar)
        .await
        .unwrap();
    let staff = exec(store, "INSERT INTO users (platform_id, lms_sub, name, created_at, updated_at) VALUES ($1, 't', 'Teacher', 0, 0) RETURNING id", &[I(platform)]).await;
    exec(store, "INSERT INTO enrolments (course_id, user_id, roles, is_staff, created_at, updated_at) VALUES ($1, $2, 'Instructor', TRUE, 0, 0)", &[I(course), I(staff)]).await;
    let people = [
        ("Ann Lee", "alee1", Some("ann.lee@uni.example"), true),
        ("Ann Lee", "alee2", None, true),
        ("Bob Ng", "bng", Some("bob@uni.example"), true),
        ("Dan Oak", "doak", None, false),
        ("Eve Poe", "epoe", None, true),
        ("Fay Qi", "fqi", None, true),
        ("Gus Ray", "gray", None, true),
    ];
    let mut students = Vec::new();
    for (name, username, email, active) in people {
        let id = exec(store, "INSERT INTO users (platform_id, lms_sub, name, username, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0) RETURNING id", &[I(platform), S(format!("sub-{username}")), T(name), T(username)]).await;
        if let Some(e) = email {
            exec(
                store,
                "UPDATE users SET email = $1 WHERE id = $2",
                &[T(e), I(id)],
            )
            .await;
        }
        let sql = if active {
            "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, created_at, updated_at) VALUES ($1, $2, 'Learner', FALSE, TRUE, 0, 0)"
        } else {
            "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, created_at, updated_at) VALUES ($1, $2, 'Learner', FALSE, FALSE, 0, 0)"
        };
        exec(store, sql, &[I(course), I(id)]).await;
        students.push(Student {
            id,
            name,
            username,
            email,
            active,
        });
    }
    let item = |lms: &'static str, title: &'static str, pos: i64| async move {
        exec(store, "INSERT INTO content_items (course_id, lms_id, title, item_group, position, created_at, updated_at) VALUES ($1, $2, $3, 'content', $4, 0, 0) RETURNING id", &[I(course), T(lms), T(title), I(pos)]).await
    };
    let folder = item("f", "Week 1", 0).await;
    let r1 = item("r1", "Reading 1", 0).await;
    let r2 = item("r2", "Slides 1", 1).await;
    let outside = item("r3", "Syllabus", 1).await;
    for child in [r1, r2] {
        exec(
            store,
            "UPDATE content_items SET parent_id = $1 WHERE id = $2",
            &[I(folder), I(child)],
        )
        .await;
    }

    let [ann1, ann2, _bob, _dan, eve, fay, gus] = [0, 1, 2, 3, 4, 5, 6].map(|i| students[i].id);
    let mut views = vec![
        (ann1, r1, noon(today - 5)),
        (ann2, outside, noon(today - 4)),
    ];
    let week_day = |week: i64, n: i64| noon(start + 7 * (week - 1) + n % 7);
    for (student, weekly) in [
        (eve, [4, 4, 4, 2]),
        (fay, [4, 4, 4, 1]),
        (gus, [3, 3, 4, 1]),
    ] {
        for (w, n) in weekly.into_iter().enumerate() {
            for k in 0..n {
                let item = if student == fay && w == 0 && k == 0 {
                    r2
                } else {
                    outside
                };
                views.push((student, item, week_day(w as i64 + 1, k)));
            }
        }
    }
    insert_views(store, course, &views).await;

    let mut assessments = Vec::new();
    for (lms, name, due) in [
        ("a1", "Essay", Some(now + 3 * DAY_MS - HOUR_MS)),
        ("a2", "Quiz", Some(now - 2 * DAY_MS)),
        ("a3", "Final", Some(now + 3 * DAY_MS + HOUR_MS)),
        ("a4", "Participation", None),
    ] {
        let id = exec(store, "INSERT INTO assessments (course_id, lms_id, name, created_at, updated_at) VALUES ($1, $2, $3, 0, 0) RETURNING id", &[I(course), T(lms), T(name)]).await;
        if let Some(d) = due {
            exec(
                store,
                "UPDATE assessments SET due_at = $1 WHERE id = $2",
                &[I(d), I(id)],
            )
            .await;
        }
        assessments.push((id, name, due));
    }
    let attempts = vec![
        (assessments[0].0, ann1),
        (assessments[1].0, ann2),
        (assessments[1].0, eve),
    ];
    for (n, &(a, u)) in attempts.iter().enumerate() {
        exec(store, "INSERT INTO attempts (assessment_id, user_id, lms_id, submitted_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0)", &[I(a), I(u), S(format!("t{n}")), I(now - DAY_MS)]).await;
    }
    let secret = cloop::SecretKey::load_or_create(store, None).await.unwrap();
    let session = CourseSession::new(
        UserId(staff),
        cloop::store::PlatformId(platform),
        cloop::store::DeploymentId(deployment),
        CourseId(course),
        true,
    );
    Outreach {
        course: CourseId(course),
        token: session.token(&secret),
        now,
        today,
        start,
        students,
        views,
        folder,
        in_folder: [r1, r2],
        outside,
        assessments,
        attempts,
    }
}
