//! A small known course for the view tests: rows inserted as the LMS sync and ingestion
//! would, with the rollups computed here in plain Rust (independently of cloop's code).

use std::collections::BTreeMap;

use cloop::Store;
use cloop::activity::student_list::student_list_text;
use cloop::ingest::{ActivityKind, ActivitySource, NewActivity};
use cloop::store::{ContentItemId, CourseId, DeploymentId, EpochMs, PlatformId, UserId};
use cloop::web::session::CourseSession;
use jiff::civil::date;
use jiff::tz::TimeZone;

pub const TZ: &str = "Australia/Melbourne";
const GAP_MS: i64 = 40 * 60 * 1000;
const HOUR_MS: i64 = 3_600_000;

/// A value bound into a raw insert.
pub enum V {
    I(i64),
    T(&'static str),
    S(String),
    F(f64),
}

/// Runs one statement on either backend; returns the `RETURNING id` value, if any.
pub async fn exec(store: &Store, sql: &'static str, args: &[V]) -> i64 {
    macro_rules! run {
        ($pool:expr) => {{
            let mut q = sqlx::query_as::<_, (i64,)>(sql);
            for a in args {
                q = match a {
                    V::I(x) => q.bind(*x),
                    V::T(s) => q.bind(*s),
                    V::S(s) => q.bind(s.clone()),
                    V::F(f) => q.bind(*f),
                };
            }
            q.fetch_optional($pool)
                .await
                .expect(sql)
                .map(|r| r.0)
                .unwrap_or(0)
        }};
    }
    match store {
        Store::Sqlite(db) => run!(&db.pool),
        Store::Postgres(cloop::store::PostgresDb { pool: p, .. }) => run!(p),
    }
}

/// Local time in the course zone as UTC milliseconds.
pub fn local_ms(y: i16, m: i8, d: i8, h: i8, min: i8) -> i64 {
    date(y, m, d)
        .at(h, min, 0, 0)
        .to_zoned_datetime(TimeZone::get(TZ).unwrap())
        .unwrap()
        .timestamp()
        .as_millisecond()
}

/// Days since 1970-01-01 of the local date of an instant.
pub fn local_day(ms: i64) -> i64 {
    let z = jiff::Timestamp::from_millisecond(ms)
        .unwrap()
        .to_zoned_datetime(TimeZone::get(TZ).unwrap());
    let d = z.date();
    (d - date(1970, 1, 1)).get_days() as i64
}

pub struct Fixture {
    pub platform: PlatformId,
    pub deployment: DeploymentId,
    pub course: CourseId,
    pub other_course: CourseId,
    pub staff: UserId,
    pub other_staff: UserId,
    pub ann: UserId,
    pub bob: UserId,
    pub r1: i64,
    pub secret: cloop::SecretKey,
}

impl Fixture {
    pub fn session(&self, user: UserId, course: CourseId, staff: bool) -> CourseSession {
        CourseSession::new(user, self.platform, self.deployment, course, staff)
    }

    pub fn token(&self, user: UserId, course: CourseId, staff: bool) -> String {
        self.session(user, course, staff).token(&self.secret)
    }

    pub fn staff_token(&self) -> String {
        self.token(self.staff, self.course, true)
    }
}

/// STAT101, 2 weeks from Monday 2026-03-02 in Melbourne. Ann views Reading 1 twice and
/// Slides on week 1 and the forum on week 2 (and posts there); Bob views Reading 1 late on
/// 2 March and attempts the quiz on week 2 (score 7); Cat does nothing.
pub async fn seed(store: &Store) -> Fixture {
    use V::*;
    let platform = exec(store, "INSERT INTO platforms (name, issuer, client_id, auth_url, jwks_url, token_url, created_at, updated_at) VALUES ('lms', 'https://lms.example', 'c', 'a', 'j', 't', 0, 0) RETURNING id", &[]).await;
    let deployment = exec(store, "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, 'd1', 0) RETURNING id", &[I(platform)]).await;
    let course = exec(store, "INSERT INTO courses (platform_id, deployment_id, lms_context_id, title, code, term, start_date, weeks, time_zone, created_at, updated_at) VALUES ($1, $2, 'ctx1', 'Intro <b>Stats</b> & more', 'STAT101', '2026 S1', '2026-03-02', 2, 'Australia/Melbourne', 0, 0) RETURNING id", &[I(platform), I(deployment)]).await;
    let other = exec(store, "INSERT INTO courses (platform_id, deployment_id, lms_context_id, title, code, created_at, updated_at) VALUES ($1, $2, 'ctx2', 'Other', 'OTH1', 0, 0) RETURNING id", &[I(platform), I(deployment)]).await;
    let user = |sub: &'static str, name: &'static str| async move {
        exec(store, "INSERT INTO users (platform_id, lms_sub, name, created_at, updated_at) VALUES ($1, $2, $3, 0, 0) RETURNING id", &[I(platform), T(sub), T(name)]).await
    };
    let staff = user("t", "Teacher").await;
    let other_staff = user("o", "Other Teacher").await;
    let ann = user("a", "Ann <script>alert(1)</script>").await;
    let bob = user("b", "Bob").await;
    let cat = user("c", "Cat").await;
    for (c, u, roles, is_staff) in [
        (course, staff, "Instructor", 1),
        (other, other_staff, "Instructor", 1),
        (course, ann, "Learner", 0),
        (course, bob, "Learner", 0),
        (course, cat, "Learner", 0),
    ] {
        let sql = if is_staff == 1 {
            "INSERT INTO enrolments (course_id, user_id, roles, is_staff, created_at, updated_at) VALUES ($1, $2, $3, TRUE, 0, 0)"
        } else {
            "INSERT INTO enrolments (course_id, user_id, roles, is_staff, created_at, updated_at) VALUES ($1, $2, $3, FALSE, 0, 0)"
        };
        exec(store, sql, &[I(c), I(u), T(roles)]).await;
    }
    let item = |lms: &'static str, title: &'static str, group: &'static str, pos: i64| async move {
        exec(store, "INSERT INTO content_items (course_id, lms_id, title, item_group, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 0) RETURNING id", &[I(course), T(lms), T(title), T(group), I(pos)]).await
    };
    let folder = item("f", "Week 1", "content", 0).await;
    let r1 = item("r1", "Reading 1", "content", 0).await;
    let r2 = item("r2", "Slides", "content", 1).await;
    let forum_item = item("d", "Discussion", "communication", 1).await;
    let quiz_item = item("q", "Quiz 1", "assessment", 2).await;
    for child in [r1, r2] {
        exec(
            store,
            "UPDATE content_items SET parent_id = $1 WHERE id = $2",
            &[I(folder), I(child)],
        )
        .await;
    }
    let forum = exec(store, "INSERT INTO forums (course_id, lms_id, content_item_id, title, created_at, updated_at) VALUES ($1, 'd', $2, 'Discussion', 0, 0) RETURNING id", &[I(course), I(forum_item)]).await;
    exec(store, "INSERT INTO forum_posts (course_id, forum_id, lms_id, user_id, posted_at, created_at, updated_at) VALUES ($1, $2, 'p1', $3, $4, 0, 0)", &[I(course), I(forum), I(ann), I(local_ms(2026, 3, 9, 12, 0))]).await;
    let quiz = exec(store, "INSERT INTO assessments (course_id, lms_id, content_item_id, name, points_possible, created_at, updated_at) VALUES ($1, 'q', $2, 'Quiz 1', 10.0, 0, 0) RETURNING id", &[I(course), I(quiz_item)]).await;
    exec(store, "INSERT INTO attempts (assessment_id, user_id, lms_id, score, submitted_at, created_at, updated_at) VALUES ($1, $2, 'a1', $3, $4, 0, 0)", &[I(quiz), I(bob), F(7.0), I(local_ms(2026, 3, 10, 14, 5))]).await;
    exec(
        store,
        "INSERT INTO grades (assessment_id, user_id, score, updated_at) VALUES ($1, $2, $3, 0)",
        &[I(quiz), I(bob), F(7.0)],
    )
    .await;
    exec(store, "INSERT INTO course_events (course_id, kind, title, weekday, minute_of_day, first_week, last_week, created_at, updated_at) VALUES ($1, 'repeating', 'Lecture', 2, 600, 1, 2, 0, 0)", &[I(course)]).await;
    exec(store, "INSERT INTO course_events (course_id, kind, source, lms_id, title, starts_at, created_at, updated_at) VALUES ($1, 'single', 'calendar', 'cal-1', 'Census date', $2, 0, 0)", &[I(course), I(local_ms(2026, 3, 13, 9, 0))]).await;

    let views = [
        (ann, r1, local_ms(2026, 3, 2, 10, 0)),
        (ann, r1, local_ms(2026, 3, 2, 10, 10)),
        (ann, r2, local_ms(2026, 3, 3, 9, 0)),
        (ann, forum_item, local_ms(2026, 3, 9, 11, 0)),
        (bob, r1, local_ms(2026, 3, 2, 23, 30)),
        (bob, quiz_item, local_ms(2026, 3, 10, 14, 0)),
    ];
    insert_views(store, course, &views).await;
    let secret = cloop::SecretKey::load_or_create(store, None).await.unwrap();
    Fixture {
        platform: PlatformId(platform),
        deployment: DeploymentId(deployment),
        course: CourseId(course),
        other_course: CourseId(other),
        staff: UserId(staff),
        other_staff: UserId(other_staff),
        ann: UserId(ann),
        bob: UserId(bob),
        r1,
        secret,
    }
}

/// Records view activity and inserts the rollups it implies (sessions split at gaps over 40 min),
/// then derives the course-wide rollups from them.
pub async fn insert_views(store: &Store, course: i64, views: &[(i64, i64, i64)]) {
    use V::*;
    let mut content: BTreeMap<(i64, i64), (i64, BTreeMap<i64, i64>)> = BTreeMap::new();
    let mut per_user: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let events: Vec<NewActivity> = views
        .iter()
        .enumerate()
        .map(|(n, &(user, item, at))| NewActivity {
            user: Some(UserId(user)),
            content_item: Some(ContentItemId(item)),
            kind: ActivityKind::View,
            occurred_at: EpochMs(at),
            source: ActivitySource::Caliper,
            idempotency_key: format!("v{n}"),
            session_ref: None,
        })
        .collect();
    store
        .record_activity_without_rollups(CourseId(course), &events)
        .await
        .unwrap();
    for &(user, item, at) in views {
        let e = content.entry((local_day(at), item)).or_default();
        e.0 += 1;
        *e.1.entry(user).or_default() += 1;
        per_user.entry(user).or_default().push(at);
    }
    // (day, user) → item → views, kept as the student-day's `item_views`.
    let mut item_views: BTreeMap<(i64, i64), BTreeMap<i64, i64>> = BTreeMap::new();
    for ((day, item), (n, users)) in &content {
        let students = student_list_text(&mut users.keys().copied().collect::<Vec<i64>>());
        exec(store, "INSERT INTO rollup_content_day (course_id, day, content_item_id, views, unique_students, students) VALUES ($1, $2, $3, $4, $5, $6)", &[I(course), I(*day), I(*item), I(*n), I(users.len() as i64), S(students)]).await;
        for (u, n) in users {
            item_views.entry((*day, *u)).or_default().insert(*item, *n);
        }
    }
    let mut student_days: BTreeMap<(i64, i64), (i64, i64, i64)> = BTreeMap::new();
    for (user, mut times) in per_user {
        times.sort();
        for &t in &times {
            student_days.entry((local_day(t), user)).or_default().0 += 1;
        }
        let mut start = times[0];
        let mut last = times[0];
        for &t in times.iter().skip(1).chain(std::iter::once(&i64::MAX)) {
            if t == i64::MAX || t - last > GAP_MS {
                let e = student_days.entry((local_day(start), user)).or_default();
                e.1 += 1;
                e.2 += last - start;
                start = t;
            }
            last = t;
        }
    }
    for ((day, user), (views, sessions, ms)) in student_days {
        let items: Vec<String> = item_views
            .get(&(day, user))
            .into_iter()
            .flatten()
            .map(|(item, n)| format!("{item}:{n}"))
            .collect();
        exec(store, "INSERT INTO rollup_student_day (course_id, day, user_id, views, sessions, active_ms, item_views) VALUES ($1, $2, $3, $4, $5, $6, $7)", &[I(course), I(day), I(user), I(views), I(sessions), I(ms), S(items.join(","))]).await;
    }
    // (UTC hour, user) → the (item, offset into the hour) of each view.
    let mut hours: BTreeMap<(i64, i64), Vec<(i64, i64)>> = BTreeMap::new();
    for &(user, item, at) in views {
        hours
            .entry((at.div_euclid(HOUR_MS), user))
            .or_default()
            .push((item, at.rem_euclid(HOUR_MS)));
    }
    for ((hour, user), instants) in hours {
        // One `item:1` pair per view: readers sum an item's pairs.
        let item_views: Vec<String> = instants
            .iter()
            .map(|(item, _)| format!("{item}:1"))
            .collect();
        let instants: Vec<String> = instants
            .iter()
            .map(|(item, offset)| format!("{item}:{offset}"))
            .collect();
        exec(store, "INSERT INTO rollup_student_hour (course_id, hour, user_id, item_views, instants) VALUES ($1, $2, $3, $4, $5)", &[I(course), I(hour), I(user), S(item_views.join(",")), S(instants.join(","))]).await;
    }
    // UTC hour → user → views, and item → views; a second call's hour is appended to.
    type Counts = BTreeMap<i64, i64>;
    let mut course_hours: BTreeMap<i64, (Counts, Counts)> = BTreeMap::new();
    for &(user, item, at) in views {
        let (users, items) = course_hours.entry(at.div_euclid(HOUR_MS)).or_default();
        *users.entry(user).or_default() += 1;
        *items.entry(item).or_default() += 1;
    }
    for (hour, (users, items)) in course_hours {
        let text = |counts: Counts| {
            counts
                .iter()
                .map(|(k, n)| format!("{k}:{n}"))
                .collect::<Vec<_>>()
                .join(",")
        };
        exec(store, "INSERT INTO rollup_course_hour (course_id, hour, user_views, item_views) VALUES ($1, $2, $3, $4) ON CONFLICT (course_id, hour) DO UPDATE SET user_views = rollup_course_hour.user_views || ',' || excluded.user_views, item_views = rollup_course_hour.item_views || ',' || excluded.item_views", &[I(course), I(hour), S(text(users)), S(text(items))]).await;
    }
    // The course-wide rollups are sums of the day rollups (the incremental upkeep is
    // checked against a recount in ingest_rollups).
    store
        .rebuild_course_rollups(cloop::store::CourseId(course))
        .await
        .unwrap();
}
