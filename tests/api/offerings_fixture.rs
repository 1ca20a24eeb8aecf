//! Offerings of one course code across terms for the offering comparison: this one starts
//! on a Monday, the previous one on a Tuesday and runs a week longer; decoys on either side.

use cloop::Store;
use cloop::store::courses::CourseCalendar;
use cloop::store::{CourseId, UserId};
use cloop::web::session::CourseSession;
use jiff::civil::{Date, date};

use crate::views_fixture::{TZ, V, exec, insert_views, local_day, local_ms};

/// A course the fixture made: id, start date, weeks, and its (student, item, at) views.
pub struct Offering {
    pub id: CourseId,
    pub start: Date,
    pub weeks: i64,
    pub views: Vec<(i64, i64, i64)>,
}

impl Offering {
    /// The teaching week of an instant (1-based, counted from this offering's own start).
    pub fn week_of(&self, at: i64) -> i64 {
        let start = (self.start - date(1970, 1, 1)).get_days() as i64;
        (local_day(at) - start).div_euclid(7) + 1
    }
}

pub struct Offerings {
    pub platform: i64,
    pub deployment: i64,
    pub secret: cloop::SecretKey,
    pub staff: UserId,
    /// Staff of `not_taught` only.
    pub colleague: UserId,
    /// ECOL2001_2026_S1, from Monday 2 March 2026, 3 weeks.
    pub current: Offering,
    /// ECOL2001_2025_S1, from Tuesday 4 March 2025, 4 weeks: the automatic previous one.
    pub previous: Offering,
    /// ECOL2001_2024_S1: earlier still, so never the automatic choice for `current`.
    pub oldest: Offering,
    /// BIOL1001: taught by the same staff member, a different course code.
    pub other_taught: CourseId,
    /// ECOL2001_2025_S2 on the same platform, taught by someone else.
    pub not_taught: CourseId,
    /// In `current`: Slides (same LMS id as in `previous`), Reading 1 in folder Week 1
    /// (another LMS id, same title path), and a resource new this year.
    pub slides: i64,
    pub reading: i64,
    pub new_item: i64,
    /// Their matches in `previous`.
    pub previous_slides: i64,
    pub previous_reading: i64,
}

impl Offerings {
    pub fn token(&self, course: CourseId) -> String {
        self.token_of(self.staff, course)
    }

    pub fn token_of(&self, person: UserId, course: CourseId) -> String {
        CourseSession::new(
            person,
            cloop::store::PlatformId(self.platform),
            cloop::store::DeploymentId(self.deployment),
            course,
            true,
        )
        .token(&self.secret)
    }
}

async fn course(
    store: &Store,
    platform: i64,
    deployment: i64,
    code: &'static str,
    title: &'static str,
    start: time::Date,
    weeks: i64,
) -> i64 {
    use V::*;
    let id = exec(store, "INSERT INTO courses (platform_id, deployment_id, lms_context_id, title, code, created_at, updated_at) VALUES ($1, $2, $3, $4, $3, 0, 0) RETURNING id", &[I(platform), I(deployment), T(code), T(title)]).await;
    let calendar = CourseCalendar {
        start_date: start,
        weeks,
        time_zone: TZ.to_string(),
    };
    store
        .set_course_calendar(CourseId(id), &calendar)
        .await
        .unwrap();
    id
}

async fn item(
    store: &Store,
    course: i64,
    lms: &'static str,
    title: &'static str,
    parent: Option<i64>,
) -> i64 {
    use V::*;
    let id = exec(store, "INSERT INTO content_items (course_id, lms_id, title, item_group, position, created_at, updated_at) VALUES ($1, $2, $3, 'content', 0, 0, 0) RETURNING id", &[I(course), T(lms), T(title)]).await;
    if let Some(p) = parent {
        exec(
            store,
            "UPDATE content_items SET parent_id = $1 WHERE id = $2",
            &[I(p), I(id)],
        )
        .await;
    }
    id
}

pub async fn seed(store: &Store) -> Offerings {
    use V::*;
    let platform = exec(store, "INSERT INTO platforms (name, issuer, client_id, auth_url, jwks_url, token_url, created_at, updated_at) VALUES ('lms', 'https://lms.example', 'c', 'a', 'j', 't', 0, 0) RETURNING id", &[]).await;
    let elsewhere = exec(store, "INSERT INTO platforms (name, issuer, client_id, auth_url, jwks_url, token_url, created_at, updated_at) VALUES ('other', 'https://other.example', 'c', 'a', 'j', 't', 0, 0) RETURNING id", &[]).await;
    let deployment = exec(store, "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, 'd1', 0) RETURNING id", &[I(platform)]).await;
    let other_deployment = exec(store, "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, 'd1', 0) RETURNING id", &[I(elsewhere)]).await;

    let current = course(
        store,
        platform,
        deployment,
        "ECOL2001_2026_S1",
        "Ecology 2026",
        time::macros::date!(2026 - 3 - 2),
        3,
    )
    .await;
    let previous = course(
        store,
        platform,
        deployment,
        "ECOL2001_2025_S1",
        "Ecology 2025",
        time::macros::date!(2025 - 3 - 4),
        4,
    )
    .await;
    let oldest = course(
        store,
        platform,
        deployment,
        "ECOL2001_2024_S1",
        "Ecology 2024",
        time::macros::date!(2024 - 3 - 5),
        3,
    )
    .await;
    let later = course(
        store,
        platform,
        deployment,
        "ECOL2001_2027_S1",
        "Ecology 2027",
        time::macros::date!(2027 - 3 - 1),
        3,
    )
    .await;
    let other_taught = course(
        store,
        platform,
        deployment,
        "BIOL1001_2025_S1",
        "Biology 2025",
        time::macros::date!(2025 - 7 - 28),
        3,
    )
    .await;
    let not_taught = course(
        store,
        platform,
        deployment,
        "ECOL2001_2025_S2",
        "Ecology 2025 (S2, not taught)",
        time::macros::date!(2025 - 2 - 1),
        3,
    )
    .await;
    // A later start than `previous` with the same code, but on another LMS.
    course(
        store,
        elsewhere,
        other_deployment,
        "ECOL2001_2025_S3",
        "Ecology elsewhere",
        time::macros::date!(2025 - 9 - 1),
        3,
    )
    .await;

    let user = |sub: &'static str, name: &'static str| async move {
        exec(store, "INSERT INTO users (platform_id, lms_sub, name, created_at, updated_at) VALUES ($1, $2, $3, 0, 0) RETURNING id", &[I(platform), T(sub), T(name)]).await
    };
    let staff = user("t", "Teacher").await;
    let colleague = user("o", "Colleague").await;
    let ann = user("a", "Ann").await;
    let bob = user("b", "Bob").await;
    for (c, u) in [
        (current, staff),
        (previous, staff),
        (oldest, staff),
        (later, staff),
        (other_taught, staff),
        (not_taught, colleague),
    ] {
        exec(store, "INSERT INTO enrolments (course_id, user_id, roles, is_staff, created_at, updated_at) VALUES ($1, $2, 'Instructor', TRUE, 0, 0)", &[I(c), I(u)]).await;
    }
    for c in [current, previous] {
        for u in [ann, bob] {
            exec(store, "INSERT INTO enrolments (course_id, user_id, roles, is_staff, created_at, updated_at) VALUES ($1, $2, 'Learner', FALSE, 0, 0)", &[I(c), I(u)]).await;
        }
    }

    let folder = item(store, current, "w1-26", "Week 1", None).await;
    let reading = item(store, current, "r1-26", "Reading 1", Some(folder)).await;
    let slides = item(store, current, "s1", "Slides", None).await;
    let new_item = item(store, current, "n-26", "New this year", None).await;
    let previous_folder = item(store, previous, "w1-25", "Week 1", None).await;
    let previous_reading = item(
        store,
        previous,
        "r1-25",
        "reading 1 ",
        Some(previous_folder),
    )
    .await;
    // Same title, another folder: not the match of Reading 1.
    let decoy = item(store, previous, "r1-old", "Reading 1", None).await;
    let previous_slides = item(store, previous, "s1", "Lecture slides (renamed)", None).await;
    let oldest_item = item(store, oldest, "x", "Old notes", None).await;

    let current_views = vec![
        (ann, reading, local_ms(2026, 3, 2, 10, 0)),
        (ann, reading, local_ms(2026, 3, 3, 10, 0)),
        (bob, slides, local_ms(2026, 3, 8, 23, 30)),
        (ann, slides, local_ms(2026, 3, 10, 9, 0)),
        (bob, reading, local_ms(2026, 3, 17, 9, 0)),
        (ann, slides, local_ms(2026, 3, 18, 9, 0)),
        (bob, new_item, local_ms(2026, 3, 19, 9, 0)),
        (ann, slides, local_ms(2026, 3, 22, 23, 59)),
    ];
    let previous_views = vec![
        // The Monday before its Tuesday start: before week 1.
        (ann, previous_reading, local_ms(2025, 3, 3, 10, 0)),
        (ann, previous_reading, local_ms(2025, 3, 4, 0, 0)),
        // A Monday, still week 1 of an offering that starts on Tuesdays.
        (bob, previous_slides, local_ms(2025, 3, 10, 23, 59)),
        (ann, previous_slides, local_ms(2025, 3, 11, 0, 1)),
        (bob, previous_slides, local_ms(2025, 3, 12, 9, 0)),
        (ann, decoy, local_ms(2025, 3, 13, 9, 0)),
        (bob, previous_reading, local_ms(2025, 3, 19, 9, 0)),
        (ann, previous_reading, local_ms(2025, 3, 20, 9, 0)),
        (bob, previous_slides, local_ms(2025, 3, 21, 9, 0)),
        (ann, previous_slides, local_ms(2025, 3, 26, 9, 0)),
    ];
    let oldest_views = vec![(ann, oldest_item, local_ms(2024, 3, 6, 9, 0))];
    insert_views(store, current, &current_views).await;
    insert_views(store, previous, &previous_views).await;
    insert_views(store, oldest, &oldest_views).await;
    let secret = cloop::SecretKey::load_or_create(store, None).await.unwrap();
    Offerings {
        platform,
        deployment,
        secret,
        staff: UserId(staff),
        colleague: UserId(colleague),
        current: Offering {
            id: CourseId(current),
            start: date(2026, 3, 2),
            weeks: 3,
            views: current_views,
        },
        previous: Offering {
            id: CourseId(previous),
            start: date(2025, 3, 4),
            weeks: 4,
            views: previous_views,
        },
        oldest: Offering {
            id: CourseId(oldest),
            start: date(2024, 3, 5),
            weeks: 3,
            views: oldest_views,
        },
        other_taught: CourseId(other_taught),
        not_taught: CourseId(not_taught),
        slides,
        reading,
        new_item,
        previous_slides,
        previous_reading,
    }
}
