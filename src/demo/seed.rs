//! The demo semester, generated from a fixed seed: two offerings of one course (the second
//! compared with the first), their staff and a few hundred students in tutorial groups,
//! written through the store like a launch or a sync would write them; `semester` fills
//! each offering.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::simulator::{INSTRUCTOR, Persona, STUDENT, TEACHING_ASSISTANT};
use super::{COURSES, DemoCourse, PLATFORM_NAME};
use crate::lti::roles::Role;
use crate::store::courses::{CourseCalendar, CourseUpsert, PreviousChoice};
use crate::store::groups::{GroupRow, GroupSource};
use crate::store::users::UserUpsert;
use crate::store::{CourseId, DeploymentId, PlatformId, Store, StoreError, StoreResult, UserId};

/// The setting that marks a database as seeded, so a second run reuses it.
const SEEDED: &str = "demo_seeded_at";
/// Every random choice of the demo comes from this seed.
const SEED: u64 = 2001;
pub const TIME_ZONE: &str = "Australia/Melbourne";
pub const WEEKS: i64 = 12;

/// Students in the current offering by default; the previous one had 7 % fewer.
pub const STUDENTS: u32 = 400;
/// The name two students of each offering share.
const NAMESAKE: (&str, &str) = ("Aisha", "Murphy");
/// Students are spread over this many tutorials; every ninth is also in the study group.
const TUTORIALS: u32 = 16;

const GIVEN: [&str; 32] = [
    "Olivia",
    "Liam",
    "Mia",
    "Jack",
    "Charlotte",
    "William",
    "Amelia",
    "Oliver",
    "Isla",
    "Henry",
    "Ava",
    "Lucas",
    "Grace",
    "Leo",
    "Chloe",
    "Thomas",
    "Zoe",
    "James",
    "Ruby",
    "Hugo",
    "Aisha",
    "Wei",
    "Priya",
    "Mateo",
    "Hana",
    "Arjun",
    "Sofia",
    "Kai",
    "Lena",
    "Omar",
    "Mei",
    "Finn",
];
const FAMILY: [&str; 32] = [
    "Smith", "Nguyen", "Williams", "Brown", "Chen", "Jones", "Singh", "Taylor", "Wilson", "Li",
    "Martin", "Anderson", "Kelly", "Patel", "White", "Walker", "Ryan", "Wang", "Harris", "Murphy",
    "Khan", "Thompson", "Lee", "Roberts", "Garcia", "King", "Kim", "Davies", "Campbell", "Hughes",
    "Rossi", "Moore",
];

/// A seeded offering: its id and its people, staff first, in the generator's order.
struct SeededCourse {
    course: CourseId,
    people: Vec<UserId>,
}

/// Seeds the demo semester, with `students` in the current offering, unless this database
/// already holds it; true when it seeded.
pub async fn seed_once(store: &Store, students: u32) -> StoreResult<bool> {
    seed_once_sized(store, students, super::semester::EVENTS_PER_STUDENT).await
}

/// `seed_once` with about `per_student` activity events a student (the benchmarks' big
/// courses).
pub async fn seed_once_sized(store: &Store, students: u32, per_student: u64) -> StoreResult<bool> {
    if store.setting(SEEDED).await?.is_some() {
        return Ok(false);
    }
    let platform = store
        .platform_by_name(PLATFORM_NAME)
        .await?
        .ok_or(StoreError::NotFound("demo platform"))?;
    let deployment = store
        .deployment(platform.id, super::DEPLOYMENT_ID)
        .await?
        .ok_or(StoreError::NotFound("demo deployment"))?;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut previous: Option<CourseId> = None;
    // The earlier offering first, so the later one can name it as its predecessor.
    for (index, course) in COURSES.iter().enumerate().rev() {
        let cohort = match index {
            0 => students,
            _ => students * 93 / 100,
        };
        let seeded = seed_course(
            store,
            platform.id,
            deployment,
            course,
            index,
            cohort,
            &mut rng,
        )
        .await?;
        let pk1 = 2000 + u64::from(course.start.0.unsigned_abs()) % 100 * 100;
        let shape = super::semester::shape(course.start, cohort, pk1);
        let events = super::semester::seed(
            store,
            seeded.course,
            shape,
            &seeded.people,
            SEED + index as u64,
            per_student,
        )
        .await?;
        store.seal_finished_student_days(seeded.course).await?;
        store.refresh_planner_statistics().await;
        tracing::info!(
            course = course.title,
            students = cohort,
            events,
            "seeded a demo course"
        );
        if let Some(earlier) = previous {
            store
                .choose_previous_offering(seeded.course, PreviousChoice::Course(earlier))
                .await?;
        }
        previous = Some(seeded.course);
    }
    store
        .setting_or_insert(SEEDED, || crate::store::EpochMs::now().0.to_string())
        .await?;
    Ok(true)
}

async fn seed_course(
    store: &Store,
    platform: PlatformId,
    deployment: DeploymentId,
    course: &DemoCourse,
    index: usize,
    students: u32,
    rng: &mut StdRng,
) -> StoreResult<SeededCourse> {
    let row = store
        .upsert_course(
            platform,
            deployment,
            &CourseUpsert {
                lms_context_id: course.context_id.into(),
                lms_course_uuid: None,
                title: course.title.into(),
                code: course.code.into(),
            },
        )
        .await?;
    let (year, month, day) = course.start;
    let start_date = time::Month::try_from(month)
        .ok()
        .and_then(|m| time::Date::from_calendar_date(year, m, day).ok())
        .ok_or_else(|| StoreError::Conflict(format!("bad demo start date {year}-{month}-{day}")))?;
    store
        .set_course_calendar(
            row.id,
            &CourseCalendar {
                start_date,
                weeks: WEEKS,
                time_zone: TIME_ZONE.into(),
            },
        )
        .await?;

    let mut people = Vec::new();
    for persona in [INSTRUCTOR, TEACHING_ASSISTANT] {
        people.push(enrol(store, platform, row.id, &Person::of(&persona)).await?);
    }
    let mut groups: Vec<GroupRow> = (1..=TUTORIALS)
        .map(|t| GroupRow {
            lms_id: format!("tutorial-{t:02}"),
            name: format!("Tutorial {t:02}"),
            members: Vec::new(),
        })
        .chain(std::iter::once(GroupRow {
            lms_id: "study-group".into(),
            name: "Peer study group".into(),
            members: Vec::new(),
        }))
        .collect();
    for n in 1..=students {
        let person = if index == 0 && n == 1 {
            Person::of(&STUDENT)
        } else {
            let given = GIVEN[rng.random_range(0..GIVEN.len())];
            let family = FAMILY[rng.random_range(0..FAMILY.len())];
            // Two namesakes in every offering, whom only their identifiers tell apart.
            let (given, family) = if (2..=3).contains(&n) {
                NAMESAKE
            } else {
                (given, family)
            };
            Person {
                // Each offering has its own cohort.
                sub: match index {
                    0 => format!("demo-student-{n:04}"),
                    _ => format!("demo-{}-student-{n:04}", course.start.0),
                },
                given_name: given.into(),
                family_name: family.into(),
                email: None,
                role: STUDENT.role,
            }
        };
        people.push(enrol(store, platform, row.id, &person).await?);
        groups[((n - 1) % TUTORIALS) as usize]
            .members
            .push(person.sub.clone());
        if n % 9 == 0 {
            groups[TUTORIALS as usize].members.push(person.sub);
        }
    }
    // The simulator's LMS sends its groups as NRPS group enrolments would.
    store
        .sync_groups(platform, row.id, GroupSource::Nrps, &groups, true)
        .await?;
    Ok(SeededCourse {
        course: row.id,
        people,
    })
}

/// Someone enrolled in a demo course.
struct Person {
    sub: String,
    given_name: String,
    family_name: String,
    email: Option<String>,
    role: &'static str,
}

impl Person {
    fn of(persona: &Persona) -> Self {
        Self {
            sub: persona.sub.into(),
            given_name: persona.given_name.into(),
            family_name: persona.family_name.into(),
            email: Some(persona.email.into()),
            role: persona.role,
        }
    }
}

async fn enrol(
    store: &Store,
    platform: PlatformId,
    course: CourseId,
    person: &Person,
) -> StoreResult<UserId> {
    let user = store
        .upsert_user(
            platform,
            &UserUpsert {
                lms_sub: person.sub.clone(),
                lms_user_pk: None,
                name: format!("{} {}", person.given_name, person.family_name),
                given_name: person.given_name.clone(),
                family_name: person.family_name.clone(),
                email: person.email.clone(),
            },
        )
        .await?;
    let role = Role::parse(person.role).expect("the personas' roles are LTI role URIs");
    let name = role.to_string();
    store
        .enrol(course, user.id, &[&name], role.is_course_staff(), "demo")
        .await?;
    Ok(user.id)
}
