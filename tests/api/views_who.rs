//! Who is who on student rows over real HTTP: namesakes told apart by a second identifier
//! on the students page and its CSV, and a student who left marked "(left)" where the
//! cohort includes students who left.

use crate::outreach_fixture::seed;
use crate::views::{get, page_and_csv_as, with_token};
use crate::{app_on, on_both_backends};

on_both_backends! {
    async fn namesakes_are_told_apart_on_the_students_page_and_its_csv(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let path = format!("/courses/{}/students", o.course);
        let (html, rows) = page_and_csv_as(&app, &o.token, &path, "students").await;
        assert_eq!(rows[0][..2], ["Student", "Identifier"].map(String::from));
        let mut anns: Vec<(&str, String)> = rows[1..]
            .iter()
            .filter(|r| r[0] == "Ann Lee")
            .map(|r| (r[1].as_str(), r[r.len() - 2].clone()))
            .collect();
        anns.sort();
        let mut expected: Vec<(&str, String)> = o
            .students
            .iter()
            .filter(|s| s.name == "Ann Lee")
            .map(|s| (s.username, o.views.iter().filter(|v| v.0 == s.id).count().to_string()))
            .collect();
        expected.sort();
        assert_eq!(anns, expected, "each Ann Lee has her own user name and her own views");
        assert_eq!(expected.len(), 2);
        assert!(html.contains("alee1") && html.contains("alee2"));
    }
}

on_both_backends! {
    async fn a_student_who_left_is_marked_left_on_the_students_page(backend: Backend) {
        let app = app_on!(backend);
        let o = seed(&app.store).await;
        let path = format!("/courses/{}/students", o.course);
        let (_, rows) = page_and_csv_as(&app, &o.token, &path, "students").await;
        for s in &o.students {
            assert_eq!(rows.iter().any(|r| r[1] == s.username), s.active, "{} only while enrolled", s.username);
        }
        let (_, rows) = page_and_csv_as(&app, &o.token, &format!("{path}?left=1"), "students").await;
        for s in &o.students {
            let shown = if s.active { s.name.to_string() } else { format!("{} (left)", s.name) };
            assert!(
                rows.iter().any(|r| r[0] == shown && r[1] == s.username),
                "{} shown as {shown:?} in {rows:?}", s.username
            );
        }
        let dan = o.students.iter().find(|s| !s.active).expect("the fixture has a leaver");
        let (_, html) = get(&app, &with_token(&format!("/courses/{}/students/{}", o.course, dan.id), &o.token)).await;
        assert!(html.contains(&format!("{} (left)", dan.name)), "the detail page names the leaver as left");
        assert!(html.contains(&format!("Identifier: {}", dan.username)));
    }
}
