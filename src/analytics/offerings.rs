//! Offering comparison: this offering's weekly page views beside its previous offering's,
//! aligned on teaching week, for the course and for one resource; and choosing the previous.

use std::collections::HashMap;

use super::table::{Cell, Row, Table};
use super::{CourseView, course_calendar, day_label};
use crate::events::{Calendar, CourseDate};
use crate::lti::roles::{is_course_staff, parse_roles};
use crate::store::content::ContentItem;
use crate::store::courses::{Course, PreviousChoice};
use crate::store::{ContentItemId, CourseId, Store, StoreResult, UserId};

/// How the previous offering was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkSource {
    /// Staff chose it on the Settings page.
    Chosen,
    /// The latest earlier offering whose course code has this key.
    Automatic(String),
}

/// The offering this one is compared with, with its own calendar.
#[derive(Clone, Debug)]
pub struct PreviousOffering {
    pub course: Course,
    pub cal: Calendar,
    pub source: LinkSource,
}

/// The weekly comparison of a course or resource with the previous offering.
#[derive(Clone, Debug)]
pub struct OfferingComparison {
    pub previous: PreviousOffering,
    /// Week, each offering's first day of that week and page views, their difference.
    pub table: Table,
}

/// How the resource of the previous offering was matched to this one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MatchedBy {
    /// The same LMS content id: the course was copied with its content ids.
    LmsId,
    /// The same title under folders of the same titles.
    TitlePath(String),
}

/// A resource's weekly comparison; `matched` is `None` when the previous offering has no
/// such resource (the table then shows this offering's weeks against nothing).
#[derive(Clone, Debug)]
pub struct ResourceComparison {
    pub comparison: OfferingComparison,
    pub matched: Option<(MatchedBy, ContentItemId)>,
}

/// What the Settings form offers: the current choice, what the automatic link finds, and
/// the courses the person teaches (this one left out).
#[derive(Clone, Debug)]
pub struct OfferingChoices {
    pub choice: PreviousChoice,
    pub automatic: Option<Course>,
    pub teachable: Vec<Course>,
}

/// The key offerings of one course share in their codes: the code up to the first `_`,
/// `-`, space, `.` or `/`, upper-cased (`ECOL2001_2025_S1` and `ecol2001 2026` give
/// `ECOL2001`); `None` for a code with no letters and digits before it.
pub fn course_code_key(code: &str) -> Option<String> {
    let key = code
        .trim()
        .split(['_', '-', ' ', '.', '/'])
        .next()
        .unwrap_or_default()
        .to_uppercase();
    let alnum = key.chars().all(|c| c.is_ascii_alphanumeric());
    let letters = key.chars().any(|c| c.is_ascii_alphabetic());
    let digits = key.chars().any(|c| c.is_ascii_digit());
    (alnum && letters && digits).then_some(key)
}

/// The latest earlier offering (by start date) on the same platform whose code has the
/// same key and which the viewer taught: only course staff see a course's numbers, so an
/// offering taught by others is linked only when a staff member who taught both chooses it.
async fn automatic_previous(
    store: &Store,
    cv: &CourseView,
    viewer: UserId,
) -> StoreResult<Option<Course>> {
    let Some(key) = course_code_key(&cv.course.code) else {
        return Ok(None);
    };
    let Ok(start) = CourseDate::new(cv.cal.start) else {
        return Ok(None);
    };
    let candidates = store
        .earlier_offerings(cv.course.platform_id, cv.course.id, start.to_stored(), &key)
        .await?;
    for candidate in candidates {
        if course_code_key(&candidate.code).as_deref() == Some(key.as_str())
            && taught(store, candidate.id, viewer).await?
        {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// Whether the person was staff of the course, enrolled now or not: an offering that has
/// ended may have made its staff unavailable, which keeps their staff roles on record.
async fn taught(store: &Store, course: CourseId, person: UserId) -> StoreResult<bool> {
    Ok(store.enrolment(course, person).await?.is_some_and(|e| {
        e.is_staff
            || is_course_staff(&parse_roles(
                &e.roles.split_whitespace().collect::<Vec<_>>(),
            ))
    }))
}

/// The offering staff chose, else the automatic one; `None` when staff chose none or
/// nothing matches.
pub async fn previous_offering(
    store: &Store,
    cv: &CourseView,
    viewer: UserId,
) -> StoreResult<Option<PreviousOffering>> {
    let (course, source) = match store.previous_choice(cv.course.id).await? {
        PreviousChoice::NoPrevious => return Ok(None),
        PreviousChoice::Course(id) => (store.course(id).await?, LinkSource::Chosen),
        PreviousChoice::Automatic => match automatic_previous(store, cv, viewer).await? {
            Some(c) => {
                let key = course_code_key(&c.code).unwrap_or_default();
                (c, LinkSource::Automatic(key))
            }
            None => return Ok(None),
        },
    };
    let (cal, _) = course_calendar(store, &course).await?;
    Ok(Some(PreviousOffering {
        course,
        cal,
        source,
    }))
}

/// The course's weekly page views beside the previous offering's; `None` without one.
pub async fn offering_comparison(
    store: &Store,
    cv: &CourseView,
    viewer: UserId,
) -> StoreResult<Option<OfferingComparison>> {
    let Some(previous) = previous_offering(store, cv, viewer).await? else {
        return Ok(None);
    };
    let views = |days: Vec<crate::store::reports::CourseDay>| {
        days.into_iter()
            .map(|d| {
                (
                    d.day,
                    d.content_views + d.communication_views + d.assessment_views,
                )
            })
            .collect::<HashMap<i64, i64>>()
    };
    let this = views(
        store
            .course_days(cv.course.id, cv.cal.start_day(), cv.cal.end_day())
            .await?,
    );
    let before = views(
        store
            .course_days(
                previous.course.id,
                previous.cal.start_day(),
                previous.cal.end_day(),
            )
            .await?,
    );
    let table = weekly_table(
        "offerings",
        "Page views per teaching week, this offering beside the previous one",
        (&cv.cal, &this),
        (&previous.cal, &before),
    );
    Ok(Some(OfferingComparison { previous, table }))
}

/// One resource's weekly views beside those of its match in the previous offering.
pub async fn resource_comparison(
    store: &Store,
    cv: &CourseView,
    item: ContentItemId,
    viewer: UserId,
) -> StoreResult<Option<ResourceComparison>> {
    let Some(previous) = previous_offering(store, cv, viewer).await? else {
        return Ok(None);
    };
    let ours = store.content_items(cv.course.id).await?;
    let theirs = store.content_items(previous.course.id).await?;
    let matched = ours
        .iter()
        .find(|i| i.id == item)
        .and_then(|i| match_item(i, &ours, &theirs));
    let this = item_views(store, &cv.cal, cv.course.id, item).await?;
    let before = match &matched {
        Some((_, theirs)) => item_views(store, &previous.cal, previous.course.id, *theirs).await?,
        None => HashMap::new(),
    };
    let table = weekly_table(
        "offerings",
        "Page views of this resource per teaching week, this offering beside the previous one",
        (&cv.cal, &this),
        (&previous.cal, &before),
    );
    Ok(Some(ResourceComparison {
        comparison: OfferingComparison { previous, table },
        matched,
    }))
}

/// An item's page views per day over its course's weeks.
async fn item_views(
    store: &Store,
    cal: &Calendar,
    course: CourseId,
    item: ContentItemId,
) -> StoreResult<HashMap<i64, i64>> {
    let rows = store
        .days_of_item(course, item, cal.start_day(), cal.end_day())
        .await?;
    Ok(rows.into_iter().map(|r| (r.day, r.views)).collect())
}

/// The previous offering's item with the same LMS id, else the one with the same title
/// under folders of the same titles; live items before removed ones.
fn match_item(
    item: &ContentItem,
    ours: &[ContentItem],
    theirs: &[ContentItem],
) -> Option<(MatchedBy, ContentItemId)> {
    let mut candidates: Vec<&ContentItem> = theirs.iter().collect();
    candidates.sort_by_key(|c| (c.removed_at.is_some(), c.id));
    if let Some(same) = candidates.iter().find(|c| c.lms_id == item.lms_id) {
        return Some((MatchedBy::LmsId, same.id));
    }
    let path = title_path(item, ours);
    let key = |p: &[String]| {
        p.iter()
            .map(|t| t.trim().to_lowercase())
            .collect::<Vec<_>>()
    };
    candidates
        .iter()
        .find(|c| key(&title_path(c, theirs)) == key(&path))
        .map(|c| (MatchedBy::TitlePath(path.join(" / ")), c.id))
}

/// The titles from the top folder down to the item.
fn title_path(item: &ContentItem, items: &[ContentItem]) -> Vec<String> {
    let by_id: HashMap<ContentItemId, &ContentItem> = items.iter().map(|i| (i.id, i)).collect();
    let mut path = vec![item.title.clone()];
    let mut parent = item.parent_id;
    // A tree from the LMS is acyclic; the bound keeps a corrupt one from looping.
    while let Some(p) = parent.and_then(|p| by_id.get(&p))
        && path.len() <= items.len()
    {
        path.push(p.title.clone());
        parent = p.parent_id;
    }
    path.reverse();
    path
}

/// Week by week over the longer of the two offerings: each one's first day of the week,
/// its page views, and the difference (absolute and against the previous offering's).
fn weekly_table(
    id: &str,
    caption: &str,
    this: (&Calendar, &HashMap<i64, i64>),
    before: (&Calendar, &HashMap<i64, i64>),
) -> Table {
    let mut table = Table::new(
        id,
        caption,
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
    );
    let week = |(cal, views): (&Calendar, &HashMap<i64, i64>), n: i64| {
        (n <= cal.weeks).then(|| {
            let (from, to) = cal.week_days(n);
            (from, (from..to).filter_map(|d| views.get(&d)).sum::<i64>())
        })
    };
    let (mut total_this, mut total_before) = (0, 0);
    for n in 1..=this.0.weeks.max(before.0.weeks) {
        let (a, b) = (week(this, n), week(before, n));
        total_this += a.map_or(0, |w| w.1);
        total_before += b.map_or(0, |w| w.1);
        let side = |w: Option<(i64, i64)>| match w {
            Some((from, views)) => [Cell::Text(day_label(from)), Cell::Int(views)],
            None => [Cell::Text(String::new()), Cell::Num(None, 0)],
        };
        let mut cells = vec![Cell::Text(format!("W{n}"))];
        cells.extend(side(a));
        cells.extend(side(b));
        cells.extend(difference(a.map(|w| w.1), b.map(|w| w.1)));
        table.rows.push(Row::new(cells));
    }
    let mut totals = vec![
        Cell::Text("Total".into()),
        Cell::Text(String::new()),
        Cell::Int(total_this),
        Cell::Text(String::new()),
        Cell::Int(total_before),
    ];
    totals.extend(difference(Some(total_this), Some(total_before)));
    table.totals = Some(totals);
    table
}

/// `this − before`, and that as a percentage of `before` (blank when either week is
/// missing, or the percentage when `before` is 0).
fn difference(this: Option<i64>, before: Option<i64>) -> [Cell; 2] {
    match (this, before) {
        (Some(a), Some(b)) => [
            Cell::Int(a - b),
            if b > 0 {
                Cell::Pct(100.0 * (a - b) as f64 / b as f64)
            } else {
                Cell::Num(None, 1)
            },
        ],
        _ => [Cell::Num(None, 0), Cell::Num(None, 1)],
    }
}

/// The Settings form's options for a course and the person choosing.
pub async fn offering_choices(
    store: &Store,
    cv: &CourseView,
    user: UserId,
) -> StoreResult<OfferingChoices> {
    let mut teachable = store.staff_courses(user).await?;
    teachable.retain(|c| c.id != cv.course.id);
    Ok(OfferingChoices {
        choice: store.previous_choice(cv.course.id).await?,
        automatic: automatic_previous(store, cv, user).await?,
        teachable,
    })
}

/// Records the choice when the person may make it: a chosen course must be another one
/// they are active staff of now. False when refused.
pub async fn choose_previous(
    store: &Store,
    course: CourseId,
    user: UserId,
    choice: PreviousChoice,
) -> StoreResult<bool> {
    if let PreviousChoice::Course(id) = choice {
        let teaches = store.staff_courses(user).await?.iter().any(|c| c.id == id);
        if id == course || !teaches {
            return Ok(false);
        }
    }
    store.choose_previous_offering(course, choice).await?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_codes_of_one_course_across_terms_share_a_key() {
        for code in [
            "ECOL2001_2025_S1",
            "ecol2001 2026",
            "ECOL2001-2026",
            "ECOL2001",
        ] {
            assert_eq!(course_code_key(code).as_deref(), Some("ECOL2001"), "{code}");
        }
        assert_eq!(course_code_key("BIO101.2026").as_deref(), Some("BIO101"));
        for code in ["", "2026_S1", "Biology", "ÉCO1 2026"] {
            assert_eq!(course_code_key(code), None, "{code}");
        }
    }

    #[test]
    fn the_difference_is_against_the_previous_offering() {
        assert_eq!(
            difference(Some(15), Some(10)),
            [Cell::Int(5), Cell::Pct(50.0)]
        );
        assert_eq!(
            difference(Some(3), Some(0)),
            [Cell::Int(3), Cell::Num(None, 1)]
        );
        assert_eq!(
            difference(None, Some(4)),
            [Cell::Num(None, 0), Cell::Num(None, 1)]
        );
    }
}
