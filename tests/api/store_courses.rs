use cloop::store::courses::{CourseCalendar, CourseUpsert};
use cloop::store::users::UserUpsert;
use time::macros::date;

use crate::store_platforms::blackboard;
use crate::{fresh_store, on_both_backends};

fn intro_course() -> CourseUpsert {
    CourseUpsert {
        lms_context_id: "ctx-1".into(),
        lms_course_uuid: Some("3a1f".into()),
        title: "Introduction to Ecology".into(),
        code: "ECOL101".into(),
    }
}

on_both_backends! {
    async fn course_upsert_is_idempotent_and_refreshes_titles(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = store.create_platform(&blackboard("uni", "c")).await.unwrap();
        let first = store.upsert_course(platform.id, crate::helpers::deployment(&store, platform.id).await, &intro_course()).await.unwrap();
        assert_eq!(first.weeks, 12);
        assert_eq!(first.time_zone, "UTC");
        assert_eq!(first.start_date, None);

        let renamed = CourseUpsert { title: "Ecology I".into(), lms_course_uuid: None, ..intro_course() };
        let second = store.upsert_course(platform.id, crate::helpers::deployment(&store, platform.id).await, &renamed).await.unwrap();
        assert_eq!(second.id, first.id);
        assert_eq!(second.title, "Ecology I");
        assert_eq!(second.lms_course_uuid.as_deref(), Some("3a1f"), "a launch without the uuid keeps it");
        assert_eq!(store.course(first.id).await.unwrap(), second);
    }
}

on_both_backends! {
    async fn course_calendar_is_stored_with_its_time_zone(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = store.create_platform(&blackboard("uni", "c")).await.unwrap();
        let course = store.upsert_course(platform.id, crate::helpers::deployment(&store, platform.id).await, &intro_course()).await.unwrap();
        let calendar = CourseCalendar {
            start_date: date!(2026 - 02 - 23),
            weeks: 13,
            time_zone: "Australia/Melbourne".into(),
        };
        store.set_course_calendar(course.id, &calendar).await.unwrap();
        let course = store.course(course.id).await.unwrap();
        assert_eq!(course.start_date, Some(date!(2026 - 02 - 23)));
        assert_eq!(course.weeks, 13);
        assert_eq!(course.time_zone, "Australia/Melbourne");
    }
}

on_both_backends! {
    async fn users_and_enrolments_decide_staff_courses(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let platform = store.create_platform(&blackboard("uni", "c")).await.unwrap();
        let course = store.upsert_course(platform.id, crate::helpers::deployment(&store, platform.id).await, &intro_course()).await.unwrap();
        let teacher = store
            .upsert_user(platform.id, &UserUpsert {
                lms_sub: "u-1".into(),
                name: "Ada Teacher".into(),
                email: Some("ada@example.edu".into()),
                ..Default::default()
            })
            .await
            .unwrap();
        let again = store
            .upsert_user(platform.id, &UserUpsert { lms_sub: "u-1".into(), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(again.id, teacher.id);
        assert_eq!(again.name, "Ada Teacher", "fields the LMS left out are kept");
        assert_eq!(again.email.as_deref(), Some("ada@example.edu"));

        let student = store
            .upsert_user(platform.id, &UserUpsert { lms_sub: "u-2".into(), ..Default::default() })
            .await
            .unwrap();
        store.enrol(course.id, teacher.id, &["Instructor"], true, "launch").await.unwrap();
        store.enrol(course.id, student.id, &["Learner"], false, "launch").await.unwrap();

        let staff: Vec<_> = store.staff_courses(teacher.id).await.unwrap().into_iter().map(|c| c.id).collect();
        assert_eq!(staff, [course.id]);
        assert!(store.staff_courses(student.id).await.unwrap().is_empty());
        let enrolment = store.enrolment(course.id, student.id).await.unwrap().unwrap();
        assert!(!enrolment.is_staff);
        assert_eq!(enrolment.role_names().collect::<Vec<_>>(), ["Learner"]);

        store.enrol(course.id, student.id, &["Learner", "TeachingAssistant"], true, "nrps").await.unwrap();
        let enrolment = store.enrolment(course.id, student.id).await.unwrap().unwrap();
        assert!(enrolment.is_staff);
        assert_eq!(enrolment.source, "nrps");
    }
}
