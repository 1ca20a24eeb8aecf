//! Migration 0017 makes the deployment part of course identity and keeps every course and
//! what hangs off it, on both databases (on SQLite it rebuilds `courses`, which a careless
//! rebuild would empty through `ON DELETE CASCADE`).

use cloop::Store;
use cloop::store::courses::CourseUpsert;
use cloop::store::users::Standing;
use cloop::store::{CourseId, DeploymentId, PlatformId, UserId};
use sqlx::migrate::Migrator;

use crate::helpers::{TestDatabase, count_rows};
use crate::on_both_backends;
use crate::views_fixture::{V, exec};

static SQLITE: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: Migrator = sqlx::migrate!("migrations/postgres");

async fn platform(store: &Store, name: &'static str) -> i64 {
    exec(
        store,
        "INSERT INTO platforms (name, issuer, client_id, auth_url, jwks_url, token_url, created_at, updated_at) \
         VALUES ($1, 'https://lms.example', $1, 'a', 'j', 't', 0, 0) RETURNING id",
        &[V::T(name)],
    )
    .await
}

async fn course(store: &Store, platform: i64, context: &'static str) -> i64 {
    exec(
        store,
        "INSERT INTO courses (platform_id, lms_context_id, title, created_at, updated_at) \
         VALUES ($1, $2, $2, 0, 0) RETURNING id",
        &[V::I(platform), V::T(context)],
    )
    .await
}

on_both_backends! {
    async fn courses_and_their_data_survive_0017_in_their_platforms_first_deployment(backend: Backend) {
        let Some(db) = TestDatabase::fresh(backend, module_path!()).await else {
            return;
        };
        let store = Store::connect(&db.url).await.unwrap();
        match (&store, backend) {
            (Store::Sqlite(db), Backend::Sqlite) => SQLITE.run_to(16, &db.pool).await.unwrap(),
            (Store::Postgres(cloop::store::PostgresDb { pool, .. }), Backend::Postgres) => POSTGRES.run_to(16, pool).await.unwrap(),
            _ => unreachable!("the store is on the test's backend"),
        }
        let lms = platform(&store, "lms").await;
        let first = exec(&store, "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, 'd-1', 0) RETURNING id", &[V::I(lms)]).await;
        exec(&store, "INSERT INTO deployments (platform_id, deployment_id, created_at) VALUES ($1, 'd-2', 0) RETURNING id", &[V::I(lms)]).await;
        let bare = platform(&store, "no-deployments").await;
        let taught = course(&store, lms, "ctx-1").await;
        let orphan = course(&store, bare, "ctx-x").await;
        let deleted = course(&store, lms, "ctx-deleted").await;
        exec(&store, "DELETE FROM courses WHERE id = $1", &[V::I(deleted)]).await;
        let user = exec(&store, "INSERT INTO users (platform_id, lms_sub, created_at, updated_at) VALUES ($1, 'u-1', 0, 0) RETURNING id", &[V::I(lms)]).await;
        exec(&store, "INSERT INTO enrolments (course_id, user_id, roles, is_staff, created_at, updated_at) VALUES ($1, $2, 'Instructor', TRUE, 0, 0)", &[V::I(taught), V::I(user)]).await;
        exec(&store, "INSERT INTO content_items (course_id, lms_id, created_at, updated_at) VALUES ($1, '_1_1', 0, 0)", &[V::I(taught)]).await;
        exec(&store, "INSERT INTO content_items (course_id, lms_id, created_at, updated_at) VALUES ($1, '_2_1', 0, 0)", &[V::I(orphan)]).await;

        store.migrate().await.unwrap();

        let kept = store.course(CourseId(taught)).await.unwrap();
        assert_eq!(kept.deployment_id, DeploymentId(first), "the platform's first deployment");
        assert_eq!(kept.lms_context_id, "ctx-1");
        let orphan = store.course(CourseId(orphan)).await.unwrap();
        assert_eq!(
            store.deployment(PlatformId(bare), "unknown (before migration 0017)").await.unwrap(),
            Some(orphan.deployment_id),
            "a platform without deployments gets one, so its course stays"
        );
        assert_eq!(count_rows(&store, "enrolments").await, 1);
        assert_eq!(count_rows(&store, "content_items").await, 2);
        assert_eq!(
            store.standing(UserId(user), kept.id, PlatformId(lms), kept.deployment_id).await.unwrap(),
            Some(Standing { active: true, is_staff: true })
        );

        // The new key: the same context in the other deployment is another course, with an
        // id never used before (old links name course ids).
        let second = store.deployment(PlatformId(lms), "d-2").await.unwrap().unwrap();
        let context = CourseUpsert { lms_context_id: "ctx-1".into(), ..CourseUpsert::default() };
        let again = store.upsert_course(PlatformId(lms), kept.deployment_id, &context).await.unwrap();
        assert_eq!(again.id, kept.id);
        let other = store.upsert_course(PlatformId(lms), second, &context).await.unwrap();
        assert_ne!(other.id, kept.id);
        assert!(other.id.0 > deleted, "ids of deleted courses are not handed out again");
    }
}
