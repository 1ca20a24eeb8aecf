//! One offering's semester: a content tree of about 150 items in weekly folders, three
//! discussion forums, six assessments with due dates and grades, weekly lectures and
//! tutorials, a mid-semester break, and the students' activity from the seeded synthetic
//! generator, recorded through the ingestion library so the rollups are kept.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::seed::TIME_ZONE;
use crate::ingest::synthetic::{CourseShape, Generator, SynthItem};
use crate::ingest::{self, ActivityKind, ActivitySource, CourseClock, ItemGroup, NewActivity};
use crate::store::content::{self, ContentRow};
use crate::store::course_events::CourseEventFields;
use crate::store::forums::{ForumRow, PostRow, discussion_item_lms_id};
use crate::store::gradebook::{ColumnRow, GradeRow};
use crate::store::{ContentItemId, CourseId, EpochMs, Store, StoreResult, UserId};

/// Expected activity events per student over the semester, unless a caller asks for more.
pub const EVENTS_PER_STUDENT: u64 = 300;
/// The 0-based teaching week with no classes.
const BREAK_WEEK: u32 = 6;
/// The weekly lecture: Wednesday (0 = Monday) at 10:00; tutorials Thursday at 14:00.
const LECTURE: (u32, u32) = (2, 10);
const TUTORIAL: (i64, i64) = (3, 14);

const TOPICS: [&str; 12] = [
    "What ecology is",
    "Populations",
    "Population growth",
    "Competition",
    "Predation and herbivory",
    "Mutualism",
    "Mid-semester break",
    "Communities",
    "Succession and disturbance",
    "Ecosystems and energy",
    "Nutrient cycles",
    "Evolution and adaptation",
];

/// Builds the shape of the demo course: `students` students, two staff.
pub fn shape(start: (i32, u8, u8), students: u32, course_pk1: u64) -> CourseShape {
    let mut items = Vec::new();
    let mut pk1 = course_pk1 * 1000;
    // (title, group, parent, week from which it is available, due (week, weekday, hour))
    let mut add = |title: String,
                   group: ItemGroup,
                   parent: Option<u64>,
                   week: u32,
                   due: Option<(u32, u32, u32)>| {
        pk1 += 1;
        items.push(SynthItem {
            pk1,
            title,
            group,
            parent,
            week,
            due,
        });
        pk1
    };
    let info = add(
        "Course information".into(),
        ItemGroup::Content,
        None,
        0,
        None,
    );
    for title in [
        "Unit guide",
        "Teaching staff",
        "Assessment overview",
        "Library resources",
        "Academic integrity",
    ] {
        add(title.into(), ItemGroup::Content, Some(info), 0, None);
    }
    for forum in ["General discussion", "Assignment help", ULTRA_DISCUSSION] {
        add(forum.into(), ItemGroup::Communication, None, 0, None);
    }
    for (week, topic) in (0u32..).zip(TOPICS) {
        let n = week + 1;
        let folder = add(
            format!("Week {n}: {topic}"),
            ItemGroup::Content,
            None,
            week,
            None,
        );
        if week == BREAK_WEEK {
            for title in ["Revision guide", "Practice problems"] {
                add(title.into(), ItemGroup::Content, Some(folder), week, None);
            }
            continue;
        }
        for kind in [
            "Lecture slides",
            "Lecture recording",
            "Lecture notes",
            "Reading",
            "Extension reading",
            "Tutorial worksheet",
            "Tutorial solutions",
            "Lab guide",
            "Practice questions",
            "Summary",
        ] {
            add(
                format!("Week {n} {}", kind.to_lowercase()),
                ItemGroup::Content,
                Some(folder),
                week,
                None,
            );
        }
    }
    let assessments = add("Assessments".into(), ItemGroup::Content, None, 0, None);
    let exam = add(
        "Exam preparation".into(),
        ItemGroup::Content,
        None,
        10,
        None,
    );
    for title in [
        "Exam information",
        "Past exam",
        "Formula sheet",
        "Revision lecture",
    ] {
        add(title.into(), ItemGroup::Content, Some(exam), 10, None);
    }
    // Quizzes close on Friday at 17:00, assignments on Sunday at 23:00.
    for (n, week) in [(1, 2), (2, 5), (3, 9)] {
        add(
            format!("Quiz {n}"),
            ItemGroup::Assessment,
            Some(assessments),
            week - 1,
            Some((week, 4, 17)),
        );
    }
    for (n, week) in [(1, 3), (2, 7), (3, 11)] {
        add(
            format!("Assignment {n}"),
            ItemGroup::Assessment,
            Some(assessments),
            week - 3,
            Some((week, 6, 23)),
        );
    }
    let (year, month, day) = start;
    CourseShape {
        start: jiff::civil::date(year as i16, month as i8, day as i8),
        weeks: 12,
        students,
        staff: 2,
        time_zone: TIME_ZONE.into(),
        lecture: LECTURE,
        break_week: Some(BREAK_WEEK),
        items,
        course_pk1,
    }
}

fn lms_id(pk1: u64) -> String {
    format!("_{pk1}_1")
}

/// The instant of a (week, weekday, hour) of the course, in its time zone.
fn instant(shape: &CourseShape, (week, weekday, hour): (u32, u32, u32)) -> Option<EpochMs> {
    let date = shape
        .start
        .checked_add(jiff::Span::new().days(i64::from(week * 7 + weekday)))
        .ok()?;
    CourseClock::or_utc(&shape.time_zone).instant_of(date.at(hour as i8, 0, 0, 0))
}

/// The forum seeded as an Ultra discussion: outside the content tree, as Learn's
/// discussions API reports it (no `contentId`), its views counted on the item Caliper's
/// `/discussions/{id}` names.
const ULTRA_DISCUSSION: &str = "Weekly questions";

/// Writes the offering: content, forums, assessments, events, then its activity (about
/// `per_student` events a student), posts and grades. `people` are the course's users in
/// the generator's order (staff first). Returns how many activity events were recorded.
pub async fn seed(
    store: &Store,
    course: CourseId,
    shape: CourseShape,
    people: &[UserId],
    seed: u64,
    per_student: u64,
) -> StoreResult<u64> {
    let rows: Vec<ContentRow> = shape
        .items
        .iter()
        .filter(|item| item.title != ULTRA_DISCUSSION)
        .zip(0..)
        .map(|(item, position)| ContentRow {
            lms_id: lms_id(item.pk1),
            parent_lms_id: item.parent.map(lms_id),
            title: item.title.clone(),
            handler: handler(item).into(),
            group: match item.group {
                ItemGroup::Content => content::ItemGroup::Content,
                ItemGroup::Communication => content::ItemGroup::Communication,
                ItemGroup::Assessment => content::ItemGroup::Assessment,
            },
            position,
            available: true,
            lms_created: None,
            lms_modified: None,
        })
        .collect();
    store.sync_content_items(course, &rows).await?;
    let ids = store.content_item_ids(course).await?;
    let item_id = |pk1: u64| ids.get(&lms_id(pk1)).copied();

    let forum_rows: Vec<ForumRow> = shape
        .items
        .iter()
        .filter(|i| i.group == ItemGroup::Communication)
        .map(|i| ForumRow {
            lms_id: lms_id(i.pk1),
            title: i.title.clone(),
            content_item: item_id(i.pk1),
        })
        .collect();
    let (_, forums) = store.sync_forums(course, &forum_rows).await?;

    let columns: Vec<ColumnRow> = shape
        .items
        .iter()
        .filter_map(|i| {
            let when = i.due?;
            Some(ColumnRow {
                lms_id: lms_id(i.pk1),
                name: i.title.clone(),
                content_item: item_id(i.pk1),
                points_possible: Some(if i.title.starts_with("Quiz") {
                    10.0
                } else {
                    100.0
                }),
                due_at: instant(&shape, when),
                lms_modified: None,
                is_quiz: i.title.starts_with("Quiz"),
            })
        })
        .collect();
    store.sync_assessments(course, &columns).await?;
    add_teaching_events(store, course, &shape).await?;

    // The Ultra discussion's views are counted as Caliper names them: on the item cloop
    // keeps for it.
    let mut viewed = ids.clone();
    for ultra in shape.items.iter().filter(|i| i.title == ULTRA_DISCUSSION) {
        let key = discussion_item_lms_id(&lms_id(ultra.pk1));
        for (_, id) in store
            .content_items_by_lms_ids_or_new(course, &[(key.as_str(), "communication")])
            .await?
        {
            viewed.insert(lms_id(ultra.pk1), id);
        }
    }
    let (posts_by_forum, worked, events) =
        record_activity(store, course, &shape, people, &viewed, (seed, per_student)).await?;
    for (forum_pk1, posts) in posts_by_forum {
        if let Some(forum) = forums.get(&lms_id(forum_pk1)) {
            store.sync_forum_posts(course, *forum, &posts, true).await?;
        }
    }
    grade(store, course, people, &worked, seed).await?;
    Ok(events)
}

fn handler(item: &SynthItem) -> &'static str {
    match item.group {
        ItemGroup::Communication => "resource/x-bb-forumlink",
        ItemGroup::Assessment if item.title.starts_with("Quiz") => "resource/x-bb-asmt-test-link",
        ItemGroup::Assessment => "resource/x-bb-assignment",
        ItemGroup::Content if item.parent.is_none() => "resource/x-bb-folder",
        ItemGroup::Content if item.title.ends_with("recording") => "resource/x-bb-externallink",
        ItemGroup::Content => "resource/x-bb-document",
    }
}

/// Weekly lectures and tutorials (not in the break week) and the break itself.
async fn add_teaching_events(
    store: &Store,
    course: CourseId,
    shape: &CourseShape,
) -> StoreResult<()> {
    let weeks = [(1, i64::from(BREAK_WEEK)), (i64::from(BREAK_WEEK) + 2, 12)];
    for (title, (weekday, hour)) in [
        ("Lecture", (i64::from(LECTURE.0), i64::from(LECTURE.1))),
        ("Tutorial", TUTORIAL),
    ] {
        for (first, last) in weeks {
            store
                .create_course_event(
                    course,
                    &CourseEventFields {
                        kind: "repeating".into(),
                        title: title.into(),
                        weekday: Some(weekday),
                        minute_of_day: Some(hour * 60),
                        first_week: Some(first),
                        last_week: Some(last),
                        ..CourseEventFields::default()
                    },
                )
                .await?;
        }
    }
    store
        .create_course_event(
            course,
            &CourseEventFields {
                kind: "single".into(),
                title: "Mid-semester break".into(),
                starts_at: instant(shape, (BREAK_WEEK, 0, 0)),
                ends_at: instant(shape, (BREAK_WEEK + 1, 0, 0)),
                ..CourseEventFields::default()
            },
        )
        .await?;
    Ok(())
}

/// Records the generator's events day by day; returns the forum posts among them (by
/// forum), who worked on which assessment, and how many events were new.
async fn record_activity(
    store: &Store,
    course: CourseId,
    shape: &CourseShape,
    people: &[UserId],
    ids: &HashMap<String, ContentItemId>,
    (seed, per_student): (u64, u64),
) -> StoreResult<(HashMap<u64, Vec<PostRow>>, Worked, u64)> {
    let users: HashMap<u64, UserId> = (0..)
        .zip(people)
        .map(|(n, user)| (shape.user_pk1(n), *user))
        .collect();
    let target = per_student * u64::from(shape.students);
    let mut generator = Generator::new(shape.clone(), seed, target);
    let recorder =
        ingest::Recorder::for_course(store, course, Duration::from_secs(40 * 60)).await?;
    let mut posts: HashMap<u64, Vec<PostRow>> = HashMap::new();
    let mut worked = Worked::new();
    let mut recorded = 0;
    while let Some(day) = generator.next_day() {
        let events: Vec<NewActivity> = day
            .iter()
            .map(|e| {
                let user = users.get(&e.user_pk1).copied();
                let content_item = e.item.and_then(|i| ids.get(&lms_id(i)).copied());
                if matches!(e.kind, ActivityKind::Attempt | ActivityKind::Submission)
                    && let (Some(item), Some(user)) = (content_item, user)
                {
                    worked.insert((item, user));
                }
                if e.kind == ActivityKind::Post
                    && let Some(forum) = e.item
                {
                    posts.entry(forum).or_default().push(PostRow {
                        lms_id: format!("_{}_1", e.pk1),
                        parent_lms_id: None,
                        thread_lms_id: None,
                        user,
                        status: "published".into(),
                        posted_at: e.at,
                    });
                }
                NewActivity {
                    user,
                    content_item,
                    kind: e.kind,
                    occurred_at: e.at,
                    source: ActivitySource::Caliper,
                    idempotency_key: format!("demo:{}:{}", shape.course_pk1, e.pk1),
                    session_ref: Some(e.session.to_string()),
                }
            })
            .collect();
        recorded += recorder.record(store, events).await?.new;
    }
    Ok((posts, worked, recorded))
}

/// Who attempted or submitted which assessment item.
type Worked = HashSet<(ContentItemId, UserId)>;

/// Grades every student who attempted or submitted an assessment.
async fn grade(
    store: &Store,
    course: CourseId,
    people: &[UserId],
    worked: &Worked,
    seed: u64,
) -> StoreResult<()> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x6772_6164);
    for assessment in store.assessments(course).await? {
        let Some(item) = assessment.content_item_id else {
            continue;
        };
        let max = assessment.points_possible.unwrap_or(100.0);
        let rows: Vec<GradeRow> = people
            .iter()
            .filter(|u| worked.contains(&(item, **u)))
            .map(|user| GradeRow {
                user: *user,
                score: Some((max * rng.random_range(0.35..1.0_f64)).round()),
                text_grade: None,
                change_index: None,
            })
            .collect();
        store.sync_grades(assessment.id, &rows).await?;
    }
    Ok(())
}
