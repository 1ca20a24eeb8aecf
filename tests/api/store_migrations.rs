//! Data stored under an earlier schema survives later migrations: a database migrated to
//! 0009 with events and rollups in it keeps every event through 0010, which re-keys the
//! activity table, and 0015, which packs it per minute on SQLite, and gains each student's views of each item (0010) and of each item
//! per day (0011, counted after the SQL migrations, into the student-days since 0014 drops
//! the per-item-day rows); its day rollups and sessions survive 0012, which rebuilds those
//! tables on new keys, and go on being kept; its views are counted into the student-hour
//! rollup of 0022 (after the SQL migrations), which goes on being kept too; and its
//! item-days' students and students' views per day are filled in for 0031.

use cloop::Store;
use cloop::ingest::{ActivityKind, ActivitySource, DEFAULT_SESSION_GAP, NewActivity, record};
use cloop::store::item_students::StudentSet;
use cloop::store::reports::StudentItemDay;
use cloop::store::rollups::StudentDay;
use cloop::store::{ContentItemId, CourseId, EpochMs, UserId};
use sqlx::migrate::Migrator;

use crate::helpers::TestDatabase;
use crate::ingest_support::{assert_hour_rollups_match, content_day_students, platform};
use crate::on_both_backends;
use crate::views_fixture::{V, exec};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

on_both_backends! {
    async fn data_stored_under_0009_survives_every_later_migration(backend: Backend) {
        let Some(db) = TestDatabase::fresh(backend, module_path!()).await else {
            return;
        };
        let store = Store::connect(&db.url).await.unwrap();
        match (&store, backend) {
            (Store::Sqlite(db), Backend::Sqlite) => SQLITE.run_to(9, &db.pool).await.unwrap(),
            (Store::Postgres(cloop::store::PostgresDb { pool, .. }), Backend::Postgres) => POSTGRES.run_to(9, pool).await.unwrap(),
            _ => unreachable!("the store is on the test's backend"),
        }
        let platform = platform(&store).await;
        // Raw SQL: the store's course queries are those of the latest schema.
        exec(
            &store,
            "INSERT INTO courses (id, platform_id, lms_context_id, lms_course_pk, title, code, \
             created_at, updated_at) VALUES (4001, $1, 'ctx-4001', '_4001_1', 'Course 4001', 'C4001', 0, 0)",
            &[V::I(platform.id.0)],
        )
        .await;
        let course = CourseId(4001);
        for user in [1_i64, 2] {
            exec(
                &store,
                "INSERT INTO users (id, platform_id, lms_sub, created_at, updated_at) \
                 VALUES ($1, $2, $3, 0, 0)",
                &[V::I(user), V::I(platform.id.0), V::S(user.to_string())],
            )
            .await;
        }
        exec(
            &store,
            "INSERT INTO content_items (id, course_id, lms_id, created_at, updated_at) \
             VALUES (10, $1, '_10_1', 0, 0)",
            &[V::I(course.0)],
        )
        .await;
        // Under 0009: three views of item 10 (two by user 1), a view tied to no item and a
        // post.
        for (user, kind, at, key) in [
            (1, "view", 1000, "a"),
            (1, "view", 2000, "b"),
            (2, "view", 3000, "c"),
            (1, "post", 5000, "e"),
        ] {
            exec(
                &store,
                "INSERT INTO activity (course_id, user_id, content_item_id, kind, occurred_at, \
                 idempotency_key, source) VALUES ($1, $2, 10, $3, $4, $5, 'caliper')",
                &[V::I(course.0), V::I(user), V::T(kind), V::I(at), V::T(key)],
            )
            .await;
        }
        exec(
            &store,
            "INSERT INTO activity (course_id, user_id, content_item_id, kind, occurred_at, \
             idempotency_key, source) VALUES ($1, 2, NULL, 'view', 4000, 'd', 'caliper'), \
             ($1, 2, NULL, 'login', 125000, 'g', 'xapi')",
            &[V::I(course.0)],
        )
        .await;
        exec(
            &store,
            "INSERT INTO rollup_item_students (course_id, content_item_id, user_id) \
             VALUES ($1, 10, 1), ($1, 10, 2), ($1, 0, 2)",
            &[V::I(course.0)],
        )
        .await;
        exec(
            &store,
            "INSERT INTO rollup_content_day_students (course_id, day, content_item_id, user_id) \
             VALUES ($1, 0, 10, 1), ($1, 0, 10, 2), ($1, 0, 0, 2)",
            &[V::I(course.0)],
        )
        .await;

        let day_rows: [(&'static str, &[V]); 3] = [
            (
                "INSERT INTO rollup_content_day (course_id, day, content_item_id, views, \
                 unique_students) VALUES ($1, 0, 10, 3, 2), ($1, 0, 0, 1, 1)",
                &[V::I(course.0)],
            ),
            (
                "INSERT INTO rollup_student_day (course_id, day, user_id, views, sessions, \
                 active_ms) VALUES ($1, 0, 1, 2, 1, 1000), ($1, 0, 2, 2, 1, 1000)",
                &[V::I(course.0)],
            ),
            (
                "INSERT INTO student_sessions (course_id, user_id, started_at, last_event_at) \
                 VALUES ($1, 1, 1000, 2000), ($1, 2, 3000, 4000)",
                &[V::I(course.0)],
            ),
        ];
        for (sql, values) in day_rows {
            exec(&store, sql, values).await;
        }

        store.migrate().await.unwrap();

        let stored = store.activity_of_course(course).await.unwrap();
        assert_eq!(
            stored
                .iter()
                .map(|e| (e.occurred_at.0, e.kind.as_str(), e.source.as_str(), e.user_id))
                .collect::<Vec<_>>(),
            vec![
                (1_000, "view", "caliper", Some(UserId(1))),
                (2_000, "view", "caliper", Some(UserId(1))),
                (3_000, "view", "caliper", Some(UserId(2))),
                (4_000, "view", "caliper", Some(UserId(2))),
                (5_000, "post", "caliper", Some(UserId(1))),
                (125_000, "login", "xapi", Some(UserId(2))),
            ],
            "every event is kept, in time order (on SQLite, packed per minute by 0015)"
        );
        assert_eq!(
            store.latest_activity(course).await.unwrap(),
            Some(EpochMs(125_000))
        );
        let mut viewers = store.item_viewers(course, ContentItemId(10)).await.unwrap();
        viewers.sort();
        assert_eq!(viewers, vec![(UserId(1), 2), (UserId(2), 1)]);
        assert_eq!(
            store.item_viewers(course, ContentItemId(0)).await.unwrap(),
            vec![(UserId(2), 1)],
            "views tied to no item count under item 0"
        );
        let days = |user| store.student_item_days(course, UserId(user));
        let day = |item, views| StudentItemDay {
            day: 0,
            content_item_id: ContentItemId(item),
            views,
        };
        assert_eq!(days(1).await.unwrap(), vec![day(10, 2)]);
        assert_eq!(days(2).await.unwrap(), vec![day(0, 1), day(10, 1)]);
        assert_eq!(
            crate::helpers::count_rows(&store, "pending_view_backfill").await,
            0,
            "the backfill runs once"
        );
        assert_hour_rollups_match(&store, course).await;
        assert_eq!(crate::helpers::count_rows(&store, "pending_hour_backfill").await, 0);

        let items = store.item_days(course, 0, 1).await.unwrap();
        assert_eq!(
            items.iter().map(|r| (r.content_item_id.0, r.views, r.unique_students)).collect::<Vec<_>>(),
            vec![(0, 1, 1), (10, 3, 2)]
        );
        let sets = store.item_bucket_students(course, &[ContentItemId(10)], (0, 1), (1, 1)).await.unwrap();
        let students = |per: &Vec<StudentSet>| {
            let mut ids: Vec<UserId> = per[0].iter().map(|n| sets.students.user(n)).collect();
            ids.sort();
            ids
        };
        assert_eq!(
            sets.items.iter().map(|(item, per)| (*item, students(per))).collect::<Vec<_>>(),
            vec![(ContentItemId(10), vec![UserId(1), UserId(2)])],
            "an item's students over a range, items of the course only"
        );
        assert_eq!(
            content_day_students(&store, course).await.into_iter().collect::<Vec<_>>(),
            vec![((0, 0), vec![2]), ((0, 10), vec![1, 2])],
            "each item-day's students, filled in by 0031's backfill"
        );
        let mut day_views = store.student_day_views(course).await.unwrap();
        day_views.sort();
        assert_eq!(day_views, vec![(UserId(1), vec![(0, 2)]), (UserId(2), vec![(0, 2)])]);
        assert_eq!(crate::helpers::count_rows(&store, "pending_student_lists").await, 0);
        // A view by user 1 at 2.5 s joins the session kept from before (1–2 s): one more
        // view, no new session, half a second more activity.
        let later = NewActivity {
            user: Some(UserId(1)),
            content_item: Some(ContentItemId(10)),
            kind: ActivityKind::View,
            occurred_at: EpochMs(2_500),
            source: ActivitySource::Caliper,
            idempotency_key: "f".into(),
            session_ref: None,
        };
        let again = NewActivity {
            occurred_at: EpochMs(1_000),
            idempotency_key: "a".into(),
            ..later.clone()
        };
        let report = record(&store, course, vec![later, again], DEFAULT_SESSION_GAP)
            .await
            .unwrap();
        assert_eq!(
            (report.new, report.duplicate),
            (1, 1),
            "an event stored before the migrations is known after them"
        );
        let student_day = |user_id, views, active_ms| StudentDay {
            day: 0,
            user_id,
            views,
            sessions: 1,
            active_ms,
        };
        let mut students = store.student_day_rollups(course).await.unwrap();
        students.sort();
        assert_eq!(students, vec![student_day(1, 3, 1500), student_day(2, 2, 1000)]);
        assert_eq!(days(1).await.unwrap(), vec![day(10, 3)]);
        let mut day_views = store.student_day_views(course).await.unwrap();
        day_views.sort();
        assert_eq!(day_views, vec![(UserId(1), vec![(0, 3)]), (UserId(2), vec![(0, 2)])]);
        let items = store.item_days(course, 0, 1).await.unwrap();
        assert_eq!(
            items.iter().map(|r| (r.content_item_id.0, r.views, r.unique_students)).collect::<Vec<_>>(),
            vec![(0, 1, 1), (10, 4, 2)],
            "user 1 had viewed item 10 that day: one more view, no new student"
        );
        assert_hour_rollups_match(&store, course).await;
    }
}
