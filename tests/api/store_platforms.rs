use cloop::store::StoreError;
use cloop::store::platforms::NewPlatform;

use crate::{fresh_store, on_both_backends};

pub fn blackboard(name: &str, client_id: &str) -> NewPlatform {
    NewPlatform {
        name: name.into(),
        product: "blackboard".into(),
        issuer: "https://blackboard.com".into(),
        client_id: client_id.into(),
        auth_url: "https://developer.blackboard.com/api/v1/gateway/oidcauth".into(),
        jwks_url: format!(
            "https://developer.blackboard.com/api/v1/management/applications/{client_id}/jwks.json"
        ),
        token_url: "https://developer.blackboard.com/api/v1/gateway/oauth2/jwttoken".into(),
        token_audience: None,
    }
}

on_both_backends! {
    async fn platforms_are_created_listed_and_found_by_issuer(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let a = store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        let b = store.create_platform(&blackboard("uni-b", "client-b")).await.unwrap();
        assert_ne!(a.id, b.id);
        assert_eq!(a.client_id, "client-a");

        let names: Vec<_> = store.platforms().await.unwrap().into_iter().map(|p| p.name).collect();
        assert_eq!(names, ["uni-a", "uni-b"]);
        let shared = store.platforms_by_issuer("https://blackboard.com").await.unwrap();
        assert_eq!(shared.len(), 2);
        assert!(store.platforms_by_issuer("https://canvas.instructure.com").await.unwrap().is_empty());
        assert_eq!(store.platform(a.id).await.unwrap(), a);
        assert_eq!(store.platform_by_name("uni-b").await.unwrap().unwrap().id, b.id);
    }
}

on_both_backends! {
    async fn duplicate_registration_is_a_conflict(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        let same_client = store.create_platform(&blackboard("other-name", "client-a")).await;
        assert!(matches!(same_client, Err(StoreError::Conflict(_))), "{same_client:?}");
        let same_name = store.create_platform(&blackboard("uni-a", "client-z")).await;
        assert!(matches!(same_name, Err(StoreError::Conflict(_))), "{same_name:?}");
        assert_eq!(store.platforms().await.unwrap().len(), 1);
    }
}

on_both_backends! {
    async fn deployments_belong_to_their_platform(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let a = store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        let b = store.create_platform(&blackboard("uni-b", "client-b")).await.unwrap();
        store.add_deployment(a.id, "dep-1").await.unwrap();
        store.add_deployment(a.id, "dep-2").await.unwrap();
        store.add_deployment(a.id, "dep-1").await.unwrap();
        assert_eq!(store.deployments(a.id).await.unwrap(), ["dep-1", "dep-2"]);
        assert!(store.deployment(a.id, "dep-2").await.unwrap().is_some());
        assert!(store.deployment(b.id, "dep-2").await.unwrap().is_none());
    }
}

on_both_backends! {
    async fn removing_a_platform_removes_its_deployments(backend: Backend) {
        let (_db, store) = fresh_store!(backend);
        let a = store.create_platform(&blackboard("uni-a", "client-a")).await.unwrap();
        store.add_deployment(a.id, "dep-1").await.unwrap();
        store.remove_platform(a.id).await.unwrap();
        assert!(store.platforms().await.unwrap().is_empty());
        assert!(store.deployments(a.id).await.unwrap().is_empty());
        assert!(matches!(store.remove_platform(a.id).await, Err(StoreError::NotFound(_))));
    }
}
