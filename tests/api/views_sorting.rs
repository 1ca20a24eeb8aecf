//! Sorting and searching tables over real HTTP: each kind of column both ways (numbers,
//! text, blanks, periods, a tree), stable ties, searches, CSV equal, other parameters kept.

use crate::outreach_fixture::{Outreach, seed};
use crate::views::{get, html_table, page_and_csv_as, with_token};
use crate::views_fixture::{V, exec};
use crate::{app_on, on_both_backends};

/// The body rows of a table read by `html_table` (header first, totals last if `totals`).
fn body(rows: &[Vec<String>], totals: bool) -> Vec<Vec<String>> {
    rows[1..rows.len() - usize::from(totals)].to_vec()
}

/// The identifiers (second column) of the students table's body rows, in order.
fn ids(rows: &[Vec<String>]) -> Vec<String> {
    body(rows, true).iter().map(|r| r[1].clone()).collect()
}

fn html_decode(s: &str) -> String {
    s.replace("&amp;", "&").replace("&quot;", "\"")
}

/// The part of the page from `<table id="table-{id}"` to the end of its header row.
fn thead<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html.find(&format!("<table id=\"table-{id}\"")).unwrap();
    let end = start + html[start..].find("</thead>").unwrap();
    &html[start..end]
}

/// The sorted column's name and its `aria-sort`, if one is sorted.
fn sorted_header(html: &str, id: &str) -> Option<(String, String)> {
    let head = thead(html, id);
    let at = head.find("aria-sort=\"")? + "aria-sort=\"".len();
    let state = head[at..].split('"').next()?.to_string();
    let label = head[at..]
        .split("\">")
        .nth(2)?
        .split("</a>")
        .next()?
        .to_string();
    assert_eq!(head.matches("aria-sort").count(), 1, "one sorted column");
    Some((label, state))
}

/// The header links of a table, in column order.
fn header_links(html: &str, id: &str) -> Vec<String> {
    thead(html, id)
        .split("<a href=\"")
        .skip(1)
        .map(|a| html_decode(a.split('"').next().unwrap()))
        .collect()
}

/// The students page with `query`, students who left included (`left=1`), its students
/// table checked equal to the CSV asked with the same parameters.
async fn students(
    app: &crate::helpers::TestApp,
    o: &Outreach,
    query: &str,
) -> (String, Vec<Vec<String>>) {
    let left = if query.contains("left=") {
        ""
    } else {
        "left=1&"
    };
    let path = format!("/courses/{}/students?{left}{query}", o.course);
    page_and_csv_as(app, &o.token, &path, "students").await
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

on_both_backends! {
    async fn a_number_column_sorts_both_ways_with_ties_in_the_tables_own_order(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let (_, plain) = students(&app, &o, "").await;
        let total = plain[0].iter().position(|c| c == "Total").unwrap();
        let views = |username: &str| {
            let id = o.students.iter().find(|s| s.username == username).unwrap().id;
            o.views.iter().filter(|v| v.0 == id).count().to_string()
        };
        for r in body(&plain, true) {
            assert_eq!(r[total], views(&r[1]), "the total of {} is their recounted views", r[1]);
        }
        // Views: bng 0, doak 0, alee1 1, alee2 1, gray 11, fqi 13, epoe 14; the namesakes and
        // the two without views tie, and keep the table's own order (by name) both ways.
        let up = strings(&["bng", "doak", "alee1", "alee2", "gray", "fqi", "epoe"]);
        let down = strings(&["epoe", "fqi", "gray", "alee1", "alee2", "bng", "doak"]);
        for (sort, expected, state) in [(format!("{}", total + 1), up, "ascending"), (format!("-{}", total + 1), down, "descending")] {
            let (html, rows) = students(&app, &o, &format!("sort=students:{sort}")).await;
            assert_eq!(ids(&rows), expected, "sort={sort}");
            assert_eq!(sorted_header(&html, "students"), Some(("Total".into(), state.into())));
            assert_eq!(rows.last(), plain.last(), "the totals row stays last, unchanged");
        }
        let (html, _) = students(&app, &o, "").await;
        assert_eq!(sorted_header(&html, "students"), None);
    }
}

on_both_backends! {
    async fn names_sort_as_text_ignoring_case_and_namesakes_keep_their_order(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let abe = exec(&app.store, "INSERT INTO users (platform_id, lms_sub, name, username, created_at, updated_at) SELECT platform_id, 'sub-akim', 'abe Kim', 'akim', 0, 0 FROM courses WHERE id = $1 RETURNING id", &[V::I(o.course.0)]).await;
        exec(&app.store, "INSERT INTO enrolments (course_id, user_id, roles, is_staff, active, created_at, updated_at) VALUES ($1, $2, 'Learner', FALSE, TRUE, 0, 0)", &[V::I(o.course.0), V::I(abe)]).await;
        let (_, up) = students(&app, &o, "sort=students:1").await;
        assert_eq!(ids(&up), strings(&["akim", "alee1", "alee2", "bng", "doak", "epoe", "fqi", "gray"]), "lower-case “abe” before “Ann”");
        let (_, down) = students(&app, &o, "sort=students:-1").await;
        assert_eq!(ids(&down), strings(&["gray", "fqi", "epoe", "doak", "bng", "alee1", "alee2", "akim"]));
        assert_eq!(body(&down, true)[3][0], "Dan Oak (left)");
    }
}

on_both_backends! {
    async fn blanks_sort_last_both_ways_and_text_after_numbers(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let list = |query: &'static str| {
            let path = format!("/courses/{}/outreach?days=1&{query}", o.course);
            let (app, token) = (&app, &o.token);
            async move { page_and_csv_as(app, token, &path, "inactive").await }
        };
        let (_, plain) = list("").await;
        assert_eq!(plain[0][2], "Email");
        let own: Vec<String> = plain[1..].iter().map(|r| r[1].clone()).collect();
        assert_eq!(own, strings(&["alee1", "alee2", "bng", "epoe", "fqi", "gray"]));
        let (html, up) = list("sort=inactive:3").await;
        let order = |rows: &[Vec<String>]| rows[1..].iter().map(|r| r[1].clone()).collect::<Vec<_>>();
        assert_eq!(order(&up), strings(&["alee1", "bng", "alee2", "epoe", "fqi", "gray"]), "ann.lee@, bob@, then the blanks in the table's order");
        assert!(header_links(&html, "inactive").iter().all(|l| l.contains("days=1")), "the list's own choice is kept");
        let (_, down) = list("sort=inactive:-3").await;
        assert_eq!(order(&down), strings(&["bng", "alee1", "alee2", "epoe", "fqi", "gray"]), "blanks stay last");
        // Days since last activity: numbers by value, then "never" (text) ascending.
        let (_, by_days) = list("sort=inactive:6").await;
        let days: Vec<&str> = by_days[1..].iter().map(|r| r[5].as_str()).collect();
        assert_eq!(days.last(), Some(&"never"));
        let numbers: Vec<i64> = days[..days.len() - 1].iter().map(|d| d.parse().unwrap()).collect();
        assert!(numbers.windows(2).all(|w| w[0] <= w[1]), "{numbers:?}");
        let (_, by_days) = list("sort=inactive:-6").await;
        assert_eq!(by_days[1][5], "never");
    }
}

on_both_backends! {
    async fn periods_of_a_time_series_sort_by_date_not_by_label(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let path = format!("/courses/{}/students", o.course);
        let series = |query: &'static str| {
            let path = format!("{path}?{query}");
            let (app, token) = (&app, &o.token);
            async move { page_and_csv_as(app, token, &path, "over-time").await.1 }
        };
        let labels = |rows: Vec<Vec<String>>| rows[1..].iter().map(|r| r[0].clone()).collect::<Vec<_>>();
        let plain = labels(series("").await);
        assert_eq!(plain.len(), 12);
        assert_eq!((plain[1].as_str(), plain[9].as_str()), ("W2", "W10"));
        assert_eq!(labels(series("sort=over-time:1").await), plain);
        let mut reversed = plain.clone();
        reversed.reverse();
        assert_eq!(labels(series("sort=over-time:-1").await), reversed, "W12 first, W1 last");
        let by_views = series("sort=over-time:-2").await;
        let views: Vec<i64> = by_views[1..].iter().map(|r| r[1].parse().unwrap()).collect();
        assert!(views.windows(2).all(|w| w[0] >= w[1]), "{views:?}");
    }
}

on_both_backends! {
    async fn a_sorted_content_tree_is_shown_flat_and_says_so(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let path = format!("/courses/{}/content", o.course);
        let (html, plain) = page_and_csv_as(&app, &o.token, &path, "access").await;
        assert!(thead(&html, "access").contains("class=\"tree\""));
        let total = plain[0].iter().position(|c| c == "Total").unwrap();
        let (html, rows) = page_and_csv_as(&app, &o.token, &format!("{path}?sort=access:-{}", total + 1), "access").await;
        // Syllabus: alee2 1 + epoe 14 + fqi 12 + gray 11; the folder: Reading 1 (alee1) and
        // Slides 1 (fqi's first view); the two ties keep the tree's order.
        let shown = body(&rows, true);
        let order: Vec<(&str, &str)> = shown.iter().map(|r| (r[0].as_str(), r[total].as_str())).collect();
        assert_eq!(order, [("Syllabus", "38"), ("Week 1", "2"), ("Reading 1", "1"), ("Slides 1", "1")]);
        let table = &html[html.find("<table id=\"table-access\"").unwrap()..];
        let table = &table[..table.find("</table>").unwrap()];
        assert!(!table.contains("data-parent") && !table.contains("class=\"tree\""), "flat rows");
        assert!(html.contains("shown as a flat list"));
    }
}

on_both_backends! {
    async fn a_search_keeps_rows_holding_every_word_by_name_or_identifier(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let cases: [(&str, &[&str]); 5] = [
            ("ann%20lee", &["alee1", "alee2"]),
            ("ALEE2", &["alee2"]),
            ("ann+alee2", &["alee2"]),
            ("ann+bng", &[]),
            ("(left)", &["doak"]),
        ];
        for (q, expected) in cases {
            let (html, rows) = students(&app, &o, &format!("q.students={q}")).await;
            assert_eq!(ids(&rows), strings(expected), "q={q}");
            assert_eq!(rows.last().unwrap()[0], "All students (all 7 rows)", "the totals are of all rows");
            assert!(html.contains(&format!("{} of 7 rows hold every word", expected.len())));
        }
        let (html, rows) = students(&app, &o, "q.students=ann&sort=students:-2").await;
        assert_eq!(ids(&rows), strings(&["alee2", "alee1"]), "searched and sorted");
        assert!(html.contains("value=\"ann\""), "the search box shows the search");
    }
}

on_both_backends! {
    async fn the_csv_link_of_a_table_carries_its_sort_and_search(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let path = format!("/courses/{}/students?q.students=ann&sort=students:-2&sort=over-time:-1", o.course);
        let (_, html) = get(&app, &with_token(&path, &o.token)).await;
        let rows = html_table(&html, "students");
        let figure = &html[html.find("id=\"fig-students\"").unwrap()..];
        let link = figure.split("<p class=\"downloads\"><a href=\"").nth(1).unwrap().split('"').next().unwrap();
        let link = html_decode(link);
        assert!(link.contains("csv=students") && link.contains("sort=students%3A-2") && link.contains("q.students=ann"), "{link}");
        assert!(!link.contains("over-time"), "another table's sort is not this CSV's");
        let csv = app.client.get(app.url(&link)).send().await.unwrap().text().await.unwrap();
        let csv: Vec<Vec<String>> = csv.lines().map(|l| l.split(',').map(String::from).collect()).collect();
        assert_eq!(csv, rows, "the CSV is the table shown");
        assert_eq!(ids(&csv), strings(&["alee2", "alee1"]));
    }
}

on_both_backends! {
    async fn header_links_and_search_forms_keep_every_other_parameter(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let query = "week=3&left=1&next=kept&sort=over-time:-1&q.students=ann";
        let (html, _) = students(&app, &o, query).await;
        let links = header_links(&html, "students");
        assert_eq!(links.len(), html_table(&html, "students")[0].len(), "every column header is a link");
        for (i, link) in links.iter().enumerate() {
            for kept in ["week=3", "left=1", "next=kept", "sort=over-time%3A-1", "q.students=ann", &format!("s={}", o.token)] {
                assert!(link.contains(kept), "{kept} in {link}");
            }
            assert!(link.ends_with(&format!("&sort=students%3A{}#fig-students", i + 1)), "{link}");
        }
        assert!(html.contains("<details class=\"numbers\" open>"), "a sorted table behind its chart is shown");
        let series = header_links(&html, "over-time");
        assert!(series[0].contains("sort=over-time%3A1#") && !series[0].contains("over-time%3A-1"), "a second click reverses: {}", series[0]);
        assert!(series[0].contains("q.students=ann"), "another table's search is kept");
        let form = &html[html.find("aria-label=\"Search Page views per student\"").unwrap()..];
        let form = &form[..form.find("</form>").unwrap()];
        for hidden in ["name=\"week\" value=\"3\"", "name=\"left\" value=\"1\"", "name=\"next\" value=\"kept\"", "name=\"sort\" value=\"over-time:-1\""] {
            assert!(form.contains(hidden), "{hidden} in {form}");
        }
        assert_eq!(form.matches("name=\"q.students\"").count(), 1, "the search box only");
        // Following a header link (a click) sorts the table and keeps the search.
        let (status, page) = get(&app, &links[1]).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        assert_eq!(ids(&html_table(&page, "students")), strings(&["alee1", "alee2"]));
        assert_eq!(sorted_header(&page, "students"), Some(("Identifier".into(), "ascending".into())));
    }
}

on_both_backends! {
    async fn bad_sort_and_search_parameters_are_ignored(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let (_, plain) = students(&app, &o, "").await;
        for junk in ["sort=nope:1", "sort=students:0", "sort=students:99", "sort=students:x", "sort=students",
                     "sort=:", "sort=%FF%FE", "sort=students:1:2", "sort=students:-", "q.nope=ann", "q.=x", "q.students=+",
                     "sort=students:2&sort=students:x", "sort=a:1&sort=b:2"] {
            let (html, rows) = students(&app, &o, junk).await;
            assert_eq!(rows, plain, "{junk}");
            assert_eq!(sorted_header(&html, "students"), None, "{junk}");
        }
        let long = format!("q.students={}", "a".repeat(5000));
        let (status, _) = get(&app, &with_token(&format!("/courses/{}/students?{long}", o.course), &o.token)).await;
        assert_eq!(status, reqwest::StatusCode::OK);
        let outreach = format!("/courses/{}/outreach?days=1&sort=inactive:3&sort=x:1&q.x=1", o.course);
        let (status, _) = get(&app, &with_token(&outreach, &o.token)).await;
        assert_eq!(status, reqwest::StatusCode::OK, "repeated keys do not upset the page's own query");
    }
}

on_both_backends! {
    async fn every_table_of_every_course_page_sorts_and_searches(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let c = o.course;
        let student = o.students[0].id;
        exec(&app.store, "INSERT INTO course_events (course_id, kind, title, weekday, minute_of_day, first_week, last_week, created_at, updated_at) VALUES ($1, 'repeating', 'Lecture', 2, 600, 1, 4, 0, 0)", &[V::I(c.0)]).await;
        let pages = [
            format!("/courses/{c}"), format!("/courses/{c}/content"), format!("/courses/{c}/communication"),
            format!("/courses/{c}/assessment"), format!("/courses/{c}/assessment?tab=grades"),
            format!("/courses/{c}/students"), format!("/courses/{c}/outreach?days=1&item={}", o.folder),
            format!("/courses/{c}/students/{student}"), format!("/courses/{c}/resources/{}", o.outside),
            format!("/courses/{c}/courses"),
            format!("/courses/{c}/comparison"),
            format!("/courses/{c}/students?tab=events"),
            format!("/courses/{c}/communication?tab=events"),
        ];
        let (_, help) = get(&app, &with_token(&format!("/courses/{c}/help"), &o.token)).await;
        assert!(help.contains("Click a column header to sort its table"), "the rules are one click away");
        for page in pages {
            let (status, html) = get(&app, &with_token(&page, &o.token)).await;
            assert_eq!(status, reqwest::StatusCode::OK, "{page}");
            let ids: Vec<&str> = html.split("<table id=\"table-").skip(1).map(|t| t.split('"').next().unwrap()).collect();
            assert!(!ids.is_empty(), "{page}");
            for id in ids {
                assert!(html.contains(&format!("name=\"q.{id}\"")), "{page}: a search box for {id}");
                let links = header_links(&html, id);
                assert!(!links.is_empty() && links.iter().all(|l| l.contains(&format!("sort={id}%3A"))), "{page}: {id}");
            }
        }
    }
}
