//! The course list, the students heat map and one student's detail.

use std::collections::HashMap;

use super::comparison::{EventWindow, event_split_by_student};
use super::discussions::loose_discussions;
use super::table::{Cell, Row, Table, pct};
use super::who::{IDENTIFIER, person_cells, person_identifier, shown_name};
use super::{CourseView, Range, day_label};
use crate::store::courses::Course;
use crate::store::{ContentItemId, Store, StoreError, StoreResult, UserId};

/// The courses a person teaches now (active staff), with when each last received data;
/// and the courses themselves, which the course links need.
pub async fn course_list(store: &Store, user: UserId) -> StoreResult<(Table, Vec<Course>)> {
    let mut table = Table::new(
        "courses",
        "Your courses",
        [
            "Code",
            "Title",
            "Term",
            "Start",
            "Weeks",
            "Last data update",
        ]
        .map(String::from)
        .to_vec(),
    );
    let courses = store.staff_courses(user).await?;
    for c in &courses {
        let (sync, event) = store.course_freshness(c.id).await?;
        let updated = sync
            .max(event)
            .map(|t| t.to_string())
            .unwrap_or_else(|| "never".into());
        table.rows.push(Row::new(vec![
            Cell::Text(c.code.clone()),
            Cell::Course(c.id, c.title.clone()),
            Cell::Text(c.term.clone()),
            Cell::Text(
                c.start_date
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "not set".into()),
            ),
            Cell::Int(c.weeks),
            Cell::Text(updated),
        ]));
    }
    Ok((table, courses))
}

/// Students × weeks (or days of one week) page views, or the split around an event.
pub async fn students(
    store: &Store,
    cv: &CourseView,
    range: Range,
    events: Option<EventWindow>,
) -> StoreResult<Vec<Table>> {
    if let Some(w) = events {
        return Ok(vec![event_split_by_student(store, cv, w).await?]);
    }
    let id = cv.course.id;
    let buckets = cv.buckets(range);
    let (from, to) = cv.days(range);
    let width = buckets[0].to - buckets[0].from;
    let people = cv.cohort.counted_people();
    let mut views: HashMap<UserId, Vec<i64>> = people
        .iter()
        .filter(|p| !p.is_staff)
        .map(|p| (p.user_id, vec![0; buckets.len()]))
        .collect();
    for (user, days) in store.student_day_views(id).await? {
        let Some(v) = views.get_mut(&user) else {
            continue;
        };
        for (day, n) in days.into_iter().filter(|(day, _)| (from..to).contains(day)) {
            v[((day - from) / width) as usize] += n;
        }
    }
    let grand: i64 = views.values().flatten().sum();
    let mut cols = vec!["Student".to_string(), IDENTIFIER.to_string()];
    cols.extend(buckets.iter().map(|b| b.label.clone()));
    cols.extend(["Total".into(), "% of total".into()]);
    let mut table = Table::new("students", "Page views per student", cols);
    table.heat = Some((2, 2 + buckets.len()));
    let mut bucket_totals = vec![0i64; buckets.len()];
    for p in people.iter().filter(|p| !p.is_staff) {
        let v = &views[&p.user_id];
        bucket_totals.iter_mut().zip(v).for_each(|(a, b)| *a += b);
        let total: i64 = v.iter().sum();
        let mut cells = Vec::from(person_cells(p));
        cells.extend(v.iter().map(|&n| Cell::Int(n)));
        cells.push(Cell::Int(total));
        cells.push(pct(total as f64, grand as f64));
        table.rows.push(Row::new(cells));
    }
    let mut totals = vec![Cell::Text("All students".into()), Cell::Text(String::new())];
    totals.extend(bucket_totals.iter().map(|&n| Cell::Int(n)));
    totals.push(Cell::Int(grand));
    totals.push(pct(grand as f64, grand as f64));
    table.totals = Some(totals);
    let mut series = Table::new(
        "over-time",
        "Student page views over time",
        vec!["Period".into(), "Page views".into()],
    );
    for (b, n) in buckets.iter().zip(bucket_totals) {
        series.rows.push(Row::on_day(
            b.from,
            vec![Cell::Text(b.label.clone()), Cell::Int(n)],
        ));
    }
    Ok(vec![table, series])
}

/// One student's activity.
#[derive(Clone, Debug)]
pub struct StudentDetail {
    pub name: String,
    pub identifier: String,
    pub roles: String,
    pub daily: Table,
    pub forums: Table,
    pub assessments: Table,
}

pub async fn student_detail(
    store: &Store,
    cv: &CourseView,
    user: UserId,
) -> StoreResult<StudentDetail> {
    let id = cv.course.id;
    let person = cv
        .cohort
        .roster()
        .iter()
        .find(|p| p.user_id == user)
        .cloned()
        .ok_or(StoreError::NotFound("student"))?;
    let tree = store.content_tree(id).await?;
    let group: HashMap<ContentItemId, &str> =
        tree.iter().map(|t| (t.id, t.item_group.as_str())).collect();
    let (from, to) = cv.days(Range::All);
    let mut per_day = vec![[0i64; 3]; (to - from) as usize];
    let mut item_views: HashMap<ContentItemId, i64> = HashMap::new();
    for d in store.student_item_days(id, user).await? {
        *item_views.entry(d.content_item_id).or_default() += d.views;
        if (from..to).contains(&d.day) {
            let g = match group.get(&d.content_item_id).copied() {
                Some("communication") => 1,
                Some("assessment") => 2,
                _ => 0,
            };
            per_day[(d.day - from) as usize][g] += d.views;
        }
    }
    let mut daily = Table::new(
        "daily",
        "Page views per day by group",
        [
            "Date",
            "Content views",
            "Communication views",
            "Assessment views",
        ]
        .map(String::from)
        .to_vec(),
    );
    for (i, [c, m, a]) in per_day.into_iter().enumerate() {
        let day = from + i as i64;
        daily.rows.push(Row::on_day(
            day,
            vec![
                Cell::Text(day_label(day)),
                Cell::Int(c),
                Cell::Int(m),
                Cell::Int(a),
            ],
        ));
    }

    let their_posts = store.course_posts(id, Some(&[user])).await?;
    let mut posts: HashMap<ContentItemId, i64> = HashMap::new();
    for p in &their_posts {
        if let Some(item) = p.content_item_id {
            *posts.entry(item).or_default() += 1;
        }
    }
    let mut forums = Table::new(
        "forums",
        "Forums: views and posts",
        ["Forum", "Views", "Posts"].map(String::from).to_vec(),
    );
    for t in tree.iter().filter(|t| t.item_group == "communication") {
        forums.rows.push(Row::new(vec![
            Cell::Item(t.id, t.title.clone()),
            Cell::Int(item_views.get(&t.id).copied().unwrap_or(0)),
            Cell::Int(posts.get(&t.id).copied().unwrap_or(0)),
        ]));
    }
    // Discussions outside the tree: their posts, and their views where activity counted
    // them on their own item (else blank).
    for d in loose_discussions(store, id, &their_posts).await? {
        let views = d
            .forum
            .views_item
            .map(|item| item_views.get(&item).copied().unwrap_or(0));
        forums.rows.push(Row::new(vec![
            Cell::Text(d.forum.title.clone()),
            views.map_or(Cell::Num(None, 0), Cell::Int),
            Cell::Int(d.posts_by(user)),
        ]));
    }

    let attempts = store.course_attempts(id).await?;
    let grades = store.course_grades(id).await?;
    let mut assessments = Table::new(
        "assessments",
        "Assessments: views, attempts and latest grade",
        ["Assessment", "Views", "Attempts", "Latest grade"]
            .map(String::from)
            .to_vec(),
    );
    for a in store.course_assessments(id).await? {
        let views = a
            .content_item_id
            .and_then(|i| item_views.get(&i).copied())
            .unwrap_or(0);
        let tries = attempts
            .iter()
            .filter(|t| t.assessment_id == a.id && t.user_id == user)
            .count();
        let grade = grades
            .iter()
            .find(|g| g.assessment_id == a.id && g.user_id == user)
            .map(|g| match (g.score, &g.text_grade) {
                (Some(s), _) => format!("{s:.1}"),
                (None, Some(t)) => t.clone(),
                (None, None) => String::new(),
            })
            .unwrap_or_default();
        let name = match a.content_item_id {
            Some(item) => Cell::Item(item, a.name.clone()),
            None => Cell::Text(a.name.clone()),
        };
        assessments.rows.push(Row::new(vec![
            name,
            Cell::Int(views),
            Cell::Int(tries as i64),
            Cell::Text(grade),
        ]));
    }
    Ok(StudentDetail {
        name: shown_name(&person.name, user, person.active),
        identifier: person_identifier(&person).into(),
        roles: person.roles.replace(' ', ", "),
        daily,
        forums,
        assessments,
    })
}
