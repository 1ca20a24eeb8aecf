//! Cohort filters over real HTTP: a group (overlapping groups), a role and "include
//! students who left", alone and combined, against a recount of the fixture's views, on
//! the dashboard, students, content, communication posts, assessment attempts, outreach,
//! resource and event comparison (days and hours); the
//! filter kept on every link and in CSV; no group choice when no groups were synced.

use std::collections::{BTreeMap, BTreeSet};

use cloop::store::PlatformId;
use cloop::store::groups::GroupSource;

use crate::cohort_fixture::{Cohorts, Member, seed};
use crate::outreach_fixture::noon;
use crate::views::{get, html_table, page_and_csv_as, row, with_token};
use crate::views_fixture::{V, exec, local_day};
use crate::{app_on, on_both_backends};

/// A filter as the page takes it: group name, role (`learner`, `other` or empty), left.
type Choice = (Option<&'static str>, &'static str, bool);

const CHOICES: [Choice; 7] = [
    (None, "", false),
    (None, "", true),
    (Some("Tutorial A"), "", false),
    (Some("Tutorial A"), "", true),
    (Some("Tutorial B"), "learner", false),
    (None, "other", false),
    (Some("Tutorial B"), "other", true),
];

fn query(c: &Cohorts, (group, role, left): Choice) -> String {
    let mut q = Vec::new();
    if let Some(g) = group {
        q.push(format!("group={}", c.group(g)));
    }
    if !role.is_empty() {
        q.push(format!("role={role}"));
    }
    if left {
        q.push("left=1".into());
    }
    q.join("&")
}

/// The people a choice counts, decided from the fixture alone.
fn counted(c: &Cohorts, (group, role, left): Choice) -> Vec<&Member> {
    c.people
        .iter()
        .filter(|p| group.is_none_or(|g| p.groups.contains(&g)))
        .filter(|p| match role {
            "learner" => p.role == "Learner",
            "other" => p.role != "Learner",
            _ => true,
        })
        .filter(|p| left || p.active)
        .collect()
}

fn path(c: &Cohorts, page: &str, choice: Choice) -> String {
    format!("/courses/{}{page}?{}", c.course, query(c, choice))
}

on_both_backends! {
    async fn filters_count_only_the_chosen_group_role_and_students_who_left(backend: Backend) {
        let app = app_on!(backend);
        let c = seed(&app.store).await;
        let group_of: BTreeMap<i64, &str> = c.items.iter().map(|(id, _, g)| (*id, *g)).collect();
        for choice in CHOICES {
            let who = counted(&c, choice);
            let ids: BTreeSet<i64> = who.iter().map(|p| p.id).collect();
            let views: Vec<&(i64, i64, i64)> = c.views.iter().filter(|v| ids.contains(&v.0)).collect();

            // Dashboard: each day's views by group, pages viewed and active students.
            let (_, daily) = page_and_csv_as(&app, &c.token, &path(&c, "", choice), "daily").await;
            for (i, row) in daily[1..].iter().enumerate() {
                let day = c.start + i as i64;
                let today: Vec<_> = views.iter().filter(|v| local_day(v.2) == day).collect();
                let by = |g: &str| today.iter().filter(|v| group_of[&v.1] == g).count().to_string();
                let pages: BTreeSet<i64> = today.iter().map(|v| v.1).collect();
                let active: BTreeSet<i64> = today.iter().map(|v| v.0).collect();
                assert_eq!(
                    row[1..6],
                    [by("content"), by("communication"), by("assessment"), pages.len().to_string(), active.len().to_string()],
                    "{choice:?} day {i}"
                );
            }

            // Dashboard top tables: each resource's students and views, over all weeks
            // (the stored course totals) and over week 1 (counted from the days).
            for week in [None, Some(1i64)] {
                let page = match week {
                    None => path(&c, "", choice),
                    Some(w) => format!("{}&week={w}", path(&c, "", choice)),
                };
                for table in ["top-content", "top-communication"] {
                    let (_, top) = page_and_csv_as(&app, &c.token, &page, table).await;
                    for r in &top[1..] {
                        let (item, _, _) = c.items.iter().find(|i| i.1 == r[0]).unwrap();
                        let seen: Vec<_> = views
                            .iter()
                            .filter(|v| v.1 == *item)
                            .filter(|v| week.is_none_or(|w| (local_day(v.2) - c.start).div_euclid(7) + 1 == w))
                            .collect();
                        let students: BTreeSet<i64> = seen.iter().map(|v| v.0).collect();
                        assert_eq!(r[1..3], [students.len().to_string(), seen.len().to_string()], "{choice:?} {table} week {week:?} {}", r[0]);
                    }
                }
            }

            // The reading's page: its views and distinct students per day.
            let reading_page = format!("/resources/{}", c.items[0].0);
            let (_, reading_days) = page_and_csv_as(&app, &c.token, &path(&c, &reading_page, choice), "daily").await;
            for (i, r) in reading_days[1..].iter().enumerate() {
                let day = c.start + i as i64;
                let seen: Vec<_> = views.iter().filter(|v| v.1 == c.items[0].0 && local_day(v.2) == day).collect();
                let students: BTreeSet<i64> = seen.iter().map(|v| v.0).collect();
                assert_eq!(r[1..3], [seen.len().to_string(), students.len().to_string()], "{choice:?} reading day {i}");
            }

            // Students: one row per counted student (staff are not students), with their views.
            let (_, students) = page_and_csv_as(&app, &c.token, &path(&c, "/students", choice), "students").await;
            let shown: BTreeMap<String, String> = students[1..students.len() - 1]
                .iter()
                .map(|r| (r[1].clone(), r[r.len() - 2].clone()))
                .collect();
            let expected: BTreeMap<String, String> = who
                .iter()
                .filter(|p| !p.staff)
                .map(|p| (p.username.to_string(), views.iter().filter(|v| v.0 == p.id).count().to_string()))
                .collect();
            assert_eq!(shown, expected, "{choice:?}");

            // Content access: the reading's views over all weeks.
            let (_, access) = page_and_csv_as(&app, &c.token, &path(&c, "/content", choice), "access").await;
            let reading = access.iter().find(|r| r[0] == "Reading").unwrap();
            let expected = views.iter().filter(|v| v.1 == c.items[0].0).count();
            assert_eq!(reading[1 + c.weeks as usize], expected.to_string(), "{choice:?}");

            // Posts in the forum and attempts at the quiz, by anyone counted.
            let total = 1 + c.weeks as usize;
            let (_, posts) = page_and_csv_as(&app, &c.token, &format!("{}&tab=posts", path(&c, "/communication", choice)), "access").await;
            let expected = c.posts.iter().filter(|u| ids.contains(u)).count();
            assert_eq!(row(&posts, "Forum")[total], expected.to_string(), "{choice:?}");
            let (_, top) = page_and_csv_as(&app, &c.token, &path(&c, "", choice), "top-communication").await;
            let forum = top[1..].iter().find(|r| r[0] == "Forum").expect("the forum ranks");
            assert_eq!(forum[3], expected.to_string(), "{choice:?} dashboard posts");
            let (_, attempts) = page_and_csv_as(&app, &c.token, &format!("{}&tab=attempts", path(&c, "/assessment", choice)), "access").await;
            let expected = c.attempts.iter().filter(|u| ids.contains(u)).count();
            assert_eq!(row(&attempts, "Quiz")[total], expected.to_string(), "{choice:?}");

            // Outreach: every counted student has been inactive since March.
            let (_, inactive) = page_and_csv_as(&app, &c.token, &format!("{}&days=7", path(&c, "/outreach", choice)), "inactive").await;
            let shown: BTreeSet<&str> = inactive[1..].iter().map(|r| r[1].as_str()).collect();
            let expected: BTreeSet<&str> = who.iter().filter(|p| !p.staff).map(|p| p.username).collect();
            assert_eq!(shown, expected, "{choice:?}");

            // Grades: a row per counted student.
            let (_, grades) = page_and_csv_as(&app, &c.token, &format!("{}&tab=grades", path(&c, "/assessment", choice)), "grades").await;
            let shown: BTreeSet<&str> = grades[1..].iter().map(|r| r[1].as_str()).collect();
            let expected: BTreeSet<&str> = who.iter().filter(|p| !p.staff).map(|p| p.username).collect();
            assert_eq!(shown, expected, "{choice:?}");

            // The quiz's page: the counted students who never opened it.
            let quiz = format!("/resources/{}", c.items[2].0);
            let (_, not_opened) = page_and_csv_as(&app, &c.token, &path(&c, &quiz, choice), "not-opened").await;
            let shown: BTreeSet<&str> = not_opened[1..].iter().map(|r| r[1].as_str()).collect();
            let expected: BTreeSet<&str> = who
                .iter()
                .filter(|p| !p.staff && !views.iter().any(|v| v.0 == p.id && v.1 == c.items[2].0))
                .map(|p| p.username)
                .collect();
            assert_eq!(shown, expected, "{choice:?}");
        }
    }
}

on_both_backends! {
    async fn the_filter_is_kept_on_every_link_and_in_the_csv(backend: Backend) {
        let app = app_on!(backend);
        let c = seed(&app.store).await;
        let choice = (Some("Tutorial A"), "learner", true);
        let wanted = [format!("group={}", c.group("Tutorial A")), "role=learner".into(), "left=1".into()];
        let (status, html) = get(&app, &with_token(&path(&c, "/content", choice), &c.token)).await;
        assert_eq!(status, 200);
        let prefix = format!("href=\"/courses/{}", c.course);
        let hrefs: Vec<String> = html
            .match_indices(&prefix)
            .map(|(at, _)| {
                let rest = &html[at + 6..];
                rest[..rest.find('"').unwrap()].replace("&amp;", "&")
            })
            .collect();
        for page in ["/students", "/outreach", "/comparison", "/communication", "/resources/"] {
            assert!(hrefs.iter().any(|h| h.contains(page)), "a link to {page} in {hrefs:?}");
        }
        for href in &hrefs {
            for w in &wanted {
                assert!(href.contains(w.as_str()), "{href} keeps {w}");
            }
        }
        // The page's own CSV link gives the filtered table.
        let csv = hrefs.iter().find(|h| h.contains("csv=access")).expect("a CSV link");
        let res = app.client.get(app.url(csv)).send().await.unwrap();
        let body = res.text().await.unwrap();
        let table = html_table(&html, "access");
        assert_eq!(crate::views::csv_rows(&body), table);
        // Following the nav keeps counting the same cohort.
        let students = hrefs.iter().find(|h| h.contains("/students?")).unwrap();
        let (_, html) = get(&app, students).await;
        let shown: BTreeSet<String> = html_table(&html, "students")[1..]
            .iter()
            .map(|r| r[1].clone())
            .filter(|u| !u.is_empty())
            .collect();
        let expected: BTreeSet<String> = counted(&c, choice).iter().map(|p| p.username.to_string()).collect();
        assert_eq!(shown, expected);
        assert!(expected.contains("doak"), "Dan left, and the filter includes him");
        assert!(html.contains("Dan Oak (left)"));
    }
}

on_both_backends! {
    async fn choosing_a_cohort_keeps_the_pages_other_choices(backend: Backend) {
        let app = app_on!(backend);
        let c = seed(&app.store).await;
        let page = format!("/courses/{}/communication?tab=posts&week=2&sort=access:-2&q.access=Forum&role=learner", c.course);
        let (status, html) = get(&app, &with_token(&page, &c.token)).await;
        assert_eq!(status, 200);
        let form = &html[html.find("aria-label=\"Whom to count\"").expect("the cohort form")..];
        let form = &form[..form.find("</form>").unwrap()];
        for (name, value) in [("tab", "posts"), ("week", "2"), ("sort", "access:-2"), ("q.access", "Forum")] {
            assert!(form.contains(&format!("type=\"hidden\" name=\"{name}\" value=\"{value}\"")), "{name} kept in {form}");
        }
        assert_eq!(form.matches("name=\"role\"").count(), 1, "the form's own choice is not kept hidden too");
    }
}

on_both_backends! {
    async fn the_group_choice_shows_only_when_groups_were_synced(backend: Backend) {
        let app = app_on!(backend);
        let c = seed(&app.store).await;
        let page = with_token(&format!("/courses/{}", c.course), &c.token);
        let (_, html) = get(&app, &page).await;
        assert!(html.contains("name=\"group\"") && html.contains("Tutorial B"));
        assert!(html.contains("without the 1 person who left"), "the page says whom it counts");
        let platform: PlatformId = app.store.course(c.course).await.unwrap().platform_id;
        app.store.sync_groups(platform, c.course, GroupSource::Nrps, &[], true).await.unwrap();
        let (_, html) = get(&app, &page).await;
        assert!(!html.contains("name=\"group\""), "no groups: no group choice");
        assert!(html.contains("name=\"role\"") && html.contains("name=\"left\""));
    }
}

on_both_backends! {
    async fn event_windows_in_days_and_hours_count_the_chosen_cohort(backend: Backend) {
        let app = app_on!(backend);
        let c = seed(&app.store).await;
        // A guest lecture on Tuesday of week 2 at noon, inside the forum's week.
        let day = c.start + 8;
        let at = noon(day);
        let event = exec(&app.store, "INSERT INTO course_events (course_id, kind, title, starts_at, ends_at, created_at, updated_at) VALUES ($1, 'single', 'Guest lecture', $2, $2, 0, 0) RETURNING id", &[V::I(c.course.0), V::I(at)]).await;
        let label = "Tue 2026-03-10";
        for choice in CHOICES {
            let who = counted(&c, choice);
            let ids: BTreeSet<i64> = who.iter().map(|p| p.id).collect();
            let views: Vec<&(i64, i64, i64)> = c.views.iter().filter(|v| ids.contains(&v.0)).collect();
            let page = format!("{}&event={event}&window=2&before=48h&after=48h", path(&c, "/comparison", choice));

            // Days: everyone counted (staff too) in the two days before and from the event day.
            let (_, by_day) = page_and_csv_as(&app, &c.token, &page, "comparison").await;
            let in_days = |from: i64, to: i64| views.iter().filter(|v| (from..to).contains(&local_day(v.2))).count().to_string();
            assert_eq!(row(&by_day, label)[1..3], [in_days(day - 2, day), in_days(day, day + 2)], "{choice:?}");

            // Hours: the counted students' views in the 48 h on each side, per student.
            let hour = 3_600_000;
            let split = |user: Option<i64>| {
                let mine = views.iter().filter(|v| user.is_none_or(|u| v.0 == u)).filter(|v| !c.people.iter().any(|p| p.id == v.0 && p.staff));
                let (before, after): (Vec<_>, Vec<_>) = mine.map(|v| v.2).filter(|t| (at - 48 * hour..at + 48 * hour).contains(t)).partition(|t| *t < at);
                [before.len().to_string(), after.len().to_string()]
            };
            let (_, hours) = page_and_csv_as(&app, &c.token, &page, "hours").await;
            assert_eq!(row(&hours, label)[1..3], split(None), "{choice:?}");
            let (_, by_student) = page_and_csv_as(&app, &c.token, &page, "hours-by-student").await;
            let shown: BTreeMap<String, [String; 2]> = by_student[1..]
                .iter()
                .filter(|r| !r[1].is_empty())
                .map(|r| (r[1].clone(), [r[2].clone(), r[3].clone()]))
                .collect();
            let expected: BTreeMap<String, [String; 2]> = who
                .iter()
                .filter(|p| !p.staff)
                .map(|p| (p.username.to_string(), split(Some(p.id))))
                .collect();
            assert_eq!(shown, expected, "{choice:?}");

            // The students' split around the event, by days.
            let split_page = format!("{}&tab=events&event={event}&window=2", path(&c, "/students", choice));
            let (_, split) = page_and_csv_as(&app, &c.token, &split_page, "event-split").await;
            let shown: BTreeMap<String, [String; 2]> = split[1..]
                .iter()
                .filter(|r| !r[1].is_empty())
                .map(|r| (r[1].clone(), [r[2].clone(), r[3].clone()]))
                .collect();
            let expected: BTreeMap<String, [String; 2]> = who
                .iter()
                .filter(|p| !p.staff)
                .map(|p| {
                    let days = |from: i64, to: i64| views.iter().filter(|v| v.0 == p.id && (from..to).contains(&local_day(v.2))).count().to_string();
                    (p.username.to_string(), [days(day - 2, day), days(day, day + 2)])
                })
                .collect();
            assert_eq!(shown, expected, "{choice:?}");
        }
    }
}
