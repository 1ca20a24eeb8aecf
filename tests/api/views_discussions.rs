//! Discussions outside the content tree (Ultra's): their rows on the Communication page and
//! their posts in every posts count, against a recount of generated posts.

use std::collections::{BTreeMap, BTreeSet};

use crate::views::{page_and_csv, row};
use crate::views_fixture::{Fixture, V, exec, local_day, local_ms, seed};
use crate::{app_on, on_both_backends};

/// A post of the generated course: forum title, author, time, whether it was removed.
struct Post {
    forum: &'static str,
    user: i64,
    at: i64,
    removed: bool,
}

/// Two discussions with no content item (and a removed third); posts by Ann, Bob and the
/// teacher over both weeks, one of them removed.
async fn seed_discussions(app_store: &cloop::Store, f: &Fixture) -> Vec<Post> {
    use V::*;
    let course = f.course.0;
    let (ann, bob, staff) = (f.ann.0, f.bob.0, f.staff.0);
    let posts = vec![
        Post {
            forum: "Questions",
            user: ann,
            at: local_ms(2026, 3, 2, 9, 0),
            removed: false,
        },
        Post {
            forum: "Questions",
            user: ann,
            at: local_ms(2026, 3, 8, 23, 59),
            removed: false,
        },
        Post {
            forum: "Questions",
            user: bob,
            at: local_ms(2026, 3, 4, 12, 0),
            removed: false,
        },
        Post {
            forum: "Questions",
            user: staff,
            at: local_ms(2026, 3, 9, 0, 0),
            removed: false,
        },
        Post {
            forum: "Questions",
            user: ann,
            at: local_ms(2026, 3, 12, 8, 0),
            removed: false,
        },
        Post {
            forum: "Questions",
            user: bob,
            at: local_ms(2026, 3, 12, 9, 0),
            removed: true,
        },
        Post {
            forum: "Introductions",
            user: bob,
            at: local_ms(2026, 3, 9, 10, 0),
            removed: false,
        },
        Post {
            forum: "Introductions",
            user: bob,
            at: local_ms(2026, 3, 10, 10, 0),
            removed: false,
        },
        Post {
            forum: "Introductions",
            user: bob,
            at: local_ms(2026, 3, 15, 20, 0),
            removed: false,
        },
        Post {
            forum: "Gone",
            user: ann,
            at: local_ms(2026, 3, 3, 10, 0),
            removed: false,
        },
    ];
    let mut forums = BTreeMap::new();
    for (n, title) in ["Questions", "Introductions", "Gone"]
        .into_iter()
        .enumerate()
    {
        let id = exec(app_store, "INSERT INTO forums (course_id, lms_id, title, created_at, updated_at) VALUES ($1, $2, $3, 0, 0) RETURNING id", &[I(course), S(format!("_u{n}_1")), T(title)]).await;
        forums.insert(title, id);
    }
    exec(
        app_store,
        "UPDATE forums SET removed_at = 1 WHERE id = $1",
        &[I(forums["Gone"])],
    )
    .await;
    for (n, p) in posts.iter().enumerate() {
        let sql = if p.removed {
            "INSERT INTO forum_posts (course_id, forum_id, lms_id, user_id, posted_at, removed_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 1, 0, 0)"
        } else {
            "INSERT INTO forum_posts (course_id, forum_id, lms_id, user_id, posted_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, 0, 0)"
        };
        exec(
            app_store,
            sql,
            &[
                I(course),
                I(forums[p.forum]),
                S(format!("_m{n}_1")),
                I(p.user),
                I(p.at),
            ],
        )
        .await;
    }
    posts
}

/// Per shown discussion: posts per week (W1, W2) and the students who posted each week.
fn recount(posts: &[Post], f: &Fixture) -> BTreeMap<&'static str, ([i64; 2], [BTreeSet<i64>; 2])> {
    let start = local_day(local_ms(2026, 3, 2, 0, 0));
    let mut out: BTreeMap<&'static str, ([i64; 2], [BTreeSet<i64>; 2])> = BTreeMap::new();
    for p in posts.iter().filter(|p| !p.removed && p.forum != "Gone") {
        let week = ((local_day(p.at) - start) / 7) as usize;
        let e = out.entry(p.forum).or_default();
        if week < 2 {
            e.0[week] += 1;
            if p.user != f.staff.0 {
                e.1[week].insert(p.user);
            }
        }
    }
    out
}

fn cells(values: &[i64]) -> Vec<String> {
    values.iter().map(i64::to_string).collect()
}

on_both_backends! {
    async fn discussions_outside_the_tree_get_rows_with_posts_and_posters_per_week(backend: Backend) {
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;
        let posts = seed_discussions(&app.store, &f).await;
        let expected = recount(&posts, &f);
        let forum_post_weeks = [0, 1]; // the fixture's Discussion (a content item): Ann, week 2

        let (html, table) = page_and_csv(&app, &f, &format!("/courses/{c}/communication?tab=posts"), "access").await;
        assert!(html.contains("data-parent=\"-1\""), "discussions hang under their group");
        let mut group = [0i64; 2];
        for (title, (weeks, _)) in &expected {
            let total = weeks.iter().sum::<i64>();
            assert_eq!(row(&table, title)[1..4], cells(&[weeks[0], weeks[1], total])[..], "{title}");
            group.iter_mut().zip(weeks).for_each(|(a, b)| *a += b);
        }
        assert_eq!(row(&table, "Discussions")[1..4], cells(&[group[0], group[1], group[0] + group[1]])[..]);
        let all = [group[0] + forum_post_weeks[0], group[1] + forum_post_weeks[1]];
        assert_eq!(row(&table, "Total")[1..4], cells(&[all[0], all[1], all[0] + all[1]])[..]);
        assert_eq!(table.iter().filter(|r| r[0] == "Discussion").count(), 1, "a forum in the tree is not repeated");
        assert!(!table.iter().any(|r| r[0] == "Gone"), "removed discussions are not shown");

        // Their page views are not known: listed, blank, and not in the totals.
        let (_, views) = page_and_csv(&app, &f, &format!("/courses/{c}/communication"), "access").await;
        for title in ["Discussions", "Questions", "Introductions"] {
            assert_eq!(row(&views, title)[1..], [""; 4].map(String::from), "{title}");
        }
        assert_eq!(row(&views, "Total")[1..4], cells(&[0, 1, 1])[..], "Ann's view of the forum in the tree");

        let (_, students) = page_and_csv(&app, &f, &format!("/courses/{c}/communication?tab=students"), "access").await;
        for (title, (_, posters)) in &expected {
            let total = posters[0].union(&posters[1]).count() as i64;
            assert_eq!(row(&students, title)[1..4], cells(&[posters[0].len() as i64, posters[1].len() as i64, total])[..], "{title}");
        }
        let q = &expected["Questions"].1;
        assert_eq!(row(&students, "Questions")[4], "100.0%", "Ann and Bob, every student active on the page");
        assert!(!q.iter().flatten().any(|u| *u == f.staff.0), "the teacher is no poster");

        // The dashboard's communication table lists them after the forums, by posts.
        let (_, talk) = page_and_csv(&app, &f, &format!("/courses/{c}"), "top-communication").await;
        for (title, (weeks, posters)) in &expected {
            let students = posters[0].union(&posters[1]).count() as i64;
            let total = weeks.iter().sum::<i64>().to_string();
            assert_eq!(row(&talk, title)[1..], [students.to_string(), String::new(), total], "{title}: views not known");
        }
        let order: Vec<&str> = talk[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(order, ["Discussion", "Questions", "Introductions"]);

        // Each student's page counts their posts there.
        for (user, name) in [(f.ann, "Ann"), (f.bob, "Bob")] {
            let (_, forums) = page_and_csv(&app, &f, &format!("/courses/{c}/students/{user}"), "forums").await;
            for title in expected.keys() {
                let mine = posts.iter().filter(|p| p.forum == *title && !p.removed && p.user == user.0).count() as i64;
                assert_eq!(row(&forums, title)[1..], [String::new(), mine.to_string()], "{name} in {title}");
            }
        }
    }
}

/// A Caliper envelope of Learn-shaped view events of Ultra discussions (no content item):
/// (event id, actor's Learn pk, event time, object).
fn discussion_views(events: &[(&str, &str, &str, serde_json::Value)]) -> String {
    let site = "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/s1";
    let data: Vec<serde_json::Value> = events
        .iter()
        .map(|(id, user, at, object)| {
            let kind = if object["type"] == "Forum" { "ViewEvent" } else { "NavigationEvent" };
            let action = if kind == "ViewEvent" { "Viewed" } else { "NavigatedTo" };
            serde_json::json!({
                "@context": "http://purl.imsglobal.org/ctx/caliper/v1p1",
                "type": kind,
                "id": format!("urn:uuid:{id}"),
                "actor": {"id": format!("{site}/users/{user}"), "type": "Person", "extensions": {"bb:user.id": user}},
                "action": action,
                "object": object,
                "eventTime": at,
                "group": {"id": format!("{site}/courses/c1"), "type": "CourseOffering", "extensions": {"bb:course.id": "_77_1"}},
            })
        })
        .collect();
    serde_json::json!({"sensor": site, "sendTime": "2026-03-20T00:00:00Z", "dataVersion": "http://purl.imsglobal.org/ctx/caliper/v1p1", "data": data}).to_string()
}

on_both_backends! {
    async fn caliper_views_of_discussions_outside_the_tree_count_on_their_rows(backend: Backend) {
        use cloop::store::ingest::IngestKeyKind;
        let app = app_on!(backend);
        let f = seed(&app.store).await;
        let c = f.course;
        let posts = seed_discussions(&app.store, &f).await;
        let expected = recount(&posts, &f);
        app.store.set_course_lms_refs(c, Some("_77_1"), None).await.unwrap();
        let key = crate::ingest_support::key(&app.store, f.platform, IngestKeyKind::Caliper).await;
        let site = "https://caliper-mapping.cloudbb.blackboard.com/v1/sites/s1";
        let forum = |id: &str| serde_json::json!({"id": format!("{site}/discussions/{id}"), "type": "Forum", "name": "Questions"});
        // Ann opens Questions twice in week 1; Bob reaches one of its threads in week 2 (the
        // forum named as what the thread is part of, Learn's `/forums/` form) and opens
        // Introductions; Cat views the removed discussion.
        let thread = serde_json::json!({"id": format!("{site}/threads/t9"), "type": "Thread",
            "isPartOf": {"id": format!("{site}/forums/_u0_1"), "type": "Forum"}});
        let body = discussion_views(&[
            ("d-1", "a", "2026-03-03T01:00:00Z", forum("_u0_1")),
            ("d-2", "a", "2026-03-05T01:00:00Z", forum("_u0_1")),
            ("d-3", "b", "2026-03-10T02:00:00Z", thread),
            ("d-4", "b", "2026-03-11T03:00:00Z", forum("_u1_1")),
            ("d-5", "c", "2026-03-11T04:00:00Z", forum("_u2_1")),
        ]);
        let report: serde_json::Value = app.client.post(app.url("/caliper")).bearer_auth(&key)
            .header("content-type", "application/json").body(body).send().await.unwrap().json().await.unwrap();
        assert_eq!((report["new"].as_u64(), report["rejected"].as_u64()), (Some(5), Some(0)), "{report}");
        crate::ingest_support::assert_rollups_match(&app.store, c, "Australia/Melbourne").await;
        let views: BTreeMap<&str, [i64; 2]> = [("Questions", [2, 1]), ("Introductions", [0, 1])].into();

        let (html, table) = page_and_csv(&app, &f, &format!("/courses/{c}/communication"), "access").await;
        for (title, weeks) in &views {
            assert_eq!(row(&table, title)[1..4], cells(&[weeks[0], weeks[1], weeks[0] + weeks[1]])[..], "{title}");
        }
        assert_eq!(row(&table, "Discussions")[1..4], cells(&[2, 2, 4])[..]);
        assert_eq!(row(&table, "Total")[1..4], cells(&[2, 3, 5])[..], "Ann's view of the forum in the tree, and the discussions'");
        assert!(!html.contains("discussion:"), "the items the views are counted on are not in the tree");
        assert!(!table.iter().any(|r| r[0] == "Gone"), "a removed discussion stays hidden");

        // Unique students: who posted or viewed, per week.
        let viewers: BTreeMap<&str, [BTreeSet<i64>; 2]> = [
            ("Questions", [BTreeSet::from([f.ann.0]), BTreeSet::from([f.bob.0])]),
            ("Introductions", [BTreeSet::new(), BTreeSet::from([f.bob.0])]),
        ].into();
        let (_, students) = page_and_csv(&app, &f, &format!("/courses/{c}/communication?tab=students"), "access").await;
        for (title, (_, posters)) in &expected {
            let per: Vec<BTreeSet<i64>> = (0..2).map(|w| posters[w].union(&viewers[title][w]).copied().collect()).collect();
            let all = per[0].union(&per[1]).count() as i64;
            assert_eq!(row(&students, title)[1..4], cells(&[per[0].len() as i64, per[1].len() as i64, all])[..], "{title}");
        }

        // The dashboard ranks them with the tree's forums by views, then posts.
        let (_, talk) = page_and_csv(&app, &f, &format!("/courses/{c}"), "top-communication").await;
        for (title, (weeks, _)) in &expected {
            let seen = viewers[title][0].union(&viewers[title][1]).count().to_string();
            let total = views[title].iter().sum::<i64>().to_string();
            assert_eq!(row(&talk, title)[1..], [seen, total, weeks.iter().sum::<i64>().to_string()], "{title}");
        }
        let order: Vec<&str> = talk[1..].iter().map(|r| r[0].as_str()).collect();
        assert_eq!(order, ["Questions", "Introductions", "Discussion"]);

        // The per-resource event tables count them under a "Discussions" group of their own
        // (the lecture is on Wednesdays at 10:00, 4 and 11 March). Ann's views are on Tuesday
        // 3rd and Thursday 5th, Bob's on Tuesday 10th and Wednesday 11th, so each lecture has
        // one of Questions' views before it and one from it, save the second, whose "from" view
        // is Introductions'.
        let lecture = exec(&app.store, "SELECT id FROM course_events WHERE course_id = $1 AND title = 'Lecture'", &[V::I(c.0)]).await;
        let split = [("Questions", [2, 1]), ("Introductions", [0, 1]), ("Discussions", [2, 2])];
        let hours = format!("/courses/{c}/comparison?event={lecture}&before=48h&after=48h");
        let days = format!("/courses/{c}/communication?tab=events&event={lecture}&window=2");
        for (path, table) in [(&hours, "hours-by-resource"), (&days, "event-split")] {
            let (html, rows) = page_and_csv(&app, &f, path, table).await;
            for (title, sides) in split {
                assert_eq!(row(&rows, title)[1..3], cells(&sides)[..], "{title} on {path}");
            }
            let top: Vec<&str> = if table == "event-split" { vec!["Discussion"] } else { vec!["Week 1", "Discussion", "Quiz 1"] };
            for side in 1..3 {
                let sum: i64 = top.iter().chain(["Discussions"].iter()).map(|t| row(&rows, t)[side].parse::<i64>().unwrap()).sum();
                assert_eq!(row(&rows, "Total")[side], sum.to_string(), "the total counts the group once, on {path}");
            }
            assert!(!html.contains("/resources/-"), "the rows made for discussions link nowhere, on {path}");
            assert!(!rows.iter().any(|r| r[0] == "Gone"), "a removed discussion stays hidden");
        }

        // Outreach offers them (and their group) as resources not opened: Cat has opened none,
        // Ann not Introductions.
        let questions = exec(&app.store, "SELECT id FROM content_items WHERE course_id = $1 AND lms_id = 'discussion:_u0_1'", &[V::I(c.0)]).await;
        let introductions = exec(&app.store, "SELECT id FROM content_items WHERE course_id = $1 AND lms_id = 'discussion:_u1_1'", &[V::I(c.0)]).await;
        for (item, who) in [(questions, vec!["Cat"]), (introductions, vec!["Ann", "Cat"]), (-1, vec!["Cat"])] {
            let (html, rows) = page_and_csv(&app, &f, &format!("/courses/{c}/outreach?item={item}"), "not-opened").await;
            let names: Vec<&str> = rows[1..].iter().map(|r| r[0].split(' ').next().unwrap()).collect();
            assert_eq!(names, who, "item {item}");
            assert!(html.contains(&format!("value=\"{item}\"")), "the form offers item {item}");
        }

        // Each student's page shows their own views of them.
        for (user, name, mine) in [(f.ann, "Ann", [2, 0]), (f.bob, "Bob", [1, 1])] {
            let (_, forums) = page_and_csv(&app, &f, &format!("/courses/{c}/students/{user}"), "forums").await;
            for (title, seen) in ["Questions", "Introductions"].into_iter().zip(mine) {
                assert_eq!(row(&forums, title)[1], seen.to_string(), "{name} in {title}");
            }
        }
    }
}
