//! A course for the cohort filters: two overlapping tutorial groups, learners, a guest, a
//! teacher who also browses, and a learner who left, each with known page views.

use cloop::Store;
use cloop::store::courses::CourseCalendar;
use cloop::store::groups::{GroupRow, GroupSource};
use cloop::store::{CourseId, PlatformId, UserId};
use cloop::web::session::CourseSession;
use jiff::civil::date;

use crate::outreach_fixture::noon;
use crate::views_fixture::{TZ, V, exec, insert_views};

/// One person of the course as the fixture made them.
#[derive(Clone, Debug)]
pub struct Member {
    pub id: i64,
    pub username: &'static str,
    pub role: &'static str,
    pub staff: bool,
    pub active: bool,
    pub groups: &'static [&'static str],
}

pub struct Cohorts {
    pub course: CourseId,
    pub token: String,
    /// The first day of week 1 and the number of weeks.
    pub start: i64,
    pub weeks: i64,
    pub people: Vec<Member>,
    /// The groups' names and ids, in name order.
    pub groups: Vec<(String, i64)>,
    /// (item, title, group) of the three resources.
    pub items: Vec<(i64, &'static str, &'static str)>,
    /// (user, item, at) page views.
    pub views: Vec<(i64, i64, i64)>,
    /// Who posted in the forum, and who attempted the quiz, once per entry.
    pub posts: Vec<i64>,
    pub attempts: Vec<i64>,
}

impl Cohorts {
    pub fn group(&self, name: &str) -> i64 {
        self.groups.iter().find(|g| g.0 == name).unwrap().1
    }
}

/// Name, user name, role, staff, still enrolled, groups.
type Person = (
    &'static str,
    &'static str,
    &'static str,
    bool,
    bool,
    &'static [&'static str],
);

const PEOPLE: [Person; 9] = [
    ("Teacher", "teach", "Instructor", true, true, &[]),
    ("Ann Lee", "alee1", "Learner", false, true, &["Tutorial A"]),
    ("Ann Lee", "alee2", "Learner", false, true, &["Tutorial B"]),
    (
        "Bob Ng",
        "bng",
        "Learner",
        false,
        true,
        &["Tutorial A", "Tutorial B"],
    ),
    ("Cat Oh", "coh", "Learner", false, true, &["Tutorial A"]),
    ("Dan Oak", "doak", "Learner", false, false, &["Tutorial A"]),
    ("Eve Poe", "epoe", "Learner", false, true, &[]),
    ("Gil Guest", "ggst", "Guest", false, true, &["Tutorial B"]),
    ("Hal Ito", "hito", "Learner", false, true, &["Tutorial B"]),
];

/// Person k views the reading k+1 times on day k of week 1, the forum k times in week 2
/// (Bob twice on one day), and the quiz once in week 3 when k is odd; Hal views nothing.
/// Person k posts k % 3 times in the forum and attempts the quiz when k % 3 is 0.
pub async fn seed(store: &Store) -> Cohorts {
    use V::*;
    let start = (date(2026, 3, 2) - date(1970, 1, 1)).get_days() as i64;
    let weeks = 4;
    let platform = exec(store, "INSERT INTO platforms (name, issuer, client_id, auth_url, jwks_url, token_url, created_at, updated_at) VALUES ('lms', 'https://lms.example', 'c', 'a', 'j', 't', 0, 0) RETURNING id", &[]).await;
    let deployment = exec(store, "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, 'd1', 0) RETURNING id", &[I(platform)]).await;
    let course = exec(store, "INSERT INTO courses (platform_id, deployment_id, lms_context_id, title, code, term, created_at, updated_at) VALUES ($1, $2, 'ctx1', 'Ecology', 'ECOL2001', '2026', 0, 0) RETURNING id", &[I(platform), I(deployment)]).await;
    let calendar = CourseCalendar {
        start_date: time::Date::from_julian_day(2_440_588 + start as i32).unwrap(),
        weeks,
        time_zone: TZ.into(),
    };
    store
        .set_course_calendar(CourseId(course), &calendar)
        .await
        .unwrap();
    let mut people = Vec::new();
    for (name, username, role, staff, active, groups) in PEOPLE {
        let id = exec(store, "INSERT INTO users (platform_id, lms_sub, name, username, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0) RETURNING id", &[I(platform), S(format!("sub-{username}")), T(name), T(username)]).await;
        let sql = match (staff, active) {
            (true, _) => {
                "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, created_at, updated_at) VALUES ($1, $2, $3, TRUE, TRUE, 0, 0)"
            }
            (false, true) => {
                "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, created_at, updated_at) VALUES ($1, $2, $3, FALSE, TRUE, 0, 0)"
            }
            (false, false) => {
                "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, created_at, updated_at) VALUES ($1, $2, $3, FALSE, FALSE, 0, 0)"
            }
        };
        exec(store, sql, &[I(course), I(id), T(role)]).await;
        people.push(Member {
            id,
            username,
            role,
            staff,
            active,
            groups,
        });
    }
    let rows: Vec<GroupRow> = ["Tutorial A", "Tutorial B"]
        .into_iter()
        .map(|g| GroupRow {
            lms_id: g.to_lowercase().replace(' ', "-"),
            name: g.into(),
            members: people
                .iter()
                .filter(|p| p.groups.contains(&g))
                .map(|p| format!("sub-{}", p.username))
                .collect(),
        })
        .collect();
    store
        .sync_groups(
            PlatformId(platform),
            CourseId(course),
            GroupSource::Nrps,
            &rows,
            true,
        )
        .await
        .unwrap();
    let groups = store
        .course_groups(CourseId(course))
        .await
        .unwrap()
        .into_iter()
        .map(|g| (g.name, g.id.0))
        .collect();

    let mut items = Vec::new();
    for (lms, title, group) in [
        ("r", "Reading", "content"),
        ("f", "Forum", "communication"),
        ("q", "Quiz", "assessment"),
    ] {
        let id = exec(store, "INSERT INTO content_items (course_id, lms_id, title, item_group, position, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0, 0) RETURNING id", &[I(course), T(lms), T(title), T(group)]).await;
        items.push((id, title, group));
    }
    let (reading, forum, quiz) = (items[0].0, items[1].0, items[2].0);
    let mut views = Vec::new();
    for (k, p) in people
        .iter()
        .enumerate()
        .filter(|(_, p)| p.username != "hito")
    {
        let k = k as i64;
        for n in 0..=k {
            views.push((p.id, reading, noon(start + k % 7) + n * 60_000));
        }
        for n in 0..k {
            let day = if p.username == "bng" { 0 } else { n % 7 };
            views.push((p.id, forum, noon(start + 7 + day) + n * 60_000));
        }
        if k % 2 == 1 {
            views.push((p.id, quiz, noon(start + 14 + k % 7)));
        }
    }
    insert_views(store, course, &views).await;
    let forum_row = exec(store, "INSERT INTO forums (course_id, lms_id, content_item_id, title, created_at, updated_at) VALUES ($1, 'forum', $2, 'Forum', 0, 0) RETURNING id", &[I(course), I(forum)]).await;
    let assessment = exec(store, "INSERT INTO assessments (course_id, lms_id, content_item_id, name, created_at, updated_at) VALUES ($1, 'quiz', $2, 'Quiz', 0, 0) RETURNING id", &[I(course), I(quiz)]).await;
    let (mut posts, mut attempts) = (Vec::new(), Vec::new());
    for (k, p) in people.iter().enumerate() {
        for n in 0..k % 3 {
            exec(store, "INSERT INTO forum_posts (course_id, forum_id, lms_id, user_id, posted_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 0)", &[I(course), I(forum_row), S(format!("p{k}-{n}")), I(p.id), I(noon(start + 8) + n as i64)]).await;
            posts.push(p.id);
        }
        if k % 3 == 0 {
            exec(store, "INSERT INTO attempts (assessment_id, user_id, lms_id, submitted_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0)", &[I(assessment), I(p.id), S(format!("t{k}")), I(noon(start + 15))]).await;
            attempts.push(p.id);
        }
    }

    let secret = cloop::SecretKey::load_or_create(store, None).await.unwrap();
    let session = CourseSession::new(
        UserId(people[0].id),
        PlatformId(platform),
        cloop::store::DeploymentId(deployment),
        CourseId(course),
        true,
    );
    Cohorts {
        course: CourseId(course),
        token: session.token(&secret),
        start,
        weeks,
        people,
        groups,
        items,
        views,
        posts,
        attempts,
    }
}
