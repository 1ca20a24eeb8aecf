//! The outreach lists over real HTTP, each against a recount from the fixture's own
//! views, attempts and roster: edges of N days and X %, namesakes, leavers, folders, CSV.

use std::collections::{BTreeMap, HashSet};

use crate::outreach_fixture::{DAY_MS, Outreach, Student, seed};
use crate::views::{get, page_and_csv_as, with_token};
use crate::views_fixture::local_day;
use crate::{app_on, on_both_backends};

/// The list's body rows (its CSV checked equal to the HTML table), and the page.
async fn list(
    app: &crate::helpers::TestApp,
    o: &Outreach,
    query: &str,
    table: &str,
) -> (Vec<Vec<String>>, String) {
    let path = format!("/courses/{}/outreach?{query}", o.course);
    let (html, rows) = page_and_csv_as(app, &o.token, &path, table).await;
    (rows[1..].to_vec(), html)
}

fn by_username<'a>(o: &'a Outreach, username: &str) -> &'a Student {
    o.students.iter().find(|s| s.username == username).unwrap()
}

fn current(o: &Outreach) -> impl Iterator<Item = &Student> {
    o.students.iter().filter(|s| s.active)
}

/// Identifier and the columns after the common five, per row.
fn tails(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter().map(|r| [&r[1..2], &r[5..]].concat()).collect()
}

fn label(day: i64) -> String {
    (jiff::civil::date(1970, 1, 1) + jiff::Span::new().days(day))
        .strftime("%a %Y-%m-%d")
        .to_string()
}

on_both_backends! {
    async fn inactivity_lists_a_student_inactive_exactly_n_days_and_tells_namesakes_apart(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let n = 5;
        let last = |s: &Student| o.views.iter().filter(|v| v.0 == s.id).map(|v| local_day(v.2)).max();
        let expected: Vec<Vec<String>> = current(&o)
            .filter_map(|s| match last(s) {
                Some(day) if day > o.today - n => None,
                Some(day) => Some(vec![s.username.to_string(), (o.today - day).to_string()]),
                None => Some(vec![s.username.to_string(), "never".to_string()]),
            })
            .collect();
        let (rows, html) = list(&app, &o, "days=5", "inactive").await;
        assert_eq!(tails(&rows), expected);
        for r in &rows {
            let s = by_username(&o, &r[1]);
            assert_eq!((r[0].as_str(), r[2].as_str()), (s.name, s.email.unwrap_or("")), "email when the LMS sent it");
        }
        let ann = rows.iter().find(|r| r[1] == "alee1").expect("alee1, inactive exactly 5 days, is listed");
        assert_eq!(ann[..6], ["Ann Lee", "alee1", "ann.lee@uni.example", "", &label(o.today - 5), "5"].map(String::from));
        assert!(!rows.iter().any(|r| r[1] == "alee2"), "the other Ann Lee was active 4 days ago");
        assert!(rows.iter().any(|r| r[1] == "bng" && r[4] == "never" && r[5] == "never"));
        assert!(!rows.iter().any(|r| r[1] == "doak"), "a student who left is left out by default");
        assert!(html.contains("no page view on the 5 local days"), "the list says how it was computed");
        assert!(html.contains("href=\"/courses/") && html.contains("/outreach?s="), "the navigation links the page");

        // Four days back, both namesakes are listed, each with their own identifier.
        let (rows, _) = list(&app, &o, "days=4", "inactive").await;
        let anns: Vec<_> = rows.iter().filter(|r| r[0] == "Ann Lee").map(|r| (r[1].as_str(), r[5].as_str())).collect();
        assert_eq!(anns, [("alee1", "5"), ("alee2", "4")]);

        let (_, html) = list(&app, &o, "days=abc", "inactive").await;
        assert!(html.contains("no page view on the 7 local days"), "an unusable N falls back to 7");
        let (rows, html) = list(&app, &o, "days=5&left=1", "inactive").await;
        let dan = by_username(&o, "doak");
        assert!(rows.iter().any(|r| r[0] == format!("{} (left)", dan.name) && r[3] == "left"), "included on request, marked left");
        assert!(html.contains("included and marked"));
    }
}

on_both_backends! {
    async fn not_opened_counts_any_item_under_a_folder(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let recount = |items: &[i64]| -> Vec<Vec<String>> {
            current(&o)
                .filter(|s| !o.views.iter().any(|v| v.0 == s.id && items.contains(&v.1)))
                .map(|s| {
                    let total = o.views.iter().filter(|v| v.0 == s.id).count();
                    vec![s.username.to_string(), total.to_string()]
                })
                .collect()
        };
        let folder = [o.folder, o.in_folder[0], o.in_folder[1]];
        let (rows, html) = list(&app, &o, &format!("item={}", o.folder), "not-opened").await;
        assert_eq!(tails(&rows), recount(&folder));
        let listed: Vec<_> = rows.iter().map(|r| r[1].as_str()).collect();
        assert_eq!(listed, ["alee2", "bng", "epoe", "gray"], "alee1 and fqi opened items under the folder");
        assert!(html.contains("or any of the 2 items under it"));

        let (rows, _) = list(&app, &o, &format!("item={}", o.in_folder[1]), "not-opened").await;
        assert_eq!(tails(&rows), recount(&[o.in_folder[1]]));
        assert!(!rows.iter().any(|r| r[1] == "fqi"));
        let (rows, _) = list(&app, &o, &format!("item={}", o.outside), "not-opened").await;
        assert_eq!(tails(&rows), recount(&[o.outside]));

        let (rows, html) = list(&app, &o, "", "not-opened").await;
        assert!(rows.is_empty());
        assert!(html.contains("Choose a resource or folder"));
    }
}

on_both_backends! {
    async fn assessments_due_within_n_days_without_an_attempt_or_missed(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let attempted: HashSet<(i64, i64)> = o.attempts.iter().copied().collect();
        let attempted = &attempted;
        let recount = |days: i64| -> Vec<Vec<String>> {
            let mut due: Vec<_> = o.assessments.iter()
                .filter_map(|&(id, name, due)| due.filter(|d| *d <= o.now + days * DAY_MS).map(|d| (d, id, name)))
                .collect();
            due.sort();
            due.iter()
                .flat_map(|&(d, id, name)| {
                    let o = &o;
                    current(o)
                        .filter(move |s| !attempted.contains(&(id, s.id)))
                        .map(move |s| vec![s.username.to_string(), name.to_string(), if d > o.now { "due soon" } else { "missed" }.to_string()])
                        .collect::<Vec<_>>()
                })
                .collect()
        };
        let (rows, html) = list(&app, &o, "due=3", "assessments").await;
        let got: Vec<Vec<String>> = rows.iter().map(|r| vec![r[1].clone(), r[5].clone(), r[7].clone()]).collect();
        assert_eq!(got, recount(3));
        let essay: Vec<_> = rows.iter().filter(|r| r[5] == "Essay").map(|r| r[1].as_str()).collect();
        assert_eq!(essay, ["alee2", "bng", "epoe", "fqi", "gray"], "due in 3 days less an hour; alee1 attempted it");
        let quiz: Vec<_> = rows.iter().filter(|r| r[5] == "Quiz").map(|r| r[1].as_str()).collect();
        assert_eq!(quiz, ["alee1", "bng", "fqi", "gray"], "missed two days ago; alee2 and epoe attempted it");
        assert!(!rows.iter().any(|r| r[5] == "Final" || r[5] == "Participation"));
        assert!(rows.iter().filter(|r| r[7] == "missed").all(|r| r[8].starts_with('-')));
        assert!(html.contains("to 3 days ahead"));

        let (rows, _) = list(&app, &o, "due=4", "assessments").await;
        let got: Vec<Vec<String>> = rows.iter().map(|r| vec![r[1].clone(), r[5].clone(), r[7].clone()]).collect();
        assert_eq!(got, recount(4));
        assert_eq!(rows.iter().filter(|r| r[5] == "Final").count(), 6);
    }
}

on_both_backends! {
    async fn weekly_drop_lists_more_than_x_percent_and_not_exactly_x(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        // student → views per week, weeks 1 to 4.
        let mut weekly: BTreeMap<i64, [i64; 4]> = BTreeMap::new();
        for &(s, _, at) in &o.views {
            let week = (local_day(at) - o.start).div_euclid(7);
            if (0..4).contains(&week) {
                weekly.entry(s).or_default()[week as usize] += 1;
            }
        }
        let recount = |x: i64| -> Vec<Vec<String>> {
            current(&o)
                .filter_map(|s| {
                    let w = weekly.get(&s.id).copied().unwrap_or_default();
                    let average = (w[0] + w[1] + w[2]) as f64 / 3.0;
                    let drop = 100.0 * (average - w[3] as f64) / average;
                    (average > 0.0 && drop > x as f64 + 1e-9).then(|| vec![
                        s.username.to_string(),
                        format!("{average:.1}"),
                        w[3].to_string(),
                        format!("{:.1}%", -drop),
                    ])
                })
                .collect()
        };
        let (rows, html) = list(&app, &o, "week=4&drop=50", "drop").await;
        assert_eq!(tails(&rows), recount(50));
        assert_eq!(tails(&rows), [["fqi", "4.0", "1", "-75.0%"], ["gray", "3.3", "1", "-70.0%"]].map(|r| r.map(String::from).to_vec()));
        assert!(html.contains("more than 50% below"), "epoe fell by exactly 50% and is not listed");
        assert!(html.contains("Average W1–W3</a></th>"), "the column is named for the weeks averaged");

        // Without a week, the last complete teaching week is compared with the ones before it.
        let (_, html) = list(&app, &o, "drop=50", "drop").await;
        let last_complete = (o.today - o.start).div_euclid(7);
        assert!(html.contains(&format!("views in week {last_complete} fell by more than 50%")), "{last_complete}");
        let (rows, _) = list(&app, &o, "week=4&drop=49", "drop").await;
        assert_eq!(tails(&rows), recount(49));
        assert!(rows.iter().any(|r| r[1] == "epoe"));
        let (rows, _) = list(&app, &o, "week=4&drop=70", "drop").await;
        assert_eq!(tails(&rows), recount(70));
        assert_eq!(rows.iter().map(|r| r[1].as_str()).collect::<Vec<_>>(), ["fqi"], "gray fell by exactly 70%");
    }
}

on_both_backends! {
    async fn outreach_is_for_course_staff_only(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let (status, _) = get(&app, &format!("/courses/{}/outreach?csv=inactive", o.course)).await;
        assert_eq!(status, reqwest::StatusCode::UNAUTHORIZED);
        let (status, _) = get(&app, &with_token(&format!("/courses/{}/outreach?csv=nope", o.course), &o.token)).await;
        assert_eq!(status, reqwest::StatusCode::NOT_FOUND);
    }
}
